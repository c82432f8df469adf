"""The round's page on the board in a real headless Chromium (Debian's), driven by
Playwright. Set UPDATE_SCREENSHOT=1 to refresh docs/round.png, the picture in the README."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from board_harness import board_process
from round_seed import seed_round

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-token-0123456789"
DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (scripts/ensure-chromium.sh installs it)"
)


async def test_the_round_page_in_a_real_browser(tmp_path: Path, example_plan: Path) -> None:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    dialogs: list[str] = []
    async with board_process(tmp_path, example_plan, token=TOKEN, note="Venue booked.") as process:
        seed_round(process.store)
        base = f"http://127.0.0.1:{process.http_port}"
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
            )
            try:
                page = await browser.new_page(viewport={"width": 1200, "height": 1500})
                page.on("dialog", lambda d: dialogs.append(d.message))
                await page.goto(f"{base}/board/round/sept-2022?token={TOKEN}")
                assert page.url == f"{base}/board/round/sept-2022"  # the token left the URL
                h1 = await page.locator("h1").inner_text()
                assert h1.startswith("Paper round sept-2022")
                summary = await page.locator("ul.summary li").all_inner_texts()
                assert summary == ["Approved 27", "Edited 1", "Pending 21", "Not mine 1"]
                headings = await page.locator("h2").all_inner_texts()
                assert headings[:3] == ["By owner", "By theme", "CF · Putting Communities First"]
                hostile = page.get_by_text("<script>alert(1)</script> Bid of £887,661 secured")
                assert await hostile.is_visible()  # text on the page, and it runs nothing
                # The stylesheet applied: badges are drawn as the board draws them.
                colour = await page.locator("ul.summary .tag").first.evaluate(
                    "e => getComputedStyle(e).backgroundColor"
                )
                assert colour == "rgb(204, 226, 216)"  # the board's "completed" green
                shot = tmp_path / "round.png"
                await page.screenshot(path=str(shot))
                assert shot.read_bytes().startswith(b"\x89PNG")
                if os.environ.get("UPDATE_SCREENSHOT") == "1":
                    DOCS.mkdir(exist_ok=True)
                    await page.screenshot(path=str(DOCS / "round.png"))
                # axe-core, every rule it runs by default, at desktop and phone widths.
                for width in (1280, 390):
                    await page.set_viewport_size({"width": width, "height": 900})
                    results = await Axe().run(page)
                    assert [v["id"] for v in results.response["violations"]] == [], width
            finally:
                await browser.close()
    assert dialogs == []
