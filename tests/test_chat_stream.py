"""The live stream (``conn.stream()``) through the public API: history, resumption, receipts, reconnects, the end."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from connectparticipant_ext import ChatEvent, StreamError, StreamState, TranscriptItem

from _helpers import DELIVERED, EVENT, FAST, READ, WAIT, contents, take

pytestmark = pytest.mark.usefixtures("no_backoff")


def test_stream_yields_items_and_ends_by_itself_when_the_chat_ends(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    with connection.stream(**FAST) as stream:
        assert stream.state in (StreamState.CONNECTING, StreamState.OPEN)
        agent.send("live hello")
        items = take(stream, 1)
        assert stream.state is StreamState.OPEN
        assert isinstance(items[-1], TranscriptItem) and items[-1].content == "live hello"
        agent.leave()
        rest = []
        for item in stream:  # ends by itself
            rest.append(item)
    assert ChatEvent.CHAT_ENDED in [i.event for i in rest]
    assert stream.state is StreamState.CLOSED
    assert {m.name for m in StreamState} == {"CONNECTING", "OPEN", "RECONNECTING", "CLOSED"}


def test_stream_history_then_live_without_gap_or_duplicate(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    before = [agent.send(f"before {n}") for n in range(3)]
    with connection.stream(history=True, **FAST) as stream:
        agent.send("live")
        items = take(stream, 4)
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    assert contents(items) == ["before 0", "before 1", "before 2", "live"]
    assert [i.id for i in items if i.type == "MESSAGE"][:3] == before


def test_stream_since_resumes_after_an_item(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    ids = [agent.send(f"n{n}") for n in range(4)]
    with connection.stream(since=ids[1], **FAST) as stream:
        agent.send("live")
        items = take(stream, 3)
    assert contents(items) == ["n2", "n3", "live"]


def test_stream_close_from_another_thread_ends_the_loop(connection):
    stream = connection.stream(**FAST)
    seen: list[TranscriptItem] = []
    done = threading.Event()

    def loop() -> None:
        for item in stream:
            seen.append(item)
        done.set()

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.2)
    stream.close()
    thread.join(WAIT)
    assert done.is_set() and not thread.is_alive()
    assert stream.state is StreamState.CLOSED


def test_stream_partial_messages(mock_chat, connection, chat_contact):
    with connection.stream(partial_messages=True, **FAST) as stream:
        reply_id = mock_chat.stream_bot_reply(chat_contact["ContactId"], ["Hel", "lo"])
        items = take(stream, 3)
    replies = [(i.id, i.content, i.is_complete) for i in items if i.type == "MESSAGE"]
    assert replies == [(reply_id, "Hel", False), (reply_id, "Hello", False), (reply_id, "Hello", True)]
    with connection.stream(**FAST) as stream:
        mock_chat.stream_bot_reply(chat_contact["ContactId"], ["a", "b"])
        [whole] = [i for i in take(stream, 1) if i.type == "MESSAGE"]
    assert whole.content == "ab" and whole.is_complete


def test_stream_receipts_and_mark_read(chat, mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    sent: list[tuple[str, str]] = []
    event = "provide-client-params.connectparticipant.SendEvent"

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        if params.get("ContentType") in (DELIVERED, READ):
            sent.append((params["ContentType"], json.loads(params["Content"])["messageId"]))

    chat.meta.client.meta.events.register(event, record, unique_id="contract-receipts")
    try:
        with connection.stream(receipts=True, receipt_throttle=0.3, **FAST) as stream:
            first = agent.send("deliver me")
            take(stream, 1)
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and (DELIVERED, first) not in sent:
                time.sleep(0.02)
            second = agent.send("read me")
            [read_item] = [i for i in take(stream, 1) if i.id == second]
            stream.mark_read(read_item)  # within the batching window: supersedes the delivered one
            stream.mark_read(read_item)  # never twice
            while time.monotonic() < deadline and (READ, second) not in sent:
                time.sleep(0.02)
            stream.mark_read(read_item)
            time.sleep(0.5)
    finally:
        chat.meta.client.meta.events.unregister(event, unique_id="contract-receipts")
    assert (DELIVERED, first) in sent
    assert sent.count((READ, second)) == 1
    assert (DELIVERED, second) not in sent  # read supersedes delivered
    # only others' messages get receipts
    assert not [m for kind, m in sent if m not in (first, second)]


def test_emit_event_reaches_the_stream(mock_chat, connection, chat_contact):
    with connection.stream(**FAST) as stream:
        event_id = mock_chat.emit_event(chat_contact["ContactId"], "participant.idle")
        items = take(stream, 1, kind="EVENT")
    idle = [i for i in items if i.id == event_id]
    assert idle and idle[0].event is ChatEvent.PARTICIPANT_IDLE


@pytest.mark.parametrize(
    "event",
    [
        ChatEvent.PARTICIPANT_IDLE,
        ChatEvent.PARTICIPANT_RETURNED,
        ChatEvent.AUTODISCONNECTION,
        ChatEvent.TRANSFER_SUCCEEDED,
        ChatEvent.TRANSFER_FAILED,
        ChatEvent.CHAT_REHYDRATED,
        ChatEvent.AUTHENTICATION_INITIATED,
        ChatEvent.AUTHENTICATION_SUCCESSFUL,
        ChatEvent.AUTHENTICATION_FAILED,
    ],
    ids=str,
)
def test_emit_event_gives_each_service_event(mock_chat, connection, chat_contact, event):
    with connection.stream(**FAST) as stream:
        event_id = mock_chat.emit_event(chat_contact["ContactId"], event.content_type)
        deadline = time.monotonic() + WAIT
        found = None
        while found is None:
            assert time.monotonic() < deadline
            item = stream.get(timeout=WAIT)
            if item is not None and item.id == event_id:
                found = item
    assert found.type == "EVENT" and found.content_type == EVENT + event.value
    assert found.event is event


def test_stream_reconnects_after_a_dropped_socket_without_gap(chat, mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    mock_chat.settings.websocket_connect_timeout = timedelta(seconds=1)
    connection.renew()  # a websocket URL that may be opened for one second only
    first_url = connection.websocket.url
    seen: list[dict[str, Any]] = []
    event = "provide-client-params.connectparticipant.CreateParticipantConnection"
    chat.meta.client.meta.events.register(event, lambda params, **kw: seen.append(dict(params)), unique_id="c-ws")
    try:
        states: list[StreamState] = []
        with connection.stream(on_state_change=states.append, **FAST) as stream:
            agent.send("one")
            take(stream, 1)
            time.sleep(1.2)  # past the URL's connect expiry: a reconnect needs a fresh one
            assert mock_chat.drop_websockets(chat_contact["ContactId"]) >= 1
            agent.send("two")  # while the socket is down: filled from GetTranscript
            agent.send("three")
            items = take(stream, 2)
            agent.send("four")
            items += take(stream, 1)
            mine = connection.send_message("my own")  # a participant receives its own messages
            items += take(stream, 1)
    finally:
        chat.meta.client.meta.events.unregister(event, unique_id="c-ws")
    assert contents(items) == ["two", "three", "four", "my own"]
    assert items[-1].id == mine.id
    assert stream.reconnects >= 1
    assert StreamState.RECONNECTING in states and states[-1] is StreamState.CLOSED
    assert connection.websocket.url != first_url
    assert seen and all(p["Type"] == ["WEBSOCKET"] and p["ConnectParticipant"] is False for p in seen)


def test_a_running_stream_goes_on_after_disconnect_until_the_chat_ends(mock_chat, connection, chat_contact):
    contact_id = chat_contact["ContactId"]
    mock_chat.set_disconnect_flow(contact_id)  # the contact flow goes on after the customer leaves
    with connection.stream(**FAST) as stream:
        connection.disconnect()
        survey = mock_chat.stream_bot_reply(contact_id, ["How did ", "we do?"])
        mock_chat.emit_event(contact_id, "chat.ended")
        items = list(stream)
    assert [i.content for i in items if i.id == survey] == ["How did we do?"]
    assert items[-1].event is ChatEvent.CHAT_ENDED


def test_a_subscribe_answer_that_is_not_an_object_is_a_failed_attempt(connection):
    from hostile_ws import HostileWebsocket, subscribe_answered_with_a_list

    with HostileWebsocket(subscribe_answered_with_a_list) as server:
        connection._websocket = server.websocket()
        stream = connection.stream(
            reconnect_attempts=1,
            backoff_base=0.05,
            backoff_max=0.1,
            open_timeout=0.5,
            heartbeat_interval=0.2,
            heartbeat_timeout=0.5,
        )
        with pytest.raises(StreamError, match="after 2 attempts"):
            with stream:
                for _ in stream:
                    pass
        assert server.connections == 2


def test_frames_and_items_of_junk_are_ignored(connection):
    from hostile_ws import JUNK_THEN_ITEM, HostileWebsocket, junk_frames_then_an_item

    with HostileWebsocket(junk_frames_then_an_item) as server:
        connection._websocket = server.websocket()
        stream = connection.stream(reconnect_attempts=0, heartbeat_interval=0.2, heartbeat_timeout=2)
        with stream:
            got = []
            for item in stream:
                got.append(item)
                _ = (item.message_metadata, item.attachments, item.event, item.is_complete, item.absolute_time)
                if item.content == JUNK_THEN_ITEM:
                    break
        assert got[-1].id == "good-1"
        assert stream.reconnects == 0
