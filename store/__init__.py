"""Storage: SQLite via sqlite-utils, the schema and its migrations, and the domain model.

This package imports nothing else of Deliverabot's.
"""

from store.db import Store, StoreError, StoreUnavailable, open_store, probe_commit
from store.model import (
    CORRESPONDENCE_CATEGORIES,
    AsOf,
    Baseline,
    Deliverable,
    DeliverableView,
    Origin,
    Person,
    Role,
    Source,
    State,
    Status,
    Theme,
    Update,
    age_text,
    is_stale,
    normalise_status,
    replay,
    stale_status,
)
from store.quarters import (
    FinancialYearQuarter,
    QuarterParseError,
    QuarterSpan,
    mentions_span,
    parse_quarter_span,
)
from store.text import escape_mrkdwn, mrkdwn, one_paragraph

__all__ = [
    "CORRESPONDENCE_CATEGORIES",
    "AsOf",
    "Baseline",
    "Deliverable",
    "DeliverableView",
    "FinancialYearQuarter",
    "Origin",
    "Person",
    "QuarterParseError",
    "QuarterSpan",
    "Role",
    "Source",
    "State",
    "Status",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Theme",
    "Update",
    "age_text",
    "escape_mrkdwn",
    "is_stale",
    "mentions_span",
    "mrkdwn",
    "normalise_status",
    "one_paragraph",
    "open_store",
    "parse_quarter_span",
    "probe_commit",
    "replay",
    "stale_status",
]
