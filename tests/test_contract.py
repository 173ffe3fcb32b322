"""The public-API contract of /work/shared/DESIGN.md, walked top to bottom as a user would.

Every name and behaviour the design states is exercised here through the public API: in
process with the pytest plugin's fixtures, and for the backend and the wire also against the
local server (``local_server``) with plain boto3 clients and a raw websocket.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.sync.client import connect as ws_connect

import connectparticipant_ext
from connectparticipant_ext import (
    Attachment,
    Carousel,
    ChatEvent,
    ChatService,
    Connection,
    InteractiveTemplate,
    ListPicker,
    Panel,
    Participant,
    QuickReply,
    SentEvent,
    SentMessage,
    StreamState,
    TimePicker,
    TranscriptItem,
    ViewResource,
    WebRTCConnection,
    Websocket,
    exceptions,
    streaming,
)
from connectparticipant_ext import connection as connection_module
from connectparticipant_ext.testing import BackendAgent, get_chat_backend

EVENT = "application/vnd.amazonaws.connect.event."
TYPING = EVENT + "typing"
DELIVERED = EVENT + "message.delivered"
READ = EVENT + "message.read"
METADATA = EVENT + "message.metadata"
FAST = {"heartbeat_interval": 0.2, "heartbeat_timeout": 0.5, "backoff_base": 0.01, "backoff_max": 0.1}
WAIT = 10.0
INSTANCE_ID = "instance-1"
CONTACT_FLOW_ID = "flow-1"


def take(stream: Any, wanted: int, *, kind: str = "MESSAGE") -> list[TranscriptItem]:
    """Items from ``stream`` until ``wanted`` items of ``kind`` have come (bounded)."""
    items: list[TranscriptItem] = []
    deadline = time.monotonic() + WAIT
    while sum(1 for i in items if i.type == kind) < wanted:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {[i.type for i in items]} arrived"
        item = stream.get(timeout=remaining)
        if item is None:
            assert not stream.ended
            continue
        items.append(item)
    return items


def start_chat(connect: Any, name: str = "Ann", **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = connect.start_chat_contact(
        InstanceId=INSTANCE_ID, ContactFlowId=CONTACT_FLOW_ID, ParticipantDetails={"DisplayName": name}, **extra
    )
    return response


# -- ChatService -------------------------------------------------------------------------------


def test_chat_service_builds_an_unsigned_client_with_standard_retries(mock_chat):
    chat = ChatService(region_name="us-east-1")
    client = chat.meta.client
    assert client.meta.service_model.service_name == "connectparticipant"
    assert client.meta.region_name == "us-east-1"
    assert client.meta.config.signature_version is botocore.UNSIGNED
    assert client.meta.config.retries["mode"] == "standard"
    assert "participant.connect.us-east-1.amazonaws.com" in client.meta.endpoint_url


def test_chat_service_takes_a_client_session_endpoint_or_config(mock_chat):
    existing = boto3.client("connectparticipant", region_name="us-east-1")
    assert ChatService(client=existing).meta.client is existing
    session = boto3.session.Session(region_name="eu-west-2")
    assert ChatService(session=session).meta.client.meta.region_name == "eu-west-2"
    local = ChatService(region_name="us-east-1", endpoint_url="http://127.0.0.1:5999")
    assert local.meta.client.meta.endpoint_url == "http://127.0.0.1:5999"
    configured = ChatService(region_name="us-east-1", config=Config(user_agent_extra="contract-test"))
    assert "contract-test" in configured.meta.client.meta.config.user_agent_extra
    assert configured.meta.client.meta.config.signature_version is botocore.UNSIGNED


def test_a_client_needs_no_aws_credentials(mock_chat, chat_contact, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    session = boto3.session.Session(region_name="us-east-1")
    chat = ChatService(session=session)
    with chat.Participant(chat_contact["ParticipantToken"]).create_connection() as conn:
        assert conn.send_message("no credentials needed").id


# -- Participant and Connection ----------------------------------------------------------------


def test_participant_create_connection_and_its_secrets(chat, chat_contact, wire_calls, mock_chat):
    participant = chat.Participant(chat_contact["ParticipantToken"])
    assert isinstance(participant, Participant)
    assert participant.token == chat_contact["ParticipantToken"]
    conn = participant.create_connection()
    assert isinstance(conn, Connection)
    assert wire_calls == ["CreateParticipantConnection"]
    assert conn.token and conn.token != participant.token
    for secret in (conn.token, participant.token):
        for text in (repr(conn), str(conn), repr(participant), str(participant), repr(conn.websocket)):
            assert secret not in text
    assert isinstance(conn.expires_at, datetime) and conn.expires_at.utcoffset() == timedelta(0)
    assert isinstance(conn.websocket, Websocket)
    assert conn.websocket.url.startswith(("ws://", "wss://"))
    assert conn.websocket.expires_at is not None and conn.websocket.expires_at.tzinfo is not None
    # ConnectParticipant=True: the customer's joining is in the transcript
    joined = [i for i in conn.transcript if i.event is ChatEvent.PARTICIPANT_JOINED]
    assert [i.participant_role for i in joined] == ["CUSTOMER"]
    conn.disconnect()


def test_create_connection_asks_for_credentials_and_websocket(chat, chat_contact):
    seen: list[dict[str, Any]] = []
    chat.meta.client.meta.events.register(
        "provide-client-params.connectparticipant.CreateParticipantConnection",
        lambda params, **kwargs: seen.append(dict(params)),
        unique_id="contract-create-params",
    )
    try:
        chat.Participant(chat_contact["ParticipantToken"]).create_connection()
    finally:
        chat.meta.client.meta.events.unregister(
            "provide-client-params.connectparticipant.CreateParticipantConnection", unique_id="contract-create-params"
        )
    assert seen[0]["ConnectParticipant"] is True
    assert set(seen[0]["Type"]) == {"CONNECTION_CREDENTIALS", "WEBSOCKET"}


def test_context_manager_disconnects_and_then_nothing_reaches_the_network(participant, wire_calls):
    with participant.create_connection() as conn:
        conn.send_message("hi")
    assert wire_calls[-1] == "DisconnectParticipant"
    calls = len(wire_calls)
    for attempt in (
        lambda: conn.send_message("after"),
        lambda: conn.send_event(TYPING),
        lambda: conn.send_typing(force=True),
        lambda: list(conn.transcript),
        lambda: conn.Attachment("att-1").url(),
        lambda: conn.describe_view("view-token"),
    ):
        with pytest.raises(exceptions.ConnectionClosedError):
            attempt()
    assert len(wire_calls) == calls
    conn.disconnect()  # a second disconnect does nothing
    assert len(wire_calls) == calls


def test_restore_with_chat_connection(chat, participant, connection):
    restored = chat.Connection(connection.token, participant=participant)
    assert isinstance(restored, Connection)
    assert restored.send_message("from the restored connection").id
    assert "from the restored connection" in [i.content for i in connection.transcript]


def test_renews_within_60_seconds_of_expiry_with_connect_participant_false(
    chat, participant, connection, monkeypatch, wire_calls
):
    seen: list[dict[str, Any]] = []
    chat.meta.client.meta.events.register(
        "provide-client-params.connectparticipant.CreateParticipantConnection",
        lambda params, **kwargs: seen.append(dict(params)),
        unique_id="contract-renew-params",
    )
    old = connection.token
    now = connection.expires_at - timedelta(seconds=59)
    monkeypatch.setattr(connection_module, "_utcnow", lambda: now)
    try:
        connection.send_message("renewed first")
    finally:
        chat.meta.client.meta.events.unregister(
            "provide-client-params.connectparticipant.CreateParticipantConnection", unique_id="contract-renew-params"
        )
    assert wire_calls == ["CreateParticipantConnection", "SendMessage"]
    assert seen[0]["ConnectParticipant"] is False
    assert connection.token != old


def test_no_renewal_earlier_than_60_seconds(participant, connection, monkeypatch, wire_calls):
    now = connection.expires_at - timedelta(seconds=120)
    monkeypatch.setattr(connection_module, "_utcnow", lambda: now)
    connection.send_message("no renewal yet")
    assert wire_calls == ["SendMessage"]


def test_renews_once_after_access_denied_and_retries_the_call(mock_chat, connection, wire_calls):
    old = connection.token
    mock_chat.revoke_connection_token(old)
    sent = connection.send_message("after a revoked token")
    assert wire_calls == ["SendMessage", "CreateParticipantConnection", "SendMessage"]
    assert connection.token != old and sent.id


def test_concurrent_threads_renew_only_once(mock_chat, connection, wire_calls):
    mock_chat.revoke_connection_token(connection.token)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        barrier.wait(timeout=WAIT)
        try:
            connection.send_message(f"thread {n}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not errors
    assert wire_calls.count("CreateParticipantConnection") == 1


def test_a_connection_without_participant_is_not_renewed(chat, mock_chat, connection):
    restored = chat.Connection(connection.token)
    mock_chat.revoke_connection_token(connection.token)
    with pytest.raises(exceptions.AccessDeniedError) as denied:
        restored.send_message("refused")
    assert isinstance(denied.value, ClientError)
    assert connection.token not in str(denied.value)


# -- sending -----------------------------------------------------------------------------------


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


# -- the transcript ----------------------------------------------------------------------------


@pytest.fixture
def long_chat(mock_chat, connection, chat_contact) -> list[str]:
    """25 messages from the customer, oldest first."""
    return [connection.send_message(f"m{n}").id for n in range(25)]


def contents(items: Any) -> list[str]:
    return [i.content for i in items if i.type == "MESSAGE"]


def test_transcript_is_a_lazy_generator_over_next_token(connection, long_chat, wire_calls):
    del wire_calls[:]
    iterator = iter(connection.transcript.page_size(10))
    first = next(iterator)
    assert isinstance(first, TranscriptItem)
    assert wire_calls == ["GetTranscript"]  # one page so far
    rest = list(iterator)
    assert wire_calls.count("GetTranscript") > 1
    assert len(contents([first, *rest])) == 25


def test_transcript_all_filter_page_size_limit_pages(connection, long_chat, wire_calls):
    assert len(contents(connection.transcript.all())) == 25
    forward = connection.transcript.filter(direction="FORWARD", sort="ASCENDING")
    assert contents(forward)[:3] == ["m0", "m1", "m2"]
    after = connection.transcript.filter(direction="FORWARD", start_id=long_chat[10])
    assert contents(after)[0] in ("m10", "m11")
    start = next(i for i in connection.transcript if i.id == long_chat[20]).absolute_time
    by_time = contents(connection.transcript.filter(direction="FORWARD", start_time=start))
    assert "m20" in by_time and "m19" not in by_time
    recent = connection.transcript.filter(most_recent=3, direction="BACKWARD")
    assert len(list(recent.limit(50))) >= 3
    contact_id = next(iter(connection.transcript.all())).contact_id
    assert contents(connection.transcript.filter(contact_id=contact_id))
    del wire_calls[:]
    limited = list(connection.transcript.page_size(5).limit(7))
    assert len(limited) == 7 and wire_calls == ["GetTranscript", "GetTranscript"]
    pages = list(connection.transcript.page_size(10).pages())
    assert all(isinstance(page, list) for page in pages)
    assert [len(page) for page in pages][:2] == [10, 10]
    with pytest.raises(exceptions.InvalidArgumentError):
        connection.transcript.filter(start_id="x", most_recent=2)
    with pytest.raises(exceptions.InvalidArgumentError):
        connection.transcript.page_size(101)
    with pytest.raises(exceptions.InvalidArgumentError):
        connection.transcript.filter(start_time=datetime(2026, 1, 1))  # naive


def test_transcript_items_are_attrs_values_with_parsed_fields(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    agent.send("hello Ann")
    item = next(i for i in connection.transcript if i.type == "MESSAGE")
    assert item.content == "hello Ann"
    assert item.content_type == "text/plain"
    assert item.participant_role == "AGENT" and item.display_name == "Bob"
    assert item.participant_id and item.id
    assert isinstance(item.absolute_time, datetime) and item.absolute_time.tzinfo is not None
    assert item.contact_id == chat_contact["ContactId"]
    assert item.attachments == () and item.message_metadata is None
    assert item.related_contact_id is None
    assert item.raw["Id"] == item.id and item.raw["Type"] == "MESSAGE"
    assert TranscriptItem.from_response(item.raw) == item


def test_unknown_types_and_missing_optional_fields_parse():
    odd = TranscriptItem.from_response({"Id": "x1", "Type": "SOMETHING_NEW"})
    assert odd.type == "SOMETHING_NEW" and odd.content is None and odd.absolute_time is None
    assert odd.event is None and odd.interactive is None
    receipt = TranscriptItem.from_response(
        {
            "Id": "r1",
            "Type": "MESSAGEMETADATA",
            "ContentType": METADATA,
            "AbsoluteTime": "2026-11-25T10:00:00.123Z",
            "MessageMetadata": {
                "MessageId": "m1",
                "Receipts": [{"DeliveredTimestamp": "2026-11-25T10:00:00.100Z", "RecipientParticipantId": "p2"}],
            },
        }
    )
    assert receipt.message_metadata is not None
    assert receipt.message_metadata.message_id == "m1"
    [entry] = receipt.message_metadata.receipts
    assert entry.delivered_at is not None and entry.read_at is None
    assert entry.recipient_participant_id == "p2"


# -- attachments -------------------------------------------------------------------------------


def test_upload_attachment_from_path_bytes_and_fileobj(connection, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 path")
    from_path = connection.upload_attachment(str(path))
    from_pathlike = connection.upload_attachment(path)
    from_bytes = connection.upload_attachment(b"a,b\n1,2\n", name="data.csv", content_type="text/csv")
    from_file = connection.upload_attachment(io.BytesIO(b"notes"), name="notes.txt", content_type="text/plain")
    for att, data in (
        (from_path, b"%PDF-1.4 path"),
        (from_pathlike, b"%PDF-1.4 path"),
        (from_bytes, b"a,b\n1,2\n"),
        (from_file, b"notes"),
    ):
        assert isinstance(att, Attachment)
        assert att.wait_until_approved(timeout=WAIT, delay=0.01) is not None
        out = io.BytesIO()
        att.download(out)
        assert out.getvalue() == data
    assert from_path.name == "report.pdf"
    attachments = [a for i in connection.transcript if i.type == "ATTACHMENT" for a in i.attachments]
    assert {a.name for a in attachments} >= {"report.pdf", "data.csv", "notes.txt"}
    assert all(isinstance(a, Attachment) for a in attachments)
    assert all(a.id and a.content_type and a.status for a in attachments)


def test_attachment_steps_one_by_one_and_by_id(connection, tmp_path):
    data = b"one by one"
    up = connection.start_attachment_upload("steps.txt", len(data), "text/plain")
    up.upload(io.BytesIO(data))
    att = up.complete()
    assert isinstance(att, Attachment)
    att.wait_until_approved(timeout=WAIT, delay=0.01)
    again = connection.Attachment(att.id)
    url = again.url(expires_in=60, disposition="ATTACHMENT")
    assert url.startswith("http")
    assert again.url(expires_in=300, disposition="INLINE").startswith("http")
    assert again.download(tmp_path / "copy.txt").read_bytes() == data
    into_dir = again.download(tmp_path)
    assert Path(into_dir).read_bytes() == data
    with pytest.raises(exceptions.InvalidArgumentError):
        again.url(expires_in=4)
    with pytest.raises(exceptions.InvalidArgumentError):
        again.url(expires_in=301)


def test_attachment_limits_are_checked_before_any_call(connection, wire_calls):
    calls = len(wire_calls)
    with pytest.raises(exceptions.UnsupportedAttachmentTypeError):
        connection.upload_attachment(b"MZ", name="tool.exe", content_type="application/octet-stream")
    with pytest.raises(exceptions.AttachmentTooLargeError):
        connection.start_attachment_upload("big.pdf", 20 * 1024 * 1024 + 1, "application/pdf")
    assert len(wire_calls) == calls
    for cls in (
        exceptions.AttachmentTooLargeError,
        exceptions.UnsupportedAttachmentTypeError,
        exceptions.AttachmentUploadError,
        exceptions.AttachmentRejectedError,
    ):
        assert issubclass(cls, exceptions.AttachmentError)


def test_a_custom_bot_may_not_read_attachments(connect_client, chat, chat_contact, connection):
    att = connection.upload_attachment(b"secret", name="s.txt", content_type="text/plain")
    att.wait_until_approved(timeout=WAIT, delay=0.01)
    bot = connect_client.create_participant(
        InstanceId=INSTANCE_ID,
        ContactId=chat_contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
    )
    bot_conn = chat.Participant(bot["ParticipantCredentials"]["ParticipantToken"]).create_connection()
    with pytest.raises(exceptions.AccessDeniedError):
        bot_conn.Attachment(att.id).url()


def test_create_participant_adds_only_custom_bots(connect_client, chat_contact):
    with pytest.raises(ClientError) as error:
        connect_client.create_participant(
            InstanceId=INSTANCE_ID,
            ContactId=chat_contact["ContactId"],
            ParticipantDetails={"ParticipantRole": "AGENT", "DisplayName": "Bob"},
        )
    assert error.value.response["Error"]["Code"] in ("InvalidRequestException", "InvalidParameterException")


# -- view and authentication -------------------------------------------------------------------


def test_describe_view_and_authentication(mock_chat, connection, chat_contact):
    token = mock_chat.register_view(name="Survey", template="<p>hi</p>", actions=["Submit"])
    view = connection.describe_view(token)
    assert view.name == "Survey"
    assert token not in repr(view)
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    url = connection.get_authentication_url(session_id, "https://example.com/back")
    assert url.startswith("https://")
    assert connection.cancel_authentication(session_id) is None
    with pytest.raises(exceptions.ResourceNotFoundError):
        connection.describe_view("view-unknown")


# -- the live stream ---------------------------------------------------------------------------


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


def test_item_event_members_and_export():
    assert connectparticipant_ext.ChatEvent is ChatEvent
    for name in ("PARTICIPANT_JOINED", "PARTICIPANT_LEFT", "CHAT_ENDED", "TYPING", "TRANSFER_SUCCEEDED"):
        assert hasattr(ChatEvent, name)
    ended = TranscriptItem.from_response({"Id": "e", "Type": "EVENT", "ContentType": EVENT + "chat.ended"})
    assert ended.event is ChatEvent.CHAT_ENDED
    message = TranscriptItem.from_response({"Id": "m", "Type": "MESSAGE", "ContentType": "text/plain", "Content": "x"})
    assert message.event is None


def test_emit_event_reaches_the_stream(mock_chat, connection, chat_contact):
    with connection.stream(**FAST) as stream:
        event_id = mock_chat.emit_event(chat_contact["ContactId"], "participant.idle")
        items = take(stream, 1, kind="EVENT")
    idle = [i for i in items if i.id == event_id]
    assert idle and idle[0].event is ChatEvent.PARTICIPANT_IDLE


TEMPLATES: dict[type[InteractiveTemplate], dict[str, Any]] = {
    ListPicker: {
        "templateType": "ListPicker",
        "version": "1.0",
        "data": {"content": {"title": "Pick", "elements": [{"title": "A"}]}},
    },
    Panel: {
        "templateType": "Panel",
        "version": "1.0",
        "data": {"content": {"title": "Help", "elements": [{"title": "B"}]}},
    },
    QuickReply: {
        "templateType": "QuickReply",
        "version": "1.0",
        "data": {"content": {"title": "Ok?", "elements": [{"title": "Yes"}]}},
    },
    TimePicker: {
        "templateType": "TimePicker",
        "version": "1.0",
        "data": {"content": {"title": "When", "timeslots": [{"date": "2026-12-01T10:00+00:00", "duration": 30}]}},
    },
    Carousel: {
        "templateType": "Carousel",
        "version": "1.0",
        "data": {
            "content": {
                "title": "Choose",
                "elements": [
                    {
                        "templateType": "Panel",
                        "version": "1.0",
                        "data": {"content": {"title": "P", "elements": [{"title": "x"}]}},
                    }
                ],
            }
        },
    },
    ViewResource: {
        "templateType": "ViewResource",
        "version": "1.0",
        "data": {"content": {"viewId": "view-1", "Actions": ["Submit"], "InputSchema": "{}", "Template": "{}"}},
    },
    InteractiveTemplate: {"templateType": "SomethingNew", "version": "1.0", "data": {"content": {"title": "?"}}},
}


def test_send_interactive_and_item_interactive(mock_chat, connection, chat_contact):
    known = {cls: t for cls, t in TEMPLATES.items() if cls is not InteractiveTemplate}
    ids = {cls: mock_chat.send_interactive(chat_contact["ContactId"], template) for cls, template in known.items()}
    # send_interactive refuses a templateType the admin guide does not document; a newer
    # service's template arrives as a flow's interactive message
    ids[InteractiveTemplate] = mock_chat.send_flow_message(
        chat_contact["ContactId"],
        json.dumps(TEMPLATES[InteractiveTemplate]),
        content_type="application/vnd.amazonaws.connect.message.interactive",
    )
    by_id = {i.id: i for i in connection.transcript}
    for cls, item_id in ids.items():
        interactive = by_id[item_id].interactive
        assert type(interactive) is cls, cls
    plain = next(i for i in by_id.values() if i.event is ChatEvent.PARTICIPANT_JOINED)
    assert plain.interactive is None


def test_create_connection_with_webrtc(chat, chat_contact):
    conn = chat.Participant(chat_contact["ParticipantToken"]).create_connection(webrtc=True)
    assert isinstance(conn.webrtc, WebRTCConnection)
    assert conn.webrtc.meeting is not None and conn.webrtc.attendee is not None
    join_token = conn.webrtc.attendee.join_token
    assert join_token and join_token not in repr(conn.webrtc) and join_token not in repr(conn)
    assert chat.Participant(chat_contact["ParticipantToken"]).create_connection().webrtc is None


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


# -- test controls -----------------------------------------------------------------------------


def test_backend_agent_controls(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Agent Smith")
    mine = connection.send_message("from Ann")
    agent.typing()
    reply = agent.send("from the agent")
    agent.read(mine.id)
    assert agent.messages() == ["from Ann", "from the agent"]
    assert agent.messages("AGENT") == ["from the agent"]
    assert {i["Id"] for i in agent.items()} >= {mine.id, reply}
    assert agent.items() == list(agent.items)
    assert "from the agent" in contents(connection.transcript)
    agent.leave()  # the agent leaving ends the chat (no disconnect flow)
    left = [i["ContentType"] for i in agent.items[-2:]]
    assert left == [EVENT + "participant.left", EVENT + "chat.ended"]


def test_inject_faults_surface_as_typed_errors(mock_chat, connection, no_backoff):
    mock_chat.inject_faults(throttling=1.0, seed=1, operations=["SendMessage"])
    with pytest.raises(exceptions.ThrottlingError) as error:
        connection.send_message("throttled")
    assert isinstance(error.value, ClientError)
    assert error.value.response["Error"]["Code"] == "ThrottlingException"
    mock_chat.inject_faults(throttling=0.0)
    assert connection.send_message("fine again").id


def test_a_plain_mock_aws_block_works():
    import moto

    with moto.mock_aws():
        connect = boto3.client(
            "connect", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        contact = start_chat(connect)
        chat = ChatService(region_name="us-east-1")
        with chat.Participant(contact["ParticipantToken"]).create_connection() as conn:
            conn.send_message("inside mock_aws")
            assert "inside mock_aws" in contents(conn.transcript)
        connect.stop_contact(ContactId=contact["ContactId"], InstanceId=INSTANCE_ID)


def test_attachments_are_stored_in_motos_s3(mock_chat, connection):
    att = connection.upload_attachment(b"in s3", name="s3.txt", content_type="text/plain")
    s3 = boto3.client("s3", region_name="us-east-1")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    stored = [
        s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        for bucket in buckets
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert b"in s3" in stored and att.id


# -- errors ------------------------------------------------------------------------------------


def test_every_error_class_and_its_bases():
    base = exceptions.ConnectParticipantError
    assert connectparticipant_ext.ConnectParticipantError is base
    service = (
        "AccessDeniedError",
        "ValidationError",
        "ThrottlingError",
        "InternalServerError",
        "ServiceQuotaExceededError",
        "ConflictError",
        "ResourceNotFoundError",
    )
    for name in service:
        cls = getattr(exceptions, name)
        assert getattr(connectparticipant_ext, name) is cls
        assert issubclass(cls, base) and issubclass(cls, ClientError), name
    local = (
        "ConnectionClosedError",
        "ConnectionExpiredError",
        "StreamError",
        "AttachmentError",
        "AttachmentTooLargeError",
        "UnsupportedAttachmentTypeError",
        "AttachmentUploadError",
        "AttachmentRejectedError",
    )
    for name in local:
        cls = getattr(exceptions, name)
        assert getattr(connectparticipant_ext, name) is cls
        assert issubclass(cls, base) and not issubclass(cls, ClientError), name
    assert issubclass(exceptions.InvalidArgumentError, ValueError)
    assert issubclass(exceptions.InvalidArgumentTypeError, TypeError)


def test_service_errors_map_every_modelled_code(mock_chat, connection, no_backoff):
    mock_chat.inject_faults(internal=1.0, seed=2, operations=["SendMessage"])
    with pytest.raises(exceptions.InternalServerError) as error:
        connection.send_message("x")
    assert connection.token not in str(error.value) and connection.token not in repr(error.value)


def test_forward_without_start_position_is_a_validation_error_on_the_wire(connection):
    with pytest.raises(ClientError) as error:
        connection.meta.client.get_transcript(ConnectionToken=connection.token, ScanDirection="FORWARD")
    assert error.value.response["Error"]["Code"] == "ValidationException"


# -- on the wire: the local server driven by plain boto3 and a raw websocket -----------------------


def test_local_server_wire_facts(local_server):
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    raw = boto3.client(
        "connectparticipant",
        region_name="us-east-1",
        endpoint_url=local_server.endpoint_url,
        config=Config(signature_version=botocore.UNSIGNED),
    )
    contact = start_chat(connect)
    created = raw.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"],
        Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"],
        ConnectParticipant=True,
    )
    token = created["ConnectionCredentials"]["ConnectionToken"]
    websocket = created["Websocket"]
    assert websocket["Url"].startswith("ws") and websocket["ConnectionExpiry"]
    sent = raw.send_message(ConnectionToken=token, ContentType="text/plain", Content="over the wire", ClientToken="c1")
    items = raw.get_transcript(ConnectionToken=token, MaxResults=100)["Transcript"]
    message = next(i for i in items if i["Id"] == sent["Id"])
    for field in (
        "Id",
        "AbsoluteTime",
        "Type",
        "ContentType",
        "Content",
        "ParticipantId",
        "DisplayName",
        "ParticipantRole",
        "ContactId",
    ):
        assert field in message, field
    # InitialContactId is not in botocore's Item shape (its parser drops it): read the body itself
    body = requests.post(
        local_server.endpoint_url + "/participant/transcript",
        headers={"X-Amz-Bearer": token, "Content-Type": "application/json"},
        data=json.dumps({"MaxResults": 100}),
        timeout=WAIT,
    ).json()
    assert all("InitialContactId" in item for item in body["Transcript"])
    assert message["Type"] == "MESSAGE"
    joined = [i for i in items if i["Type"] == "EVENT"]
    assert joined and joined[0]["ContentType"] == EVENT + "participant.joined"

    with ws_connect(websocket["Url"], open_timeout=WAIT) as socket:
        socket.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))
        assert json.loads(socket.recv(timeout=WAIT)) == {
            "topic": "aws/subscribe",
            "content": {"status": "success", "topics": ["aws/chat"]},
        }
        socket.send(json.dumps({"topic": "aws/heartbeat"}))
        assert json.loads(socket.recv(timeout=WAIT)) == {"topic": "aws/heartbeat"}
        socket.send(json.dumps({"topic": "aws/ping"}))
        assert json.loads(socket.recv(timeout=WAIT)) == {"topic": "aws/ping", "statusCode": 200, "statusContent": "OK"}
        own = raw.send_message(ConnectionToken=token, ContentType="text/plain", Content="echo", ClientToken="c2")
        frame = json.loads(socket.recv(timeout=WAIT))
        assert frame["topic"] == "aws/chat" and frame["contentType"] == "application/json"
        pushed = json.loads(frame["content"])
        assert pushed["Id"] == own["Id"] and pushed["Content"] == "echo"  # its own messages too
        assert pushed["InitialContactId"] == contact["ContactId"]

    # the library over the same server, and attachments through the presigned URL
    chat = ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    conn = chat.Connection(token)
    att = conn.upload_attachment(b"wire bytes", name="w.txt", content_type="text/plain")
    att.wait_until_approved(timeout=WAIT, delay=0.01)
    out = io.BytesIO()
    att.download(out)
    assert out.getvalue() == b"wire bytes"
    [entry] = [a for i in conn.transcript if i.type == "ATTACHMENT" for a in i.raw["Attachments"]]
    assert set(entry) >= {"ContentType", "AttachmentId", "AttachmentName", "Status"}
    conn.disconnect()


def test_local_server_live_stream(local_server):
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    contact = start_chat(connect)
    chat = ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    conn = chat.Participant(contact["ParticipantToken"]).create_connection()
    agent = get_chat_backend().join_as_agent(contact["ContactId"])
    with conn.stream(history=True, **FAST) as stream:
        agent.send("served")
        items = take(stream, 1)
    assert contents(items) == ["served"]
    conn.disconnect()


# -- at fleet scale ----------------------------------------------------------------------------


def test_streaming_start_parse_and_bot_participants(mock_chat, connect_client, chat_contact, connection):
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="chats")["TopicArn"]
    queue = sqs.create_queue(QueueName="chats-bots")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    contact_id = chat_contact["ContactId"]
    assert streaming.start(connect_client, INSTANCE_ID, contact_id, topic)
    sent = connection.send_message("to the fleet")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    parsed = [s for m in messages for s in streaming.parse(m)]
    [streamed] = [s for s in parsed if s.item.id == sent.id]
    assert isinstance(streamed, streaming.StreamedItem)
    assert isinstance(streamed.item, TranscriptItem) and streamed.item.content == "to the fleet"
    assert streamed.contact_id == contact_id
    assert streamed.initial_contact_id == contact_id
    assert streamed.instance_id is not None
    assert streamed.participant_role == "CUSTOMER"
    assert streamed.visibility
    assert streamed.message_id
    assert streamed.reply_token == next(streaming.parse(messages[parsed.index(streamed)])).reply_token

    store = streaming.InMemoryTokenStore()
    assert isinstance(store, streaming.TokenStore)
    bots = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=store)
    bot = bots.connection(connect_client, INSTANCE_ID, contact_id)
    bot.send_message("bot reply", client_token=streamed.reply_token)
    again = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=store)
    restored = again.connection(connect_client, INSTANCE_ID, contact_id)
    restored.send_message("bot reply", client_token=streamed.reply_token)  # redelivered: answered once
    bots_in_chat = {i.participant_id for i in connection.transcript if i.participant_role == "CUSTOM_BOT"}
    assert len(bots_in_chat) == 1
    assert contents(connection.transcript).count("bot reply") == 1


def test_dynamodb_token_store(mock_chat, connect_client, chat_contact):
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    store = streaming.DynamoDBTokenStore.create_table(dynamodb, "bot-tokens")
    assert isinstance(store, streaming.DynamoDBTokenStore) and isinstance(store, streaming.TokenStore)
    same = streaming.DynamoDBTokenStore(dynamodb.Table("bot-tokens"))
    first = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=store)
    second = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=same)
    a = first.connection(connect_client, INSTANCE_ID, chat_contact["ContactId"])
    b = second.connection(connect_client, INSTANCE_ID, chat_contact["ContactId"])
    assert a.token == b.token


def test_secrets_never_in_logs(caplog, mock_chat, connection, chat_contact):
    import logging

    caplog.set_level(logging.DEBUG)
    mock_chat.revoke_connection_token(connection.token)
    connection.send_message("renew and log")
    for record in caplog.records:
        text = record.getMessage()
        assert connection.token not in text and chat_contact["ParticipantToken"] not in text


def _raw_clients(local_server: Any) -> tuple[Any, Any]:
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    raw = boto3.client(
        "connectparticipant",
        region_name="us-east-1",
        endpoint_url=local_server.endpoint_url,
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )
    return connect, raw


def _error_code(call: Any) -> str:
    with pytest.raises(ClientError) as error:
        call()
    code: str = error.value.response["Error"]["Code"]
    return code


def test_local_server_service_facts(local_server):
    connect, raw = _raw_clients(local_server)
    contact = start_chat(connect)
    before = datetime.now(timezone.utc)
    created = raw.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"]
    )
    token = created["ConnectionCredentials"]["ConnectionToken"]
    socket_expiry = datetime.fromisoformat(created["Websocket"]["ConnectionExpiry"].replace("Z", "+00:00"))
    token_expiry = datetime.fromisoformat(created["ConnectionCredentials"]["Expiry"].replace("Z", "+00:00"))
    assert timedelta(seconds=90) < socket_expiry - before <= timedelta(seconds=101)
    assert timedelta(hours=23) < token_expiry - before <= timedelta(days=1, seconds=1)
    # re-created for a participant that already joined: no second "joined"
    again = raw.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"], ConnectParticipant=False
    )
    token = again["ConnectionCredentials"]["ConnectionToken"]
    # Type may be omitted, as AWS's agent client does
    raw.create_participant_connection(ParticipantToken=contact["ParticipantToken"], ConnectParticipant=True)

    ids = [raw.send_message(ConnectionToken=token, ContentType="text/plain", Content=f"w{n}")["Id"] for n in range(12)]
    everything = raw.get_transcript(ConnectionToken=token, MaxResults=100)["Transcript"]
    assert sum(1 for i in everything if i["ContentType"] == EVENT + "participant.joined") == 1
    default = raw.get_transcript(ConnectionToken=token)["Transcript"]
    assert len(default) == 10  # MaxResults defaults to 10
    newest = sorted(everything, key=lambda i: i["AbsoluteTime"])[-10:]
    assert {i["Id"] for i in default} == {i["Id"] for i in newest}  # BACKWARD without a StartPosition
    after = raw.get_transcript(
        ConnectionToken=token, StartPosition={"Id": ids[5]}, MaxResults=3, SortOrder="ASCENDING"
    )["Transcript"]
    assert [i["Content"] for i in after] in (["w5", "w6", "w7"], ["w6", "w7", "w8"])  # FORWARD with one
    assert _error_code(lambda: raw.get_transcript(ConnectionToken=token, ScanDirection="FORWARD")) == (
        "ValidationException"
    )
    assert _error_code(
        lambda: raw.get_transcript(ConnectionToken=token, StartPosition={"Id": ids[0], "MostRecent": 2})
    ) == ("ValidationException")
    assert _error_code(lambda: raw.get_transcript(ConnectionToken=token, MaxResults=101)) == "ValidationException"

    # content: 16,384 UTF-8 bytes at most; JSON only for a contact started with it
    raw.send_message(ConnectionToken=token, ContentType="text/plain", Content="a" * 16384)
    too_long = "é" * 8193
    assert (
        _error_code(lambda: raw.send_message(ConnectionToken=token, ContentType="text/plain", Content=too_long))
        == "ValidationException"
    )
    assert (
        _error_code(lambda: raw.send_message(ConnectionToken=token, ContentType="application/json", Content="{}"))
        == "ValidationException"
    )
    assert (
        _error_code(lambda: raw.send_message(ConnectionToken=token, ContentType="text/markdown", Content="*x*"))
        == "ValidationException"
    )

    # attachments: Start -> PUT with every header -> Complete; GetAttachment's URL expiry 5..300
    data = b"col\n1\n"
    started = raw.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/csv",
        AttachmentSizeInBytes=len(data),
        AttachmentName="d.csv",
        ClientToken="up-1",
    )
    upload = started["UploadMetadata"]
    put = requests.put(upload["Url"], data=data, headers=upload["HeadersToInclude"], timeout=WAIT)
    assert put.status_code == 200
    raw.complete_attachment_upload(ConnectionToken=token, AttachmentIds=[started["AttachmentId"]], ClientToken="c-1")
    attachment_id = started["AttachmentId"]
    assert _error_code(
        lambda: raw.get_attachment(ConnectionToken=token, AttachmentId=attachment_id, UrlExpiryInSeconds=301)
    ) == ("ValidationException")
    assert _error_code(
        lambda: raw.start_attachment_upload(
            ConnectionToken=token,
            ContentType="application/octet-stream",
            AttachmentSizeInBytes=3,
            AttachmentName="x.exe",
            ClientToken="up-2",
        )
    ) in ("ValidationException", "ServiceQuotaExceededException")

    # the Connect API has its own errors, never ValidationException
    code = _error_code(
        lambda: connect.create_participant(
            InstanceId=INSTANCE_ID,
            ContactId=contact["ContactId"],
            ParticipantDetails={"ParticipantRole": "AGENT", "DisplayName": "Bob"},
        )
    )
    assert code != "ValidationException" and code.startswith("Invalid")


def test_local_server_streamed_reply_typing_and_receipts_on_the_wire(local_server):
    connect, raw = _raw_clients(local_server)
    contact = start_chat(connect)
    created = raw.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"],
        Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"],
        ConnectParticipant=True,
    )
    token = created["ConnectionCredentials"]["ConnectionToken"]
    backend = get_chat_backend()
    agent = backend.join_as_agent(contact["ContactId"], display_name="Bob")
    with ws_connect(created["Websocket"]["Url"], open_timeout=WAIT) as socket:
        socket.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))
        assert json.loads(socket.recv(timeout=WAIT))["content"]["status"] == "success"

        def next_item() -> dict[str, Any]:
            while True:
                frame = json.loads(socket.recv(timeout=WAIT))
                if frame["topic"] == "aws/chat":
                    item: dict[str, Any] = json.loads(frame["content"])
                    if item.get("ContentType") != EVENT + "participant.joined":
                        return item

        reply_id = backend.stream_bot_reply(contact["ContactId"], ["Hi ", "there"])
        pieces = [next_item() for _ in range(3)]
        assert {p["Id"] for p in pieces} == {reply_id}
        assert all(p["Type"] == "MESSAGE" and p["ParticipantRole"] == "SYSTEM" for p in pieces)
        assert [p["MessageMetadata"]["MessageCompleted"] for p in pieces] == [False, False, True]
        assert [p["MessageMetadata"].get("ChunkNumber") for p in pieces[:2]] == [1, 2]
        assert [p["Content"] for p in pieces] == ["Hi ", "there", "Hi there"]

        agent.typing()
        typing = next_item()
        assert typing["Type"] == "EVENT" and typing["ContentType"] == TYPING
        message_id = agent.send("read this")
        assert next_item()["Id"] == message_id
        raw.send_event(ConnectionToken=token, ContentType=READ, Content=json.dumps({"messageId": message_id}))
        receipt = next_item()
        assert receipt["Type"] == "MESSAGEMETADATA" and receipt["ContentType"] == METADATA
        assert receipt["MessageMetadata"]["MessageId"] == message_id
        [entry] = receipt["MessageMetadata"]["Receipts"]
        assert entry["ReadTimestamp"] and entry["RecipientParticipantId"] == contact["ParticipantId"]
        parsed = TranscriptItem.from_response(receipt)
        assert parsed.message_metadata is not None and parsed.message_metadata.receipts[0].read_at is not None

        agent.leave()
        left = next_item()
        ended = next_item()
        assert left["ContentType"] == EVENT + "participant.left"
        assert ended["Type"] == "EVENT" and ended["ContentType"] == EVENT + "chat.ended"
    kept = [i["ContentType"] for i in agent.items()]
    assert TYPING not in kept  # typing is pushed live, not kept


def test_send_typing_and_a_rejected_attachment(mock_chat, connection):
    assert isinstance(connection.send_typing(), SentEvent)
    assert connection.send_typing() is None  # throttled, as AWS's clients do
    assert isinstance(connection.send_typing(force=True), SentEvent)
    mock_chat.attachment_verdict = "REJECTED"
    attachment = connection.upload_attachment(b"bad", name="bad.txt")
    with pytest.raises(exceptions.AttachmentRejectedError):
        attachment.wait_until_approved(timeout=WAIT, delay=0.01)


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


def test_accounts_and_regions_are_isolated(mock_chat, connect_client, monkeypatch):
    west = boto3.client("connect", region_name="us-west-2")
    contact = start_chat(west)
    assert contact["ContactId"] in get_chat_backend(region_name="us-west-2").chats
    assert contact["ContactId"] not in get_chat_backend().chats
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111111111111")
    elsewhere = start_chat(boto3.client("connect", region_name="us-west-2"))
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    assert elsewhere["ContactId"] in get_chat_backend("111111111111", "us-west-2").chats
    assert elsewhere["ContactId"] not in get_chat_backend(region_name="us-west-2").chats
    # a chat lives in its region: another region's endpoint does not know its tokens
    with pytest.raises(exceptions.AccessDeniedError):
        ChatService(region_name="eu-west-1").Participant(contact["ParticipantToken"]).create_connection()
    with ChatService(region_name="us-west-2").Participant(contact["ParticipantToken"]).create_connection() as conn:
        assert conn.send_message("in us-west-2").id


def test_moto_resets_the_backend_between_mocks(aws_credentials):
    import moto

    with moto.mock_aws():
        contact = start_chat(boto3.client("connect", region_name="us-east-1"))
    with moto.mock_aws():
        assert get_chat_backend().chats == {}
        with pytest.raises(exceptions.AccessDeniedError):
            ChatService(region_name="us-east-1").Participant(contact["ParticipantToken"]).create_connection()


def test_a_connection_without_a_websocket(participant):
    with participant.create_connection(websocket=False) as conn:
        assert conn.websocket is None
        assert conn.send_message("no socket").id


def test_one_error_class_per_modelled_code(chat):
    model = chat.meta.client.meta.service_model
    codes = {shape.name for op in model.operation_names for shape in model.operation_model(op).error_shapes}
    assert codes == {
        "AccessDeniedException",
        "ValidationException",
        "ThrottlingException",
        "InternalServerException",
        "ServiceQuotaExceededException",
        "ConflictException",
        "ResourceNotFoundException",
    }
    for code in codes:
        error = ClientError({"Error": {"Code": code, "Message": "m"}}, "SendMessage")
        mapped = exceptions.service_error_from(error)
        assert type(mapped).__name__ == code.replace("Exception", "Error")
        assert isinstance(mapped, ClientError) and isinstance(mapped, exceptions.ConnectParticipantError)
        assert mapped.response["Error"]["Code"] == code


class _RefusingAdapter(requests.adapters.BaseAdapter):
    """An HTTP adapter that answers every request 403, recording the URLs it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        self.urls.append(request.url)
        response = requests.Response()
        response.status_code = 403
        response.url = request.url
        response.request = request
        response.raw = io.BytesIO(b"<Error><Code>AccessDenied</Code></Error>")
        response.reason = "Forbidden"
        return response

    def close(self) -> None:
        pass


def test_a_failed_upload_names_no_presigned_query_string(mock_chat, chat_contact, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    adapter = _RefusingAdapter()
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    chat = ChatService(region_name="us-east-1", http_session=session)
    with chat.Participant(chat_contact["ParticipantToken"]).create_connection() as conn:
        with pytest.raises(exceptions.AttachmentUploadError) as error:
            conn.upload_attachment(b"data", name="d.txt", content_type="text/plain")
        assert adapter.urls
        query = adapter.urls[0].partition("?")[2]
        assert query
        for text in (str(error.value), repr(error.value), *(r.getMessage() for r in caplog.records)):
            assert query not in text and conn.token not in text


def test_access_denied_after_the_chat_ended_is_renewed_at_most_once(mock_chat, connection, chat_contact, wire_calls):
    mock_chat.join_as_agent(chat_contact["ContactId"]).leave()  # ends the chat
    del wire_calls[:]
    with pytest.raises(exceptions.AccessDeniedError):
        connection.send_message("too late")
    assert wire_calls == ["SendMessage", "CreateParticipantConnection"]
    with pytest.raises(exceptions.ConnectionClosedError):
        connection.send_message("closed now")
    assert wire_calls == ["SendMessage", "CreateParticipantConnection"]
