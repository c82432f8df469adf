"""`deliverabot demo`: the whole thing on a throwaway database, with no Slack account.

It imports the example plan, replays three weeks of updates through the same service path
Slack uses, sends a batch of forwarded emails through the real SMTP server on a free port,
prints the digest, and writes the report (Markdown and Word) and the chart to a folder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import socket
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

from bot.config import Settings
from bot.wiring import mail_policy
from digests.chart import digest_chart
from digests.digest import build_digest
from digests.digest_render import render_digest
from digests.report import build_report, render_docx, render_report
from handlers.mail import DeliverabotSMTP, InboundWorker, MailHandler
from handlers.plan import parse_plan
from handlers.service import UpdateRequest, import_plan, record_update
from handlers.service.writer import Writer
from store import Office, Source, Status, Store, open_store

__all__ = ["run_demo"]

# (day, owner, ref, status, due, note): three weeks of what staff would type in Slack.
UPDATES = [
    (
        "2022-08-30",
        "priya.shah@example.org",
        "CF-10",
        None,
        None,
        "Venue booked: Peterborough Guildhall.",
    ),
    (
        "2022-09-01",
        "grace.okafor@example.org",
        "VW-3",
        None,
        None,
        "First draft shared with partners.",
    ),
    (
        "2022-09-02",
        "dan.hughes@example.org",
        "EP-5",
        None,
        "Q4 2022/23",
        "Data from the Constabulary is late; publication moves to Q4.",
    ),
    (
        "2022-09-06",
        "alex.morgan@example.org",
        "CF-11",
        Status.ONGOING,
        None,
        "Tactical plan actions assigned to owners.",
    ),
    (
        "2022-09-07",
        "tom.fletcher@example.org",
        "CP-5",
        None,
        None,
        "ECRC campaign materials agreed.",
    ),
    (
        "2022-09-12",
        "priya.shah@example.org",
        "CF-9",
        Status.ON_HOLD,
        None,
        "Software business case paused pending the budget review.",
    ),
    (
        "2022-09-13",
        "grace.okafor@example.org",
        "VW-11",
        Status.COMPLETED,
        None,
        "First Victims Provider Forum held with 14 providers.",
    ),
    (
        "2022-09-14",
        "dan.hughes@example.org",
        "EP-6",
        None,
        None,
        "Review findings presented to the Business Co-ordination Board.",
    ),
    (
        "2022-09-15",
        "sam.lee@example.org",
        "VW-8",
        Status.BAU,
        None,
        "Joint working now part of the monthly Criminal Justice Board.",
    ),
]

# (day, forwarder, sender, category hint in the address, subject)
LETTERS = [
    ("2022-07-04", "priya.shah@example.org", "resident1@gmail.com", None, "Speeding on Mill Road"),
    (
        "2022-07-12",
        "priya.shah@example.org",
        "resident2@outlook.com",
        "complaint",
        "Call handling on 101",
    ),
    (
        "2022-07-19",
        "tom.fletcher@example.org",
        "jo.bloggs.mp@parliament.uk",
        None,
        "Knife crime funding",
    ),
    (
        "2022-07-27",
        "alex.morgan@example.org",
        "clerk@peterborough.gov.uk",
        None,
        "Community safety partnership",
    ),
    (
        "2022-08-03",
        "grace.okafor@example.org",
        "resident3@yahoo.co.uk",
        None,
        "Support after a burglary",
    ),
    ("2022-08-10", "dan.hughes@example.org", "desk@localpaper.co.uk", "media", "Interview request"),
    (
        "2022-08-16",
        "priya.shah@example.org",
        "resident4@gmail.com",
        "complaint",
        "Officer conduct at a football match",
    ),
    (
        "2022-08-23",
        "sam.lee@example.org",
        "resident5@gmail.com",
        "foi",
        "Request for stop and search figures",
    ),
    (
        "2022-08-30",
        "priya.shah@example.org",
        "cllr.smith@cambridgeshire.gov.uk",
        "councillor",
        "Anti-social behaviour in the park",
    ),
    (
        "2022-09-05",
        "priya.shah@example.org",
        "resident6@gmail.com",
        None,
        "Parking outside the school",
    ),
    (
        "2022-09-06",
        "tom.fletcher@example.org",
        "jo.bloggs.mp@parliament.uk",
        None,
        "Rural crime in the Fens",
    ),
    (
        "2022-09-08",
        "grace.okafor@example.org",
        "resident7@outlook.com",
        "complaint",
        "No update on my case",
    ),
    (
        "2022-09-13",
        "alex.morgan@example.org",
        "resident8@gmail.com",
        None,
        "Thank you to the neighbourhood team",
    ),
    (
        "2022-09-14",
        "priya.shah@example.org",
        "resident9@btinternet.com",
        None,
        "Fly-tipping and bikes",
    ),
]


def _at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def _replay_updates(store: Store, office: Office) -> int:
    for day, owner, ref, status, due, note in UPDATES:
        person = store.person_by_email(owner)
        assert person is not None
        record_update(
            store,
            UpdateRequest(
                deliverable=ref,
                actor=person,
                source=Source.SLACK,
                status=status,
                due=due,
                note=note,
                recorded_at=_at(day),
            ),
            office=office,
        )
    return len(UPDATES)


def _letters(domain: str) -> list[tuple[str, str, bytes]]:
    out = []
    for i, (day, forwarder, sender, category, subject) in enumerate(LETTERS):
        when = _at(day, 9)
        msg = EmailMessage()
        msg["From"] = forwarder
        msg["To"] = f"correspondence{'+' + category if category else ''}@{domain}"
        msg["Subject"] = f"Fwd: {subject}"
        msg["Date"] = (when + dt.timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        msg["Message-ID"] = f"<demo-forward-{i}@example.org>"
        msg.set_content(
            "Forwarding for the log.\n\n"
            "---------- Forwarded message ---------\n"
            f"From: Correspondent <{sender}>\n"
            f"Date: {when:%a, %d %b %Y} at {when:%H:%M}\n"
            f"Subject: {subject}\n"
            f"To: <office@{domain}>\n\n"
            f"Dear Commissioner, I am writing about {subject.lower()}.\n"
        )
        out.append((forwarder, str(msg["To"]), msg.as_bytes()))
    # The Mill Road letter is forwarded a second time by someone else: still one piece.
    day, _, sender, _, subject = LETTERS[0]
    again = EmailMessage()
    again["From"] = "alex.morgan@example.org"
    again["To"] = f"correspondence@{domain}"
    again["Subject"] = f"Fwd: {subject}"
    again["Message-ID"] = "<demo-forward-again@example.org>"
    when = _at(day, 9)
    again.set_content(
        "---------- Forwarded message ---------\n"
        f"From: Correspondent <{sender}>\n"
        f"Date: {when:%a, %d %b %Y} at {when:%H:%M}\n"
        f"Subject: {subject}\n\n"
        f"Dear Commissioner, I am writing about {subject.lower()}.\n"
    )
    out.append(("alex.morgan@example.org", f"correspondence@{domain}", again.as_bytes()))
    # A reply Bcc'd to the bot: the Mill Road letter answered on 11 July.
    reply = EmailMessage()
    reply["From"] = "priya.shah@example.org"
    reply["To"] = "resident1@gmail.com"
    reply["Subject"] = f"Re: {LETTERS[0][4]}"
    reply["Date"] = "Mon, 11 Jul 2022 15:00:00 +0100"
    reply["Message-ID"] = "<demo-reply-1@example.org>"
    reply.set_content("Thank you for writing; speed checks are planned.")
    out.append(("priya.shah@example.org", f"correspondence@{domain}", reply.as_bytes()))
    return out


async def _send_mail(store: Store, settings: Settings) -> dict[str, int]:
    handler = MailHandler(InboundWorker(Writer(store), mail_policy(settings, store)))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: DeliverabotSMTP(handler, hostname=settings.mail_domain), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    letters = _letters(settings.mail_domain)

    def send_all() -> list[int]:
        codes = []
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for sender, to, raw in letters:
                client.sendmail(sender, [to], raw)
                codes.append(250)
        return codes

    try:
        await asyncio.to_thread(send_all)
        await handler.worker.drain()
    finally:
        server.close()
        await server.wait_closed()
    states: dict[str, int] = {}
    for row in store.inbound_list(("counted", "duplicate", "reply", "noise", "quarantined")):
        states[row["state"]] = states.get(row["state"], 0) + 1
    return states


def _free_port_check() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))


def run_demo(settings: Settings, folder: Path, echo: object = print) -> Path:
    """Run the tour into ``folder`` and return it."""
    say = echo if callable(echo) else print
    _free_port_check()
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "demo.db"
    if db_path.exists():
        db_path.unlink()
    store = open_store(db_path)
    try:
        plan_text = (
            resources.files("bot").joinpath("data/opcc-plan-2021-24.yaml").read_text("utf-8")
        )
        office = settings.office
        spec = parse_plan(plan_text, filename="opcc-plan-2021-24.yaml", calendar=office)
        summary = import_plan(store, spec, today=dt.date(2022, 9, 14))
        say(
            f"1. Imported the example plan: {summary.added} deliverables "
            f"in {len(spec.themes)} themes."
        )
        n = _replay_updates(store, office)
        say(f"2. Replayed {n} updates through the shared service, as Slack would record them.")
        states = asyncio.run(_send_mail(store, settings))
        say(
            f"   Sent {len(LETTERS) + 2} emails through the SMTP server: "
            + ", ".join(f"{v} {k}" for k, v in sorted(states.items()))
            + "."
        )
        digest = build_digest(
            store,
            year=2022,
            week=37,
            office=office,
            board_url=settings.board_url,
            panels=settings.panel_dates,
        )
        say("3. The digest leaders would get on Monday 19 September 2022:\n")
        say(render_digest(digest, "text"))
        report = build_report(
            store,
            day_from=dt.date(2022, 3, 1),
            day_to=dt.date(2022, 9, 18),
            office=office,
        )
        (folder / "report.md").write_text(render_report(report, "markdown"), encoding="utf-8")
        (folder / "report.docx").write_bytes(render_docx(report))
        chart = digest_chart(
            digest.correspondence.weekly if digest.correspondence else [], digest.status_counts
        )
        (folder / "chart.png").write_bytes(chart)
        say(f"4. Wrote report.md, report.docx and chart.png to {folder.resolve()}")
    finally:
        store.close()
    return folder
