"""The App Home tab: your open deliverables, your address for updates by mail, and the plan
at a glance."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from handlers.service import mail_token, update_address
from handlers.service.listing import DeliverableRow, deliverable_rows
from handlers.slack.queries import admin_hint
from handlers.slack.round import round_home
from handlers.slack.session import Session
from handlers.slack.views import home_view
from store import Person, Status, StoreUnavailable, Theme

__all__ = ["app_home_opened"]


def _overview(found: list[DeliverableRow]) -> list[tuple[Theme, dict[Status, int]]]:
    overview: list[tuple[Theme, dict[Status, int]]] = []
    by_theme: dict[int, dict[Status, int]] = {}
    for r in found:
        if r.theme.id not in by_theme:
            by_theme[r.theme.id] = {}
            overview.append((r.theme, by_theme[r.theme.id]))
        counts = by_theme[r.theme.id]
        counts[r.deliverable.status] = counts.get(r.deliverable.status, 0) + 1
    return overview


async def _mail_address(session: Session, person: Person | None) -> str | None:
    domain = session.deps.mail_domain
    if person is None or not domain:
        return None
    try:
        token = await session.writer.call(mail_token, person=person)
    except StoreUnavailable:
        return None  # shown next time; the rest of the Home tab still renders
    return update_address(token, domain)


async def app_home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    session = Session.of(context)
    reader, now = session.reader, session.office.now()
    person = await session.person()
    found = await reader.call(deliverable_rows, reader, session.office)
    mine = []
    if person is not None:
        mine = [
            r for r in found if r.deliverable.owner_id == person.id and r.deliverable.status.is_open
        ]
        mine.sort(key=lambda r: (not r.stale, r.deliverable.ref))
    view = home_view(
        person=person,
        mine=mine,
        overview=_overview(found),
        now=now,
        admin_hint=await reader.call(admin_hint, reader),
        mail_address=await _mail_address(session, person),
    )
    if person is not None:  # an editor sees the open paper rounds first
        view["blocks"] = (await round_home(session, person) + view["blocks"])[:100]
    await session.client.views_publish(user_id=event["user"], view=view)
