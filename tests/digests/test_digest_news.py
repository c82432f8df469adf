"""The digest leads with the news, names each deliverable once, and escapes only staff text.

Most tests read six months of weekly life on the example plan (tests/support/digest_weeks.py).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
from digest_weeks import (
    BUSY_WEEK,
    FIRST_MONDAY,
    IMPORT_WEEK,
    NO_MAIL_WEEK,
    PANELS,
    QUIET_WEEK,
    WEEKS,
    build_six_months,
)

from digests.digest import (
    CorrespondenceWeek,
    Countdown,
    Digest,
    Entry,
    Held,
    OwnerGroup,
    build_digest,
)
from digests.digest_render import render_digest
from digests.rich import staff_texts
from handlers.slack.blocks import escape_mrkdwn
from handlers.slack.digest import digest_mrkdwn, slack_message
from store import Office, Status, Store, open_store


def _render(digest: Digest, fmt: str) -> str:
    """The digest in ``fmt``; Slack's mrkdwn is the Slack room's (handlers.slack.digest)."""
    return digest_mrkdwn(digest) if fmt == "mrkdwn" else render_digest(digest, fmt)


LONDON = zoneinfo.ZoneInfo("Europe/London")
BOARD = "https://deliverabot.example.org/board"
ROOT = Path(__file__).resolve().parents[2]
ZERO_WIDTH = ("\u200b", "\u2060")
REF = re.compile(r"\b(?:CF|CP|VW|EP|RE)-\d+\b")


@pytest.fixture(scope="module")
def six(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path = build_six_months(
        tmp_path_factory.mktemp("six") / "six.db", ROOT / "examples" / "opcc-plan-2021-24.yaml"
    )
    store = open_store(path)
    yield store
    store.close()


def _weeks() -> list[tuple[int, int]]:
    weeks = [IMPORT_WEEK]
    for n in range(WEEKS):
        year, week, _ = (FIRST_MONDAY + dt.timedelta(weeks=n)).isocalendar()
        weeks.append((year, week))
    return weeks


def _digest(store: Store, week: tuple[int, int], **extra: object) -> Digest:
    return build_digest(store, year=week[0], week=week[1], office=Office(tz=LONDON), **extra)  # type: ignore[arg-type]


def _lines(text: str) -> int:
    return len(text.strip().splitlines())


# -- what it says, in what order ---------------------------------------------------------------


def test_the_import_week_says_plan_imported_instead_of_listing_43(six: Store) -> None:
    digest = _digest(six, IMPORT_WEEK)
    text = _render(digest, "text")
    assert digest.imported == 43 and digest.new == []
    assert "Plan imported: 43 deliverables (" in text
    assert not REF.search(text.split("Needs attention")[0])  # no list of 43 references
    assert _lines(text) <= 10


def test_the_busy_week_leads_with_the_bid_won(six: Store) -> None:
    digest = _digest(six, BUSY_WEEK)
    text = _render(digest, "text")
    body = text.split("\n\n")
    assert body[1].startswith("This week: ") and "completed" in body[1]  # the headline
    assert body[2].startswith("Completed\n- ") and "Bid won: £887,661" in body[2]
    assert text.index("Completed") < text.index("Other updates") < text.index("Needs attention")
    assert text.index("Needs attention") < text.index("Correspondence")
    assert _lines(text) <= 40


def test_a_quiet_week_and_a_week_without_mail_say_so_in_one_line(six: Store) -> None:
    quiet = _digest(six, QUIET_WEEK)
    text = _render(quiet, "text")
    assert quiet.quiet and not quiet.wants_chart
    assert text.count("A quiet week: no updates and no correspondence recorded") == 1
    assert "Correspondence" not in text and _lines(text) <= 12
    no_mail = _digest(six, NO_MAIL_WEEK)
    text = _render(no_mail, "text")
    assert not no_mail.quiet and not no_mail.wants_chart
    mail = text.split("Correspondence\n", 1)[1].strip().splitlines()
    assert mail[0].startswith("No correspondence recorded this week (4-week average ")
    assert "This week 0" not in text


def test_each_deliverable_appears_once_per_digest(six: Store) -> None:
    for week in _weeks():
        digest = _digest(six, week, board_url=BOARD, panels=PANELS)
        listed = [e.ref for e in digest.entries]
        listed += [r for g in digest.owners for r in (*g.overdue, *g.stale, *g.due_soon)]
        listed += [h.ref for h in digest.on_hold]
        assert len(listed) == len(set(listed)), week
        for fmt in ("text", "markdown", "mrkdwn"):
            text = re.sub(r"https?://[^\s|)>\"]+", "", _render(digest, fmt))
            shown = REF.findall(text)
            # Owners past the fifth are behind "and N more", never listed twice.
            assert len(shown) == len(set(shown)), (week, fmt)


def test_on_hold_stays_in_a_standing_line_until_it_resumes(six: Store) -> None:
    refs = {d.id: d.ref for d in six.deliverables()}
    standing_weeks: dict[str, int] = {}
    for week in _weeks()[1:]:
        digest = _digest(six, week)
        end = dt.datetime.combine(digest.generated_for + dt.timedelta(days=1), dt.time(0), LONDON)
        held = {refs[i] for i, s in six.states_at(end).items() if s.status is Status.ON_HOLD}
        in_lists = {e.ref for e in digest.entries}
        # Every deliverable on hold at the week's end is named: in the week's lists if it
        # changed, else in the standing line; once it resumes it leaves the line.
        assert {h.ref for h in digest.on_hold} == held - in_lists, week
        if digest.on_hold:
            assert "On hold: " in _render(digest, "text")
        for h in digest.on_hold:
            standing_weeks[h.ref] = standing_weeks.get(h.ref, 0) + 1
    assert max(standing_weeks.values()) >= 2  # the data has holds that last


def test_needs_attention_is_five_owner_lines_at_most_and_links_to_the_board() -> None:
    owners = [OwnerGroup(f"Owner {i}", stale=(f"CF-{i}",)) for i in range(1, 9)]
    digest = _hand_built(owners=owners)
    text = _render(digest, "mrkdwn")
    section = text.split(":rotating_light:")[1].split("%%%")[0]
    bullets = [li for li in section.splitlines() if li.startswith("• ")]
    assert len(bullets) == 6  # five owners, and "and N more"
    assert bullets[-1] == f"• <{BOARD}?attention=1|and 3 more for 3 other owners> on the board"


def test_the_countdown_to_the_next_panel(six: Store) -> None:
    digest = _digest(six, (2023, 5), panels=PANELS)  # 30 January–5 February 2023
    assert digest.countdown is not None
    assert (digest.countdown.panel, digest.countdown.days) == (dt.date(2023, 2, 8), 2)
    assert digest.countdown.since == dt.date(2022, 9, 14)
    assert 0 < digest.countdown.pending < digest.countdown.lines <= 50
    text = _render(digest, "text")
    assert "Next panel Wednesday 8 February 2023, in 2 days: " in text
    assert _digest(six, (2023, 5)).countdown is None  # no panel dates, no countdown


def test_week_on_week_counts_in_the_headline(six: Store) -> None:
    digest = _digest(six, BUSY_WEEK)
    n = len(digest.completed)
    assert digest.status_counts[Status.COMPLETED] - digest.counts_before[Status.COMPLETED] == n
    assert f"completed (+{n})" in digest.headline


def test_references_link_to_the_board_when_its_address_is_known(six: Store) -> None:
    digest = _digest(six, BUSY_WEEK, board_url=BOARD + "/")
    mrkdwn = _render(digest, "mrkdwn")
    first = digest.completed[0].ref
    assert f"<{BOARD}/{first}|{first}>" in mrkdwn
    assert f"[{first}]({BOARD}/{first})" in _render(digest, "markdown")
    assert f'<a href="{BOARD}/{first}">{first}</a>' in _render(digest, "html")
    assert mrkdwn.rstrip().endswith(f":bar_chart: <{BOARD}|Open the board>")
    assert "<http" not in _render(_digest(six, BUSY_WEEK), "mrkdwn")


# -- escaping: staff text always, the bot's own words never -------------------------------------


HOSTILE = "_under_ *star* ~strike~ `tick` <!channel> @here & Q3_report"


def _hand_built(**changes: object) -> Digest:
    """A digest with every section filled, staff text everywhere full of mrkdwn marks."""

    def entry(ref: str, kind: str, change: str = "") -> Entry:
        return Entry(
            ref,
            f"Title of {ref} {HOSTILE}",
            "Jo_Bloggs *",
            kind,
            change,
            (HOSTILE,),
            f"{BOARD}/{ref}",
        )

    values: dict[str, object] = {
        "plan": "Plan_2021 *24*",
        "office": "OPCC_x",
        "year": 2022,
        "week": 37,
        "label": "Week 37, 12–18 September 2022 · Q2 2022/23",
        "generated_for": dt.date(2022, 9, 18),
        "status_counts": {s: 2 for s in Status},
        "counts_before": {s: 1 for s in Status},
        "completed": [entry("CF-1", "completed")],
        "slipped": [entry("CF-2", "slipped", "due Q3 2022/23 → Q4 2022/23")],
        "held": [entry("CF-3", "held")],
        "new": [entry("CF-4", "new", "Not started")],
        "updates": [entry("CF-5", "update", "On hold → Ongoing")],
        "owners": [OwnerGroup("Owner_one *", ("CF-6",), ("CF-7",), ("CF-8",))],
        "on_hold": [Held("CF-9", dt.date(2022, 8, 1))],
        "countdown": Countdown(dt.date(2023, 2, 8), 142, 3, 36, dt.date(2022, 9, 14)),
        "correspondence": CorrespondenceWeek(
            3, 1, 0.5, 0.5, {"public": 2, "mp": 1}, [], "Last 4 weeks: 1 of 5 answered."
        ),
        "board_url": BOARD,
    }
    values.update(changes)
    return Digest(**values)  # type: ignore[arg-type]


def _outside_staff_text(digest: Digest, rendered: str) -> str:
    lines = [e.line for e in digest.entries] + digest.owner_lines
    lines += [x for x in (digest.more_line, digest.hold_line) if x]
    texts = {digest.plan, *staff_texts(lines)}
    for text in sorted(texts, key=len, reverse=True):
        rendered = rendered.replace(escape_mrkdwn(text), "")
    return rendered


def test_no_zero_width_character_outside_staff_text_in_any_section() -> None:
    digest = _hand_built()
    rendered = _render(digest, "mrkdwn")
    for emoji in (
        ":white_check_mark:",
        ":warning:",
        ":double_vertical_bar:",
        ":new:",
        ":memo:",
        ":rotating_light:",
        ":envelope:",
        ":calendar:",
        ":bar_chart:",
    ):
        assert emoji in rendered, emoji  # template text, never escaped
    assert f"<{BOARD}/CF-1|CF-1>" in rendered and f"<{BOARD}?attention=1|" not in rendered
    rest = _outside_staff_text(digest, rendered)
    assert not any(z in rest for z in ZERO_WIDTH), repr(rest)
    # ...and staff text is escaped: its marks are broken, nothing pings.
    assert escape_mrkdwn(HOSTILE) in rendered and "<!channel>" not in rendered
    message = slack_message(digest)
    assert not any(z in _outside_staff_text(digest, message["text"]) for z in ZERO_WIDTH)
    context = message["blocks"][1]["elements"][0]["text"]
    assert context == digest.label


def test_no_zero_width_character_outside_staff_text_in_six_months(six: Store) -> None:
    everything = ""
    for week in _weeks():
        digest = _digest(six, week, board_url=BOARD, panels=PANELS)
        rendered = _render(digest, "mrkdwn")
        rest = _outside_staff_text(digest, rendered)
        assert not any(z in rest for z in ZERO_WIDTH), (week, rest)
        everything += rendered
    # Staff's own underscores and asterisks were escaped where they occur.
    assert "Q3\u200b_review\u200b_v2" in everything and "\u200b*risk register\u200b*" in everything
