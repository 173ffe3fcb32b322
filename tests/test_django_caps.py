"""The caps on live event streams, through the Django example's events view, under WSGI (the
test client) and ASGI (the async test client): a session's oldest stream past its cap ends with
``event: end``, reason ``replaced``; past the process's cap the view answers 503 with
``Retry-After``."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

pytest.importorskip("django")

import test_django_example as example  # noqa: E402
from django.test import AsyncClient, override_settings  # noqa: E402

from connectparticipant_ext.sse import event_streams  # noqa: E402

from _helpers import WAIT, parse_events  # noqa: E402

django_example = example.django_example  # the fixtures: Django set up with the example's settings
backend = example.backend
browser = example.browser
PER_SESSION = "CONNECTPARTICIPANT_EXT_EVENT_STREAMS_PER_SESSION"
MAX = "CONNECTPARTICIPANT_EXT_EVENT_STREAMS_MAX"


def read_all(response: Any) -> list[dict[str, Any]]:
    """Read a streaming response that ends by itself (bounded), as events."""
    chunks: list[bytes] = []
    done = threading.Event()

    def read() -> None:
        for chunk in response.streaming_content:
            chunks.append(chunk)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(WAIT), b"".join(chunks)
    response.close()
    return parse_events(chunks)


def end_reason(events: list[dict[str, Any]]) -> Any:
    assert events and events[-1].get("event") == "end", events
    return json.loads(events[-1]["data"])["reason"]


def test_past_the_sessions_cap_the_oldest_stream_ends_replaced(browser: example.Browser) -> None:
    browser.start()
    with override_settings(**{PER_SESSION: 2}):
        responses = [browser.client.get("/chat/events/") for _ in range(3)]
    try:
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert end_reason(read_all(responses[0])) == "replaced"
    finally:
        for response in responses:
            response.close()


def test_past_the_process_cap_the_events_view_answers_503_with_retry_after(backend: Any) -> None:
    ann, bob, cy = (example.Browser(backend) for _ in range(3))
    for one in (ann, bob, cy):
        one.start()
    with override_settings(**{MAX: len(event_streams) + 2}):
        first = ann.client.get("/chat/events/")
        second = bob.client.get("/chat/events/")
        refused = cy.client.get("/chat/events/")
        assert (first.status_code, second.status_code, refused.status_code) == (200, 200, 503)
        assert int(refused["Retry-After"]) > 0
        first.close()  # one is over: there is room again
        again = cy.client.get("/chat/events/")
        assert again.status_code == 200
    for response in (second, again):
        response.close()


def test_under_asgi_the_same_caps_hold(backend: Any) -> None:
    ann, bob = example.Browser(backend), example.Browser(backend)
    ann.start()
    bob.start()

    async def main() -> tuple[list[dict[str, Any]], int, str]:
        client = AsyncClient()
        client.cookies = ann.client.cookies
        with override_settings(**{PER_SESSION: 1}):
            oldest = await client.get("/chat/events/")
            newest = await client.get("/chat/events/")
        chunks = [chunk async for chunk in oldest.streaming_content]  # ends by itself: replaced
        with override_settings(**{MAX: len(event_streams)}):
            other = AsyncClient()
            other.cookies = bob.client.cookies
            refused = await other.get("/chat/events/")
        await newest.streaming_content.aclose()
        return parse_events(chunks), refused.status_code, refused["Retry-After"]

    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(asyncio.wait_for(main(), WAIT * 3))))
    thread.start()
    thread.join(WAIT * 4)
    assert results, "the ASGI requests did not finish"
    events, status, retry_after = results[0]
    assert end_reason(events) == "replaced"
    assert status == 503 and int(retry_after) > 0


def test_bad_cap_settings_are_a_configuration_error(browser: example.Browser) -> None:
    from django.core.exceptions import ImproperlyConfigured

    browser.start()
    for name, value in ((PER_SESSION, 0), (MAX, "many")):
        with override_settings(**{name: value}), pytest.raises(ImproperlyConfigured, match=name):
            browser.client.get("/chat/events/")
