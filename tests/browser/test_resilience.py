"""The page when things go wrong: the chat service unreachable (for real: the example reaches
its backend through a relay the test cuts), and a send whose answer is lost.

See conftest.py (``quiet_site``) for what runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import PHONE, require_playwright
from .test_chat_page import _assert_contrast
from .test_live_chat import WAIT, messages, send, start_chat

expect = require_playwright()

# The page asks /chat/health/ after 2, 4, 8... seconds: a recovery shows within a few rounds.
RECOVERY_WAIT = 45_000


@pytest.fixture
def relay(quiet_site: dict[str, Any]) -> Iterator[Any]:
    """The relay between the example and its backend, whole again after the test."""
    yield quiet_site["relay"]
    quiet_site["relay"].restore()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_page_says_the_service_is_unreachable_and_comes_back_by_itself(
    new_page: Any, quiet_site: dict[str, Any], relay: Any, viewport: Any
) -> None:
    page = new_page(viewport=viewport, base_url=quiet_site["site"])
    start_chat(page)
    page.evaluate("window.__notReloaded = true")
    relay.cut()
    send(page, "while the service is away")
    alert = page.locator("#connection-alert")
    expect(alert).to_be_visible(timeout=WAIT)
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text("Can\u2019t reach the chat service")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "unavailable")
    expect(page.locator("#message-error")).to_contain_text("cannot be reached")
    expect(page.get_by_role("button", name="Try again now")).to_be_visible()
    relay.restore()
    # No click: the page finds the service back by itself, and the chat goes on.
    expect(page.locator("#live-status")).to_have_text("live", timeout=RECOVERY_WAIT)
    expect(alert).to_be_hidden()
    page.get_by_role("button", name="Send", exact=True).click()  # the same text, kept in the box
    expect(messages(page, "while the service is away")).to_have_count(1, timeout=WAIT)
    assert page.evaluate("window.__notReloaded === true")


def test_a_reload_while_the_service_is_unreachable_is_a_try_again_page(
    new_page: Any, quiet_site: dict[str, Any], relay: Any
) -> None:
    page = new_page(base_url=quiet_site["site"])
    start_chat(page)
    relay.cut()
    response = page.reload()
    assert response is not None and response.status == 503
    assert int(response.headers["retry-after"]) > 0
    expect(page.get_by_role("heading", name="Chat unavailable")).to_be_visible()
    expect(page.get_by_text("Your chat is kept")).to_be_visible()
    _assert_contrast(page, "the 503 page")
    relay.restore()
    page.get_by_role("link", name="Try again").click()
    expect(page).to_have_url(re.compile(r"/chat/$"))
    expect(page.locator("#live-status")).to_have_text("live", timeout=WAIT)


def test_the_page_asks_again_by_itself_while_the_service_is_away(
    new_page: Any, quiet_site: dict[str, Any], relay: Any
) -> None:
    page = new_page(base_url=quiet_site["site"])
    start_chat(page)
    asked: list[int] = []
    page.on("response", lambda r: asked.append(r.status) if r.url.endswith("/chat/health/") else None)
    relay.cut()
    send(page, "knock knock")
    expect(page.locator("#connection-alert")).to_be_visible(timeout=WAIT)
    for _ in range(RECOVERY_WAIT // 500):  # bounded: until the page has asked twice
        if len(asked) >= 2:
            break
        page.wait_for_timeout(500)
    assert len(asked) >= 2 and all(status == 503 for status in asked), asked
    expect(page.locator("#live-status")).to_have_attribute("data-state", "unavailable")


def test_an_edited_retry_after_a_lost_answer_sends_the_new_text(new_page: Any) -> None:
    """The first send reaches the service but its answer is lost; the customer edits the text
    and sends again: the new text is a new message (a fresh idempotency token), and a retry of
    unchanged text is still sent once."""
    page = new_page()
    start_chat(page)
    lost = {"count": 0}

    def lose_the_answer(route: Any) -> None:
        if lost["count"] == 0:
            lost["count"] += 1
            route.fetch()  # the server sends the message...
            route.abort("connectionreset")  # ...and the page never hears back
        else:
            route.continue_()

    page.route("**/chat/send/", lose_the_answer)
    send(page, "first wording")
    expect(page.locator("#message-error")).to_contain_text("Could not reach the server")
    expect(messages(page, "Echo: first wording")).to_have_count(1, timeout=WAIT)
    send(page, "second wording")
    expect(messages(page, "Echo: second wording")).to_have_count(1, timeout=WAIT)
    expect(messages(page, "second wording")).to_have_count(1)
    expect(messages(page, "first wording")).to_have_count(1)


def test_a_retry_of_unchanged_text_after_a_lost_answer_sends_once(new_page: Any) -> None:
    page = new_page()
    start_chat(page)
    lost = {"count": 0}

    def lose_the_answer(route: Any) -> None:
        if lost["count"] == 0:
            lost["count"] += 1
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/chat/send/", lose_the_answer)
    send(page, "say it once")
    expect(page.locator("#message-error")).to_contain_text("Could not reach the server")
    page.get_by_role("button", name="Send", exact=True).click()  # the text is still in the box
    expect(page.locator("#message-error")).to_be_hidden(timeout=WAIT)
    expect(messages(page, "Echo: say it once")).to_have_count(1, timeout=WAIT)
    page.wait_for_timeout(1500)  # a second echo would have come by now
    expect(messages(page, "say it once")).to_have_count(1)
    expect(messages(page, "Echo: say it once")).to_have_count(1)
