"""Server-sent events for threaded and asyncio servers: ``sse_events`` and ``async_sse_events``
give the same bytes; an unknown ``Last-Event-ID`` starts the page over; a response ended by the
server says why; and the caps on open event streams (``EventStreams``), for both at once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectparticipant_ext import Connection, InvalidArgumentError
from connectparticipant_ext.sse import AsyncEventStream, EventStreams, async_sse_events, sse_events

from _helpers import WAIT, Reader, parse_events, run


def contents(events: list[dict[str, Any]]) -> list[str]:
    """The messages among the item events (``reset`` and ``end`` events carry no item)."""
    items = [json.loads(e["data"]) for e in events if "event" not in e]
    return [item["content"] for item in items if item["kind"] == "message"]




class AsyncReader:
    """Reads an AsyncEventStream on the ``loop`` fixture's thread, like an ASGI server."""

    def __init__(self, events: AsyncEventStream, running: asyncio.AbstractEventLoop) -> None:
        self.events = events
        self.loop = running
        self.chunks: list[bytes] = []
        self.done = asyncio.run_coroutine_threadsafe(self._read(), running)

    async def _read(self) -> None:
        async for chunk in self.events:
            self.chunks.append(chunk)

    def parsed(self) -> list[dict[str, Any]]:
        return parse_events(list(self.chunks))

    def wait_for(self, predicate: Any, timeout: float = WAIT) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.parsed()):
                return self.parsed()
            time.sleep(0.02)
        raise AssertionError(f"not seen within {timeout} s: {self.parsed()}")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.events.aclose(), self.loop).result(WAIT)
        self.done.result(WAIT)


def read_until(events: Any, text: str) -> list[dict[str, Any]]:
    """The events of ``events`` (either kind) up to the message ``text``."""
    if isinstance(events, AsyncEventStream):

        async def collect() -> list[bytes]:
            chunks: list[bytes] = []
            try:
                async for chunk in events:
                    chunks.append(chunk)
                    if text in contents(parse_events(chunks)):
                        return chunks
            finally:
                await events.aclose()
            raise AssertionError("the event stream ended")

        return parse_events(run(collect))
    reader = Reader(events)
    try:
        return reader.wait_for(lambda evs: text in contents(evs))
    finally:
        reader.close()


KINDS = {"threads": sse_events, "asyncio": async_sse_events}


@pytest.fixture(params=sorted(KINDS))
def open_events(request: pytest.FixtureRequest) -> Any:
    return KINDS[request.param]


def test_both_give_the_same_events(connection: Connection, agent: Connection) -> None:
    agent.send_message("one")
    agent.send_message("two")
    threaded = read_until(sse_events(connection, keepalive=30), "two")
    asynchronous = read_until(async_sse_events(connection, keepalive=30), "two")
    assert threaded == asynchronous
    assert contents(threaded) == ["one", "two"] and "id" in threaded[-1]


@pytest.mark.parametrize("kwargs", [{"keepalive": 0}, {"keepalive": True}, {"max_seconds": -1}, {"retry": -5}])
def test_both_check_their_arguments_before_any_call(
    connection: Connection, wire_calls: list[str], open_events: Any, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArgumentError):
        open_events(connection, **kwargs)
    with pytest.raises(InvalidArgumentError, match="since"):
        open_events(connection, since="")
    assert wire_calls == []


def test_an_unknown_last_event_id_starts_the_page_over(connection: Connection, agent: Connection, open_events: Any):
    agent.send_message("said before")
    events = read_until(open_events(connection, since="an-id-this-chat-never-had"), "said before")
    assert events[0]["event"] == "reset" and "id" not in events[0]
    replay = [json.loads(e["data"]) for e in events[1:]]
    assert replay[0]["event"] == "participant.joined"  # the whole chat, from its first item
    assert contents(events) == ["said before"]


def test_a_known_last_event_id_resumes_without_a_reset(connection: Connection, agent: Connection, open_events: Any):
    first = agent.send_message("seen")
    agent.send_message("missed")
    events = read_until(open_events(connection, since=first.id), "missed")
    assert [e.get("event") for e in events] == [None] and contents(events) == ["missed"]


def test_end_gives_a_last_event_with_the_reason(
    connection: Connection, agent: Connection, loop: asyncio.AbstractEventLoop
) -> None:
    threaded = sse_events(connection, keepalive=30)
    reader = Reader(threaded)
    asynchronous = AsyncReader(async_sse_events(connection, keepalive=30), loop)
    try:
        agent.send_message("hello")
        for one in (reader, asynchronous):
            one.wait_for(lambda evs: "hello" in contents(evs))
        threaded.end("replaced")
        asynchronous.events.end("replaced")  # from this thread, not the stream's loop
        reader.thread.join(WAIT)
        asynchronous.done.result(WAIT)
    finally:
        reader.close()
        asynchronous.close()
    for parsed in (reader.parsed(), asynchronous.parsed()):
        assert parsed[-1]["event"] == "end" and json.loads(parsed[-1]["data"]) == {"reason": "replaced"}


# -- the caps --------------------------------------------------------------------------------------


@pytest.fixture
def streams() -> Iterator[EventStreams]:
    registry = EventStreams()
    yield registry


def ended_with(parsed: list[dict[str, Any]]) -> Any:
    return json.loads(parsed[-1]["data"]) if parsed and parsed[-1].get("event") == "end" else None


def test_past_the_per_session_cap_the_oldest_ends_replaced_threads_and_asyncio_alike(
    connection: Connection, agent: Connection, loop: asyncio.AbstractEventLoop, streams: EventStreams
) -> None:
    readers: list[Any] = []

    def open_one(kind: str, key: str = "session-1") -> Any:
        events = (
            sse_events(connection, keepalive=30) if kind == "threads" else async_sse_events(connection, keepalive=30)
        )
        assert streams.admit(key, events, per_session=2, total=None)
        reader = Reader(events) if kind == "threads" else AsyncReader(events, loop)
        readers.append(reader)
        return reader

    try:
        oldest = open_one("threads")
        second = open_one("asyncio")
        other_session = open_one("threads", key="session-2")
        for reader in readers:
            reader.wait_for(lambda evs: len(evs) >= 1)
        third = open_one("threads")  # the oldest of session-1 ends
        oldest.wait_for(lambda evs: ended_with(evs) is not None)
        assert ended_with(oldest.parsed()) == {"reason": "replaced"}
        fourth = open_one("asyncio")  # and now the asyncio one, ended from this thread
        second.wait_for(lambda evs: ended_with(evs) is not None)
        assert ended_with(second.parsed()) == {"reason": "replaced"}
        agent.send_message("still live")
        for reader in (third, fourth, other_session):
            reader.wait_for(lambda evs: "still live" in contents(evs))
            assert ended_with(reader.parsed()) is None
    finally:
        for reader in readers:
            reader.close()
    assert len(streams) == 0  # each left the count when it was over


def test_past_the_total_a_new_stream_is_refused_until_one_is_over(
    connection: Connection, loop: asyncio.AbstractEventLoop, streams: EventStreams
) -> None:
    first, second = sse_events(connection), async_sse_events(connection)
    assert streams.admit("a", first, per_session=3, total=2)
    assert streams.admit("b", second, per_session=3, total=2)
    refused = sse_events(connection)
    assert not streams.admit("c", refused, per_session=3, total=2)
    assert len(streams) == 2
    first.close()
    second.close()  # never iterated: nothing is open, and it leaves the count at once
    assert len(streams) == 0
    assert streams.admit("c", refused, per_session=3, total=2)
    refused.close()


def test_a_stream_never_iterated_nor_closed_leaves_the_count_when_collected(connection: Connection) -> None:
    import gc

    streams = EventStreams()
    assert streams.admit("a", async_sse_events(connection), per_session=1, total=1)
    gc.collect()
    assert len(streams) == 0


@pytest.mark.parametrize("caps", [{"per_session": 0, "total": None}, {"per_session": 1, "total": 0}])
def test_caps_are_checked(connection: Connection, streams: EventStreams, caps: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        streams.admit("a", sse_events(connection), **caps)


def test_a_cancelled_asyncio_response_closes_its_websocket(connection: Connection) -> None:
    from connectparticipant_ext.testing.websocket import get_hub

    def open_sockets_become(count: int) -> None:
        deadline = time.monotonic() + WAIT
        while get_hub().open_sockets() != count:
            assert time.monotonic() < deadline, f"{get_hub().open_sockets()} sockets open, not {count}"
            time.sleep(0.01)

    async def main() -> None:
        events = async_sse_events(connection, keepalive=30)
        started = asyncio.Event()

        async def serve() -> None:  # as an ASGI server writes a response
            async for _ in events:
                started.set()

        task = asyncio.ensure_future(serve())
        await asyncio.wait_for(started.wait(), WAIT)
        await asyncio.get_running_loop().run_in_executor(None, open_sockets_become, 1)
        task.cancel()  # the browser went away
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main)
    open_sockets_become(0)


def test_closing_the_threaded_stream_from_another_thread_still_works(connection: Connection) -> None:
    events = sse_events(connection, keepalive=30)
    reader = Reader(events)
    reader.wait_for(lambda evs: len(evs) >= 1)
    closer = threading.Thread(target=events.close)
    closer.start()
    closer.join(WAIT)
    reader.thread.join(WAIT)
    assert not reader.thread.is_alive()
