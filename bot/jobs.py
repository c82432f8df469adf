"""The scheduler's jobs: the weekly digest and the reminders, each delivered exactly once.

APScheduler is only the wake-up call: what is due, and to whom, is decided here, and every
delivery goes through :func:`handlers.service.delivery.deliver` (claim → send → mark), so a
restart, a catch-up run, or a second ``serve`` process on the same database never posts
twice. A crash between claim and post leaves a visible "claimed, not sent" row that
``deliverabot digest --status`` shows and ``--retry`` resends.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from bot.board_cache import draw_chart
from bot.config import DigestSchedule, Settings
from digests.digest import Digest, build_digest, parse_iso_week
from digests.digest_render import render_digest
from digests.stats import bank_holidays, stats_from_counts
from handlers.outbox import Outbox
from handlers.service.delivery import (
    Delivery,
    Destination,
    DigestPoster,
    Notifier,
    Outcome,
    Sent,
    deliver,
)
from handlers.service.writer import Writer
from handlers.slack.digest import slack_message
from handlers.slack.notices import stats_message
from store import Deliverable, Office, Person

__all__ = ["DigestService", "Outcome", "latest_schedule", "period_for"]

log = logging.getLogger(__name__)

_DAY_INDEX = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}


def latest_schedule(schedule: DigestSchedule, now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The most recent scheduled moment at or before ``now``, in the office's zone."""
    local = now.astimezone(tz)
    days_back = (local.weekday() - _DAY_INDEX[schedule.day]) % 7
    day = local.date() - dt.timedelta(days=days_back)
    moment = dt.datetime.combine(day, schedule.time, tzinfo=tz)
    if moment > local:
        moment = dt.datetime.combine(day - dt.timedelta(days=7), schedule.time, tzinfo=tz)
    return moment


def period_for(moment: dt.datetime) -> str:
    """The ISO week a digest sent at ``moment`` covers: the week of the day before.

    Monday 09:00 covers the week that just ended; a Friday digest covers its own week.
    """
    year, week, _ = (moment - dt.timedelta(days=1)).date().isocalendar()
    return f"{year}-W{week:02d}"


class _Built:
    """The digest and its chart for one period, built once, on first use (after a claim)."""

    def __init__(self, service: DigestService, period: str) -> None:
        self.service = service
        self.period = period
        self.digest: Digest | None = None
        self.chart = b""

    async def get(self) -> tuple[Digest, bytes]:
        if self.digest is None:
            reader = self.service.reader
            digest = await reader.call(self.service.build, self.period)
            self.digest = digest
            # The chart only when the week had mail (never an empty chart).
            if digest.wants_chart and digest.correspondence is not None:
                # Drawn on the chart's own thread: never on the event loop (at scale a catch-up
                # digest's chart right after start held /healthz for a quarter of a second).
                weekly, counts = digest.correspondence.weekly, digest.status_counts
                self.chart = await draw_chart(weekly, counts)
        return self.digest, self.chart


class DigestService:
    """The digest and the reminders, built from the store and delivered through each
    channel's notifier (``notifiers``, by channel); a channel that is off (no Slack
    credentials) is stood in for by the ``outbox``."""

    def __init__(
        self,
        *,
        settings: Settings,
        office: Office,
        writer: Writer,
        notifiers: Mapping[str, Notifier],
        outbox: Outbox,
    ) -> None:
        self.settings = settings
        self.office = office
        self.writer = writer
        self.reader = writer.reader  # the writer's own connection: it sees its own claims
        self.notifiers = dict(notifiers)
        self.outbox = outbox

    # -- building ---------------------------------------------------------------------
    def build(self, period: str) -> Digest:
        year, week = parse_iso_week(period)
        s = self.settings
        return build_digest(
            self.reader,
            year=year,
            week=week,
            office=self.office,
            board_url=s.board_url,
            panels=s.panel_dates,
        )

    def destinations(self) -> list[Destination]:
        s = self.settings
        found = []
        if s.digest_channel:
            found.append(Destination("slack", s.digest_channel))
        if s.digest_emails:
            found.append(Destination("email", ",".join(s.digest_emails)))
        return found or [Destination("outbox")]

    def _poster(self, destination: Destination) -> DigestPoster:
        if destination.channel == self.outbox.channel:
            return self.outbox
        return self.notifiers.get(destination.channel) or self.outbox.for_channel(
            destination.channel
        )

    # -- delivering ---------------------------------------------------------------------
    async def send(
        self, period: str, *, destinations: list[Destination] | None = None
    ) -> list[Outcome]:
        """Claim and deliver the digest for ``period`` to each destination, once."""
        built = _Built(self, period)
        outcomes = []
        for destination in destinations or self.destinations():
            outcome = await self._deliver(built, destination)
            outcomes.append(outcome or Outcome(str(destination), "skipped", "already claimed"))
        return outcomes

    async def retry(self) -> list[Outcome]:
        """Resend every failed delivery, and every claim whose lease ran out (its sender died).

        A claim still within its lease is a post in flight and is left alone, so a retry
        beside a running post, or two retries at once, never post twice.
        """
        rows = await self.reader.call(self.reader.ledger, states=("claimed", "failed"))
        outcomes = []
        for row in rows:
            if row["kind"] != "digest":
                continue
            destination = Destination.parse(row["destination"])
            built = _Built(self, row["period"])
            outcome = await self._deliver(built, destination, ledger_id=int(row["id"]))
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _deliver(
        self, built: _Built, destination: Destination, *, ledger_id: int | None = None
    ) -> Outcome | None:
        poster = self._poster(destination)

        async def send() -> Sent:
            digest, chart = await built.get()
            return await poster.post_digest(destination.target, digest, chart)

        def keep(exc: Exception) -> None:
            # Nothing is lost: keep what could not be delivered, and say where.
            kept = "nowhere (it could not be built)"
            if built.digest is not None:
                markdown = render_digest(built.digest, "markdown")
                kept = str(self.outbox.keep(f"undelivered-digest-{built.period}", markdown, ".md"))
            log.warning(
                "digest %s to %s failed (%s); kept in %s; `deliverabot digest --retry` resends",
                built.period,
                destination,
                type(exc).__name__,
                kept,
            )

        return await deliver(
            self.writer,
            Delivery("digest", built.period, destination),
            send,
            now=self.office.now(),
            ledger_id=ledger_id,
            on_failure=keep,
        )

    # -- the wake-up call ----------------------------------------------------------------
    async def reconcile(self) -> list[Outcome]:
        """Send the latest scheduled digest if it is due and within the grace period.

        Called by the cron trigger, at start-up (catch-up after downtime) and periodically.
        """
        now = self.office.now()
        s = self.settings
        moment = latest_schedule(s.digest_schedule, now, self.office.tz)
        if now - moment > dt.timedelta(days=s.digest_grace_days):
            return []
        outcomes = await self.send(period_for(moment))
        outcomes += await self.remind()
        return outcomes

    def _reminder_period(self, now: dt.datetime) -> tuple[str, dt.date] | None:
        """The ISO week and day of today's reminders, or ``None`` when none are due today
        (not the reminder day, or a bank holiday). Reminders catch up within their day."""
        office = self.office
        local_day = latest_schedule(self.settings.reminder_schedule, now, office.tz).date()
        if office.local(now).date() != local_day:
            return None
        if local_day in bank_holidays(office.bank_holidays, local_day.year, local_day.year):
            return None
        year, week, _ = local_day.isocalendar()
        return f"{year}-W{week:02d}", local_day

    async def remind(self) -> list[Outcome]:
        """Friday nudges (``REMINDER_SCHEDULE``): one a week to each owner of stale work, on
        the first channel that knows them (their identity there: a Slack user id, say)."""
        now = self.office.now()
        due = self._reminder_period(now)
        if due is None:
            return []
        period, local_day = due
        weeks = self.office.stale_weeks

        def owners() -> dict[int, tuple[Person, list[Deliverable]]]:
            found: dict[int, tuple[Person, list[Deliverable]]] = {}
            for view in self.reader.overview():
                if view.owner is not None and view.stale(now, weeks=weeks):
                    found.setdefault(view.owner.id, (view.owner, []))[1].append(view.deliverable)
            return found

        outcomes = []
        for person, items in (await self.reader.call(owners)).values():
            reach = self._reach(person)
            if reach is None or (person.away_until and person.away_until >= local_day):
                continue
            notifier, address = reach

            async def nudge(
                notifier: Notifier = notifier,
                address: str = address,
                person: Person = person,
                items: list[Deliverable] = items,
            ) -> Sent:
                return await notifier.nudge(address, person, items, stale_weeks=weeks)

            delivery = Delivery("reminder", period, Destination("person", str(person.id)))
            outcome = await deliver(self.writer, delivery, nudge, now=now)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _reach(self, person: Person) -> tuple[Notifier, str] | None:
        """The first channel that is on and knows ``person``, and their address there."""
        for channel, notifier in self.notifiers.items():
            address = person.identity(channel)
            if address:
                return notifier, address
        return None

    # -- previews for Slack ------------------------------------------------------------------
    async def preview(self) -> dict[str, Any]:
        """This week's digest so far, for ``/deliverable digest``."""
        year, week, _ = self.office.today().isocalendar()
        digest = await self.reader.call(self.build, f"{year}-W{week:02d}")
        return slack_message(digest)

    async def stats_preview(self) -> dict[str, Any]:
        """The last 12 weeks of correspondence by category, for ``/deliverable stats``."""
        today = self.office.today()
        since = today - dt.timedelta(weeks=12)
        counts = await self.reader.call(self.reader.correspondence_counts, since=since, until=today)
        stats = stats_from_counts(counts, by="category", office=self.office, today=today)
        return stats_message(stats, since=since, today=today)
