"""The docs' pictures of the live page, taken at desktop and phone sizes.

``UPDATE_DOCS_SCREENSHOTS=1 pytest tests/browser/test_screenshots.py`` rewrites
docs/_static/django-live-desktop.png, django-live-phone.png and django-unavailable-phone.png
(used by docs/django.rst); otherwise the pictures go to a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from . import checks
from .conftest import DESKTOP, PHONE, ROOT, require_playwright
from .test_live_chat import WAIT, messages, send, start_chat

expect = require_playwright()

SIZES = {"desktop": DESKTOP, "phone": PHONE}


def _target(tmp_path: Path) -> Path:
    target = ROOT / "docs" / "_static" if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    return target


def _picture(page: Any, path: Path, state: str = "live") -> None:
    """A picture of the page in ``state``: taken again if the state changed meanwhile (the
    suite's event streams end every few seconds, and the page says "reconnecting" briefly)."""
    assert checks.layout(page)["overflowX"] <= 0
    status = page.locator("#live-status")
    for _ in range(5):
        expect(status).to_have_attribute("data-state", state, timeout=WAIT)
        page.screenshot(path=str(path))
        if status.get_attribute("data-state") == state:
            break
    assert path.stat().st_size > 0


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_live_page_is_pictured(new_page: Any, size: str, tmp_path: Path) -> None:
    page = new_page(viewport=SIZES[size], timezone_id="America/New_York", locale="en-US")
    start_chat(page, "Ann")
    send(page, "Hi! My order #1042 has not arrived yet.")
    expect(messages(page, "Echo: Hi! My order #1042 has not arrived yet.")).to_have_count(1, timeout=WAIT)
    mine = page.locator("li.message.mine", has_text="order #1042")
    expect(mine.locator(".receipt")).to_have_text("Read", timeout=WAIT)
    page.locator("#upload-form input[type=file]").set_input_files(
        {"name": "order-1042.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" * 2000}
    )
    page.get_by_role("button", name="Upload").click()
    expect(messages(page, "Thanks, I got order-1042.pdf.")).to_have_count(1, timeout=WAIT)
    send(page, "Could you check where it is? The tracking page says https://example.com/track/1042")
    expect(
        messages(page, "Echo: Could you check where it is? The tracking page says https://example.com/track/1042")
    ).to_have_count(1, timeout=WAIT)
    # The agent types again; shown through the page's own renderer so the picture never misses it.
    page.evaluate(
        """() => window.chatEvents.render({id: 'typing-shot', kind: 'typing', type: 'EVENT',
              participant_id: 'echo-agent', display_name: 'Echo agent', attachments: []})"""
    )
    expect(page.locator("#typing")).to_have_text("Echo agent is typing\u2026")
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT)  # not between two streams
    page.locator("#message-form textarea").fill("Thank you!")
    _picture(page, _target(tmp_path) / f"django-live-{size}.png")


def test_the_unreachable_service_is_pictured(new_page: Any, tmp_path: Path) -> None:
    page = new_page(viewport=PHONE, timezone_id="America/New_York", locale="en-US")
    start_chat(page, "Ann")
    send(page, "Is anyone there?")
    expect(messages(page, "Echo: Is anyone there?")).to_have_count(1, timeout=WAIT)
    page.route("**/chat/health/", lambda route: route.fulfill(status=503, json={"unavailable": True}))
    page.route("**/chat/events/**", lambda route: route.fulfill(status=503, body="unavailable"))
    page.evaluate("window.chatEvents.reconnect()")
    expect(page.locator("#connection-alert")).to_be_visible(timeout=WAIT)
    _picture(page, _target(tmp_path) / "django-unavailable-phone.png", state="unavailable")
