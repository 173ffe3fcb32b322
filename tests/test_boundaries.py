"""Every validated argument of the public API at its boundaries.

The last allowed value reaches the service unchanged (checked on the wire) and the first
refused one fails before any call, with the message a user reads: the argument, the limit,
and what was given. One chat serves the whole module (built once: the table is long).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NamedTuple, Optional

import pytest
from moto import mock_aws

from connectparticipant_ext import (
    AttachmentLimits,
    AttachmentTooLargeError,
    ChatService,
    ConnectParticipantError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ResourceNotFoundError,
    UnsupportedAttachmentTypeError,
    ValidationError,
)
from connectparticipant_ext._validation import MESSAGE_CONTENT_TYPES

TYPING = "application/vnd.amazonaws.connect.event.typing"
ACKNOWLEDGED = "application/vnd.amazonaws.connect.event.connection.acknowledged"
INTERACTIVE = "application/vnd.amazonaws.connect.message.interactive.response"
SESSION_ID = "12345678-1234-1234-1234-123456789012"
LONGEST_WAIT = threading.TIMEOUT_MAX
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Chat(NamedTuple):
    connection: Any
    attachment_id: str
    calls: list[tuple[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def boundary_chat() -> Iterator[Chat]:
    """A customer's connection to a chat that takes every message type, with one attachment."""
    import boto3

    with mock_aws():
        connect = boto3.client("connect", region_name="us-east-1")
        contact = connect.start_chat_contact(
            InstanceId="instance-1",
            ContactFlowId="flow-1",
            ParticipantDetails={"DisplayName": "Ann"},
            SupportedMessagingContentTypes=sorted(MESSAGE_CONTENT_TYPES),
        )
        service = ChatService(region_name="us-east-1")
        connection = service.Participant(contact["ParticipantToken"]).create_connection(websocket=False)
        attachment = connection.upload_attachment(b"data", name="a.txt")
        calls: list[tuple[str, dict[str, Any]]] = []

        def record(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
            calls.append((model.name, dict(params)))

        events = service.meta.client.meta.events
        events.register("before-parameter-build.connectparticipant", record, unique_id="boundary-calls")
        try:
            yield Chat(connection, attachment.id, calls)
        finally:
            events.unregister("before-parameter-build.connectparticipant", unique_id="boundary-calls")


class Argument(NamedTuple):
    """How to pass one argument, where it lands on the wire, and its boundary values."""

    call: Callable[[Chat, Any], Any]
    operation: str  # the operation an accepted value reaches (its first call is checked)
    sent: Callable[[dict[str, Any]], Any]  # the value as the operation's parameters carry it
    accepted: list[tuple[Any, Any]]  # (value, as sent)
    refused: list[tuple[Any, type[Exception], str]]  # (value, error, the message; "..." ends a prefix)
    service_answer: Optional[type[Exception]] = None  # a service error the accepted values may get


def _too_long(name: str, length: int, limit: int) -> str:
    return f"{name} has {length} characters; the limit is {limit}"


def _transcript(chat: Chat, **filters: Any) -> list[Any]:
    return list(chat.connection.transcript.filter(**filters).limit(1))


def _upload(chat: Chat, **changes: Any) -> Any:
    options: dict[str, Any] = {"source": b"x", "name": "a.txt", "content_type": "text/plain"}
    options.update(changes)
    return chat.connection.upload_attachment(options.pop("source"), **options)


def _limited_upload(chat: Chat, size: int) -> Any:
    limited = ChatService(region_name="us-east-1", attachment_limits=AttachmentLimits(max_size=32))
    return limited.Connection(chat.connection.token).upload_attachment(b"x" * size, name="a.txt")


def _typing_with_throttle(chat: Chat, throttle: Any) -> Any:
    chat.connection.typing_throttle = throttle
    try:
        return chat.connection.send_typing(force=True)
    finally:
        del chat.connection.typing_throttle


def _bad_seconds(name: str, value: Any, *, allow_zero: bool) -> str:
    bound = "0 or more" if allow_zero else "more than 0"
    return f"{name} must be a finite number of seconds, {bound} and at most {LONGEST_WAIT:.0f}; got {value!r}"


TYPES = ", ".join(sorted(MESSAGE_CONTENT_TYPES))
TIME_AT_UTC_MINUS_1 = datetime(2024, 1, 1, 11, 30, tzinfo=timezone(timedelta(hours=-1)))

ARGUMENTS: dict[str, Argument] = {
    "send_message content": Argument(
        call=lambda chat, v: chat.connection.send_message(v),
        operation="SendMessage",
        sent=lambda p: p["Content"],
        accepted=[("x", "x"), ("x" * 16384, "x" * 16384), ("é" * 8192, "é" * 8192), ("😀" * 4096, "😀" * 4096)],
        refused=[
            ("", InvalidArgumentError, "content must not be empty"),
            ("x" * 16385, InvalidArgumentError, "content has 16385 bytes of UTF-8; the limit is 16384 bytes"),
            ("é" * 8192 + "x", InvalidArgumentError, "content has 16385 bytes of UTF-8; the limit is 16384 bytes"),
            (None, InvalidArgumentTypeError, "content must be a str, not NoneType"),
            (b"x", InvalidArgumentTypeError, "content must be a str, not bytes"),
            (
                "a\ud800b",
                InvalidArgumentError,
                "content is not valid Unicode text: a lone surrogate '\\ud800' at position 1",
            ),
        ],
    ),
    "send_message content_type": Argument(
        call=lambda chat, v: chat.connection.send_message('{"a": 1}', content_type=v),
        operation="SendMessage",
        sent=lambda p: p["ContentType"],
        accepted=[(t, t) for t in sorted(MESSAGE_CONTENT_TYPES)],
        refused=[
            ("text/html", InvalidArgumentError, f"content_type must be one of {TYPES}; got 'text/html'"),
            ("TEXT/PLAIN", InvalidArgumentError, f"content_type must be one of {TYPES}; got 'TEXT/PLAIN'"),
            (42, InvalidArgumentTypeError, "content_type must be a str, not int"),
        ],
    ),
    "send_message json content": Argument(
        call=lambda chat, v: chat.connection.send_message(v, content_type="application/json"),
        operation="SendMessage",
        sent=lambda p: p["Content"],
        accepted=[("[]", "[]"), ('"text"', '"text"'), ("[" * 64 + "]" * 64, "[" * 64 + "]" * 64)],
        refused=[
            ("{not json", InvalidArgumentError, "content must be valid JSON for content_type application/json"),
            ("[" * 10000, InvalidArgumentError, "content nests deeper than 64 levels of JSON"),
        ],
    ),
    "send_message client_token": Argument(
        call=lambda chat, v: chat.connection.send_message("hi", client_token=v),
        operation="SendMessage",
        sent=lambda p: p["ClientToken"],
        accepted=[("t", "t"), ("t" * 500, "t" * 500)],
        refused=[
            ("", InvalidArgumentError, "client_token must not be empty"),
            ("t" * 501, InvalidArgumentError, _too_long("client_token", 501, 500)),
            (7, InvalidArgumentTypeError, "client_token must be a str, not int"),
        ],
    ),
    "send_event content_type": Argument(
        call=lambda chat, v: chat.connection.send_event(v),
        operation="SendEvent",
        sent=lambda p: p["ContentType"],
        accepted=[(TYPING, TYPING), (ACKNOWLEDGED, ACKNOWLEDGED)],
        refused=[
            (TYPING + "x", InvalidArgumentError, "content_type must be one of application/vnd.amazonaws.connect..."),
            (None, InvalidArgumentTypeError, "content_type must be a str, not NoneType"),
        ],
    ),
    "send_event content": Argument(
        call=lambda chat, v: chat.connection.send_event(TYPING, v),
        operation="SendEvent",
        sent=lambda p: p.get("Content"),
        accepted=[(None, None), ("x", "x"), ("x" * 16384, "x" * 16384)],
        refused=[
            ("", InvalidArgumentError, "content must not be empty"),
            ("x" * 16385, InvalidArgumentError, "content has 16385 bytes of UTF-8; the limit is 16384 bytes"),
        ],
    ),
    "send_read_receipt message_id": Argument(
        call=lambda chat, v: chat.connection.send_read_receipt(v),
        operation="SendEvent",
        sent=lambda p: p["Content"],
        accepted=[("m", '{"messageId": "m"}'), ("m" * 256, '{"messageId": "' + "m" * 256 + '"}')],
        refused=[
            ("", InvalidArgumentError, "message_id must not be empty"),
            ("m" * 257, InvalidArgumentError, _too_long("message_id", 257, 256)),
            (42, InvalidArgumentTypeError, "message_id must be a str, not int"),
        ],
        service_answer=ValidationError,  # no such message in this chat
    ),
    "describe_view view_token": Argument(
        call=lambda chat, v: chat.connection.describe_view(v),
        operation="DescribeView",
        sent=lambda p: p["ViewToken"],
        accepted=[("v", "v"), ("v" * 1000, "v" * 1000)],
        refused=[
            ("", InvalidArgumentError, "view_token must not be empty"),
            ("v" * 1001, InvalidArgumentError, _too_long("view_token", 1001, 1000)),
        ],
        service_answer=ResourceNotFoundError,  # no such view
    ),
    "get_authentication_url session_id": Argument(
        call=lambda chat, v: chat.connection.get_authentication_url(v, "https://example.com/back"),
        operation="GetAuthenticationUrl",
        sent=lambda p: p["SessionId"],
        accepted=[(SESSION_ID, SESSION_ID)],
        refused=[
            (SESSION_ID[:-1], InvalidArgumentError, "session_id must have at least 36 characters"),
            (SESSION_ID + "0", InvalidArgumentError, _too_long("session_id", 37, 36)),
            (None, InvalidArgumentTypeError, "session_id must be a str, not NoneType"),
        ],
        service_answer=ConnectParticipantError,  # no authentication was asked for in this chat
    ),
    "get_authentication_url redirect_uri": Argument(
        call=lambda chat, v: chat.connection.get_authentication_url(SESSION_ID, v),
        operation="GetAuthenticationUrl",
        sent=lambda p: p["RedirectUri"],
        accepted=[("h", "h"), ("h" * 1024, "h" * 1024)],
        refused=[
            ("", InvalidArgumentError, "redirect_uri must not be empty"),
            ("h" * 1025, InvalidArgumentError, _too_long("redirect_uri", 1025, 1024)),
        ],
        service_answer=ConnectParticipantError,
    ),
    "cancel_authentication session_id": Argument(
        call=lambda chat, v: chat.connection.cancel_authentication(v),
        operation="CancelParticipantAuthentication",
        sent=lambda p: p["SessionId"],
        accepted=[(SESSION_ID, SESSION_ID)],
        refused=[
            (SESSION_ID[:-1], InvalidArgumentError, "session_id must have at least 36 characters"),
            (SESSION_ID + "0", InvalidArgumentError, _too_long("session_id", 37, 36)),
        ],
        service_answer=ConnectParticipantError,
    ),
    "Attachment attachment_id": Argument(
        call=lambda chat, v: chat.connection.Attachment(v).url(),
        operation="GetAttachment",
        sent=lambda p: p["AttachmentId"],
        accepted=[("a", "a"), ("a" * 256, "a" * 256)],
        refused=[
            ("", InvalidArgumentError, "attachment_id must not be empty"),
            ("a" * 257, InvalidArgumentError, _too_long("attachment_id", 257, 256)),
            (None, InvalidArgumentTypeError, "attachment_id must be a str, not NoneType"),
        ],
        service_answer=ValidationError,  # no such attachment: GetAttachment models no ResourceNotFound
    ),
    "typing_throttle": Argument(
        call=_typing_with_throttle,
        operation="SendEvent",
        sent=lambda p: p["ContentType"],
        accepted=[(0, TYPING), (0.0, TYPING), (2.5, TYPING), (LONGEST_WAIT, TYPING)],
        refused=[
            (-0.001, InvalidArgumentError, _bad_seconds("typing_throttle", -0.001, allow_zero=True)),
            (math.inf, InvalidArgumentError, _bad_seconds("typing_throttle", math.inf, allow_zero=True)),
            (
                LONGEST_WAIT * 2,
                InvalidArgumentError,
                _bad_seconds("typing_throttle", LONGEST_WAIT * 2, allow_zero=True),
            ),
            (True, InvalidArgumentTypeError, "typing_throttle must be a number of seconds, not bool"),
            ("1", InvalidArgumentTypeError, "typing_throttle must be a number of seconds, not str"),
        ],
    ),
    "send_typing force": Argument(
        call=lambda chat, v: chat.connection.send_typing(force=v),
        operation="SendEvent",
        sent=lambda p: p["ContentType"],
        accepted=[(True, TYPING)],
        refused=[(1, InvalidArgumentTypeError, "force must be True or False")],
    ),
    # -- the transcript ------------------------------------------------------------------------
    "transcript direction": Argument(
        call=lambda chat, v: _transcript(chat, direction=v),
        operation="GetTranscript",
        sent=lambda p: p["ScanDirection"],
        accepted=[("FORWARD", "FORWARD"), ("BACKWARD", "BACKWARD")],
        refused=[
            ("forward", InvalidArgumentError, "direction must be one of BACKWARD, FORWARD; got 'forward'"),
            (1, InvalidArgumentTypeError, "direction must be a str, not int"),
        ],
    ),
    "transcript sort": Argument(
        call=lambda chat, v: _transcript(chat, sort=v),
        operation="GetTranscript",
        sent=lambda p: p["SortOrder"],
        accepted=[("ASCENDING", "ASCENDING"), ("DESCENDING", "DESCENDING")],
        refused=[("asc", InvalidArgumentError, "sort must be one of ASCENDING, DESCENDING; got 'asc'")],
    ),
    "transcript start_id": Argument(
        call=lambda chat, v: _transcript(chat, start_id=v),
        operation="GetTranscript",
        sent=lambda p: p["StartPosition"],
        accepted=[("i", {"Id": "i"}), ("i" * 256, {"Id": "i" * 256})],
        refused=[
            ("", InvalidArgumentError, "start_id must not be empty"),
            ("i" * 257, InvalidArgumentError, _too_long("start_id", 257, 256)),
            (5, InvalidArgumentTypeError, "start_id must be a str, not int"),
        ],
    ),
    "transcript contact_id": Argument(
        call=lambda chat, v: _transcript(chat, contact_id=v),
        operation="GetTranscript",
        sent=lambda p: p["ContactId"],
        accepted=[("c", "c"), ("c" * 256, "c" * 256)],
        refused=[
            ("", InvalidArgumentError, "contact_id must not be empty"),
            ("c" * 257, InvalidArgumentError, _too_long("contact_id", 257, 256)),
        ],
        service_answer=ResourceNotFoundError,  # not a contact of this chat
    ),
    "transcript most_recent": Argument(
        call=lambda chat, v: _transcript(chat, most_recent=v),
        operation="GetTranscript",
        sent=lambda p: p["StartPosition"],
        accepted=[(0, {"MostRecent": 0}), (1, {"MostRecent": 1}), (100, {"MostRecent": 100})],
        refused=[
            (-1, InvalidArgumentError, "most_recent must be from 0 to 100, got -1"),
            (101, InvalidArgumentError, "most_recent must be from 0 to 100, got 101"),
            (True, InvalidArgumentTypeError, "most_recent must be an int, not bool"),
            (1.0, InvalidArgumentTypeError, "most_recent must be an int, not float"),
        ],
    ),
    "transcript start_time": Argument(
        call=lambda chat, v: _transcript(chat, start_time=v),
        operation="GetTranscript",
        sent=lambda p: p["StartPosition"],
        accepted=[
            (EPOCH, {"AbsoluteTime": "1970-01-01T00:00:00.000Z"}),
            (TIME_AT_UTC_MINUS_1, {"AbsoluteTime": "2024-01-01T12:30:00.000Z"}),
        ],
        refused=[
            (
                datetime(2024, 1, 1),
                InvalidArgumentError,
                "start_time must be timezone-aware (e.g. datetime.now(timezone.utc)); got a naive datetime",
            ),
            ("2024-01-01", InvalidArgumentTypeError, "start_time must be a datetime, not str"),
            (
                datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))),
                InvalidArgumentError,
                "start_time is outside the range of times the service takes",
            ),
        ],
    ),
    "transcript page_size": Argument(
        call=lambda chat, v: list(chat.connection.transcript.page_size(v)),
        operation="GetTranscript",
        sent=lambda p: p["MaxResults"],
        accepted=[(1, 1), (100, 100)],
        refused=[
            (0, InvalidArgumentError, "page_size must be from 1 to 100, got 0"),
            (101, InvalidArgumentError, "page_size must be from 1 to 100, got 101"),
            ("5", InvalidArgumentTypeError, "page_size must be an int, not str"),
        ],
    ),
    "transcript limit": Argument(
        call=lambda chat, v: list(chat.connection.transcript.page_size(7).limit(v)),
        operation="GetTranscript",
        sent=lambda p: p["MaxResults"],
        accepted=[(1, 1), (7, 7), (8, 7)],
        refused=[
            (-1, InvalidArgumentError, "limit must be at least 0, got -1"),
            (None, InvalidArgumentTypeError, "limit must be an int, not NoneType"),
        ],
    ),
    # -- attachments ---------------------------------------------------------------------------
    "upload_attachment name": Argument(
        call=lambda chat, v: _upload(chat, name=v),
        operation="StartAttachmentUpload",
        sent=lambda p: p["AttachmentName"],
        accepted=[("a.txt", "a.txt"), ("a" * 252 + ".txt", "a" * 252 + ".txt")],
        refused=[
            ("", InvalidArgumentError, "name must not be empty"),
            ("a" * 253 + ".txt", InvalidArgumentError, _too_long("name", 257, 256)),
            (
                "a.exe",
                UnsupportedAttachmentTypeError,
                "'a.exe' has .exe; allowed attachment types are .csv, .doc, .docx, .jpeg, .jpg, .pdf, "
                ".png, .ppt, .pptx, .txt, .wav, .xls, .xlsx",
            ),
            (
                "README",
                UnsupportedAttachmentTypeError,
                "'README' has no extension; allowed attachment types are .csv, ...",
            ),
        ],
    ),
    "upload_attachment content_type": Argument(
        call=lambda chat, v: _upload(chat, content_type=v),
        operation="StartAttachmentUpload",
        sent=lambda p: p["ContentType"],
        accepted=[("t", "t"), ("t" * 255, "t" * 255)],
        refused=[
            ("", InvalidArgumentError, "content_type must not be empty"),
            ("t" * 256, InvalidArgumentError, _too_long("content_type", 256, 255)),
        ],
    ),
    "upload_attachment client_token": Argument(
        call=lambda chat, v: _upload(chat, client_token=v),
        operation="StartAttachmentUpload",
        sent=lambda p: p["ClientToken"],
        accepted=[("t" * 500, "t" * 500)],
        refused=[("t" * 501, InvalidArgumentError, _too_long("client_token", 501, 500))],
    ),
    "upload_attachment size": Argument(
        call=_limited_upload,
        operation="StartAttachmentUpload",
        sent=lambda p: p["AttachmentSizeInBytes"],
        accepted=[(1, 1), (32, 32)],
        refused=[
            (0, InvalidArgumentError, "'a.txt' is empty; an attachment needs at least 1 byte"),
            (33, AttachmentTooLargeError, "'a.txt' has 33 bytes; the attachment size limit is 32 bytes"),
        ],
    ),
    "attachment url expires_in": Argument(
        call=lambda chat, v: chat.connection.Attachment(chat.attachment_id).url(expires_in=v),
        operation="GetAttachment",
        sent=lambda p: p["UrlExpiryInSeconds"],
        accepted=[(5, 5), (300, 300)],
        refused=[
            (4, InvalidArgumentError, "expires_in must be from 5 to 300, got 4"),
            (301, InvalidArgumentError, "expires_in must be from 5 to 300, got 301"),
            (60.0, InvalidArgumentTypeError, "expires_in must be an int, not float"),
        ],
    ),
    "attachment url disposition": Argument(
        call=lambda chat, v: chat.connection.Attachment(chat.attachment_id).url(disposition=v),
        operation="GetAttachment",
        sent=lambda p: p["UrlContentDisposition"],
        accepted=[("ATTACHMENT", "ATTACHMENT"), ("INLINE", "INLINE")],
        refused=[("inline", InvalidArgumentError, "disposition must be one of ATTACHMENT, INLINE; got 'inline'")],
    ),
    "wait_until_approved timeout": Argument(
        call=lambda chat, v: chat.connection.Attachment(chat.attachment_id).wait_until_approved(timeout=v),
        operation="GetTranscript",
        sent=lambda p: p["ScanDirection"],
        accepted=[(1e-9, "BACKWARD"), (LONGEST_WAIT, "BACKWARD")],
        refused=[
            (0, InvalidArgumentError, _bad_seconds("timeout", 0, allow_zero=False)),
            (-1, InvalidArgumentError, _bad_seconds("timeout", -1, allow_zero=False)),
            (math.nan, InvalidArgumentError, _bad_seconds("timeout", math.nan, allow_zero=False)),
        ],
    ),
    "wait_until_approved delay": Argument(
        call=lambda chat, v: chat.connection.Attachment(chat.attachment_id).wait_until_approved(delay=v),
        operation="GetTranscript",
        sent=lambda p: p["ScanDirection"],
        accepted=[(0, "BACKWARD"), (LONGEST_WAIT, "BACKWARD")],
        refused=[(-0.5, InvalidArgumentError, _bad_seconds("delay", -0.5, allow_zero=True))],
    ),
}


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_boundary_values(boundary_chat, name):
    chat = boundary_chat
    argument = ARGUMENTS[name]
    for value, sent in argument.accepted:
        chat.calls.clear()
        try:
            argument.call(chat, value)
        except (InvalidArgumentError, InvalidArgumentTypeError) as exc:
            pytest.fail(f"{name} = {value!r:.60} was refused: {exc}")
        except ConnectParticipantError as exc:
            if argument.service_answer is None or not isinstance(exc, argument.service_answer):
                raise
        reached = [params for operation, params in chat.calls if operation == argument.operation]
        assert reached, f"{name} = {value!r:.60} did not reach {argument.operation}"
        assert argument.sent(reached[0]) == sent, f"{name} = {value!r:.60}"
    for value, error, message in argument.refused:
        chat.calls.clear()
        with pytest.raises(error) as info:
            argument.call(chat, value)
        if message.endswith("..."):
            assert str(info.value).startswith(message[:-3]), f"{name} = {value!r:.60}"
        else:
            assert str(info.value) == message, f"{name} = {value!r:.60}"
        assert chat.calls == [], f"{name} = {value!r:.60} reached the service"


def test_limit_zero_is_allowed_and_reads_nothing(boundary_chat):
    chat = boundary_chat
    chat.calls.clear()
    assert list(chat.connection.transcript.limit(0)) == []
    assert chat.calls == []


def test_two_start_positions_are_refused_by_name(boundary_chat):
    chat = boundary_chat
    with pytest.raises(InvalidArgumentError) as info:
        chat.connection.transcript.filter(start_id="i", most_recent=0)
    assert str(info.value) == "give at most one start position; got start_id and most_recent"
    with pytest.raises(InvalidArgumentError) as info:
        chat.connection.transcript.filter(start_time=EPOCH, most_recent=3, start_id="i")
    assert str(info.value) == "give at most one start position; got start_id and start_time and most_recent"


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        ("", InvalidArgumentError, "participant token must not be empty"),
        (" \t", InvalidArgumentError, "participant token must not be empty"),
        (None, InvalidArgumentTypeError, "participant token must be a str, not NoneType"),
        (b"token", InvalidArgumentTypeError, "participant token must be a str, not bytes"),
    ],
)
def test_participant_tokens(token, error, message):
    with pytest.raises(error) as info:
        ChatService(region_name="us-east-1").Participant(token)
    assert str(info.value) == message


def test_connection_tokens():
    chat = ChatService(region_name="us-east-1")
    assert chat.Connection("t").token == "t"
    with pytest.raises(InvalidArgumentError) as info:
        chat.Connection(" ")
    assert str(info.value) == "connection token must not be empty"
    with pytest.raises(InvalidArgumentTypeError) as info:
        chat.Connection(1)
    assert str(info.value) == "connection token must be a str, not int"


def test_create_connection_flags(boundary_chat):
    chat = boundary_chat
    participant = chat.connection.participant
    chat.calls.clear()
    with pytest.raises(InvalidArgumentTypeError) as info:
        participant.create_connection(webrtc="yes")
    assert str(info.value) == "webrtc must be a bool, not str"
    for flags in ({"connect_participant": 1}, {"websocket": None}):
        with pytest.raises(InvalidArgumentTypeError) as info:
            participant.create_connection(**flags)
        assert str(info.value) == "connect_participant and websocket must be bools"
    assert chat.calls == []
