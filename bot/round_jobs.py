"""The paper round's deliveries, each exactly once: the ask to every owner (a Slack DM, or a
mail for owners without a Slack id), a line asked again after a return or a reassignment,
the coordinator's "not mine" notice, and the reminders.

Every message goes through the delivery ledger as the digest does: claimed (``INSERT … ON
CONFLICT DO NOTHING`` on kind, period and destination), sent, then marked, so two ``serve``
processes, a restart, or the CLI beside ``serve`` send each once; a message that failed
(Slack down) or whose claim's lease ran out (a crash) is taken over and sent on a later
pass. ``serve`` passes every minute and at start; the CLI passes after it opens a round,
returns or reassigns a line. This class is also the :class:`~handlers.round_desk.RoundDesk`
Slack's listeners use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from digests.round_lines import draft_lines, round_report
from digests.snapshots import report_to_data
from digests.stats import bank_holidays
from handlers.mail import Mailer
from handlers.mail.round import ask_mail, notice_mail
from handlers.round_desk import Delivered
from handlers.service import ServiceError, mail_token, update_address
from handlers.service.delivery import Delivery, Destination, Sent, deliver
from handlers.service.round import record_asks
from handlers.service.round_admin import OpenRound, close_round, find_round, open_round
from handlers.service.writer import Writer
from handlers.slack import SlackNotifier
from handlers.slack.round_views import LINES_PER_MESSAGE, line_message, notice_message
from store import Office, Person, Reader
from store.round import EventKind, LineView, Round, RoundBook, due_reminder

__all__ = ["RoundJobs"]

log = logging.getLogger(__name__)

KINDS = ("round-ask", "round-again", "round-reminder", "round-notice")


@dataclass(frozen=True)
class Due:
    """One message a round owes someone now."""

    kind: str
    period: str
    destination: str
    person_id: int
    refs: tuple[str, ...] = ()
    wording: str = "ask"  # ask | again | reminder | final | notice


def _dest(person_id: int) -> str:
    return f"person:{person_id}"


class RoundJobs:
    def __init__(
        self,
        *,
        settings: Settings,
        writer: Writer,
        mailer: Mailer,
        slack: SlackNotifier | None = None,
        office: Office | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.reader: Reader = writer.reader  # the writer's own connection: sees its commits
        self.mailer = mailer
        self.slack = slack
        self.office = office or settings.office
        self._closed: dict[int, frozenset[dt.date]] = {}  # bank holidays around each year
        self.inflight: set[asyncio.Task[Any]] = set()  # a shutdown waits for these

    @classmethod
    def for_process(cls, process: Any) -> RoundJobs:
        """The rounds of a ``serve`` (a :class:`bot.server.BotProcess`): its writer, mailer,
        Slack and Office; its Slack listeners' desk; its shutdown waits for a pass."""
        jobs = cls(
            settings=process.settings,
            writer=process.writer,
            mailer=process.mailer,
            slack=process.slack,
            office=process.office,
        )
        jobs.inflight = process._deliveries
        if process.slack_deps is not None:
            process.slack_deps.rounds = jobs
        return jobs

    async def tick(self) -> None:
        """``serve``'s pass (at start and every minute): send what is owed, log each send."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            for outcome in await self.deliver():
                log.info("round %s to %s: %s", outcome.kind, outcome.destination, outcome.state)
        except Exception:
            log.exception("round delivery failed; the next minute will try again")
        finally:
            if task is not None:
                self.inflight.discard(task)

    # -- the desk: open and close -------------------------------------------------------
    async def open(self, request: OpenRound, *, actor: Person) -> Round:
        office, reader = self.office, self.reader
        lines = await reader.call(
            draft_lines,
            reader,
            day_from=request.period_from,
            day_to=request.period_to,
            office=office,
        )
        return await self.writer.call(
            open_round, request, actor=actor, lines=lines, now=office.now(), today=office.today()
        )

    async def close(self, name: str, *, actor: Person) -> Round:
        reader = self.reader

        def frozen() -> tuple[str, dict[str, Any]]:
            found = find_round(reader, name)
            book = reader.round_book(found.name)
            assert book is not None
            return found.name, report_to_data(round_report(reader, book, office=self.office))

        found, data = await reader.call(frozen)
        return await self.writer.call(
            close_round, found, actor=actor, snapshot=data, now=self.office.now()
        )

    # -- what is owed ---------------------------------------------------------------------
    def _by_slack(self, person: Person | None) -> bool:
        return bool(self.slack is not None and person is not None and person.identity("slack"))

    def _asks(self, book: RoundBook, rows: dict[tuple[str, str, str], dict[str, Any]]) -> list[Due]:
        """Each owner's first ask (their lines not yet shown to them), and the lines to ask
        again."""
        name = book.round.name
        owed = []
        for owner in book.owners():
            refs = tuple(v.ref for v in book.owned_by(owner) if v.waiting and v.asked is None)
            if refs:  # once sent, later lines come as "again" (the ledger skips this one)
                owed.append(Due("round-ask", name, _dest(owner), owner, refs))
        for view in book.views:
            again = self._again(book, view, rows)
            if again is not None:
                owed.append(again)
        return owed

    def _again(
        self, book: RoundBook, view: LineView, rows: dict[tuple[str, str, str], dict[str, Any]]
    ) -> Due | None:
        """A line returned, or reassigned to someone already asked: asked again."""
        if not view.waiting or view.owner_id is None:
            return None
        turn = next(
            (
                e
                for e in reversed(view.events)
                if e.kind in (EventKind.RETURNED, EventKind.REASSIGNED)
            ),
            None,
        )
        if turn is None or (view.asked is not None and view.asked.id > turn.id):
            return None
        asked_before = ("round-ask", book.round.name, _dest(view.owner_id)) in rows
        if turn.kind is EventKind.REASSIGNED and not asked_before:
            return None  # the owner's first ask carries it
        return Due(
            "round-again",
            f"{book.round.name}/{turn.id}",
            _dest(view.owner_id),
            view.owner_id,
            (view.ref,),
            "again",
        )

    def _notices(self, book: RoundBook) -> list[Due]:
        coordinator = book.round.opened_by
        if coordinator is None:
            return []
        return [
            Due(
                "round-notice",
                f"{book.round.name}/{v.decided.id}",
                _dest(coordinator),
                coordinator,
                (v.ref,),
                "notice",
            )
            for v in book.views
            if v.decided is not None and v.decided.kind is EventKind.NOT_MINE
        ]

    def _reminders(
        self, book: RoundBook, rows: dict[tuple[str, str, str], dict[str, Any]]
    ) -> list[Due]:
        s, office = self.settings, self.office
        local = office.local(office.now())
        if local.time() < s.reminder_schedule.time:
            return []
        today = local.date()
        if today.year not in self._closed:
            nation = office.bank_holidays
            self._closed[today.year] = bank_holidays(nation, today.year - 1, today.year + 1)
        closed = self._closed[today.year]
        owed = []
        for owner in book.owners():
            mine = book.owned_by(owner)
            asked = [v.asked.at for v in mine if v.asked is not None]
            if not asked:
                continue  # not asked yet: the ask comes first
            person = self.reader.person(owner)
            waiting = [v for v in mine if v.waiting]
            asked_on = office.local(min(asked)).date()
            wording = due_reminder(
                today,
                first_asked=asked_on,
                due_on=book.round.due_on,
                closed=closed,
                away_until=person.away_until if person else None,
                waiting=waiting,
            )
            if wording is not None:
                refs = tuple(v.ref for v in waiting)
                period = f"{book.round.name}/{today}"
                owed.append(Due("round-reminder", period, _dest(owner), owner, refs, wording))
        return owed

    def owed(self, name: str | None = None) -> list[tuple[RoundBook, Due, dict[str, Any] | None]]:
        """Every message the open rounds (or ``name``) owe now, with its ledger row if it has
        one (reads only; on the store's thread)."""
        rounds = [r for r in self.reader.rounds(open_only=True) if name is None or r.name == name]
        if not rounds:
            return []  # the minute's pass costs one query when no round is open
        rows = {
            (r["kind"], r["period"], r["destination"]): r
            for kind in KINDS
            for r in self.reader.ledger(kind=kind)
        }
        found = []
        for r in rounds:
            book = self.reader.round_book(r.name)
            if book is None:
                continue
            for due in self._asks(book, rows) + self._notices(book) + self._reminders(book, rows):
                found.append((book, due, rows.get((due.kind, due.period, due.destination))))
        return found

    # -- delivering -------------------------------------------------------------------------
    async def deliver(self, name: str | None = None) -> list[Delivered]:
        """Send whatever is owed now, each once (see the module's docstring)."""
        now = self.office.now()
        outcomes = []
        for book, due, row in await self.reader.call(self.owed, name):
            ledger_id = None
            if row is not None:
                expired = (
                    row["state"] == "claimed" and (row.get("lease_until") or "") < now.isoformat()
                )
                if row["state"] != "failed" and not expired:
                    continue  # sent, or in flight in another process
                ledger_id = int(row["id"])
            delivery = Delivery(due.kind, due.period, Destination.parse(due.destination))

            async def send(book: RoundBook = book, due: Due = due) -> Sent:
                return await self._send(book, due)

            done = await deliver(self.writer, delivery, send, now=now, ledger_id=ledger_id)
            if done is None:
                outcomes.append(Delivered(due.kind, due.period, due.destination, "skipped"))
            else:
                outcomes.append(
                    Delivered(due.kind, due.period, done.destination, done.state, done.reference)
                )
                if done.state == "failed":
                    log.warning(
                        "round %s: %s to %s failed (%s); sent on a later pass",
                        book.round.name,
                        due.kind,
                        due.destination,
                        done.reference,
                    )
        return outcomes

    async def _send(self, book: RoundBook, due: Due) -> Sent:
        """Send one message: by Slack DM when the person has a Slack identity and Slack is
        on, else by mail. The words shown are recorded once it is sent (the follow-up)."""
        person = await self.reader.call(self.reader.person, due.person_id)
        if person is None:
            raise LookupError(f"no person {due.person_id}")
        reference, channel = await self._post(book, due, person)
        if due.kind not in ("round-ask", "round-again"):
            return Sent(reference)

        async def record() -> None:
            await self._record_asks(book, due, channel)

        return Sent(reference, record, "the words shown")

    async def _record_asks(self, book: RoundBook, due: Due, channel: str) -> None:
        views = book.by_ref()
        lines = [
            (views[r.upper()].line.deliverable_id, views[r.upper()].text)
            for r in due.refs
            if r.upper() in views
        ]
        try:
            await self.writer.call(
                record_asks,
                book.round.name,
                person_id=due.person_id,
                lines=lines,
                key=f"{due.kind}|{due.period}|{due.destination}",
                now=self.office.now(),
                source=channel,
            )
        except ServiceError as exc:  # the round closed meanwhile: the message is out anyway
            log.info("round %s: asks not recorded: %s", book.round.name, exc)

    async def _post(self, book: RoundBook, due: Due, person: Person) -> tuple[str, str]:
        """(reference, channel) of one message sent."""
        domain = self.settings.mail_domain
        slack_id = person.identity("slack") if self.slack is not None else None
        if due.wording == "notice":
            view = book.by_ref()[due.refs[0].upper()]
            if self.slack is not None and slack_id:
                return (
                    await self.slack.message(slack_id, notice_message(book, view))
                ).reference, "slack"
            msg = notice_mail(book, view, person, mail_domain=domain)
            return f"{msg['Message-ID']} via {await self.mailer.send(msg)}", "email"
        if self.slack is not None and slack_id:
            # One message, or a few when a person owns more lines than Slack's 50 blocks
            # hold: the ledger row covers them all.
            refs, tz = list(due.refs), self.office.tz
            posted = []
            for start in range(0, len(refs), LINES_PER_MESSAGE):
                chunk = refs[start : start + LINES_PER_MESSAGE]
                message = line_message(book, chunk, person=person.name, tz=tz, kind=due.wording)
                posted.append((await self.slack.message(slack_id, message)).reference)
            return ", ".join(posted), "slack"
        code = await self.writer.call(mail_token, person=person)
        msg = ask_mail(
            book,
            person,
            list(due.refs),
            reply_to=update_address(code, domain),
            mail_domain=domain,
            kind=due.wording,
        )
        return f"{msg['Message-ID']} via {await self.mailer.send(msg)}", "email"
