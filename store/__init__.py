"""Storage: SQLite via sqlite-utils, the schema and its migrations, and the domain model.

This package imports nothing else of Deliverabot's.
"""

from store.db import Store, StoreError, StoreUnavailable, open_store
from store.model import (
    CORRESPONDENCE_CATEGORIES,
    Deliverable,
    DeliverableView,
    Person,
    Role,
    Source,
    Status,
    Theme,
    Update,
    age_text,
    is_stale,
    normalise_status,
)
from store.quarters import FinancialYearQuarter, QuarterParseError, QuarterSpan, parse_quarter_span

__all__ = [
    "CORRESPONDENCE_CATEGORIES",
    "Deliverable",
    "DeliverableView",
    "FinancialYearQuarter",
    "Person",
    "QuarterParseError",
    "QuarterSpan",
    "Role",
    "Source",
    "Status",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Theme",
    "Update",
    "age_text",
    "is_stale",
    "normalise_status",
    "open_store",
    "parse_quarter_span",
]
