"""The schema, created and upgraded by sqlite-utils migrations.

Add a new ``@migrations()`` function for every change; never edit an applied one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from store import current_state

migrations = Migrations("deliverabot")


def _m001_plan(db: Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("people").create(
        {
            "id": int,
            "name": str,
            "email": str,
            "slack_id": str,
            "role": str,
            "away_until": str,
        },
        pk="id",
        not_null={"name", "email", "role"},
        defaults={"role": "staff"},
    )
    db.table("people").create_index(["email"], unique=True)
    db.table("people").create_index(["slack_id"])
    db.table("themes").create(
        {"id": int, "code": str, "name": str, "aim": str, "position": int},
        pk="id",
        not_null={"code", "name", "position"},
    )
    db.table("themes").create_index(["code"], unique=True)
    db.table("deliverables").create(
        {
            "id": int,
            "ref": str,
            "theme_id": int,
            "title": str,
            "status": str,
            "owner_id": int,
            "due": str,
            "dependencies": int,
            "added_on": str,
            "position": int,
        },
        pk="id",
        not_null={"ref", "theme_id", "title", "status", "added_on", "position"},
        defaults={"dependencies": 0},
        foreign_keys=[("theme_id", "themes", "id"), ("owner_id", "people", "id")],
    )
    db.table("deliverables").create_index(["ref"], unique=True)
    db.table("updates").create(
        {
            "id": int,
            "deliverable_id": int,
            "person_id": int,
            "recorded_at": str,
            "source": str,
            "status_before": str,
            "status_after": str,
            "due_before": str,
            "due_after": str,
            "dependencies": int,
            "note": str,
            "link": str,
        },
        pk="id",
        not_null={"deliverable_id", "recorded_at", "source", "note"},
        foreign_keys=[("deliverable_id", "deliverables", "id"), ("person_id", "people", "id")],
    )
    db.table("updates").create_index(["deliverable_id", "recorded_at"])
    db.table("updates").create_index(["recorded_at"])
    # Updates are the audit trail a panel relies on: the database itself refuses edits.
    db.execute(
        "CREATE TRIGGER updates_append_only_u BEFORE UPDATE ON updates "
        "BEGIN SELECT RAISE(ABORT, 'updates are append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER updates_append_only_d BEFORE DELETE ON updates "
        "BEGIN SELECT RAISE(ABORT, 'updates are append-only'); END"
    )


def _m001_correspondence(db: Database) -> None:
    db.table("correspondence").create(
        {
            "id": int,
            "dedup_key": str,
            "received_on": str,
            "category": str,
            "forwarder_id": int,
            "sender_domain": str,
            "sender_hash": str,
            "subject": str,
            "flags": str,
            "message_id": str,
            "answered_on": str,
            "recorded_at": str,
        },
        pk="id",
        not_null={"dedup_key", "received_on", "category", "recorded_at"},
        foreign_keys=[("forwarder_id", "people", "id")],
    )
    db.table("correspondence").create_index(["dedup_key"], unique=True)
    db.table("correspondence").create_index(["received_on"])
    db.table("correspondence").create_index(["message_id"])
    db.table("correspondence_forwards").create(
        {"correspondence_id": int, "forwarder": str, "forwarded_at": str},
        pk=("correspondence_id", "forwarder"),
        foreign_keys=[("correspondence_id", "correspondence", "id")],
    )


def _m001_ledger_and_quarantine(db: Database) -> None:
    db.table("digest_ledger").create(
        {
            "id": int,
            "kind": str,
            "period": str,
            "destination": str,
            "state": str,
            "claimed_at": str,
            "sent_at": str,
            "reference": str,
            "error": str,
        },
        pk="id",
        not_null={"kind", "period", "destination", "state", "claimed_at"},
    )
    db.table("digest_ledger").create_index(["kind", "period", "destination"], unique=True)
    db.table("quarantine").create(
        {
            "id": int,
            "received_at": str,
            "mail_from": str,
            "rcpt_tos": str,
            "raw": bytes,
            "reason": str,
            "state": str,
            "attempts": int,
        },
        pk="id",
        not_null={"received_at", "raw", "state"},
        defaults={"attempts": 0},
    )


@migrations()
def m001_initial(db: Database) -> None:
    """The plan and its append-only updates, correspondence, the ledger, the quarantine.

    Applied databases keep it as it is: the three helpers only name its parts.
    """
    _m001_plan(db)
    _m001_correspondence(db)
    _m001_ledger_and_quarantine(db)


@migrations()
def m002_pending_actions(db: Database) -> None:
    """Requests waiting for a person's choice (e.g. which of several matching deliverables)."""
    db.table("pending_actions").create(
        {"token": str, "kind": str, "payload": str, "created_at": str},
        pk="token",
        not_null={"kind", "payload", "created_at"},
    )


@migrations()
def m003_inbound_mail(db: Database) -> None:
    """Every accepted message, raw, committed before ``250``; the quarantine becomes a view."""
    db.table("inbound").create(
        {
            "id": int,
            "received_at": str,
            "source": str,  # smtp | import
            "mail_from": str,
            "rcpt_tos": str,
            "message_id": str,
            "size": int,
            "raw": bytes,  # NULL once purged after the retention period
            "state": str,  # pending | counted | duplicate | noise | quarantined | update | ...
            "reason": str,
            "processed_at": str,
            "purge_after": str,
            "correspondence_id": int,
            "attempts": int,
        },
        pk="id",
        not_null={"received_at", "source", "state"},
        defaults={"attempts": 0, "state": "pending"},
    )
    db.table("inbound").create_index(["state"])
    db.table("inbound").create_index(["message_id"])
    db.execute(
        "INSERT INTO inbound (received_at, source, mail_from, rcpt_tos, size, raw, state, reason) "
        "SELECT received_at, 'smtp', mail_from, rcpt_tos, length(raw), raw, 'pending', reason "
        "FROM quarantine"
    )
    db.execute("DROP TABLE quarantine")
    db.execute("CREATE VIEW quarantine AS SELECT * FROM inbound WHERE state = 'quarantined'")
    db.table("correspondence").add_column("subject_key", str)
    db.table("correspondence").add_column("inbound_id", int)
    db.table("correspondence").create_index(["subject_key"])


@migrations()
def m004_report_snapshots(db: Database) -> None:
    """The exact data behind a panel paper, frozen so it can be reproduced and compared."""
    db.table("report_snapshots").create(
        {"name": str, "created_at": str, "data": str},
        pk="name",
        not_null={"created_at", "data"},
    )


@migrations()
def m005_trust(db: Database) -> None:
    """Leases on digest claims, a warning beside a sent digest, summary notes for the paper,
    and each person's secret for updates by mail."""
    db.table("digest_ledger").add_column("claim_token", str)
    db.table("digest_ledger").add_column("lease_until", str)
    db.table("digest_ledger").add_column("warning", str)
    db.table("updates").add_column("summary", int)
    db.table("people").add_column("mail_token", str)
    db.table("people").create_index(["mail_token"], unique=True)


@migrations()
def m006_correspondence_by_day(db: Database) -> None:
    """Digests and reports count letters per day and category in SQL: a covering index."""
    db.table("correspondence").create_index(["received_on", "category"])


@migrations()
def m007_inbound_peer(db: Database) -> None:
    """The SMTP peer of each inbound message: a relay's Authentication-Results are believed
    only from a peer in ``SMTP_TRUSTED_PEERS`` (NULL for ``mail import``)."""
    db.table("inbound").add_column("peer", str)


@migrations()
def m008_update_idempotency(db: Database) -> None:
    """The key of the request that made an update (a Slack command's signature, a form's view
    and values), unique: a replayed or retried request finds its update instead of adding one."""
    db.table("updates").add_column("idempotency_key", str)
    db.table("updates").create_index(["idempotency_key"], unique=True)


@migrations()
def m009_inbound_purpose(db: Database) -> None:
    """Message-ID dedup within a purpose: each message's purpose (correspondence, updates,
    postmaster) and the fingerprint of what was delivered; and, for a message retried from
    review, the state it was retried from. Messages already processed get their purpose
    from their first mailbox of ours; their fingerprint is worked out when first needed."""
    table = db.table("inbound")
    table.add_column("purpose", str)
    table.add_column("fingerprint", str)
    table.add_column("retried_from", str)
    purposes = {
        "correspondence": "correspondence",
        "updates": "updates",
        "update": "updates",
        "postmaster": "postmaster",
    }
    for inbound_id, rcpt_tos in db.execute(
        "SELECT id, rcpt_tos FROM inbound WHERE state != 'pending'"
    ).fetchall():
        for address in (rcpt_tos or "").split(","):
            local = address.strip().strip("<>").partition("@")[0].partition("+")[0].lower()
            if local in purposes:
                db.execute(
                    "UPDATE inbound SET purpose = ? WHERE id = ?", [purposes[local], inbound_id]
                )
                break
    table.create_index(["message_id", "purpose"])


@migrations()
def m010_import(db: Database) -> None:
    """Look-ups ignore case (``upper(ref)``, ``lower(email)``): indexes on those expressions,
    so a plan import, a Slack command or an update by mail finds a deliverable or a person
    without reading the whole table; and deliverables by theme."""
    db.execute("CREATE INDEX IF NOT EXISTS deliverables_ref_upper ON deliverables (upper(ref))")
    db.execute("CREATE INDEX IF NOT EXISTS people_email_lower ON people (lower(email))")
    db.table("deliverables").create_index(["theme_id"], if_not_exists=True)


@migrations()
def m012_paper_words(db: Database) -> None:
    """Notes staff mark "of note" for the panel paper (the report's rule for its lines)."""
    db.table("updates").add_column("of_note", int)


@migrations()
def m015_mailbox(db: Database) -> None:
    """The mailbox source's place in each folder: the folder's UIDVALIDITY and the last UID
    taken (or, through Microsoft Graph, its delta link), and one row per message taken
    (committed with its inbound row, so a message is taken once across restarts and
    pollers), marked once it is moved or flagged."""
    db.table("mailbox_folders").create(
        {
            "account": str,
            "folder": str,
            "uidvalidity": int,
            "last_uid": int,
            "cursor": str,  # Microsoft Graph: the folder's delta link
            "updated_at": str,
        },
        pk=("account", "folder"),
        not_null={"uidvalidity", "last_uid"},
    )
    db.table("mailbox_messages").create(
        {
            "account": str,
            "folder": str,
            "uidvalidity": int,
            "uid": int,
            "item": str,  # Microsoft Graph: the message's id (its uid is a hash of it)
            "inbound_id": int,
            "taken_at": str,
            "marked_at": str,
        },
        pk=("account", "folder", "uidvalidity", "uid"),
        not_null={"taken_at"},
    )
    db.table("mailbox_messages").create_index(["account", "folder", "marked_at"])


@migrations()
def m016_identities(db: Database) -> None:
    """A person's identity on each channel (Slack today; another chat platform is another
    row, not another column of ``people``): ``people.slack_id`` moves here, every link kept,
    and the column goes."""
    db.table("identities").create(
        {"person_id": int, "channel": str, "external_id": str},
        pk=("person_id", "channel"),
        not_null={"external_id"},
        foreign_keys=[("person_id", "people", "id")],
    )
    db.table("identities").create_index(["channel", "external_id"])
    db.execute(
        "INSERT INTO identities (person_id, channel, external_id) "
        "SELECT id, 'slack', slack_id FROM people WHERE slack_id IS NOT NULL AND slack_id != ''"
    )
    db.execute("DROP INDEX IF EXISTS idx_people_slack_id")
    db.execute("ALTER TABLE people DROP COLUMN slack_id")


def _m017_tables(db: Database) -> None:
    db.table("rounds").create(
        {
            "name": str,
            "period_from": str,
            "period_to": str,
            "panel_on": str,
            "due_on": str,
            "opened_at": str,
            "opened_by": int,
            "closed_at": str,
            "closed_by": int,
        },
        pk="name",
        not_null={"period_from", "period_to", "panel_on", "due_on", "opened_at"},
        foreign_keys=[("opened_by", "people", "id"), ("closed_by", "people", "id")],
    )
    db.table("round_lines").create(
        {
            "round": str,
            "deliverable_id": int,
            "ref": str,
            "title": str,
            "theme_code": str,
            "section": str,
            "owner_id": int,
            "draft": str,
            "position": int,
        },
        pk=("round", "deliverable_id"),
        not_null={"ref", "title", "section", "draft", "position"},
        foreign_keys=[
            ("round", "rounds", "name"),
            ("deliverable_id", "deliverables", "id"),
            ("owner_id", "people", "id"),
        ],
    )
    db.table("round_events").create(
        {
            "id": int,
            "round": str,
            "deliverable_id": int,
            "kind": str,
            "person_id": int,
            "at": str,
            "text": str,
            "comment": str,
            "owner_id": int,
            "update_id": int,
            "source": str,
            "idempotency_key": str,
        },
        pk="id",
        not_null={"round", "deliverable_id", "kind", "at"},
        foreign_keys=[
            ("round", "rounds", "name"),
            ("deliverable_id", "deliverables", "id"),
            ("person_id", "people", "id"),
            ("owner_id", "people", "id"),
            ("update_id", "updates", "id"),
        ],
    )
    db.table("round_events").create_index(["round", "deliverable_id", "id"])
    db.table("round_events").create_index(["idempotency_key"], unique=True)


@migrations()
def m017_rounds(db: Database) -> None:
    """The paper round: each owner approves (or edits) the line the paper prints for each of
    their deliverables. A round, its lines as drafted when it opened, and the append-only
    events on them (asked, approved, edited, returned, not mine, reassigned), each with who
    and when, and the key of the request that made it, unique: a button pressed twice, or a
    request Slack retries, is one event."""
    _m017_tables(db)
    # The round's record is the audit trail of who approved which words: append-only, as
    # the updates are. A round's lines are fixed when it opens; only closing it is a change.
    for table in ("round_events", "round_lines"):
        for verb, letter in (("UPDATE", "u"), ("DELETE", "d")):
            db.execute(
                f"CREATE TRIGGER {table}_append_only_{letter} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
            )
    db.execute(
        "CREATE TRIGGER rounds_close_once BEFORE UPDATE ON rounds "
        "WHEN OLD.closed_at IS NOT NULL OR NEW.name IS NOT OLD.name "
        "OR NEW.period_from IS NOT OLD.period_from OR NEW.period_to IS NOT OLD.period_to "
        "OR NEW.due_on IS NOT OLD.due_on OR NEW.panel_on IS NOT OLD.panel_on "
        "BEGIN SELECT RAISE(ABORT, 'a round is closed once and otherwise fixed'); END"
    )
    db.execute(
        "CREATE TRIGGER rounds_kept BEFORE DELETE ON rounds "
        "BEGIN SELECT RAISE(ABORT, 'rounds are kept'); END"
    )


@migrations()
def m018_current_state(db: Database) -> None:
    """The maintained current state: one row per deliverable (its newest update, status,
    due quarter, dependencies, last completion and hold, newest note and summary note),
    kept by triggers in the same transaction as each appended update, and built here from
    the history. ``deliverabot doctor`` checks it against a replay."""
    current_state.create(db)
    current_state.rebuild(db)


@migrations()
def m019_current_state_completions(db: Database) -> None:
    """A move into "completed" is judged against the status the history has built up (as
    ``store.replay`` folds it), not the ``status_before`` each row recorded: the update
    trigger is replaced and the current state rebuilt from the history."""
    current_state.renew_triggers(db)
    current_state.rebuild(db)


@migrations()
def m020_correspondence_answers(db: Database) -> None:
    """``stats`` and the digest's answer times count letters in SQL by (day received,
    category, day answered): an index on all three makes that an index-only scan, however
    wide the rows. It begins with the m006 index's columns, so it replaces that one."""
    table = db.table("correspondence")
    table.create_index(["received_on", "category", "answered_on"], if_not_exists=True)
    db.execute("DROP INDEX IF EXISTS idx_correspondence_received_on_category")
