"""The same conversations through both live streams: ``conn.stream()`` (threads) and
``conn.astream()`` (asyncio), in-process (moto) and over the local server.

The asyncio stream runs on an event loop in a thread of its own and is driven from the test
through :class:`Synced`, so that one test body checks both drivers: history then live exactly
once, drops and reconnects, Lex stitching, receipts, close from elsewhere, the chat's end.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from hostile_ws import CONFIRMED, HostileWebsocket
from websockets.sync.server import ServerConnection

from connectparticipant_ext import AsyncChatStream, ChatStream, Connection, StreamState, TranscriptItem
from connectparticipant_ext.testing import get_chat_backend

from _helpers import FAST, WAIT, Side, drain_until_end, messages, take


class Synced:
    """An AsyncChatStream driven from another thread, with ChatStream's blocking surface."""

    def __init__(self, stream: AsyncChatStream, loop: asyncio.AbstractEventLoop) -> None:
        self.stream = stream
        self.loop = loop

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(WAIT * 3)

    def __enter__(self) -> Synced:
        self._run(self.stream.__aenter__())
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get(self, timeout: float | None = None) -> TranscriptItem | None:
        return self._run(self.stream.get(timeout))

    def mark_read(self, item: Any) -> None:
        async def mark() -> None:
            self.stream.mark_read(item)

        self._run(mark())

    def close(self) -> None:
        self._run(self.stream.aclose())

    def __getattr__(self, name: str) -> Any:  # ended, end_reason, reconnects, state, _proven
        return getattr(self.stream, name)


Open = Callable[..., Any]

EVENT_CHAT_ENDED = "application/vnd.amazonaws.connect.event.chat.ended"



@pytest.fixture(params=["threads", "asyncio"])
def open_stream(request: pytest.FixtureRequest, loop: asyncio.AbstractEventLoop) -> Open:
    """``open_stream(conn, **options)``: a ChatStream, or an AsyncChatStream behind :class:`Synced`."""
    if request.param == "threads":
        return lambda conn, **options: conn.stream(**options)
    return lambda conn, **options: Synced(conn.astream(**options), loop)


def test_the_stream_classes(connection: Connection, loop: asyncio.AbstractEventLoop) -> None:
    assert isinstance(connection.stream(), ChatStream)
    assert isinstance(connection.astream(), AsyncChatStream)


def test_history_then_live_exactly_once(side: Side, open_stream: Open) -> None:
    for n in range(120):  # more than a transcript page
        side.agent.send_message(f"before {n}")
    with open_stream(side.customer, history=True, **FAST) as stream:
        first = take(stream, 120)
        side.agent.send_message("live 0")
        side.agent.send_message("live 1")
        items = first + take(stream, 2)
    assert messages(items) == [f"before {n}" for n in range(120)] + ["live 0", "live 1"]
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)) and items[0].event == "participant.joined"


def test_drops_and_reconnects_lose_and_repeat_nothing(side: Side, open_stream: Open) -> None:
    contact_id = side.contact["ContactId"]
    received: list[TranscriptItem] = []
    sent = 0
    with open_stream(side.customer, **FAST) as stream:
        for _ in range(4):
            for _ in range(15):
                side.agent.send_message(str(sent))
                sent += 1
            received += take(stream, sent - len(messages(received)))
            for _ in range(5):  # in flight when the socket goes
                side.agent.send_message(str(sent))
                sent += 1
            deadline = time.monotonic() + WAIT
            while not stream._proven:  # noqa: SLF001 - a socket that worked is re-opened at once
                assert time.monotonic() < deadline
                got = stream.get(timeout=0.05)
                if got is not None:
                    received.append(got)
            assert get_chat_backend().drop_websockets(contact_id) == 1
        received += take(stream, sent - len(messages(received)))
        assert stream.reconnects >= 3
    assert messages(received) == [str(n) for n in range(sent)]
    assert len({i.id for i in received}) == len(received)


def test_lex_replies_are_stitched(side: Side, open_stream: Open) -> None:
    contact_id = side.contact["ContactId"]
    with open_stream(side.customer, partial_messages=True, **FAST) as stream:
        reply_id = get_chat_backend().stream_bot_reply(contact_id, ["Hel", "lo"])
        side.agent.send_message("after")
        items = take(stream, 4)
    assert [(i.content, i.is_complete) for i in items if i.is_message] == [
        ("Hel", False),
        ("Hello", False),
        ("Hello", True),
        ("after", True),
    ]
    assert {i.id for i in items if i.is_message and i.content != "after"} == {reply_id}


@pytest.fixture
def receipts_sent(side: Side) -> Iterator[list[tuple[str, str]]]:
    sent: list[tuple[str, str]] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        kind = params["ContentType"].rsplit(".", 1)[-1]
        if kind in ("delivered", "read") and params["ConnectionToken"] == side.customer.token:
            sent.append((kind, json.loads(params["Content"])["messageId"]))

    events = side.customer.meta.client.meta.events
    events.register("provide-client-params.connectparticipant.SendEvent", record, unique_id="parity-receipts")
    yield sent
    events.unregister("provide-client-params.connectparticipant.SendEvent", unique_id="parity-receipts")


def test_receipts_are_batched(side: Side, open_stream: Open, receipts_sent: list[tuple[str, str]]) -> None:
    # A window longer than the test's steps take on a loaded machine: the count below is then
    # the batching's, not the machine's speed (what is pending is sent on close anyway).
    with open_stream(side.customer, receipts=True, receipt_throttle=2.0, **FAST) as stream:
        ids = [side.agent.send_message(f"m{n}").id for n in range(20)]
        items = take(stream, 20)
        own = side.customer.send_message("mine")
        take(stream, 1)
        stream.mark_read(items[-1])
        stream.mark_read(items[-1])  # never twice
    assert receipts_sent and receipts_sent[-1] == ("read", ids[-1])  # flushed on close at the latest
    assert len(receipts_sent) <= 4 and len(receipts_sent) == len(set(receipts_sent))
    assert all(message_id != own.id for _, message_id in receipts_sent)


def test_close_from_elsewhere_ends_a_waiting_stream(side: Side, open_stream: Open) -> None:
    stream = open_stream(side.customer, **FAST)
    results: list[Any] = []
    with stream:
        consumer = threading.Thread(target=lambda: results.append(stream.get(timeout=WAIT)), daemon=True)
        consumer.start()
        time.sleep(0.2)  # the consumer waits for an item
        stream.close()
        consumer.join(WAIT)
        assert not consumer.is_alive(), "close() did not end the waiting get()"
    assert results == [None] and stream.ended and stream.end_reason == "closed"


def test_the_chats_end_ends_both(side: Side, open_stream: Open) -> None:
    with open_stream(side.agent, **FAST) as stream:
        side.customer.send_message("bye")
        take(stream, 1)
        side.customer.disconnect()
        rest = drain_until_end(stream)
    assert rest[-1].is_chat_ended and stream.end_reason == "the chat ended"
    side.agent.disconnect()


def test_a_survey_after_the_customer_leaves_reaches_the_stream_before_it_ends(side: Side, open_stream: Open) -> None:
    """After ``disconnect()`` the stream cannot reconnect: what its socket got before the server
    closed it (the survey, then the chat's end, then the close) is all handed over."""
    contact_id = side.contact["ContactId"]
    backend = get_chat_backend()
    backend.set_disconnect_flow(contact_id)
    with open_stream(side.customer, **FAST) as stream:
        side.customer.disconnect()
        backend.send_flow_message(contact_id, "How did we do?")
        assert messages(take(stream, 1)) == ["How did we do?"]
        side.connect.stop_contact(InstanceId="instance-1", ContactId=contact_id)
        rest = drain_until_end(stream)
    assert rest and rest[-1].is_chat_ended, [i.content_type for i in rest]
    assert stream.end_reason == "the chat ended"


# -- what was received is never lost to a decision (a scripted websocket server) ---------------

HEARTBEAT_FRAME = json.dumps({"topic": "aws/heartbeat"})


def _subscribed(ws: ServerConnection) -> None:
    while json.loads(ws.recv(timeout=WAIT)).get("topic") != "aws/subscribe":
        pass
    ws.send(CONFIRMED)


def _chat_frame(item_id: str, *, type: str = "MESSAGE", content_type: str = "text/plain") -> str:
    """An item from now on (the stream drops items older than the newest it read)."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=1)
    item = {
        "Id": item_id,
        "Type": type,
        "ContentType": content_type,
        "Content": item_id,
        "AbsoluteTime": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "ParticipantRole": "SYSTEM",
    }
    return json.dumps({"topic": "aws/chat", "contentType": "application/json", "content": json.dumps(item)})


def test_a_heartbeat_answer_unread_behind_a_slow_consumer_keeps_the_socket(
    connection: Connection, open_stream: Open
) -> None:
    """The server answers the second heartbeat while the consumer is away; by the time the
    consumer is back, the deadline has passed. The answer was received: the socket stays."""
    timeout = 1.0
    heard: queue.Queue[float] = queue.Queue()
    release, answered = threading.Event(), threading.Event()

    def answers_the_second_heartbeat_on_cue(ws: ServerConnection) -> None:
        _subscribed(ws)
        count = 0
        while True:
            if json.loads(ws.recv(timeout=WAIT * 3)).get("topic") != "aws/heartbeat":
                continue
            count += 1
            if count == 2:
                heard.put(time.monotonic())
                release.wait(WAIT)
                ws.send(HEARTBEAT_FRAME)
                answered.set()
            else:
                ws.send(HEARTBEAT_FRAME)

    with HostileWebsocket(answers_the_second_heartbeat_on_cue) as server:
        connection._websocket = server.websocket()  # noqa: SLF001 - the stream's socket goes to the script
        try:
            with open_stream(connection, heartbeat_interval=0.2, heartbeat_timeout=timeout) as stream:
                deadline = time.monotonic() + WAIT
                while heard.empty():  # the consumer reads until the second heartbeat went out
                    assert time.monotonic() < deadline, "no second heartbeat"
                    assert stream.get(timeout=0.05) is None
                heard_at = heard.get()
                release.set()  # the consumer is away now: the answer arrives unread
                assert answered.wait(WAIT)
                past = max(heard_at, time.monotonic()) + timeout  # the heartbeat's deadline has passed
                while time.monotonic() < past:
                    time.sleep(past - time.monotonic())
                assert stream.get(timeout=0.3) is None
                assert stream.state is StreamState.OPEN and stream.reconnects == 0
                assert server.connections == 1
        finally:
            release.set()


@pytest.mark.parametrize("disconnected", [False, True], ids=["connected", "disconnected"])
def test_the_chats_end_comes_though_the_socket_closes_right_after_it(
    connection: Connection, open_stream: Open, disconnected: bool
) -> None:
    """The server sends a message and the chat's end and closes the socket at once (as the
    service does when a chat ends), while the consumer is away. Both come, then the stream
    ends: after ``disconnect()``, when it cannot reconnect, as well."""
    go, closed = threading.Event(), threading.Event()

    def end_then_close(ws: ServerConnection) -> None:
        _subscribed(ws)
        while not go.is_set():
            try:
                if json.loads(ws.recv(timeout=0.05)).get("topic") == "aws/heartbeat":
                    ws.send(HEARTBEAT_FRAME)
            except TimeoutError:
                pass
        ws.send(_chat_frame("last words"))
        ws.send(_chat_frame("the end", type="EVENT", content_type=EVENT_CHAT_ENDED))
        ws.close()
        closed.set()

    with HostileWebsocket(end_then_close) as server:
        connection._websocket = server.websocket()  # noqa: SLF001 - the stream's socket goes to the script
        try:
            with open_stream(connection, **FAST) as stream:
                if disconnected:
                    connection.disconnect()
                go.set()
                assert closed.wait(WAIT), "the server did not close the socket"
                items = drain_until_end(stream)  # the consumer is back
        finally:
            go.set()
    assert [i.content for i in items] == ["last words", "the end"]
    assert items[-1].is_chat_ended and stream.end_reason == "the chat ended"
