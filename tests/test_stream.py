"""The live stream against the backend's loopback websocket server: conversation, replay,
drops, silent heartbeats, expiring URLs, the chat's end, and close() from another thread."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest
from websockets.sync.client import connect as ws_connect

from connectparticipant_ext import Connection, StreamError, TranscriptItem

from _helpers import FAST, WAIT, Side, drain_until_end, messages, take

# -- two participants, in-process and against the local server ---------------------------------


def test_two_participants_converse_through_streams(side: Side):
    with side.customer.stream(**FAST) as ann, side.agent.stream(**FAST) as bob:
        side.customer.send_message("Hello?")
        heard = take(bob, 1)
        assert messages(heard) == ["Hello?"] and heard[-1].participant_role == "CUSTOMER"
        side.agent.send_typing()
        side.agent.send_message("Hi Ann, Bob here")
        seen_by_ann = take(ann, 2)  # her own message comes back too, as from the real service
        assert messages(seen_by_ann) == ["Hello?", "Hi Ann, Bob here"]
        assert any(i.event == "typing" and i.participant_role == "AGENT" for i in seen_by_ann)

        side.customer.disconnect()  # the customer leaving ends the chat for everyone
        rest = drain_until_end(bob)
        assert rest[-1].is_chat_ended and bob.end_reason == "the chat ended"
        assert any(i.event == "participant.left" for i in rest)
    side.agent.disconnect()


def test_receipts_and_attachments_arrive_typed(side: Side):
    with side.agent.stream(**FAST) as bob:
        sent = side.customer.send_message("see attached")
        side.agent.send_read_receipt(sent.id)
        side.customer.upload_attachment(b"total: 42", name="bill.txt")
        deadline = time.monotonic() + WAIT
        items: list[TranscriptItem] = []
        while not any(i.is_attachment for i in items):
            assert time.monotonic() < deadline
            item = bob.get(timeout=1)
            if item is not None:
                items.append(item)
    receipts = [i for i in items if i.type == "MESSAGEMETADATA"]
    assert receipts and receipts[0].message_metadata is not None
    assert receipts[0].message_metadata.message_id == sent.id
    assert receipts[0].message_metadata.receipts[0].read_at is not None
    attachment = next(i for i in items if i.is_attachment).attachments[0]
    assert attachment.name == "bill.txt"


# -- replay: history and since -----------------------------------------------------------------


def test_history_then_live_without_gap_or_duplicate(connection: Connection, agent: Connection):
    for n in range(150):  # more than a transcript page
        agent.send_message(f"before {n}")
    with connection.stream(history=True, **FAST) as stream:
        first = take(stream, 150)
        agent.send_message("live 0")
        agent.send_message("live 1")
        later = take(stream, 2)
    items = first + later
    assert messages(items) == [f"before {n}" for n in range(150)] + ["live 0", "live 1"]
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    assert items[0].event == "participant.joined"


def test_since_resumes_after_an_item(connection: Connection, agent: Connection):
    sent = [agent.send_message(f"m{n}") for n in range(5)]
    with connection.stream(since=sent[1].id, **FAST) as stream:
        agent.send_message("m5")
        items = take(stream, 4)
    assert messages(items) == ["m2", "m3", "m4", "m5"]


def test_without_history_only_new_items_come(connection: Connection, agent: Connection):
    agent.send_message("old")
    with connection.stream(**FAST) as stream:
        agent.send_message("new")
        assert messages(take(stream, 1)) == ["new"]


# -- drops, heartbeats, expiry -------------------------------------------------------------------


def _until_the_socket_works(stream: Any) -> list[TranscriptItem]:
    """Read the stream until its socket has answered a heartbeat (or delivered an item).

    A socket dropped before that counts as a failed attempt (issue 15, point 5), so a test that
    drops a working socket again and again waits for it to work first. Returns what it read.
    """
    items: list[TranscriptItem] = []
    deadline = time.monotonic() + WAIT
    while not stream._proven:  # noqa: SLF001 - the one thing this test must wait for
        assert time.monotonic() < deadline, "the re-opened socket never answered a heartbeat"
        item = stream.get(timeout=0.05)
        if item is not None:
            items.append(item)
    return items


def test_500_messages_with_10_socket_drops_arrive_exactly_once_in_order(mock_chat, connection, agent, chat_contact):
    received: list[TranscriptItem] = []
    sent = drops = 0
    with connection.stream(**FAST) as stream:
        for _ in range(10):
            for _ in range(40):
                agent.send_message(f"{sent}")
                sent += 1
            received += take(stream, sent - len(messages(received)))  # caught up: the socket is open
            for _ in range(10):  # in flight when the socket goes
                agent.send_message(f"{sent}")
                sent += 1
            received += _until_the_socket_works(stream)  # the gap fill may come before the socket
            drops += mock_chat.drop_websockets(chat_contact["ContactId"])
        assert drops == 10
        while sent < 500:
            agent.send_message(f"{sent}")
            sent += 1
        received += take(stream, 500 - len(messages(received)))
        # The last in-flight messages may still come over the last dropped socket (the hub
        # closes it after what it had queued): the stream notices that drop on its next read.
        deadline = time.monotonic() + WAIT
        while stream.reconnects < 10:
            assert time.monotonic() < deadline, f"only {stream.reconnects} reconnects after 10 drops"
            item = stream.get(timeout=0.05)
            if item is not None:
                received.append(item)
    assert messages(received) == [str(n) for n in range(500)]
    ids = [i.id for i in received]
    assert len(ids) == len(set(ids))


def test_unanswered_heartbeats_lead_to_a_reconnect(mock_chat, connection, agent):
    with connection.stream(**FAST) as stream:
        agent.send_message("before")
        take(stream, 1)
        mock_chat.answer_heartbeats(False)
        deadline = time.monotonic() + WAIT
        while stream.reconnects == 0:
            assert time.monotonic() < deadline, "no reconnect after unanswered heartbeats"
            assert stream.get(timeout=0.2) is None or True
        mock_chat.answer_heartbeats(True)
        agent.send_message("after")
        assert messages(take(stream, 1)) == ["after"]


def test_an_expiring_websocket_url_is_renewed(mock_chat, connection, agent, wire_calls):
    mock_chat.settings.websocket_lifetime = timedelta(seconds=2)
    connection.renew()  # a fresh connection, with a short-lived websocket URL
    first_url = connection.websocket.url
    # The URL is a connect deadline: the socket is re-opened by age, with a fresh URL.
    with connection.stream(url_refresh_margin=timedelta(seconds=1), max_socket_age=1.0, **FAST) as stream:
        got: list[TranscriptItem] = []
        for n in range(8):
            agent.send_message(f"tick {n}")
            got += take(stream, 1)
            time.sleep(0.4)
        assert stream.reconnects >= 1
    assert messages(got) == [f"tick {n}" for n in range(8)]
    assert connection.websocket.url != first_url
    assert wire_calls.count("CreateParticipantConnection") >= 2


def test_a_refused_url_is_replaced(mock_chat, connection, agent):
    """A URL past its expiry is refused on open (403): the stream asks for a fresh one."""
    mock_chat.settings.websocket_lifetime = timedelta(milliseconds=300)
    connection.renew()
    time.sleep(0.5)  # the URL the connection holds has expired
    with connection.stream(url_refresh_margin=timedelta(0), **FAST) as stream:
        mock_chat.settings.websocket_lifetime = None
        agent.send_message("through a fresh URL")
        assert "through a fresh URL" in messages(take(stream, 1))


def test_a_chat_that_ends_while_the_socket_is_down_ends_the_stream(mock_chat, connection, agent, chat_contact):
    connect = boto3.client("connect", region_name="us-east-1")
    with connection.stream(**FAST) as stream:
        agent.send_message("still here?")
        take(stream, 1)
        mock_chat.drop_websockets(chat_contact["ContactId"])
        connect.stop_contact(InstanceId="instance-1", ContactId=chat_contact["ContactId"])
        drain_until_end(stream)
    assert stream.ended and stream.end_reason is not None
    assert "ended" in stream.end_reason


def test_close_from_another_thread_ends_the_loop(connection: Connection):
    stream = connection.stream(**FAST)
    seen: list[TranscriptItem] = []
    finished = threading.Event()

    def consume() -> None:
        for item in stream:
            seen.append(item)
        finished.set()

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    time.sleep(0.3)  # the consumer is blocked waiting for items
    closed_at = time.monotonic()
    stream.close()
    assert finished.wait(WAIT), "close() did not end the loop"
    worker.join(WAIT)
    assert stream.end_reason == "closed"
    # Not a timing assertion: close() wakes the blocked read at once (it closes the socket);
    # this only bounds the wait, for the failure message of the line above.
    assert time.monotonic() - closed_at < WAIT


def test_disconnect_ends_the_stream(connection: Connection, agent: Connection):
    with connection.stream(**FAST) as stream:
        agent.send_message("hello")
        take(stream, 1)
        connection.disconnect()
        drain_until_end(stream)
    assert stream.ended


def test_a_server_that_never_comes_back_raises_stream_error(mock_chat, connection):
    from connectparticipant_ext.testing.websocket import get_hub

    stream = connection.stream(reconnect_attempts=2, open_timeout=0.5, **FAST)
    stream.__enter__()
    try:
        get_hub().shutdown()  # nothing listens any more
        with pytest.raises(StreamError, match="could not be re-established after 3 attempts"):
            for _ in stream:
                pass
    finally:
        stream.close()


def test_invalid_stream_arguments_fail_before_any_call(connection: Connection, wire_calls):
    with pytest.raises(ValueError, match="since"):
        connection.stream(since="")
    with pytest.raises(ValueError, match="not both"):
        connection.stream(history=True, since="abc")
    with pytest.raises(ValueError, match="heartbeat_interval"):
        connection.stream(heartbeat_interval=0)
    assert wire_calls == []


def test_no_secret_in_repr_or_logs(connection: Connection, agent: Connection, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    with connection.stream(**FAST) as stream:
        agent.send_message("x")
        take(stream, 1)
        text = repr(stream) + caplog.text
    assert connection.token not in text
    assert connection.websocket is not None and connection.websocket.url.split("?")[-1] not in text


# -- the wire format, as another client sees it -------------------------------------------------


def test_a_bare_websocket_client_sees_the_frames_of_the_design(connection: Connection, agent: Connection):
    assert connection.websocket is not None

    def next_frame(socket: Any, topic: str) -> dict[str, Any]:
        """The next frame of ``topic``; chat items written since the URL was issued may come first."""
        for _ in range(20):
            frame = json.loads(socket.recv(timeout=WAIT))
            if frame["topic"] == topic:
                return frame
            assert frame["topic"] == "aws/chat", frame
        raise AssertionError(f"no {topic} frame")

    with ws_connect(connection.websocket.url) as socket:
        socket.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))
        assert json.loads(socket.recv(timeout=WAIT)) == {
            "topic": "aws/subscribe",
            "content": {"status": "success", "topics": ["aws/chat"]},
        }
        socket.send(json.dumps({"topic": "aws/heartbeat"}))
        assert next_frame(socket, "aws/heartbeat") == {"topic": "aws/heartbeat"}
        socket.send(json.dumps({"topic": "aws/ping"}))
        assert next_frame(socket, "aws/ping")["statusCode"] == 200
        sent = agent.send_message("over the wire")
        frame = next_frame(socket, "aws/chat")
        assert frame["contentType"] == "application/json"
        item = json.loads(frame["content"])
        assert item["Id"] == sent.id and item["Type"] == "MESSAGE" and item["Content"] == "over the wire"


def test_items_sent_before_the_socket_opens_are_not_lost(connection: Connection, agent: Connection):
    """A client that sends as soon as it has its URL still sees its message, exactly once
    (from the transcript: the service pushes only what comes after the subscription)."""
    sent = connection.send_message("typed before the socket was open")
    with connection.stream(history=True, **FAST) as stream:
        agent.send_message("after")
        items = take(stream, 2)
    assert messages(items) == ["typed before the socket was open", "after"]
    assert [i.id for i in items if i.is_message][0] == sent.id


def test_a_slow_consumer_loses_nothing_when_the_server_drops_it(mock_chat, connection, chat_contact):
    """More than the server queues for one reader arrives while the consumer is away: the
    server drops the socket, and the reconnect pages what was missed from the transcript.

    The server's loop is held while the messages are published, so its queue for the socket
    overflows whatever the machine's speed (a sender that keeps pace would push them all into
    the kernel's socket buffers, which grow to megabytes, and drop nothing).
    """
    from connectparticipant_ext.testing import _loop
    from connectparticipant_ext.testing.websocket import OUTGOING_QUEUE_SIZE

    count = 2 * OUTGOING_QUEUE_SIZE
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(WAIT)

    with connection.stream(**FAST) as stream:
        _loop.call_soon(hold)
        try:
            assert held.wait(WAIT), "the server's loop did not run"
            mock_chat.bulk_add_messages(chat_contact["ContactId"], count, content="bulk {n}")
        finally:
            release.set()
        items = take(stream, count)
        assert stream.reconnects >= 1
    assert messages(items) == [f"bulk {n}" for n in range(count)]
