"""The live page at desktop and phone sizes: it fits the screen, and its pictures are the docs'.

``UPDATE_DOCS_SCREENSHOTS=1 pytest tests/browser/test_screenshots.py`` rewrites
docs/_static/django-live-desktop.png and django-live-phone.png; otherwise the pictures go to
a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, require_playwright
from .test_live_chat import WAIT, messages, send, start_chat

expect = require_playwright()

SIZES = {
    "desktop": {"width": 1100, "height": 760},
    "phone": {"width": 390, "height": 760},  # an iPhone-sized CSS viewport
}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_live_page_fits_and_is_pictured(new_page: Any, size: str, tmp_path: Path) -> None:
    page = new_page(viewport=SIZES[size])
    start_chat(page, "Ann")
    send(page, "Hi! My order #1042 has not arrived yet.")
    expect(messages(page, "Echo: Hi! My order #1042 has not arrived yet.")).to_have_count(1, timeout=WAIT)
    mine = page.locator("li.message.mine", has_text="order #1042")
    expect(mine.locator(".receipt")).to_have_text("Read", timeout=WAIT)
    send(page, "Could you check where it is?")
    expect(messages(page, "Echo: Could you check where it is?")).to_have_count(1, timeout=WAIT)
    expect(page.locator("li.message.mine", has_text="check where").locator(".receipt")).to_have_text("Read")
    # The agent types again; shown through the page's own renderer so the picture never misses it.
    page.evaluate(
        """() => window.chatEvents.render({id: 'typing-shot', kind: 'typing', type: 'EVENT',
              participant_id: 'echo-agent', display_name: 'Echo agent', attachments: []})"""
    )
    expect(page.locator("#typing")).to_have_text("Echo agent is typing\u2026")
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT)  # not between two streams
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a {size} screen"
    target = ROOT / "docs" / "_static" if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"django-live-{size}.png"), full_page=True)
    assert (target / f"django-live-{size}.png").stat().st_size > 0
