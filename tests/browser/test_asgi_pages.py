"""Many live pages under ASGI, and the page's side of the event streams' caps and resets, in
headless Chromium (see conftest.py for what runs: the example under uvicorn, on
``connectparticipant-ext serve --agent echo``).

Every wait is bounded (Playwright's expect); nothing asserts how long anything took.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .conftest import require_playwright
from .test_live_chat import WAIT, item_ids, messages, send, start_chat

expect = require_playwright()

PAGES = 20
MOVED = "live updates moved to another tab: reload to bring them here"


def test_20_pages_live_at_once_under_asgi(new_page: Any, asgi_site: str) -> None:
    pages = [new_page(base_url=asgi_site) for _ in range(PAGES)]
    for n, page in enumerate(pages):
        start_chat(page, name=f"Customer {n}")
    for n, page in enumerate(pages):  # every page's stream is open at once: each says something
        send(page, f"hello from page {n}")
    for n, page in enumerate(pages):
        expect(messages(page, f"Echo: hello from page {n}")).to_have_count(1, timeout=WAIT)
        expect(page.locator("#live-status")).to_have_text("live")
    for n, page in enumerate(pages):  # and only its own chat
        mine = page.locator("li.message .content", has_text=re.compile(r"^hello from page"))
        expect(mine).to_have_text([f"hello from page {n}"])


def test_past_the_sessions_cap_one_tab_rests_and_does_not_reconnect(new_page: Any, asgi_site: str) -> None:
    first = new_page(base_url=asgi_site)
    start_chat(first)
    tabs = [first] + [first.context.new_page() for _ in range(3)]
    opened = [0] * len(tabs)  # event-stream requests per tab

    def count(n: int) -> Any:
        def on_request(request: Any) -> None:
            if "/chat/events/" in request.url:
                opened[n] += 1

        return on_request

    for n, tab in enumerate(tabs):
        tab.on("request", count(n))
    for tab in tabs[1:]:  # the example's cap is 3 event streams per session: a fourth tab is one too many
        tab.goto("/chat/")
    statuses = [tab.locator("#live-status") for tab in tabs]
    resting = _wait_for_one(lambda: [n for n, status in enumerate(statuses) if status.text_content() == MOVED])
    live = [tab for n, tab in enumerate(tabs) if n != resting]
    for tab in live:
        expect(tab.locator("#live-status")).to_have_text("live", timeout=WAIT)
    expect(tabs[resting].locator("#chat-ended")).to_be_hidden()  # the chat goes on: only this tab rests
    requests_when_resting = opened[resting]
    send(live[-1], "from a live tab")
    for tab in live:
        expect(messages(tab, "Echo: from a live tab")).to_have_count(1, timeout=WAIT)
    expect(statuses[resting]).to_have_text(MOVED)
    assert opened[resting] == requests_when_resting, "the resting tab opened its event stream again"


def _wait_for_one(resting: Any) -> int:
    """The one tab that rests, once exactly one does (bounded)."""
    deadline = time.monotonic() + WAIT / 1000
    while True:
        found = resting()
        if len(found) == 1:
            return int(found[0])
        assert time.monotonic() < deadline and len(found) < 2, f"tabs resting: {found}"
        time.sleep(0.1)


def test_an_unknown_resume_point_shows_what_came_meanwhile_once(new_page: Any, asgi_site: str) -> None:
    page = new_page(base_url=asgi_site)
    start_chat(page)
    send(page, "before")
    expect(messages(page, "Echo: before")).to_have_count(1, timeout=WAIT)
    held: list[Any] = []

    def stale(route: Any) -> None:
        """From now on the page resumes from a point the server does not know (a stale id)."""
        route.continue_(url=re.sub(r"since=[^&]*", "since=an-id-this-chat-never-had", route.request.url))

    def hold_the_first(route: Any) -> None:
        if held:
            stale(route)
        else:
            held.append(route)  # the page's next event stream waits here

    page.route("**/chat/events/**", hold_the_first)
    page.evaluate("window.chatEvents.reconnect()")
    send(page, "meanwhile")  # while the page's event stream is not open
    _wait_until(lambda: "Echo: meanwhile" in page.request.get("/chat/").text(), "the echo agent did not answer")
    assert held, "the page did not open its event stream again"
    stale(held[0])
    for text in ("before", "Echo: before", "meanwhile", "Echo: meanwhile"):
        expect(messages(page, text)).to_have_count(1, timeout=WAIT)
    ids = item_ids(page)
    assert len(ids) == len(set(ids))
    expect(page.locator("#live-status")).to_have_text("live")


def _wait_until(condition: Any, failure: str) -> None:
    deadline = time.monotonic() + WAIT / 1000
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.2)
