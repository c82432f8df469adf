"""The scheduler's jobs: the weekly digest and the reminders, each delivered exactly once.

APScheduler is only the wake-up call. Every delivery is first claimed in the digest ledger
(``INSERT … ON CONFLICT DO NOTHING`` on kind, period and destination) and made only if the
claim succeeded, so a restart, a catch-up run, or a second ``serve`` process on the same
database never posts twice. A crash between claim and post leaves a visible "claimed, not
sent" row that ``deliverabot digest --status`` shows and ``--retry`` resends.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.config import DigestSchedule, Settings
from digests.chart import digest_chart
from digests.digest import Digest, build_digest, parse_iso_week
from digests.digest_render import render_digest
from digests.stats import bank_holidays, correspondence_stats
from handlers.mail import Mailer, digest_email
from handlers.outbox import write_outbox
from handlers.service import (
    claim_delivery,
    mark_delivered,
    mark_undelivered,
    reclaim_delivery,
    warn_delivery,
)
from handlers.slack.digest import slack_message
from handlers.slack.notices import stats_message
from handlers.slack.notifier import SlackNotifier, SlackPostFailed
from store import Deliverable, Person, Store

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


@dataclass(frozen=True)
class Outcome:
    destination: str
    state: str  # sent | skipped | failed
    reference: str = ""


class DigestService:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        mailer: Mailer,
        slack: SlackNotifier | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.mailer = mailer
        self.slack = slack
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    # -- building ---------------------------------------------------------------------
    def build(self, period: str) -> Digest:
        year, week = parse_iso_week(period)
        s = self.settings
        return build_digest(
            self.store,
            year=year,
            week=week,
            tz=s.tz,
            start_month=s.fy_start_month,
            stale_weeks=s.stale_weeks,
            target_for=s.answer_target,
            nation=s.bank_holidays,
        )

    def destinations(self) -> list[str]:
        s = self.settings
        found = []
        if s.digest_channel:
            found.append(f"slack:{s.digest_channel}")
        if s.digest_emails:
            found.append("email:" + ",".join(s.digest_emails))
        if not found:
            found.append("outbox")
        return found

    # -- delivering ---------------------------------------------------------------------
    async def send(self, period: str, *, destinations: list[str] | None = None) -> list[Outcome]:
        """Claim and deliver the digest for ``period`` to each destination, once."""
        outcomes = []
        digest: Digest | None = None
        chart: bytes = b""
        for destination in destinations or self.destinations():
            token = await self.store.call(
                claim_delivery, self.store, "digest", period, destination, now=self.clock()
            )
            if token is None:
                outcomes.append(Outcome(destination, "skipped", "already claimed"))
                continue
            if digest is None:
                digest, chart = await self._build_with_chart(period)
            outcomes.append(await self._deliver(period, destination, digest, chart, token))
        return outcomes

    async def retry(self) -> list[Outcome]:
        """Resend every failed delivery, and every claim whose lease ran out (its sender died).

        A claim still within its lease is a post in flight and is left alone, so a retry
        beside a running post, or two retries at once, never post twice.
        """
        rows = await self.store.call(self.store.ledger, states=("claimed", "failed"))
        outcomes = []
        for row in rows:
            if row["kind"] != "digest":
                continue

            token = await self.store.call(
                reclaim_delivery, self.store, int(row["id"]), now=self.clock()
            )
            if token is None:
                continue
            digest, chart = await self._build_with_chart(row["period"])
            outcomes.append(
                await self._deliver(row["period"], row["destination"], digest, chart, token)
            )
        return outcomes

    async def _build_with_chart(self, period: str) -> tuple[Digest, bytes]:
        digest = await self.store.call(self.build, period)
        weekly = digest.correspondence.weekly if digest.correspondence else []
        return digest, digest_chart(weekly, digest.status_counts)

    async def _deliver(
        self, period: str, destination: str, digest: Digest, chart: bytes | None, token: str
    ) -> Outcome:
        try:
            reference, extra = await self._post(destination, digest, chart)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            # Nothing is lost: keep what could not be delivered, and say where.
            kept = write_outbox(
                self.settings.outbox_dir,
                f"undelivered-digest-{period}",
                render_digest(digest, "markdown"),
                ".md",
            )
            log.warning(
                "digest %s to %s failed (%s); kept in %s; `deliverabot digest --retry` resends",
                period,
                destination,
                type(exc).__name__,
                kept,
            )

            await self.store.call(
                mark_undelivered, self.store, "digest", period, destination, error, token=token
            )
            return Outcome(destination, "failed", error)

        # The digest is out: record it before anything else can fail.
        await self.store.call(
            mark_delivered, self.store, "digest", period, destination, reference, token=token
        )
        log.info("digest %s sent to %s (%s)", period, destination, reference)
        if extra is not None:
            try:
                await extra()
            except Exception as exc:  # the chart is extra: a warning, never a second post
                warning = f"chart not attached: {type(exc).__name__}"
                log.warning("digest %s to %s: %s", period, destination, warning)

                await self.store.call(
                    warn_delivery, self.store, "digest", period, destination, warning
                )
        return Outcome(destination, "sent", reference)

    async def _post(
        self, destination: str, digest: Digest, chart: bytes | None
    ) -> tuple[str, Callable[[], Awaitable[Any]] | None]:
        """Deliver; returns the reference and, for Slack, the chart upload still to do."""
        kind, _, target = destination.partition(":")
        if kind == "slack" and self.slack is not None:
            posted = await self.slack.post_digest(target, digest, chart)
            return posted.reference, posted.follow_up
        if kind == "email":
            recipients = target.split(",")
            msg = digest_email(
                digest,
                sender=f"Deliverabot <digest@{self.settings.mail_domain}>",
                recipients=recipients,
                chart_png=chart,
                domain=self.settings.mail_domain,
            )
            where = await self.mailer.send(msg)
            return f"{msg['Message-ID']} via {where}", None
        # No Slack configured, or no destination at all: keep what would have been posted.
        name = f"digest-{digest.year}-W{digest.week:02d}"
        outbox = self.settings.outbox_dir
        if kind == "slack":
            payload = {"channel": target, **slack_message(digest)}
            path = write_outbox(outbox, name + "-slack", json.dumps(payload, indent=2), ".json")
        else:
            path = write_outbox(outbox, name, render_digest(digest, "markdown"), ".md")
        if chart:
            write_outbox(outbox, name + "-chart", chart, ".png")
        log.info("digest written to the outbox: %s", path)
        return f"outbox {path}", None

    # -- the wake-up call ----------------------------------------------------------------
    async def reconcile(self) -> list[Outcome]:
        """Send the latest scheduled digest if it is due and within the grace period.

        Called by the cron trigger, at start-up (catch-up after downtime) and periodically.
        """
        now = self.clock()
        s = self.settings
        moment = latest_schedule(s.digest_schedule, now, s.tz)
        if now - moment > dt.timedelta(days=s.digest_grace_days):
            return []
        outcomes = await self.send(period_for(moment))
        outcomes += await self.remind()
        return outcomes

    def _reminder_period(self, now: dt.datetime) -> tuple[str, dt.date] | None:
        """The ISO week and day of today's reminders, or ``None`` when none are due today
        (not the reminder day, or a bank holiday). Reminders catch up within their day."""
        s = self.settings
        local_day = latest_schedule(s.reminder_schedule, now, s.tz).date()
        if now.astimezone(s.tz).date() != local_day:
            return None
        if local_day in bank_holidays(s.bank_holidays, local_day.year, local_day.year):
            return None
        year, week, _ = local_day.isocalendar()
        return f"{year}-W{week:02d}", local_day

    async def remind(self) -> list[Outcome]:
        """Friday nudges (``REMINDER_SCHEDULE``): one DM a week to each owner of stale work."""
        now = self.clock()
        due = self._reminder_period(now) if self.slack is not None else None
        if due is None:
            return []
        period, local_day = due
        weeks = self.settings.stale_weeks

        def owners() -> dict[int, tuple[Person, list[Deliverable]]]:
            found: dict[int, tuple[Person, list[Deliverable]]] = {}
            for view in self.store.overview():
                if view.owner is not None and view.stale(now, weeks=weeks):
                    found.setdefault(view.owner.id, (view.owner, []))[1].append(view.deliverable)
            return found

        outcomes = []
        for person, items in (await self.store.call(owners)).values():
            if not person.slack_id or (person.away_until and person.away_until >= local_day):
                continue
            outcome = await self._remind_one(period, person, items, now)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _remind_one(
        self, period: str, person: Person, items: list[Deliverable], now: dt.datetime
    ) -> Outcome | None:
        """Claim, post and record one person's reminder; ``None`` if already claimed."""
        assert self.slack is not None and person.slack_id
        destination = f"person:{person.id}"
        token = await self.store.call(
            claim_delivery, self.store, "reminder", period, destination, now=now
        )
        if token is None:
            return None
        try:
            posted = await self.slack.nudge(
                person.slack_id, person, items, stale_weeks=self.settings.stale_weeks
            )
        except SlackPostFailed as exc:
            error = str(exc)
            await self.store.call(
                mark_undelivered, self.store, "reminder", period, destination, error, token=token
            )
            return Outcome(destination, "failed", error)
        reference = posted.reference
        await self.store.call(
            mark_delivered, self.store, "reminder", period, destination, reference, token=token
        )
        return Outcome(destination, "sent", reference)

    # -- previews for Slack ------------------------------------------------------------------
    async def preview(self) -> dict[str, Any]:
        """This week's digest so far, for ``/deliverable digest``."""
        year, week, _ = self.clock().astimezone(self.settings.tz).date().isocalendar()
        digest = await self.store.call(self.build, f"{year}-W{week:02d}")
        return slack_message(digest)

    async def stats_preview(self) -> dict[str, Any]:
        """The last 12 weeks of correspondence by category, for ``/deliverable stats``."""
        s = self.settings
        today = self.clock().astimezone(s.tz).date()
        since = today - dt.timedelta(weeks=12)
        rows = await self.store.call(self.store.correspondence_rows, since=since, until=today)
        stats = correspondence_stats(
            rows, by="category", target_for=s.answer_target, nation=s.bank_holidays, today=today
        )
        return stats_message(stats, since=since, today=today)
