"""The local server on the wire: plain boto3 clients, raw HTTP and a raw websocket see the service's facts."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import botocore
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.sync.client import connect as ws_connect

from connectparticipant_ext import ChatService, TranscriptItem
from connectparticipant_ext.testing import get_chat_backend

from _helpers import EVENT, FAST, INSTANCE_ID, METADATA, READ, TYPING, WAIT, contents, start_chat, take

pytestmark = pytest.mark.usefixtures("no_backoff")


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


@pytest.fixture
def served_connection(local_server):
    import boto3

    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    contact = start_chat(connect)
    chat = ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    return chat.Participant(contact["ParticipantToken"]).create_connection()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # the member as AWS's validation messages name it ("at 'contentType'", "at 'type.1.member'")
        ("/participant/message", {"ContentType": ["text/plain"], "Content": "x"}, "'contentType'"),
        ("/participant/message", {"ContentType": "text/plain", "Content": {"a": 1}}, "'content'"),
        ("/participant/connection", {"Type": 5}, "'type'"),
        ("/participant/connection", {"Type": [5]}, "'type.1.member'"),
        ("/participant/connection", {"ConnectParticipant": "yes"}, "'connectParticipant'"),
        ("/participant/transcript", {"StartPosition": "x"}, "'startPosition'"),
        ("/participant/transcript", {"MaxResults": "10"}, "'maxResults'"),
        ("/participant/transcript", {"MaxResults": True}, "'maxResults'"),
        ("/participant/start-attachment-upload", {"AttachmentName": 5}, "'attachmentName'"),
        ("/participant/complete-attachment-upload", {"AttachmentIds": "a"}, "'attachmentIds'"),
    ],
)
def test_wrongly_typed_fields_get_the_services_error_shape(served_connection, local_server, path, body, field):
    import requests

    answer = requests.post(
        local_server.endpoint_url + path,
        data=json.dumps(body),
        headers={"X-Amz-Bearer": served_connection.token, "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.headers["x-amzn-ErrorType"].startswith("ValidationException")
    assert field in answer.json()["message"]


def test_request_bodies_are_limited(served_connection, local_server):
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(local_server.endpoint_url)
    for path, method in (("/participant/message", "POST"), ("/cp-ext-attachments-x/key", "PUT")):
        link = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            link.putrequest(method, path)
            link.putheader("Content-Length", str(300 * 1024 * 1024))  # announced, never sent
            link.putheader("X-Amz-Bearer", served_connection.token)
            link.endheaders()
            answer = link.getresponse()
            assert answer.status == 413, path
            assert "limit" in json.loads(answer.read())["message"]
        finally:
            link.close()


def test_non_latin1_attachment_names_download(served_connection, tmp_path):
    import requests

    attachment = served_connection.upload_attachment(b"report body", name="\u043e\u0442\u0447\u0451\u0442.txt")
    answer = requests.get(attachment.url(), timeout=10)
    assert answer.status_code == 200 and answer.content == b"report body"
    disposition = answer.headers["Content-Disposition"]
    assert "filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt" in disposition
    written = served_connection.Attachment(attachment.id).download(tmp_path)
    assert written.name == "\u043e\u0442\u0447\u0451\u0442.txt" and written.read_bytes() == b"report body"
