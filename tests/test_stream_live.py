"""The live chat as AWS's clients see it (issue 14) and a stream that neither hangs nor storms
(issue 15 points 4, 5, 7, 8; issue 17 idle streams): Lex streamed replies, the chat after
``disconnect()``, every event by name, stream state, batched receipts, throttled typing, and a
hostile websocket server."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest
from hostile_ws import (
    HostileWebsocket,
    confirm_then_drop,
    never_answer_handshake,
    oversize_frame,
    silent_after_subscribe,
)

from connectparticipant_ext import (
    ChatEvent,
    ConflictError,
    Connection,
    ConnectionClosedError,
    StreamError,
    StreamState,
    TranscriptItem,
)
from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.state import SERVICE_EVENT_CONTENT_TYPES

from _helpers import EVENT, FAST, WAIT, drain_until_end, messages, take


def _chunk(chat: Any, reply_id: str, content: str, number: int) -> None:
    chat.add_item(
        "MESSAGE",
        "text/plain",
        None,
        content,
        store=False,
        item_id=reply_id,
        sender="system",
        MessageMetadata={"MessageId": reply_id, "MessageCompleted": False, "ChunkNumber": number},
    )


def _complete(chat: Any, reply_id: str, content: str) -> None:
    chat.add_item(
        "MESSAGE",
        "text/plain",
        None,
        content,
        item_id=reply_id,
        sender="system",
        MessageMetadata={"MessageId": reply_id, "MessageCompleted": True},
    )


# -- Lex streamed replies ----------------------------------------------------------------------


def test_a_streamed_reply_is_yielded_once_complete_by_default(mock_chat, connection, agent, chat_contact):
    with connection.stream(**FAST) as stream:
        reply_id = mock_chat.stream_bot_reply(chat_contact["ContactId"], ["Hel", "lo ", "world"])
        agent.send_message("after the bot")
        items = take(stream, 2)
    replies = [i for i in items if i.is_message]
    assert [i.content for i in replies] == ["Hello world", "after the bot"]
    assert replies[0].id == reply_id and replies[0].is_complete
    kept = next(i for i in connection.transcript if i.id == reply_id)
    assert replies[0].absolute_time is not None and kept.absolute_time is not None
    assert replies[0].absolute_time < kept.absolute_time  # the first chunk's time


def test_partial_messages_yield_the_growing_text(mock_chat, connection, chat_contact):
    with connection.stream(partial_messages=True, **FAST) as stream:
        reply_id = mock_chat.stream_bot_reply(chat_contact["ContactId"], ["a", "b", "c"])
        items = take(stream, 4)
    assert [(i.content, i.is_complete) for i in items if i.is_message] == [
        ("a", False),
        ("ab", False),
        ("abc", False),
        ("abc", True),
    ]
    assert {i.id for i in items if i.is_message} == {reply_id}
    assert len({i.absolute_time for i in items if i.is_message}) == 1  # the first chunk's time


def test_out_of_order_and_duplicate_chunks_are_ignored_as_chatjs_does(mock_chat, connection, chat_contact):
    chat = mock_chat.get_chat(chat_contact["ContactId"])
    with connection.stream(partial_messages=True, **FAST) as stream:
        _chunk(chat, "r-1", "x", 2)  # before chunk 1: ignored
        _chunk(chat, "r-1", "a", 1)
        _chunk(chat, "r-1", "a", 1)  # duplicate
        _chunk(chat, "r-1", "c", 3)  # skips 2
        _chunk(chat, "r-1", "b", 2)
        _complete(chat, "r-1", "abcd")
        items = take(stream, 3)
    assert [(i.content, i.is_complete) for i in items if i.is_message] == [
        ("a", False),
        ("ab", False),
        ("abcd", True),
    ]


def test_a_streamed_reply_survives_a_reconnect_in_the_middle(mock_chat, connection, agent, chat_contact):
    chat = mock_chat.get_chat(chat_contact["ContactId"])
    with connection.stream(partial_messages=True, **FAST) as stream:
        agent.send_message("question")
        take(stream, 1)
        _chunk(chat, "r-2", "Hello ", 1)
        agent.send_message("meanwhile")  # yielded between the pieces
        _chunk(chat, "r-2", "there ", 2)
        first = take(stream, 3)
        assert mock_chat.drop_websockets(chat_contact["ContactId"]) == 1
        _complete(chat, "r-2", "Hello there friend")  # while the socket is down: transcript only
        rest = take(stream, 1)
        assert stream.reconnects >= 1
    assert [(i.content, i.is_complete) for i in first if i.is_message] == [
        ("Hello ", False),
        ("meanwhile", True),
        ("Hello there ", False),
    ]
    assert [(i.content, i.is_complete) for i in rest if i.is_message] == [("Hello there friend", True)]


def test_since_is_exactly_once_for_a_streamed_reply(mock_chat, connection, agent, chat_contact):
    before = agent.send_message("before")
    reply_id = mock_chat.stream_bot_reply(chat_contact["ContactId"], ["one ", "two"])
    with connection.stream(since=before.id, **FAST) as stream:
        agent.send_message("later")
        items = take(stream, 2)
    assert [(i.id, i.content) for i in items if i.is_message][:1] == [(reply_id, "one two")]
    assert messages(items) == ["one two", "later"]


# -- after disconnect --------------------------------------------------------------------------


def test_a_survey_after_the_customer_leaves_reaches_the_stream_before_it_ends(mock_chat, connection, chat_contact):
    contact_id = chat_contact["ContactId"]
    mock_chat.set_disconnect_flow(contact_id)
    with connection.stream(**FAST) as stream:
        connection.disconnect()
        with pytest.raises(ConnectionClosedError):
            connection.send_message("refused as before")
        mock_chat.send_flow_message(contact_id, "How did we do?")
        survey = take(stream, 1)
        assert messages(survey) == ["How did we do?"]
        boto3.client("connect", region_name="us-east-1").stop_contact(InstanceId="instance-1", ContactId=contact_id)
        rest = drain_until_end(stream)
    assert rest[-1].event is ChatEvent.CHAT_ENDED and stream.end_reason == "the chat ended"
    assert stream.state is StreamState.CLOSED


# -- events by name ----------------------------------------------------------------------------


def test_every_event_the_service_sends_has_a_name():
    for content_type in SERVICE_EVENT_CONTENT_TYPES:
        event = ChatEvent.from_content_type(content_type)
        assert event is not None, content_type
        assert event.content_type == content_type
    for name in ("typing", "message.delivered", "message.read", "message.metadata", "connection.acknowledged"):
        assert ChatEvent.from_content_type(EVENT + name) is ChatEvent(name)


def test_events_arrive_as_chat_event_members_with_parsed_content(mock_chat, connection, chat_contact):
    contact_id = chat_contact["ContactId"]
    emitted = sorted(ct for ct in SERVICE_EVENT_CONTENT_TYPES if not ct.endswith("chat.ended"))
    with connection.stream(**FAST) as stream:
        for content_type in emitted:
            content = json.dumps({"SessionId": "session-1"}) if "authentication" in content_type else None
            mock_chat.emit_event(contact_id, content_type, content)
        mock_chat.emit_event(contact_id, "chat.ended")
        items = drain_until_end(stream)
    seen = {i.event: i for i in items if i.event is not None}
    for content_type in emitted:
        assert ChatEvent.from_content_type(content_type) in seen, content_type
    assert seen[ChatEvent.AUTHENTICATION_INITIATED].event_data == {"SessionId": "session-1"}
    assert seen[ChatEvent.CHAT_ENDED].is_chat_ended


def test_an_unknown_event_stays_readable():
    item = TranscriptItem.from_response(
        {"Id": "e-1", "Type": "EVENT", "ContentType": EVENT + "brand.new", "Content": "{not json"}
    )
    assert item.event is None and item.event_name == "brand.new" and item.event_data is None
    assert item.is_event and item.is_complete
    legacy = TranscriptItem.from_response({"Id": "e-2", "Type": "TYPING"})
    assert legacy.event is ChatEvent.TYPING and legacy.event == "typing" and f"{legacy.event}" == "typing"


# -- state -------------------------------------------------------------------------------------


def test_state_changes_are_reported(mock_chat, connection, agent, chat_contact):
    states: list[StreamState] = []
    stream = connection.stream(on_state_change=states.append, **FAST)
    assert stream.state is StreamState.CONNECTING
    with stream:
        assert stream.state is StreamState.OPEN
        agent.send_message("one")
        take(stream, 1)
        mock_chat.drop_websockets(chat_contact["ContactId"])
        agent.send_message("two")
        take(stream, 1)
        assert stream.reconnects == 1
    assert states == [StreamState.OPEN, StreamState.RECONNECTING, StreamState.OPEN, StreamState.CLOSED]
    assert stream.end_reason == "closed"


# -- receipts and typing -----------------------------------------------------------------------


def _record_receipts(chat) -> tuple[list[tuple[str, str]], Any]:
    sent: list[tuple[str, str]] = []

    def record(params, **kwargs) -> None:
        kind = params["ContentType"].rsplit(".", 1)[-1]
        if kind in ("delivered", "read"):
            sent.append((kind, json.loads(params["Content"])["messageId"]))

    return sent, record


@pytest.fixture
def receipts_sent(chat) -> Any:
    sent, record = _record_receipts(chat)
    events = chat.meta.client.meta.events
    events.register("provide-client-params.connectparticipant.SendEvent", record, unique_id="receipts-rec")
    yield sent
    events.unregister("provide-client-params.connectparticipant.SendEvent", unique_id="receipts-rec")


def test_200_messages_with_receipts_make_a_few_batched_calls(connection, agent, receipts_sent):
    # A window longer than reading 100 messages takes on a loaded machine: the count below is
    # then the batching's, not the machine's speed.
    window = 2.0
    with connection.stream(receipts=True, receipt_throttle=window, **FAST) as stream:
        ids = [agent.send_message(f"m{n}").id for n in range(100)]
        take(stream, 100)
        time.sleep(window + 0.1)  # the window passes: the next wake flushes
        # Nothing but the echo of our own receipt (a participant receives its own events).
        echo = stream.get(timeout=0.05)
        assert echo is None or echo.type == "MESSAGEMETADATA"
        assert receipts_sent[-1] == ("delivered", ids[99])
        own = connection.send_message("my answer")  # no receipt for our own message
        ids += [agent.send_message(f"m{n}").id for n in range(100, 200)]
        items = take(stream, 101)
        stream.mark_read(items[-1])
        stream.mark_read(items[-1])  # never twice
    assert 2 <= len(receipts_sent) <= 6, receipts_sent
    assert receipts_sent[-1] == ("read", ids[-1])  # flushed on close
    assert len(receipts_sent) == len(set(receipts_sent))
    assert all(message_id != own.id for _, message_id in receipts_sent)


def test_read_supersedes_a_pending_delivered(connection, agent, receipts_sent):
    with connection.stream(receipts=True, receipt_throttle=60, **FAST) as stream:
        sent = agent.send_message("read me")
        item = take(stream, 1)[-1]
        stream.mark_read(item)
    assert receipts_sent == [("read", sent.id)]


def test_three_participants_turn_receipts_off_without_an_error(
    mock_chat, chat, connection, agent, chat_contact, caplog
):
    response = get_chat_backend().add_participant(chat_contact["ContactId"], "SUPERVISOR", "Sue")
    chat.Participant(response["ParticipantCredentials"]["ParticipantToken"]).create_connection()  # joins
    with caplog.at_level(logging.WARNING, logger="connectparticipant_ext.stream"):
        with connection.stream(receipts=True, receipt_throttle=0, **FAST) as stream:
            agent.send_message("one")
            agent.send_message("two")
            take(stream, 2)
            stream.mark_read(agent.send_message("three").id)
            take(stream, 1)
            assert not stream.receipts_enabled
    assert len([r for r in caplog.records if "receipts are off" in r.getMessage()]) == 1


def test_a_conflict_while_receipts_flush_never_reaches_the_loop(connection, agent, monkeypatch):
    def refuse(message_id: str) -> None:
        raise ConflictError({"Error": {"Code": "ConflictException", "Message": "three"}}, "SendEvent")

    monkeypatch.setattr(connection, "send_delivered_receipt", refuse)
    with connection.stream(receipts=True, receipt_throttle=0, **FAST) as stream:
        agent.send_message("hi")
        assert messages(take(stream, 1)) == ["hi"]
        assert not stream.receipts_enabled


def test_typing_is_throttled(connection: Connection, wire_calls):
    assert connection.send_typing() is not None
    assert connection.send_typing() is None  # within 10 s: nothing sent
    assert connection.send_typing(force=True) is not None
    connection.typing_throttle = 0
    assert connection.send_typing() is not None
    assert wire_calls.count("SendEvent") == 3


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value",
    [
        ("heartbeat_interval", math.nan),
        ("heartbeat_timeout", math.inf),
        ("backoff_base", -1),
        ("backoff_max", "30"),
        ("open_timeout", True),
        ("receipt_throttle", -0.5),
        ("max_socket_age", 0),
        ("url_refresh_margin", math.nan),
        ("url_refresh_margin", timedelta(seconds=-1)),
        ("reconnect_attempts", 2.5),
    ],
)
def test_bad_numeric_settings_are_refused_at_the_call(connection: Connection, wire_calls, name, value):
    with pytest.raises((ValueError, TypeError), match=name):
        connection.stream(**{name: value})
    assert wire_calls == []


def test_url_refresh_margin_takes_seconds_or_a_timedelta(connection: Connection):
    connection.stream(url_refresh_margin=5)
    connection.stream(url_refresh_margin=timedelta(seconds=5))
    with pytest.raises(ValueError, match="timeout"):
        connection.stream().get(timeout=math.nan)


# -- the URL is a connect deadline; the socket lives until its maximum age ---------------------


def test_an_old_socket_is_reopened_with_a_fresh_url(mock_chat, connection, agent, wire_calls):
    mock_chat.settings.websocket_lifetime = timedelta(seconds=1)
    connection.renew()
    first_url = connection.websocket.url
    with connection.stream(max_socket_age=1.5, url_refresh_margin=0.2, **FAST) as stream:
        got: list[TranscriptItem] = []
        deadline = time.monotonic() + WAIT
        n = 0
        while stream.reconnects < 1:
            assert time.monotonic() < deadline, "the socket was not re-opened"
            agent.send_message(f"tick {n}")
            n += 1
            got += take(stream, 1)
        agent.send_message("last")
        got += take(stream, 1)
    assert messages(got) == [f"tick {k}" for k in range(n)] + ["last"]
    assert connection.websocket.url != first_url  # the old URL was past its connect deadline
    assert wire_calls.count("CreateParticipantConnection") >= 2


# -- a hostile server: no storm, no hang -------------------------------------------------------


@pytest.mark.parametrize("case", [confirm_then_drop, oversize_frame])
def test_a_socket_that_fails_before_working_backs_off_and_gives_up(connection, case):
    with HostileWebsocket(case) as server:
        connection._websocket = server.websocket()
        stream = connection.stream(reconnect_attempts=3, backoff_base=0.05, backoff_max=0.1, **_fast_hb())
        with pytest.raises(StreamError, match="after 4 attempts"):
            with stream:
                for _ in stream:
                    pass
        assert server.connections == 4  # one per attempt: no reconnect storm
    assert stream.state is StreamState.CLOSED


def _fast_hb() -> dict[str, float]:
    return {"heartbeat_interval": 0.2, "heartbeat_timeout": 0.5}


def test_get_timeout_holds_while_the_socket_opens_and_close_ends_it(connection):
    with HostileWebsocket(never_answer_handshake) as server:
        connection._websocket = server.websocket()
        stream = connection.stream(open_timeout=60, **FAST)
        assert stream.get(timeout=0.2) is None  # the first open has not finished
        assert stream.state is StreamState.CONNECTING and not stream.ended
        done = threading.Event()

        def consume() -> None:
            for _ in stream:
                pass
            done.set()

        worker = threading.Thread(target=consume, daemon=True)
        worker.start()
        closer = threading.Thread(target=stream.close, daemon=True)
        closer.start()
        closer.join(WAIT)
        assert not closer.is_alive(), "close() blocked while the socket was opening"
        assert done.wait(WAIT), "the loop did not end"
        assert stream.end_reason == "closed"


def test_get_timeout_holds_while_reconnecting(mock_chat, connection, agent, chat_contact):
    with HostileWebsocket(never_answer_handshake) as server:
        with connection.stream(open_timeout=60, **FAST) as stream:
            agent.send_message("one")
            take(stream, 1)
            connection._websocket = server.websocket()  # the next socket hangs while opening
            mock_chat.drop_websockets(chat_contact["ContactId"])
            deadline = time.monotonic() + WAIT
            while stream.state is not StreamState.RECONNECTING:
                assert time.monotonic() < deadline, "the drop was not noticed"
                assert stream.get(timeout=0.1) is None
            assert stream.get(timeout=0.2) is None  # returns, though the socket is still opening
            assert stream.state is StreamState.RECONNECTING and not stream.ended
            while server.connections < 1:  # the new socket is opening, against the hostile server
                assert time.monotonic() < deadline
                time.sleep(0.01)


def test_an_idle_stream_sleeps_until_its_next_deadline(connection, monkeypatch):
    """No polling: with heartbeats every 30 s, a 1 s get() wakes the socket read once or twice."""
    with connection.stream(heartbeat_interval=30, heartbeat_timeout=30) as stream:
        socket = stream._socket
        assert socket is not None
        calls: list[Any] = []
        real = socket.recv

        def counting(timeout: float | None = None, *args: Any, **kwargs: Any) -> Any:
            if timeout != 0:  # reads that wait (not the drain of what is already there)
                calls.append(timeout)
            return real(timeout, *args, **kwargs)

        monkeypatch.setattr(socket, "recv", counting)
        assert stream.get(timeout=1.0) is None
    assert 1 <= len(calls) <= 3, calls


def test_silence_after_subscribe_counts_as_failures(connection):
    with HostileWebsocket(silent_after_subscribe) as server:
        connection._websocket = server.websocket()
        stream = connection.stream(
            reconnect_attempts=1, backoff_base=0.01, backoff_max=0.02, heartbeat_interval=0.1, heartbeat_timeout=0.2
        )
        with pytest.raises(StreamError, match="after 2 attempts"):
            with stream:
                for _ in range(100):
                    stream.get(timeout=WAIT)
        assert server.connections == 2
