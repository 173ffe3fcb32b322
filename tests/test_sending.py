"""Sending messages, events, typing and receipts: what reaches the service, and what is refused before any call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectparticipant_ext import ConnectParticipantError, InvalidArgumentError, SentEvent, SentMessage, exceptions
from connectparticipant_ext._validation import EVENT_CONTENT_TYPES, MESSAGE_CONTENT_TYPES
from connectparticipant_ext._wire import INTERACTIVE_RESPONSE
from connectparticipant_ext.testing import BackendAgent

from _helpers import (
    DOCUMENTED,
    FAST,
    MAX_CONTENT_BYTES,
    METADATA,
    PROPERTY_SETTINGS,
    TYPING,
    WAIT,
    start_chat,
    take,
    valid_interactive_response,
    valid_json,
    valid_text,
)

pytestmark = pytest.mark.usefixtures("no_backoff")


def test_send_message_event_typing_and_receipts(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    assert isinstance(agent, BackendAgent)
    sent = connection.send_message("hello")
    assert isinstance(sent, SentMessage) and sent.id and sent.absolute_time.tzinfo is not None
    event = connection.send_event(TYPING)
    assert isinstance(event, SentEvent) and event.id and event.absolute_time is not None
    assert isinstance(connection.send_event(TYPING, content=None), SentEvent)
    assert connection.send_typing(force=True) is not None
    message_id = agent.send("hi Ann")
    assert isinstance(connection.send_delivered_receipt(message_id), SentEvent)
    assert isinstance(connection.send_read_receipt(message_id), SentEvent)
    items = connection.transcript.all()
    assert "hello" in [i.content for i in items if i.type == "MESSAGE"]
    assert not [i for i in items if i.content_type == TYPING]  # typing is not kept
    # a receipt is kept on the message it is about (live, it arrives as a MESSAGEMETADATA item)
    [received] = [i for i in items if i.id == message_id]
    assert received.message_metadata is not None
    [receipt] = received.message_metadata.receipts
    assert receipt.read_at is not None and receipt.delivered_at is not None
    assert receipt.recipient_participant_id == chat_contact["ParticipantId"]


def test_receipts_arrive_live_as_messagemetadata(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    with connection.stream(**FAST) as stream:
        message_id = agent.send("read me")
        take(stream, 1)
        agent.read(message_id)
        items = take(stream, 1, kind="MESSAGEMETADATA")
    [metadata] = [i for i in items if i.type == "MESSAGEMETADATA"]
    assert metadata.content_type == METADATA
    assert metadata.message_metadata is not None and metadata.message_metadata.message_id == message_id
    assert metadata.message_metadata.receipts[0].read_at is not None


def test_json_messages_need_a_contact_started_with_json(connect_client, chat):
    contact = start_chat(connect_client, SupportedMessagingContentTypes=["text/plain", "application/json"])
    with chat.Participant(contact["ParticipantToken"]).create_connection() as conn:
        sent = conn.send_message('{"a": 1}', content_type="application/json")
        assert [i.content for i in conn.transcript if i.id == sent.id] == ['{"a": 1}']
    plain = start_chat(connect_client)
    with chat.Participant(plain["ParticipantToken"]).create_connection() as conn:
        with pytest.raises(exceptions.ValidationError):
            conn.send_message('{"a": 1}', content_type="application/json")


def test_content_is_limited_to_16384_utf8_bytes_before_any_call(connection, wire_calls):
    connection.send_message("a" * 16384)
    calls = len(wire_calls)
    with pytest.raises(exceptions.InvalidArgumentError) as error:
        connection.send_message("é" * 8193)  # 16,386 bytes, 8,193 characters
    assert isinstance(error.value, ValueError) and isinstance(error.value, exceptions.ConnectParticipantError)
    assert "content" in str(error.value)
    with pytest.raises(exceptions.InvalidArgumentTypeError) as wrong:
        connection.send_message(42)  # type: ignore[arg-type]
    assert isinstance(wrong.value, TypeError)
    assert len(wire_calls) == calls


def test_receipts_are_refused_with_more_than_two_participants(mock_chat, connection, chat_contact):
    first = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Carol")
    with pytest.raises(exceptions.ConflictError):
        connection.send_read_receipt(first.send("hello both"))


def test_send_typing_and_a_rejected_attachment(mock_chat, connection):
    assert isinstance(connection.send_typing(), SentEvent)
    assert connection.send_typing() is None  # throttled, as AWS's clients do
    assert isinstance(connection.send_typing(force=True), SentEvent)
    mock_chat.attachment_verdict = "REJECTED"
    attachment = connection.upload_attachment(b"bad", name="bad.txt")
    with pytest.raises(exceptions.AttachmentRejectedError):
        attachment.wait_until_approved(timeout=WAIT, delay=0.01)


@pytest.fixture
def any_type_connection(chat, connect_client):
    """A customer of a chat started with every message content type (the service refuses a type
    the contact was not started with)."""
    contact = start_chat(connect_client, SupportedMessagingContentTypes=sorted(MESSAGE_CONTENT_TYPES))
    return chat.Participant(contact["ParticipantToken"]).create_connection(websocket=False)


@PROPERTY_SETTINGS
@given(
    content=st.one_of(st.text(max_size=17000), st.binary(max_size=10), st.none(), st.integers()),
    content_type=st.one_of(st.sampled_from(sorted(MESSAGE_CONTENT_TYPES)), st.text(max_size=40), st.none()),
)
def test_send_message_inputs(any_type_connection, wire_calls, content, content_type):
    connection = any_type_connection
    valid = (
        valid_text(content, max_bytes=MAX_CONTENT_BYTES)
        and content_type in MESSAGE_CONTENT_TYPES
        and (content_type != "application/json" or valid_json(content))
        and (content_type != INTERACTIVE_RESPONSE or valid_interactive_response(content))
    )
    wire_calls.clear()
    try:
        connection.send_message(content, content_type=content_type)
    except DOCUMENTED as exc:
        assert not valid, f"valid input refused: {exc}"
        assert wire_calls == []
        return
    assert valid
    assert wire_calls == ["SendMessage"]


@PROPERTY_SETTINGS
@given(
    content_type=st.one_of(st.sampled_from(sorted(EVENT_CONTENT_TYPES)), st.text(max_size=60)),
    content=st.one_of(st.none(), st.text(max_size=40)),
)
def test_send_event_inputs(connection, wire_calls, content_type, content):
    valid = content_type in EVENT_CONTENT_TYPES and (
        content is None or valid_text(content, max_bytes=MAX_CONTENT_BYTES)
    )
    wire_calls.clear()
    try:
        connection.send_event(content_type, content)
    except DOCUMENTED as exc:
        assert not valid, f"valid input refused: {exc}"
        assert wire_calls == []
        return
    except ConnectParticipantError as exc:  # the service may still refuse a receipt for no message
        assert valid
        assert wire_calls == ["SendEvent"]
        assert content_type.endswith(("message.read", "message.delivered")), exc
        return
    assert valid
    assert wire_calls == ["SendEvent"]


@pytest.mark.parametrize(
    "content",
    ["\x00\x01\x02 control", "\u202eright-to-left override", "x" * 16384, "line\r\nbreak\x1b[31m", "😀" * 100],
)
def test_hostile_message_content_round_trips(connection, content):
    sent = connection.send_message(content)
    [item] = [i for i in connection.transcript if i.id == sent.id]
    assert item.content == content


def test_lone_surrogates_are_refused_before_the_call(connection, wire_calls):
    for send in (
        lambda: connection.send_message("broken \ud800 text"),
        lambda: connection.send_event("application/vnd.amazonaws.connect.event.typing", "\udfff"),
    ):
        with pytest.raises(InvalidArgumentError) as info:
            send()
        assert "surrogate" in str(info.value) and "content" in str(info.value)
    assert wire_calls == []
