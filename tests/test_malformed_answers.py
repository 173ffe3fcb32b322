"""Malformed answers and unreachable services are this library's errors, with no secret in them."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from connectparticipant_ext import ChatService

from _helpers import free_port

pytestmark = pytest.mark.usefixtures("no_backoff")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"Transcript": "abc"}, "Transcript is a str"),
        ({"Transcript": [1, 2]}, "Transcript[0] is a int"),
        ({"Transcript": [], "NextToken": 5}, "NextToken is a int"),
        ([], "the answer is a list"),
    ],
)
def test_a_malformed_transcript_is_a_library_error(connection, monkeypatch, answer, problem):
    from connectparticipant_ext import MalformedResponseError

    monkeypatch.setattr(connection, "call_operation", lambda operation, **params: answer)
    with pytest.raises(MalformedResponseError) as info:
        list(connection.transcript)
    assert info.value.operation == "GetTranscript"
    assert "GetTranscript" in str(info.value) and problem in str(info.value)


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        ("StartAttachmentUpload", {"UploadMetadata": {"Url": "https://h/p?sig=1"}}),  # no AttachmentId
        ("StartAttachmentUpload", {"AttachmentId": "a"}),  # no UploadMetadata
        ("StartAttachmentUpload", {"AttachmentId": "a", "UploadMetadata": {"Url": 5}}),
        ("StartAttachmentUpload", {"AttachmentId": "a", "UploadMetadata": {"Url": "u", "HeadersToInclude": "x"}}),
        ("GetAttachment", {"AttachmentSizeInBytes": 3}),  # no Url
        ("GetAttachment", {"Url": "https://h/p?sig=1", "AttachmentSizeInBytes": "three"}),
    ],
)
def test_malformed_attachment_answers_are_library_errors(connection, monkeypatch, operation, answer):
    from connectparticipant_ext import MalformedResponseError

    real_call = connection.call_operation
    monkeypatch.setattr(
        connection, "call_operation", lambda op, **params: answer if op == operation else real_call(op, **params)
    )
    with pytest.raises(MalformedResponseError) as info:
        if operation == "StartAttachmentUpload":
            connection.start_attachment_upload("a.txt", 3, "text/plain")
        else:
            connection.Attachment("att-1").url()
    assert info.value.operation == operation and "sig=1" not in str(info.value)


def _json_answer(body: object) -> Callable[[Any], None]:
    """A hostile endpoint handler answering every API call 200 with ``body`` as JSON."""

    def answer(request: Any) -> None:
        request.read_body()
        request.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    return answer


def _hostile_service(url: str, **options: Any) -> ChatService:
    return ChatService(
        region_name="us-east-1",
        endpoint_url=url,
        retries={"mode": "standard", "total_max_attempts": 1},
        **options,
    )


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("SendMessage", {"AbsoluteTime": "2030-01-01T00:00:00.000Z"}),
        ("SendMessage", {"Id": 5}),
        ("SendMessage", {"Id": ""}),
        ("SendEvent", {}),
        ("SendEvent", {"Id": None, "AbsoluteTime": "2030-01-01T00:00:00.000Z"}),
    ],
)
def test_a_send_answer_without_id_is_a_library_error(operation, body):
    from hostile import HostileHTTP

    from connectparticipant_ext import MalformedResponseError

    with HostileHTTP(_json_answer(body)) as endpoint:
        conn = _hostile_service(endpoint.url).Connection("not-a-real-token")
        with pytest.raises(MalformedResponseError) as info:
            if operation == "SendMessage":
                conn.send_message("hello")
            else:
                conn.send_event("application/vnd.amazonaws.connect.event.typing")
    assert info.value.operation == operation
    assert operation in str(info.value) and "Id" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ConnectionCredentials": None},
        {"ConnectionCredentials": "abc"},
        {"ConnectionCredentials": {"Expiry": "2030-01-01T00:00:00.000Z"}},
        {"ConnectionCredentials": {"ConnectionToken": 5}},
        {"ConnectionCredentials": {"ConnectionToken": "t"}, "Websocket": {"ConnectionExpiry": "x"}},
    ],
)
def test_a_connection_answer_without_credentials_is_a_library_error(body):
    from hostile import HostileHTTP

    from connectparticipant_ext import MalformedResponseError

    with HostileHTTP(_json_answer(body)) as endpoint:
        participant = _hostile_service(endpoint.url).Participant("not-a-real-participant-token")
        with pytest.raises(MalformedResponseError) as info:
            participant.create_connection()
    assert info.value.operation == "CreateParticipantConnection"
    assert "not-a-real" not in str(info.value)


def test_a_renewal_without_credentials_is_a_library_error(participant, connection, monkeypatch):
    from connectparticipant_ext import MalformedResponseError

    monkeypatch.setattr(participant, "create_participant_connection", lambda **kwargs: {"Websocket": {}})
    old_token = connection.token
    with pytest.raises(MalformedResponseError) as info:
        connection.renew()
    assert info.value.operation == "CreateParticipantConnection"
    assert connection.token == old_token  # nothing half-applied


def test_junk_receipts_in_a_transcript_page(connection, monkeypatch):
    page = {
        "Transcript": [
            {"Id": "r1", "Type": "MESSAGEMETADATA", "MessageMetadata": {"MessageId": "m", "Receipts": "abc"}},
            {"Id": "m2", "Type": "MESSAGE", "Content": "after", "MessageMetadata": {"Receipts": 5}},
        ]
    }
    monkeypatch.setattr(connection, "call_operation", lambda operation, **params: page)
    items = list(connection.transcript)
    assert [i.id for i in items] == ["r1", "m2"]
    assert [i.message_metadata.receipts for i in items if i.message_metadata] == [(), ()]


@pytest.mark.parametrize("kind", ["stall", "refused"])
def test_timeouts_and_refused_connections_are_library_errors(kind, caplog):
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
    from hostile import HostileHTTP

    from connectparticipant_ext import ConnectParticipantError, ServiceUnreachableError

    def stall(request: Any) -> None:
        request.wait(5)

    caplog.set_level(logging.DEBUG)
    if kind == "stall":
        with HostileHTTP(stall) as endpoint:
            chat = _hostile_service(endpoint.url, timeout=0.3)
            conn = chat.Connection("secret-connection-token-123")
            with pytest.raises(ServiceUnreachableError) as info:
                conn.send_message("hello")
            assert isinstance(info.value.__cause__, ReadTimeoutError)
            with pytest.raises(ServiceUnreachableError) as info2:
                chat.Participant("secret-participant-token-456").create_connection()
            assert info2.value.operation == "CreateParticipantConnection"
    else:
        conn = _hostile_service(f"http://127.0.0.1:{free_port()}", timeout=0.3).Connection(
            "secret-connection-token-123"
        )
        with pytest.raises(ServiceUnreachableError) as info:
            conn.send_message("hello")
        assert isinstance(info.value.__cause__, (EndpointConnectionError, ConnectTimeoutError))
    assert isinstance(info.value, ConnectParticipantError)
    assert info.value.operation == "SendMessage" and "SendMessage" in str(info.value)
    assert "secret-connection-token-123" not in str(info.value)
    assert "secret" not in caplog.text


def test_botocore_still_retries_before_giving_up():
    from hostile import HostileHTTP

    from connectparticipant_ext import ServiceUnreachableError

    calls = []

    def stall(request: Any) -> None:
        calls.append(request.path)
        request.wait(5)

    with HostileHTTP(stall) as endpoint:
        chat = ChatService(
            region_name="us-east-1",
            endpoint_url=endpoint.url,
            timeout=0.3,
            retries={"mode": "standard", "total_max_attempts": 2},
        )
        with pytest.raises(ServiceUnreachableError):
            chat.Connection("t").send_message("hello")
    assert len(calls) == 2
