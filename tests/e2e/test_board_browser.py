"""The board in a real headless Chromium (Debian's), driven by Playwright.

(The pictures in the README come from test_board_accessibility.py.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from board_harness import board_process

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-token-0123456789"
NOW = dt.datetime(2022, 9, 16, 12, tzinfo=dt.UTC)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (scripts/ensure-chromium.sh installs it)"
)


@pytest.fixture
async def base(tmp_path: Path, example_plan: Path) -> AsyncIterator[str]:
    note = "<script>alert(1)</script> Venue booked."
    async with board_process(tmp_path, example_plan, token=TOKEN, note=note) as process:
        yield f"http://127.0.0.1:{process.http_port}"


async def test_board_in_a_real_browser(base: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    dialogs: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("dialog", lambda d: dialogs.append(d.message))
            await page.goto(f"{base}/board?token={TOKEN}")
            assert page.url == f"{base}/board"  # the token left the address at once
            headings = await page.locator("table.plan caption").all_inner_texts()
            assert headings == [
                "CF · Putting Communities First",
                "CP · Crime Prevention",
                "VW · Supporting Victims and Witnesses",
                "EP · Ethical Policing",
                "RE · Robust Enforcement",
            ]
            # A hostile note is text on the page, and runs nothing.
            assert await page.get_by_text("<script>alert(1)</script> Venue booked.").is_visible()
            screenshot = tmp_path / "board.png"
            await page.screenshot(path=str(screenshot), full_page=False)
            assert screenshot.read_bytes().startswith(b"\x89PNG")

            # Filter by theme and stale, through the form, as a reader would.
            await page.select_option("select[name=theme]", "VW")
            await page.check("input[name=stale]")
            await page.click("button[type=submit]")
            assert "theme=VW" in page.url and "stale=1" in page.url
            assert await page.locator("table.plan caption").all_inner_texts() == [
                "VW · Supporting Victims and Witnesses"
            ]
            rows = await page.locator("table.plan tbody tr").all_inner_texts()
            assert rows and all("Stale" in r for r in rows)

            # One deliverable's history, newest first.
            await page.goto(f"{base}/board/CF-10")
            history = await page.locator("ol.history li").all_inner_texts()
            assert "<script>alert(1)</script> Venue booked." in history[0]
            assert "created" in history[-1]

            # The CSV download.
            await page.goto(f"{base}/board")
            async with page.expect_download() as info:
                await page.click("text=CSV")
            download = await info.value
            saved = tmp_path / "plan.csv"
            await download.save_as(str(saved))
            assert saved.read_text(encoding="utf-8").startswith("ref,title,theme,theme_code")
        finally:
            await browser.close()
    assert dialogs == []  # no script ran
