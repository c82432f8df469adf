"""Updates by mail: proven senders only, then the same service as Slack."""

from __future__ import annotations

import re
from email.message import EmailMessage

from handlers.grammar import GrammarError, parse_update
from handlers.mail.parse import (
    header,
    strip_quoted,
    strip_subject_prefixes,
    text_body,
)
from handlers.mail.policy import MailPolicy, ProcessResult, auto_reply
from handlers.mail.round import process_round_reply, round_reply_for
from handlers.mail.trust import MAILBOX_PEER, peer_trusted, relay_proof, split_update_address
from handlers.service import ServiceError, UpdateOutcome, command_request, record_update
from handlers.service.slip import keep_note, slip_named
from store import Person, Reader, Source, Store

__all__ = ["process_update", "prove_sender"]


def prove_sender(
    store: Reader, msg: EmailMessage, token: str | None, policy: MailPolicy, peer: str | None
) -> tuple[Person | None, str]:
    """Who sent an update, proven: by the secret in the address, or by a trusted relay's
    DMARC/DKIM pass for the From domain on a connection from a trusted peer.
    ``(None, why)`` when nothing proves it; ``why`` never holds the code."""
    if token is not None:
        if not token:
            return None, "the personal code was removed from the stored copy; send it again"
        person = store.person_by_mail_token(token)
        if person is None:
            return None, "the personal code in the address is not valid (it may have been replaced)"
        return person, "personal address"
    unproven = "sender not proven: no personal code in the address, and "
    from_mailbox = peer == MAILBOX_PEER  # read from the office's own mailbox
    if not (policy.trusted_relays and (policy.trusted_peers or from_mailbox)):
        return None, unproven + "relay proof is off (SMTP_TRUSTED_PEERS, MAIL_TRUSTED_RELAYS)"
    if not from_mailbox and not peer_trusted(peer, policy.trusted_peers):
        where = f"from {peer}" if peer else "with no SMTP peer (imported)"
        return None, unproven + f"the message came {where}, not from SMTP_TRUSTED_PEERS"
    from_address, why = relay_proof(msg, policy.trusted_relays)
    if from_address is None:
        return None, unproven + why
    person = store.person_by_email(from_address)
    if person is None:
        return None, f"{from_address} is not among the people in the delivery plan"
    return person, f"DMARC/DKIM pass for {from_address.rsplit('@', 1)[1]}"


def process_update(
    store: Store, msg: EmailMessage, plus: str | None, policy: MailPolicy, peer: str | None = None
) -> ProcessResult:
    """Record an update by mail. Unproven, it is refused and answered to nobody: a reply
    would go to whatever ``From:`` the message carried. Proven, the person (their own
    address, never the ``From:``) gets one reply, whatever the outcome."""
    ref_in_address, token = split_update_address(plus)
    person, proof = prove_sender(store, msg, token, policy, peer)
    if person is None:
        return ProcessResult("update_refused", proof)
    reply_to = person.email
    answers_round, round_name = round_reply_for(
        store, header(msg, "Subject"), strip_quoted(text_body(msg))
    )
    if answers_round:  # the paper round: approve, edit, not mine (handlers/mail/round.py)
        return process_round_reply(store, msg, person, round_name, policy)
    subject = strip_subject_prefixes(header(msg, "Subject"))
    subject = re.sub(r"^\s*update\b\s*", "", subject, flags=re.IGNORECASE)
    if ref_in_address and [w.upper() for w in subject.split()[:1]] == [ref_in_address.upper()]:
        subject = subject[len(ref_in_address) :].strip()  # the ref in both places: once
    text = f"{ref_in_address} {subject}".strip() if ref_in_address else subject
    body_note = strip_quoted(text_body(msg))
    try:
        cmd = parse_update(text, office=policy.office)
        if cmd.ref is None:
            raise GrammarError(
                "Say which deliverable in the subject, e.g. 'CF-3 ongoing', or send to "
                f"update+CF-3+<your code>@{policy.mail_domain}."
            )
        note = "\n\n".join(n for n in (cmd.note, body_note) if n)
        outcome = record_update(
            store,
            command_request(cmd, actor=person, source=Source.EMAIL, note=note),
            office=policy.office,
        )
    except (GrammarError, ServiceError) as exc:
        return ProcessResult(
            "update_refused",
            str(exc),
            auto_reply(
                msg,
                to=reply_to,
                mail_domain=policy.mail_domain,
                body=(
                    f"Deliverabot could not record this update:\n\n{exc}\n\n"
                    "Write the subject like the Slack command, for example:\n"
                    "  CF-3 ongoing due Q3 2022/23 deps\n"
                    "and put the note in the body."
                ),
            ),
        )
    return ProcessResult(
        "update",
        f"{outcome.deliverable.ref} update {outcome.update_id} ({proof})",
        auto_reply(
            msg,
            to=reply_to,
            mail_domain=policy.mail_domain,
            body=_confirmation(outcome, proof, note, policy),
        ),
    )


def _confirmation(outcome: UpdateOutcome, proof: str, note: str, policy: MailPolicy) -> str:
    d = outcome.deliverable
    lines = [f"Recorded an update on {d.ref} {d.title} (sender proven by {proof})."]
    if outcome.status_changed:
        lines.append(f"Status: {outcome.status_before.label} -> {outcome.status_after.label}")
    if outcome.due_changed:
        lines.append(f"Due: {outcome.due_before or 'none'} -> {outcome.due_after or 'none'}")
    if outcome.dependencies_changed:
        lines.append(
            "Dependencies: identified" if outcome.dependencies_after else "Dependencies: none"
        )
    slip = slip_named(outcome, note, on=policy.office.today(), office=policy.office)
    if slip is not None:
        named, recorded = slip
        lines += [
            "",
            f"Your note says {named}, later than the due quarter {recorded}, which this update "
            "left as it was.",
            f"To move it, send an update with the subject: {d.ref} due {named}",
            "(and the reason in the body).",
            f"If {recorded} stands, send the subject: {d.ref}: {keep_note(str(recorded))}",
        ]
    return "\n".join(lines)
