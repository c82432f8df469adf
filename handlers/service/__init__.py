"""The one shared service, and the only writer of the store.

Slack, email, the CLI and the scheduler parse their input into a request and call these
functions and nothing else, so validation, authorisation, the append-only rule and the
clock live in one place. Each call runs in a single transaction. ``tests/test_layout.py``
checks that nothing outside this package writes to the store.
"""

from handlers.service.backup import (
    BackupResult,
    RestoreRefused,
    RestoreResult,
    make_backup,
    restore_backup,
    rotate_backups,
)
from handlers.service.correspondence import (
    CorrespondenceOutcome,
    CorrespondenceRequest,
    record_answer,
    record_correspondence,
)
from handlers.service.errors import (
    AmbiguousDeliverable,
    NotAuthorised,
    ServiceError,
    UnknownDeliverable,
    ValidationError,
)
from handlers.service.history import (
    HistoryRejected,
    HistoryRow,
    HistorySummary,
    import_history,
)
from handlers.service.inbound import (
    accept_inbound,
    accept_inbound_batch,
    processing,
    purge_raw_mail,
    requeue_inbound,
    settle_inbound,
)
from handlers.service.ledger import (
    claim_delivery,
    mark_delivered,
    mark_undelivered,
    reclaim_delivery,
    warn_delivery,
)
from handlers.service.mailbox import (
    MailboxKey,
    mailbox_marked,
    save_mailbox_cursor,
    start_mailbox_folder,
    take_mailbox_message,
)
from handlers.service.meta import checkpoint, freeze_report, stored_hash_key
from handlers.service.people import (
    drop_pending,
    link_identity,
    mail_token,
    save_pending,
    set_away,
    update_address,
)
from handlers.service.plan_import import ImportSummary, import_plan
from handlers.service.plan_shape import (
    MAX_TITLE_CHARS,
    add_deliverable,
    check_add,
    find_theme,
    next_ref,
)
from handlers.service.slip import SlipQuestion, answer_slip, ask_about_slip
from handlers.service.updates import (
    MAX_NOTE_CHARS,
    UpdateOutcome,
    UpdateRequest,
    check_update,
    check_update_text,
    command_request,
    record_update,
    recorded_outcome,
    resolve_deliverable,
    search_deliverables,
)

__all__ = [
    "MAX_NOTE_CHARS",
    "MAX_TITLE_CHARS",
    "AmbiguousDeliverable",
    "BackupResult",
    "CorrespondenceOutcome",
    "CorrespondenceRequest",
    "HistoryRejected",
    "HistoryRow",
    "HistorySummary",
    "ImportSummary",
    "MailboxKey",
    "NotAuthorised",
    "RestoreRefused",
    "RestoreResult",
    "ServiceError",
    "SlipQuestion",
    "UnknownDeliverable",
    "UpdateOutcome",
    "UpdateRequest",
    "ValidationError",
    "accept_inbound",
    "accept_inbound_batch",
    "add_deliverable",
    "answer_slip",
    "ask_about_slip",
    "check_add",
    "check_update",
    "check_update_text",
    "checkpoint",
    "claim_delivery",
    "command_request",
    "drop_pending",
    "find_theme",
    "freeze_report",
    "import_history",
    "import_plan",
    "link_identity",
    "mail_token",
    "mailbox_marked",
    "make_backup",
    "mark_delivered",
    "mark_undelivered",
    "next_ref",
    "processing",
    "purge_raw_mail",
    "reclaim_delivery",
    "record_answer",
    "record_correspondence",
    "record_update",
    "recorded_outcome",
    "requeue_inbound",
    "resolve_deliverable",
    "restore_backup",
    "rotate_backups",
    "save_mailbox_cursor",
    "save_pending",
    "search_deliverables",
    "set_away",
    "settle_inbound",
    "start_mailbox_folder",
    "stored_hash_key",
    "take_mailbox_message",
    "update_address",
    "warn_delivery",
]
