"""The board as a panel member and a chief executive on a phone meet it: axe-core in Debian's
Chromium at 1280 and 390 pixels, the print to A4, and the pictures in docs/.

axe-core comes from the ``axe-playwright-python`` package (its bundled ``axe.min.js``),
injected through Playwright; every rule axe runs by default, best practice included, must
pass. Set UPDATE_SCREENSHOT=1 to refresh the PNGs in docs/ that the README shows.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from board_harness import board_process

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-token-0123456789"
DOCS = Path(__file__).resolve().parents[2] / "docs"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PAGES = {
    "board": "/board",
    "filtered": "/board?theme=VW&stale=1",
    "past": "/board?as_of=2022-07-31",
    "deliverable": "/board/CF-10",
    "report": "/board/report?from=2022-03-01&to=2022-09-14",
    "statement": "/board/accessibility",
}
WIDTHS = (1280, 390)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (scripts/ensure-chromium.sh installs it)"
)


@pytest.fixture
async def base(tmp_path: Path, example_plan: Path) -> AsyncIterator[str]:
    note = "<script>alert(1)</script> Venue booked: Peterborough Guildhall."
    async with board_process(tmp_path, example_plan, token=TOKEN, note=note) as process:
        yield f"http://127.0.0.1:{process.http_port}"


async def _browser(p: Any) -> Any:
    return await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


async def _signed_in(browser: Any, base: str, width: int) -> Any:
    page = await browser.new_page(viewport={"width": width, "height": 900 if width > 600 else 844})
    await page.goto(f"{base}/board?token={TOKEN}")
    return page


async def test_axe_finds_nothing_on_any_page_at_desktop_and_phone_widths(base: str) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    axe = Axe()
    found: dict[str, list[str]] = {}
    passed: dict[str, int] = {}
    errors: list[str] = []  # scripts that ran (there must be none to run at all)
    async with async_playwright() as p:
        browser = await _browser(p)
        try:
            for width in WIDTHS:
                page = await _signed_in(browser, base, width)
                page.on("pageerror", lambda e: errors.append(str(e)))
                for name, path in PAGES.items():
                    response = await page.goto(base + path)
                    assert response is not None and response.status == 200, path
                    results = await axe.run(page)
                    key = f"{name}@{width}"
                    found[key] = [
                        f"{v['id']} ({v['impact']}): {len(v['nodes'])} × {v['help']}"
                        for v in results.response["violations"]
                    ]
                    passed[key] = len(results.response["passes"])
        finally:
            await browser.close()
    print("\naxe-core: rules passed / violations per page")
    for key in found:
        print(f"  {key:<20} {passed[key]:>3} passed, {len(found[key])} violations")
    assert {k: v for k, v in found.items() if v} == {}
    assert errors == []
    assert min(passed.values()) >= 15  # axe really ran its rules on each page


async def test_the_board_prints_on_at_most_six_a4_pages(base: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright
    from pypdf import PdfReader

    async with async_playwright() as p:
        browser = await _browser(p)
        try:
            page = await _signed_in(browser, base, 1280)
            await page.goto(f"{base}/board")
            pdf = await page.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            await browser.close()
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    print(f"\nthe example plan's board prints on {pages} A4 pages")
    assert 1 <= pages <= 6
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # A4 landscape
    first = reader.pages[0].extract_text()
    # No near-blank first page: the plan starts on it, and links carry their address.
    assert "CF · Putting Communities First" in first and "CF-3" in first
    assert "/board/report)" in first.replace("\n", "")
    assert "Filter deliverables" not in first


async def test_phone_cards_are_labelled_and_the_chart_gives_way_to_its_table(base: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _browser(p)
        try:
            page = await _signed_in(browser, base, 390)
            await page.goto(f"{base}/board")
            assert not await page.locator("img.chart").is_visible()
            weeks = page.locator("table.weeks tbody tr")
            assert await weeks.count() == 12 and await weeks.first.is_visible()
            card = page.locator("table.plan tbody tr").first
            text = await card.inner_text()
            for label in ("Owner", "Status", "Due", "Latest note"):
                assert f"\n{label}\n" in f"\n{text}\n", label
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # nothing runs off the side of the phone
            await page.set_viewport_size({"width": 1280, "height": 900})
            assert await page.locator("img.chart").is_visible()
            assert not await card.locator(".label").first.is_visible()
        finally:
            await browser.close()


async def test_pictures_for_the_readme(tmp_path: Path, example_plan: Path) -> None:
    """The board on a desktop and a phone, a printed page, and the Slack digest."""
    from playwright.async_api import async_playwright
    from slack_preview import digest_preview_html

    update = os.environ.get("UPDATE_SCREENSHOT") == "1"
    out = DOCS if update else tmp_path
    out.mkdir(exist_ok=True)
    env = {"BOARD_URL": "https://deliverabot.example.org/board"}  # as printed on paper
    note = "Venue booked: Peterborough Guildhall."
    async with (
        board_process(tmp_path, example_plan, token=TOKEN, note=note, env=env) as process,
        async_playwright() as p,
    ):
        base = f"http://127.0.0.1:{process.http_port}"
        browser = await _browser(p)
        try:
            page = await _signed_in(browser, base, 1280)
            await page.goto(f"{base}/board")
            await page.screenshot(path=str(out / "board-desktop.png"))
            await page.locator("div.mail").screenshot(path=str(out / "board-chart.png"))
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.screenshot(path=str(out / "board-phone.png"))
            # A printed page: Chromium's PDF, its first page as a picture (poppler's
            # pdftoppm), or else the print stylesheet on an A4-landscape-sized screen.
            await page.set_viewport_size({"width": 1280, "height": 900})
            pdf = tmp_path / "board.pdf"
            await page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
            if shutil.which("pdftoppm"):
                first_page = ["-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile"]
                subprocess.run(
                    ["pdftoppm", *first_page, str(pdf), str(out / "board-print")], check=True
                )
            else:
                await page.set_viewport_size({"width": 1123, "height": 794})
                await page.emulate_media(media="print")
                await page.screenshot(path=str(out / "board-print.png"))
            slack = await browser.new_page(viewport={"width": 390, "height": 844})
            await slack.set_content(digest_preview_html())
            await slack.screenshot(path=str(out / "digest-slack.png"), full_page=True)
        finally:
            await browser.close()
    for name in ("board-desktop", "board-chart", "board-phone", "board-print", "digest-slack"):
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name
