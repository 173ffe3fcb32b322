"""The chat backend through real boto3 clients: in-process under mock_aws, and the same flows
against the local server on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import botocore
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

import connectparticipant_ext.testing as testing
from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.server import LocalServer

from _helpers import EVENT, start_chat


@dataclass
class Endpoint:
    connect: Any
    participant: Any

    def start_chat(self, **extra: Any) -> dict[str, Any]:
        return self.connect.start_chat_contact(
            InstanceId="instance-1", ContactFlowId="flow-1", ParticipantDetails={"DisplayName": "Ann"}, **extra
        )

    def join(self, participant_token: str, connect: bool = True, types=("CONNECTION_CREDENTIALS", "WEBSOCKET")) -> dict:
        return self.participant.create_participant_connection(
            ParticipantToken=participant_token, Type=list(types), ConnectParticipant=connect
        )

    def customer(self, **extra: Any) -> tuple[dict[str, Any], str]:
        contact = self.start_chat(**extra)
        token = self.join(contact["ParticipantToken"])["ConnectionCredentials"]["ConnectionToken"]
        return contact, token

    def agent(self, contact: dict[str, Any], role: str = "AGENT", name: str = "Bob") -> str:
        if role == "CUSTOM_BOT":
            response = self.connect.create_participant(
                InstanceId="instance-1",
                ContactId=contact["ContactId"],
                ParticipantDetails={"ParticipantRole": role, "DisplayName": name},
            )
        else:  # create_participant adds only CUSTOM_BOT to a chat; agents come through routing
            response = get_chat_backend().add_participant(contact["ContactId"], role, name)
        return self.join(response["ParticipantCredentials"]["ParticipantToken"])["ConnectionCredentials"][
            "ConnectionToken"
        ]

    def transcript(self, token: str, **params: Any) -> list[dict[str, Any]]:
        params.setdefault("ScanDirection", "FORWARD")
        params.setdefault("SortOrder", "ASCENDING")
        params.setdefault("StartPosition", {"AbsoluteTime": "1970-01-01T00:00:00.000Z"})
        params.setdefault("MaxResults", 100)
        items: list[dict[str, Any]] = []
        while True:
            page = self.participant.get_transcript(ConnectionToken=token, **params)
            items += page["Transcript"]
            if "NextToken" not in page:
                return items
            params["NextToken"] = page["NextToken"]


def _clients(endpoint_url: str | None) -> Endpoint:
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=endpoint_url, **credentials)
    participant = boto3.client(
        "connectparticipant",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        config=Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1}),
    )
    return Endpoint(connect, participant)


@pytest.fixture(params=["mock_aws", "server"])
def endpoint(request, aws_credentials) -> Iterator[Endpoint]:
    if request.param == "mock_aws":
        with mock_aws():
            yield _clients(None)
    else:
        with LocalServer() as server:
            yield _clients(server.endpoint_url)
            get_chat_backend().reset()


@pytest.fixture
def local(mock_chat) -> Endpoint:
    """In-process only, for the switches that need the backend object."""
    return _clients(None)


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return info.value.response["Error"]["Code"]


# -- registration -------------------------------------------------------------------------------


def test_moto_finds_the_backend():
    from moto.backends import get_backend

    assert get_backend("connectparticipant") is testing.chat_backends


def test_registration_is_idempotent():
    import moto.backend_index as backend_index

    from connectparticipant_ext.testing._registration import register

    before = list(backend_index.backend_url_patterns)
    register()
    register()
    assert backend_index.backend_url_patterns == before
    assert [name for name, _ in before].count("connectparticipant") == 1


def test_refuses_a_moto_that_ships_its_own_backend(monkeypatch):
    import importlib.util

    import connectparticipant_ext.testing._registration as registration

    monkeypatch.setattr(registration, "_registered", False)
    monkeypatch.delitem(sys.modules, "moto.connectparticipant")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    with pytest.raises(RuntimeError, match="ships its own"):
        registration.register()


# -- connections --------------------------------------------------------------------------------


def test_create_connection(endpoint):
    contact = endpoint.start_chat()
    response = endpoint.join(contact["ParticipantToken"])
    credentials = response["ConnectionCredentials"]
    assert credentials["ConnectionToken"] != contact["ParticipantToken"]
    expiry = datetime.fromisoformat(credentials["Expiry"].replace("Z", "+00:00"))
    assert timedelta(hours=23) < expiry - datetime.now(timezone.utc) <= timedelta(hours=24)
    assert response["Websocket"]["Url"].startswith("ws://127.0.0.1:")
    assert "ConnectionExpiry" in response["Websocket"]
    items = endpoint.transcript(credentials["ConnectionToken"])
    assert [(i["Type"], i["ContentType"], i["ParticipantRole"]) for i in items] == [
        ("EVENT", EVENT + "participant.joined", "CUSTOMER")
    ]


def test_reconnect_without_joining(endpoint):
    contact = endpoint.start_chat()
    first = endpoint.join(contact["ParticipantToken"])["ConnectionCredentials"]["ConnectionToken"]
    second = endpoint.join(contact["ParticipantToken"], connect=False, types=["CONNECTION_CREDENTIALS"])
    assert "Websocket" not in second
    token = second["ConnectionCredentials"]["ConnectionToken"]
    assert token != first
    endpoint.participant.send_message(ConnectionToken=first, Content="old token still works", ContentType="text/plain")
    assert len([i for i in endpoint.transcript(token) if i["Type"] == "EVENT"]) == 1


@pytest.mark.parametrize("token", ["", "garbage", "CPT.bm90LWEtcmVnaW9u.x", "CCT.MTIzNDU2Nzg5MDEyOnVzLWVhc3QtMQ.x"])
def test_bad_participant_tokens_are_denied(endpoint, token):
    with pytest.raises(ClientError) as info:
        endpoint.join(token or "x")
    assert error_code(info) == "AccessDeniedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_connection_token_is_not_a_participant_token(endpoint):
    contact, token = endpoint.customer()
    with pytest.raises(ClientError) as info:
        endpoint.join(token)
    assert error_code(info) == "AccessDeniedException"
    with pytest.raises(ClientError) as info:
        endpoint.participant.send_message(
            ConnectionToken=contact["ParticipantToken"], Content="x", ContentType="text/plain"
        )
    assert error_code(info) == "AccessDeniedException"


def test_expired_tokens(local, mock_chat):
    mock_chat.settings.connection_lifetime = timedelta(seconds=-1)
    contact, token = local.customer()
    with pytest.raises(ClientError) as info:
        local.participant.send_message(ConnectionToken=token, Content="x", ContentType="text/plain")
    assert error_code(info) == "AccessDeniedException"
    mock_chat.settings.participant_token_lifetime = timedelta(seconds=-1)
    late = local.start_chat()
    with pytest.raises(ClientError):
        local.join(late["ParticipantToken"])


def test_revoked_token(local, mock_chat):
    _, token = local.customer()
    mock_chat.revoke_connection_token(token)
    with pytest.raises(ClientError) as info:
        local.participant.send_message(ConnectionToken=token, Content="x", ContentType="text/plain")
    assert error_code(info) == "AccessDeniedException"


def test_token_message_never_echoes_the_token(endpoint):
    _, token = endpoint.customer()
    with pytest.raises(ClientError) as info:
        endpoint.participant.send_message(ConnectionToken=token + "x", Content="x", ContentType="text/plain")
    assert token not in str(info.value)


# -- messages and events --------------------------------------------------------------------------


def test_send_message_and_idempotency(endpoint):
    _, token = endpoint.customer()
    first = endpoint.participant.send_message(
        ConnectionToken=token, Content="hi", ContentType="text/plain", ClientToken="c1"
    )
    again = endpoint.participant.send_message(
        ConnectionToken=token, Content="hi", ContentType="text/plain", ClientToken="c1"
    )
    other = endpoint.participant.send_message(
        ConnectionToken=token, Content="hi", ContentType="text/plain", ClientToken="c2"
    )
    assert first["Id"] == again["Id"] and first["AbsoluteTime"] == again["AbsoluteTime"]
    assert other["Id"] != first["Id"]
    messages = [i for i in endpoint.transcript(token) if i["Type"] == "MESSAGE"]
    assert [m["Id"] for m in messages] == [first["Id"], other["Id"]]
    message = messages[0]
    for key in (
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
        assert key in message
    assert message["AbsoluteTime"].endswith("Z") and len(message["AbsoluteTime"]) == 24


@pytest.mark.parametrize(
    ("content", "content_type"),
    [("x" * 16385, "text/plain"), ("hi", "text/html"), ("{bad", "application/json")],
)
def test_send_message_validation(endpoint, content, content_type):
    _, token = endpoint.customer()
    with pytest.raises(ClientError) as info:
        endpoint.participant.send_message(ConnectionToken=token, Content=content, ContentType=content_type)
    assert error_code(info) == "ValidationException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_times_strictly_increase(endpoint):
    _, token = endpoint.customer()
    for n in range(30):
        endpoint.participant.send_message(ConnectionToken=token, Content=str(n), ContentType="text/plain")
    times = [i["AbsoluteTime"] for i in endpoint.transcript(token)]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_events_and_receipts(endpoint):
    contact, token = endpoint.customer()
    agent = endpoint.agent(contact)
    sent = endpoint.participant.send_message(ConnectionToken=agent, Content="hello", ContentType="text/plain")
    endpoint.participant.send_event(ConnectionToken=token, ContentType=EVENT + "typing")
    endpoint.participant.send_event(ConnectionToken=token, ContentType=EVENT + "connection.acknowledged")
    endpoint.participant.send_event(
        ConnectionToken=token, ContentType=EVENT + "message.delivered", Content=json.dumps({"messageId": sent["Id"]})
    )
    endpoint.participant.send_event(
        ConnectionToken=token, ContentType=EVENT + "message.read", Content=json.dumps({"messageId": sent["Id"]})
    )
    items = endpoint.transcript(token)
    kinds = [(i["Type"], i["ContentType"]) for i in items]
    assert ("EVENT", EVENT + "typing") not in kinds  # pushed live only (see tests/fidelity)
    assert ("EVENT", EVENT + "connection.acknowledged") not in kinds
    [message] = [i for i in items if i["Id"] == sent["Id"]]
    [receipt] = message["MessageMetadata"]["Receipts"]
    assert message["MessageMetadata"]["MessageId"] == sent["Id"]
    assert receipt["DeliveredTimestamp"] and receipt["ReadTimestamp"]
    roles = {i["ParticipantRole"] for i in items if i["Type"] == "EVENT"}
    assert roles == {"CUSTOMER", "AGENT"}


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        (EVENT + "bogus", None),
        (EVENT + "message.read", None),
        (EVENT + "message.read", "not json"),
        (EVENT + "message.read", json.dumps({"messageId": "nope"})),
    ],
)
def test_event_validation(endpoint, content_type, content):
    _, token = endpoint.customer()
    extra = {"Content": content} if content is not None else {}
    with pytest.raises(ClientError) as info:
        endpoint.participant.send_event(ConnectionToken=token, ContentType=content_type, **extra)
    assert error_code(info) == "ValidationException"


def test_initial_message_and_attributes(local, mock_chat):
    contact = local.start_chat(InitialMessage={"ContentType": "text/plain", "Content": "first!"}, Attributes={"k": "v"})
    token = local.join(contact["ParticipantToken"])["ConnectionCredentials"]["ConnectionToken"]
    assert [i["Content"] for i in local.transcript(token) if i["Type"] == "MESSAGE"] == ["first!"]
    assert mock_chat.get_chat(contact["ContactId"]).attributes == {"k": "v"}


def test_start_chat_client_token(local):
    first = local.start_chat(ClientToken="same")
    assert local.start_chat(ClientToken="same")["ContactId"] == first["ContactId"]


# -- leaving and ending ---------------------------------------------------------------------------


def test_agent_leaves(endpoint):
    contact, token = endpoint.customer()
    agent = endpoint.agent(contact)
    endpoint.participant.disconnect_participant(ConnectionToken=agent)
    items = get_chat_backend().get_chat(contact["ContactId"]).items
    assert items[-2]["ContentType"] == EVENT + "participant.left" and items[-2]["DisplayName"] == "Bob"
    assert items[-1]["ContentType"] == EVENT + "chat.ended"  # the agent leaving ends the chat by default
    for who in (agent, token):
        with pytest.raises(ClientError) as info:
            endpoint.participant.send_message(ConnectionToken=who, Content="x", ContentType="text/plain")
        assert error_code(info) == "AccessDeniedException"


def test_customer_leaving_ends_the_chat(local, mock_chat):
    contact, token = local.customer()
    agent = local.agent(contact)
    local.participant.disconnect_participant(ConnectionToken=token)
    items = mock_chat.get_chat(contact["ContactId"]).items
    assert [i["ContentType"] for i in items[-2:]] == [EVENT + "participant.left", EVENT + "chat.ended"]
    assert items[-1]["Type"] == "EVENT"
    with pytest.raises(ClientError) as info:
        local.participant.get_transcript(ConnectionToken=agent)
    assert error_code(info) == "AccessDeniedException"


def test_stop_contact_ends_the_chat(endpoint):
    contact, token = endpoint.customer()
    endpoint.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    for call in (
        lambda: endpoint.participant.send_message(ConnectionToken=token, Content="x", ContentType="text/plain"),
        lambda: endpoint.join(contact["ParticipantToken"], connect=False),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert error_code(info) == "AccessDeniedException"


def test_stop_unknown_contact(endpoint):
    with pytest.raises(ClientError) as info:
        endpoint.connect.stop_contact(ContactId="nope", InstanceId="instance-1")
    assert error_code(info) == "ResourceNotFoundException"


def test_create_participant_on_ended_chat(local):
    contact, _ = local.customer()
    local.connect.stop_contact(ContactId=contact["ContactId"], InstanceId="instance-1")
    with pytest.raises(ClientError) as info:
        local.agent(contact, role="CUSTOM_BOT")
    assert error_code(info) == "InvalidRequestException"


# -- transcript paging ----------------------------------------------------------------------------


@pytest.fixture
def filled(local, mock_chat):
    """A chat of exactly ``n`` items and its customer's connection token."""

    def make(n: int) -> tuple[str, list[str]]:
        contact, token = local.customer()
        mock_chat.bulk_add_messages(contact["ContactId"], n - 1)
        ids = [i["Id"] for i in mock_chat.get_chat(contact["ContactId"]).items]
        assert len(ids) == n
        return token, ids

    return make


@pytest.mark.parametrize("total", [1, 10, 11, 100, 101])
@pytest.mark.parametrize("size", [1, 10, 100])
def test_pages_forward(local, filled, total, size):
    token, ids = filled(total)
    seen, pages, next_token = [], 0, None
    while True:
        extra = {"NextToken": next_token} if next_token else {}
        page = local.participant.get_transcript(
            ConnectionToken=token,
            MaxResults=size,
            ScanDirection="FORWARD",
            SortOrder="ASCENDING",
            StartPosition={"AbsoluteTime": "1970-01-01T00:00:00.000Z"},
            **extra,
        )
        assert len(page["Transcript"]) <= size
        seen += [i["Id"] for i in page["Transcript"]]
        pages += 1
        next_token = page.get("NextToken")
        if not next_token:
            break
    assert seen == ids
    assert pages == max(1, -(-total // size))


def test_default_is_ten_newest_first(local, filled):
    token, ids = filled(25)
    page = local.participant.get_transcript(ConnectionToken=token)
    assert [i["Id"] for i in page["Transcript"]] == ids[::-1][:10]
    assert "NextToken" in page
    rest = local.participant.get_transcript(ConnectionToken=token, NextToken=page["NextToken"])
    assert [i["Id"] for i in rest["Transcript"]] == ids[::-1][10:20]


def test_backward_ascending_sorts_each_page(local, filled):
    token, ids = filled(25)
    page = local.participant.get_transcript(ConnectionToken=token, SortOrder="ASCENDING", MaxResults=5)
    assert [i["Id"] for i in page["Transcript"]] == ids[-5:]


def test_forward_descending(local, filled):
    token, ids = filled(25)
    page = local.participant.get_transcript(
        ConnectionToken=token,
        ScanDirection="FORWARD",
        SortOrder="DESCENDING",
        MaxResults=5,
        StartPosition={"Id": ids[3]},
    )
    assert [i["Id"] for i in page["Transcript"]] == ids[3:8][::-1]


def test_start_positions(local, filled, mock_chat):
    token, ids = filled(30)
    forward = {"ScanDirection": "FORWARD", "SortOrder": "ASCENDING", "MaxResults": 100}
    by_id = local.participant.get_transcript(ConnectionToken=token, StartPosition={"Id": ids[10]}, **forward)
    assert [i["Id"] for i in by_id["Transcript"]] == ids[10:]
    item_time = local.participant.get_transcript(
        ConnectionToken=token, StartPosition={"Id": ids[20]}, MaxResults=1, ScanDirection="FORWARD"
    )["Transcript"][0]["AbsoluteTime"]
    by_time = local.participant.get_transcript(
        ConnectionToken=token, StartPosition={"AbsoluteTime": item_time}, **forward
    )
    assert [i["Id"] for i in by_time["Transcript"]] == ids[20:]
    recent = local.participant.get_transcript(ConnectionToken=token, StartPosition={"MostRecent": 7}, **forward)
    assert [i["Id"] for i in recent["Transcript"]] == ids[-7:]
    back = local.participant.get_transcript(
        ConnectionToken=token, StartPosition={"Id": ids[5]}, ScanDirection="BACKWARD", SortOrder="DESCENDING"
    )
    assert [i["Id"] for i in back["Transcript"]] == ids[5::-1]


@pytest.mark.parametrize(
    "params",
    [
        {"ScanDirection": "FORWARD"},
        {"StartPosition": {"Id": "a", "MostRecent": 1}},
        {"StartPosition": {"AbsoluteTime": "yesterday"}},
        {"NextToken": "tampered.token"},
    ],
)
def test_transcript_validation(endpoint, params):
    _, token = endpoint.customer()
    with pytest.raises(ClientError) as info:
        endpoint.participant.get_transcript(ConnectionToken=token, **params)
    assert error_code(info) == "ValidationException"


def test_next_token_from_another_chat_is_refused(local, filled):
    token_a, _ = filled(20)
    token_b, _ = filled(20)
    page = local.participant.get_transcript(ConnectionToken=token_a, MaxResults=5)
    with pytest.raises(ClientError) as info:
        local.participant.get_transcript(ConnectionToken=token_b, NextToken=page["NextToken"])
    assert error_code(info) == "ValidationException"


def test_max_results_zero_and_an_empty_read(local, filled):
    token, _ = filled(5)
    page = local.participant.get_transcript(ConnectionToken=token, MaxResults=0)
    assert page["Transcript"] == [] and "NextToken" not in page
    later = local.participant.get_transcript(
        ConnectionToken=token, ScanDirection="FORWARD", StartPosition={"AbsoluteTime": "2999-01-01T00:00:00.000Z"}
    )
    assert later["Transcript"] == [] and "NextToken" not in later


def test_persistent_chat(endpoint):
    first, token = endpoint.customer()
    endpoint.participant.send_message(ConnectionToken=token, Content="earlier", ContentType="text/plain")
    endpoint.participant.disconnect_participant(ConnectionToken=token)
    follow_up = endpoint.start_chat(
        PersistentChat={"RehydrationType": "ENTIRE_PAST_SESSION", "SourceContactId": first["ContactId"]}
    )
    assert follow_up["ContinuedFromContactId"] == first["ContactId"]
    token2 = endpoint.join(follow_up["ParticipantToken"])["ConnectionCredentials"]["ConnectionToken"]
    earlier = endpoint.transcript(token2, ContactId=first["ContactId"])
    assert "earlier" in [i.get("Content") for i in earlier]
    now = endpoint.participant.get_transcript(ConnectionToken=token2)
    assert now["InitialContactId"] == first["ContactId"]
    # another contact's id: an empty page (GetTranscript's model lists no ResourceNotFoundException)
    other = endpoint.participant.get_transcript(ConnectionToken=token2, ContactId="someone-elses")
    assert other["Transcript"] == [] and "NextToken" not in other


# -- attachments -----------------------------------------------------------------------------------


def upload(endpoint: Endpoint, token: str, data: bytes, name: str = "a.txt", headers: bool = True) -> str:
    started = endpoint.participant.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/plain",
        AttachmentSizeInBytes=len(data),
        AttachmentName=name,
        ClientToken=f"start-{name}-{len(data)}",
    )
    meta = started["UploadMetadata"]
    response = requests.put(meta["Url"], data=data, headers=meta["HeadersToInclude"] if headers else {}, timeout=10)
    assert response.status_code == 200, response.text
    return started["AttachmentId"]


def test_attachment_round_trip(endpoint):
    _, token = endpoint.customer()
    attachment_id = upload(endpoint, token, b"hello bytes")
    endpoint.participant.complete_attachment_upload(
        ConnectionToken=token, AttachmentIds=[attachment_id], ClientToken="c"
    )
    endpoint.participant.complete_attachment_upload(
        ConnectionToken=token, AttachmentIds=[attachment_id], ClientToken="c"
    )
    got = endpoint.participant.get_attachment(ConnectionToken=token, AttachmentId=attachment_id, UrlExpiryInSeconds=30)
    assert got["AttachmentSizeInBytes"] == 11
    assert requests.get(got["Url"], timeout=10).content == b"hello bytes"
    [item] = [i for i in endpoint.transcript(token) if i["Type"] == "ATTACHMENT"]
    assert item["Attachments"] == [
        {"ContentType": "text/plain", "AttachmentId": attachment_id, "AttachmentName": "a.txt", "Status": "APPROVED"}
    ]


def test_complete_checks_the_bytes(endpoint):
    _, token = endpoint.customer()
    started = endpoint.participant.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/plain",
        AttachmentSizeInBytes=10,
        AttachmentName="a.txt",
        ClientToken="s",
    )
    with pytest.raises(ClientError) as info:
        endpoint.participant.complete_attachment_upload(
            ConnectionToken=token, AttachmentIds=[started["AttachmentId"]], ClientToken="c"
        )
    assert error_code(info) == "ValidationException"
    meta = started["UploadMetadata"]
    # Content-Length is signed: S3 refuses bytes of another length than declared.
    short = requests.put(meta["Url"], data=b"short", headers=meta["HeadersToInclude"], timeout=10)
    assert short.status_code == 403
    with pytest.raises(ClientError) as info:
        endpoint.participant.complete_attachment_upload(
            ConnectionToken=token, AttachmentIds=[started["AttachmentId"]], ClientToken="c2"
        )
    assert "not uploaded" in str(info.value)


def test_complete_checks_the_headers(endpoint):
    _, token = endpoint.customer()
    started = endpoint.participant.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/plain",
        AttachmentSizeInBytes=3,
        AttachmentName="a.txt",
        ClientToken="s",
    )
    attachment_id = started["AttachmentId"]
    # Without the signed headers S3 refuses the PUT...
    assert requests.put(started["UploadMetadata"]["Url"], data=b"abc", timeout=10).status_code == 403
    # ...and bytes put there another way lack the metadata Complete looks for.
    url = started["UploadMetadata"]["Url"].split("?", 1)[0]
    bucket, key = url.split("/", 3)[3].split("/", 1)
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint.participant.meta.endpoint_url if "127.0.0.1" in url else None,
    )
    s3.put_object(Bucket=bucket, Key=key, Body=b"abc")
    with pytest.raises(ClientError) as info:
        endpoint.participant.complete_attachment_upload(
            ConnectionToken=token, AttachmentIds=[attachment_id], ClientToken="c"
        )
    assert "HeadersToInclude" in str(info.value)


@pytest.mark.parametrize(
    ("name", "size", "code"),
    [("a.exe", 10, "ValidationException"), ("a.txt", 20 * 1024 * 1024 + 1, "ValidationException")],
)
def test_start_upload_limits(endpoint, name, size, code):
    _, token = endpoint.customer()
    with pytest.raises(ClientError) as info:
        endpoint.participant.start_attachment_upload(
            ConnectionToken=token,
            ContentType="text/plain",
            AttachmentSizeInBytes=size,
            AttachmentName=name,
            ClientToken="s",
        )
    assert error_code(info) == code


def test_get_attachment_validation(endpoint):
    _, token = endpoint.customer()
    attachment_id = upload(endpoint, token, b"abc")
    endpoint.participant.complete_attachment_upload(
        ConnectionToken=token, AttachmentIds=[attachment_id], ClientToken="c"
    )
    with pytest.raises(ClientError):
        endpoint.participant.get_attachment(ConnectionToken=token, AttachmentId=attachment_id, UrlExpiryInSeconds=301)
    with pytest.raises(ClientError) as info:
        endpoint.participant.get_attachment(ConnectionToken=token, AttachmentId="unknown")
    assert error_code(info) == "ValidationException"  # GetAttachment's model lists no ResourceNotFoundException


def _small_upload(participant: Any, token: str) -> dict[str, Any]:
    """The UploadMetadata of a started 3-byte text attachment."""
    started = participant.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/plain",
        AttachmentSizeInBytes=3,
        AttachmentName="a.txt",
        ClientToken="s",
    )
    return started["UploadMetadata"]


def _put(meta: dict[str, Any]) -> int:
    return requests.put(meta["Url"], data=b"abc", headers=meta["HeadersToInclude"], timeout=10).status_code


def test_upload_fault_switch(local, mock_chat):
    _, token = local.customer()
    mock_chat.fail_next_uploads(1, status=500)
    meta = _small_upload(local.participant, token)
    assert _put(meta) == 500
    assert _put(meta) == 200


def test_upload_fault_switch_on_the_server(aws_credentials):
    with LocalServer() as server:
        endpoint = _clients(server.endpoint_url)
        _, token = endpoint.customer()
        get_chat_backend().fail_next_uploads(1, status=503)
        meta = _small_upload(endpoint.participant, token)
        assert meta["Url"].startswith(server.endpoint_url)
        assert _put(meta) == 503
        assert _put(meta) == 200
        get_chat_backend().reset()


def test_rejected_and_pending_attachments(local, mock_chat):
    mock_chat.attachment_verdict = "REJECTED"
    mock_chat.settings.attachment_pending_reads = 2
    _, token = local.customer()
    attachment_id = upload(local, token, b"abc")
    local.participant.complete_attachment_upload(ConnectionToken=token, AttachmentIds=[attachment_id], ClientToken="c")

    def status() -> str:
        [item] = [i for i in local.transcript(token) if i["Type"] == "ATTACHMENT"]
        return item["Attachments"][0]["Status"]

    assert [status(), status(), status()] == ["IN_PROGRESS", "IN_PROGRESS", "REJECTED"]
    with pytest.raises(ClientError):
        local.participant.get_attachment(ConnectionToken=token, AttachmentId=attachment_id)


# -- views, authentication, faults, isolation ----------------------------------------------------------


def test_views(local, mock_chat):
    _, token = local.customer()
    view_token = mock_chat.register_view(name="Form", template="<form/>", actions=["Submit", "Cancel"])
    view = local.participant.describe_view(ConnectionToken=token, ViewToken=view_token)["View"]
    assert view["Name"] == "Form" and view["Content"]["Actions"] == ["Submit", "Cancel"]
    with pytest.raises(ClientError) as info:
        local.participant.describe_view(ConnectionToken=token, ViewToken="missing")
    assert error_code(info) == "ResourceNotFoundException"


def test_authentication(endpoint):
    contact, token = endpoint.customer()
    # A session exists once the flow sent authentication.initiated (see tests/test_authentication.py).
    session = get_chat_backend().initiate_authentication(contact["ContactId"])
    url = endpoint.participant.get_authentication_url(ConnectionToken=token, SessionId=session, RedirectUri="https://x")
    assert url["AuthenticationUrl"].startswith("https://")
    endpoint.participant.cancel_participant_authentication(ConnectionToken=token, SessionId=session)
    with pytest.raises(ClientError) as info:
        endpoint.participant.cancel_participant_authentication(ConnectionToken=token, SessionId=session)
    assert error_code(info) == "ValidationException"  # the operation's documented errors have no NotFound
    # Another SDK may skip client-side validation: the backend checks the length itself.
    unvalidated = boto3.client(
        "connectparticipant",
        region_name="us-east-1",
        endpoint_url=endpoint.participant.meta.endpoint_url,
        config=Config(signature_version=botocore.UNSIGNED, parameter_validation=False),
    )
    with pytest.raises(ClientError) as info:
        unvalidated.get_authentication_url(ConnectionToken=token, SessionId="short", RedirectUri="https://x")
    assert error_code(info) == "ValidationException"


def test_fault_injection_is_seeded_and_applied_before_effect(local, mock_chat):
    _, token = local.customer()

    def run() -> list[str]:
        mock_chat.inject_faults(throttling=0.3, internal=0.2, seed=11)
        outcomes = []
        for n in range(30):
            try:
                local.participant.send_message(ConnectionToken=token, Content=f"{n}", ContentType="text/plain")
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])
        mock_chat.clear_faults()
        return outcomes

    first = run()
    assert first == run()
    assert {"ok", "ThrottlingException", "InternalServerException"} == set(first)
    sent = [i["Content"] for i in local.transcript(token) if i["Type"] == "MESSAGE"]
    assert len(sent) == 2 * first.count("ok")


def test_fault_injection_by_operation(local, mock_chat):
    _, token = local.customer()
    mock_chat.inject_faults(throttling=1.0, operations=["SendMessage"])
    with pytest.raises(ClientError):
        local.participant.send_message(ConnectionToken=token, Content="x", ContentType="text/plain")
    local.participant.send_event(ConnectionToken=token, ContentType=EVENT + "typing")
    with pytest.raises(ValueError):
        mock_chat.inject_faults(throttling=0.8, internal=0.5)


def test_account_and_region_isolation(aws_credentials, monkeypatch):
    with mock_aws():
        west = boto3.client("connect", region_name="us-west-2")
        contact = west.start_chat_contact(InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "W"})
        assert contact["ContactId"] in get_chat_backend(region_name="us-west-2").chats
        assert contact["ContactId"] not in get_chat_backend(region_name="us-east-1").chats
        monkeypatch.setenv("MOTO_ACCOUNT_ID", "111111111111")
        other = boto3.client("connect", region_name="us-west-2")
        elsewhere = other.start_chat_contact(InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "X"})
        monkeypatch.delenv("MOTO_ACCOUNT_ID")
        assert elsewhere["ContactId"] in get_chat_backend("111111111111", "us-west-2").chats
        # a chat lives in its region: another region's endpoint does not know its tokens
        participant = boto3.client(
            "connectparticipant", region_name="eu-west-1", config=Config(signature_version=botocore.UNSIGNED)
        )
        with pytest.raises(ClientError) as refused:
            participant.create_participant_connection(
                ParticipantToken=contact["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"]
            )
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        home = boto3.client(
            "connectparticipant", region_name="us-west-2", config=Config(signature_version=botocore.UNSIGNED)
        )
        home.create_participant_connection(
            ParticipantToken=contact["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"]
        )


def test_reset_between_mocks(aws_credentials):
    with mock_aws():
        connect = boto3.client("connect", region_name="us-east-1")
        contact = start_chat(connect, "A")
    with mock_aws():
        assert get_chat_backend().chats == {}
        participant = boto3.client(
            "connectparticipant", region_name="us-east-1", config=Config(signature_version=botocore.UNSIGNED)
        )
        with pytest.raises(ClientError):
            participant.create_participant_connection(ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET"])


def test_listeners_see_items_in_order(local, mock_chat):
    contact, token = local.customer()
    chat = mock_chat.get_chat(contact["ContactId"])
    seen: list[dict] = []
    chat.add_listener(seen.append)
    sent = local.participant.send_message(ConnectionToken=token, Content="x", ContentType="text/plain")
    local.participant.send_event(
        ConnectionToken=token, ContentType=EVENT + "message.read", Content=json.dumps({"messageId": sent["Id"]})
    )
    chat.remove_listener(seen.append)
    local.participant.send_event(ConnectionToken=token, ContentType=EVENT + "typing")
    assert [i["Type"] for i in seen] == ["MESSAGE", "MESSAGEMETADATA"]
    assert seen[1]["ContentType"] == EVENT + "message.metadata"
    assert seen[1]["MessageMetadata"]["MessageId"] == sent["Id"]


def test_local_server_answers_browser_preflights_and_names_errors():
    """A browser SDK (chatjs, the JavaScript SDK) sends preflights and reads error headers."""
    with LocalServer() as server:
        preflight = requests.options(
            f"{server.endpoint_url}/participant/connection",
            headers={
                "Origin": "http://localhost:3000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-amz-bearer",
            },
            timeout=10,
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"  # a loopback page
        assert preflight.headers["Access-Control-Allow-Headers"] == "authorization,content-type,x-amz-bearer"
        refused = requests.post(
            f"{server.endpoint_url}/participant/message",
            headers={"X-Amz-Bearer": "not-a-token", "Content-Type": "application/json"},
            data=json.dumps({"Content": "x", "ContentType": "text/plain"}),
            timeout=10,
        )
        assert refused.status_code == 403
        assert refused.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert refused.headers["x-amzn-RequestId"]
        assert refused.json()["__type"] == "AccessDeniedException"
        assert "not-a-token" not in refused.text


def test_a_test_can_act_as_the_agent_without_a_second_library(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    hello = connection.send_message("Hello?")
    assert agent.messages(role="CUSTOMER") == ["Hello?"]
    agent.typing()
    agent.read(hello.id)
    answer = agent.send("Bob here, how can I help?")

    items = list(connection.transcript)
    joined = [i for i in items if i.event == "participant.joined"]
    assert [i.display_name for i in joined] == ["Ann", "Bob"]
    reply = next(i for i in items if i.id == answer)
    assert (reply.content, reply.participant_role, reply.participant_id) == (
        "Bob here, how can I help?",
        "AGENT",
        agent.participant_id,
    )
    read = next(i for i in items if i.id == hello.id).message_metadata
    assert read is not None and read.receipts[0].recipient_participant_id == agent.participant_id
    assert read.receipts[0].read_at is not None

    agent.leave()  # the agent leaving ends the chat: participant.left, then chat.ended
    assert [i["ContentType"] for i in agent.items[-2:]] == [EVENT + "participant.left", EVENT + "chat.ended"]
    from connectparticipant_ext.testing.exceptions import AccessDeniedException

    with pytest.raises(AccessDeniedException):  # the same rules as over the wire: gone is gone
        agent.send("still there?")


def test_the_agent_control_sends_delivered_and_read_receipts(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    hello = connection.send_message("Hello?")
    agent.delivered(hello.id)
    [item] = [i for i in connection.transcript if i.id == hello.id]
    assert item.message_metadata is not None
    [receipt] = item.message_metadata.receipts
    assert receipt.delivered_at is not None and receipt.read_at is None
    agent.read(hello.id)
    [item] = [i for i in connection.transcript if i.id == hello.id]
    assert item.message_metadata is not None and item.message_metadata.receipts[0].read_at is not None


def test_controls_check_their_arguments(mock_chat, chat_contact):
    contact_id = chat_contact["ContactId"]
    with pytest.raises(ValueError, match="not an event"):
        mock_chat.emit_event(contact_id, "participant.dancing")
    with pytest.raises(ValueError, match="chunks"):
        mock_chat.stream_bot_reply(contact_id, [])
    with pytest.raises(ValueError, match="chunks"):
        mock_chat.stream_bot_reply(contact_id, ["a", ""])
    with pytest.raises(ValueError, match="role"):
        mock_chat.add_participant(contact_id, "CUSTOMER")
    with pytest.raises(ValueError, match="bytes"):
        mock_chat.send_flow_message(contact_id, "é" * 8193)
    mock_chat.stop_contact(contact_id, "instance-1")
    with pytest.raises(ValueError, match="ended"):
        mock_chat.send_flow_message(contact_id, "too late")


def test_emit_event_takes_a_suffix_or_the_full_content_type_and_chat_ended_ends(mock_chat, chat_contact):
    contact_id = chat_contact["ContactId"]
    seen: list[dict] = []
    chat = mock_chat.get_chat(contact_id)
    chat.add_listener(seen.append)
    idle = mock_chat.emit_event(contact_id, EVENT + "participant.idle")
    transfer = mock_chat.emit_event(contact_id, "transfer.succeeded")
    assert [i["Id"] for i in seen] == [idle, transfer]
    assert chat.message(idle) is None and chat.message(transfer) is not None
    ended = mock_chat.emit_event(contact_id, "chat.ended")
    assert chat.ended and chat.items[-1]["Id"] == ended


def test_the_old_websocket_lifetime_setting_is_the_connect_timeout(mock_chat):
    settings = mock_chat.settings
    settings.websocket_lifetime = timedelta(seconds=2)
    assert settings.websocket_connect_timeout == timedelta(seconds=2)
    settings.websocket_lifetime = None
    assert settings.websocket_connect_timeout == timedelta(seconds=100) == settings.websocket_lifetime


def test_emit_event_about_a_participant(mock_chat, chat_contact):
    contact_id = chat_contact["ContactId"]
    seen: list[dict] = []
    mock_chat.get_chat(contact_id).add_listener(seen.append)
    mock_chat.emit_event(contact_id, "participant.idle", participant_id=chat_contact["ParticipantId"])
    assert (seen[-1]["ParticipantId"], seen[-1]["ParticipantRole"], seen[-1]["DisplayName"]) == (
        chat_contact["ParticipantId"],
        "CUSTOMER",
        "Ann",
    )
    with pytest.raises(ValueError, match="no participant"):
        mock_chat.emit_event(contact_id, "participant.idle", participant_id="nobody")
