"""Generated from botocore's models: every constraint of every input member, one violating request.

For every operation the backend serves (the eleven of ``connectparticipant`` and the Connect
API's chat operations) the cases below are derived from the operation's input shape in the
installed botocore: a required member left out, a wrong JSON type, a string or list one past its
``min``/``max``, a number one past its range, a value outside an enum, a map key or value that
breaks its shape, a union with two members set. Each case starts from a valid request (checked
valid by the same model) and breaks exactly one constraint. It is sent

* with boto3 and ``Config(parameter_validation=False)``, in-process under ``mock_aws`` (so
  botocore's own checks are out of the way), and
* as raw HTTP to ``LocalServer`` (the only way to send a wrongly typed member),

and must get a modelled 4xx (the Participant Service's ``ValidationException``, the Connect API's
``InvalidParameterException`` or, where an operation has none, ``InvalidRequestException``),
change nothing (the chat's items, participants, uploads and streams are as before) and never be
a 500. Sources: botocore's ``connectparticipant`` and ``connect`` service models; the Connect
API has no ValidationException (each operation's ``errors``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.model import Shape
from moto import mock_aws

from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.responses import CONNECT_OPERATIONS, PARTICIPANT_OPERATIONS, invalid_input
from connectparticipant_ext.testing.server import LocalServer
from connectparticipant_ext.testing.streaming import streaming_state
from connectparticipant_ext.testing.validation import check, operation_model

DROP = object()
"""The violation "leave the member out" (of a required member)."""

SERVED = [("connectparticipant", name) for name in PARTICIPANT_OPERATIONS] + [
    ("connect", name) for name in CONNECT_OPERATIONS
]


@dataclass(frozen=True)
class Case:
    service: str
    operation: str
    path: tuple[Any, ...]
    """Where the violating value goes: member names, list indexes, map keys."""
    constraint: str
    value: Any
    location: str
    """``body``, ``header`` or ``uri``: where the top member travels."""

    @property
    def id(self) -> str:
        return f"{self.operation}:{'.'.join(str(p) for p in self.path)}:{self.constraint}"


# -- the cases, read from the models -------------------------------------------------------------


def _valid(shape: Shape, seen: tuple[str, ...] = ()) -> Any:
    """A small value that satisfies ``shape``."""
    metadata = shape.metadata
    if shape.type_name == "string":
        if metadata.get("enum"):
            return metadata["enum"][0]
        return "v" * max(metadata.get("min", 1), 1)
    if shape.type_name in ("integer", "long"):
        return max(metadata.get("min", 1), 1) if "max" not in metadata else metadata.get("min", 0)
    if shape.type_name == "boolean":
        return True
    if shape.type_name == "list":
        return [_valid(shape.member, seen)] * max(metadata.get("min", 0), 1)
    if shape.type_name == "map":
        return {_valid(shape.key, seen): _valid(shape.value, seen)}
    if shape.type_name == "structure":
        if metadata.get("union"):
            name, member = next(iter(shape.members.items()))
            return {name: _valid(member, (*seen, shape.name))}
        return {
            name: _valid(member, (*seen, shape.name))
            for name, member in shape.members.items()
            if name in metadata.get("required", [])
        }
    raise AssertionError(f"no valid value for a {shape.type_name} shape")


_WRONG_TYPE = {
    "string": 7,
    "integer": "7",
    "long": "7",
    "boolean": "true",
    "list": "not-a-list",
    "map": ["not", "a", "map"],
    "structure": "not-an-object",
}


def _violations(shape: Shape, seen: tuple[str, ...]) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    """``(path below shape, constraint, violating value)`` for every constraint of ``shape``."""
    metadata = shape.metadata
    yield (), "type", _WRONG_TYPE[shape.type_name]
    if shape.type_name == "string":
        if "max" in metadata:
            yield (), "max", "x" * (metadata["max"] + 1)
        if metadata.get("min", 0) > 0:
            yield (), "min", "x" * (metadata["min"] - 1)
        if metadata.get("enum"):
            yield (), "enum", "NOT_IN_THE_ENUM"
        if metadata.get("pattern"):
            raise AssertionError(f"{shape.name} has a pattern: add a non-matching sample for it")
    elif shape.type_name in ("integer", "long"):
        if "max" in metadata:
            yield (), "max", metadata["max"] + 1
        if "min" in metadata:
            yield (), "min", metadata["min"] - 1
    elif shape.type_name == "list":
        entry = _valid(shape.member, seen)
        if "max" in metadata:
            yield (), "max", [entry] * (metadata["max"] + 1)
        if metadata.get("min", 0) > 0:
            yield (), "min", [entry] * (metadata["min"] - 1)
        if shape.member.name not in seen:
            for path, constraint, value in _violations(shape.member, (*seen, shape.name)):
                yield (0, *path), f"member.{constraint}", value
    elif shape.type_name == "map":
        key, value = _valid(shape.key, seen), _valid(shape.value, seen)
        if "max" in metadata:
            yield (), "max", {f"{key}{n}": value for n in range(metadata["max"] + 1)}
        if metadata.get("min", 0) > 0:
            yield (), "min", {}
        if "max" in shape.key.metadata:
            yield (), "key.max", {"k" * (shape.key.metadata["max"] + 1): value}
        if shape.key.metadata.get("min", 0) > 0:
            yield (), "key.min", {"k" * (shape.key.metadata["min"] - 1): value}
        if shape.value.name not in seen:
            for path, constraint, broken in _violations(shape.value, (*seen, shape.name)):
                yield (key, *path), f"value.{constraint}", broken
    elif shape.type_name == "structure":
        if metadata.get("union"):
            # exactly one member: two set, or (a union of one member) none
            members = list(shape.members.items())
            broken = {name: _valid(member, seen) for name, member in members} if len(members) > 1 else {}
            yield (), "union", broken
        for name, member in shape.members.items():
            if name in metadata.get("required", []):
                yield (name,), "required", DROP
            if member.name not in seen:
                for path, constraint, value in _violations(member, (*seen, shape.name)):
                    yield (name, *path), constraint, value


def cases() -> list[Case]:
    found = []
    for service, operation in SERVED:
        shape = operation_model(service, operation).input_shape
        for path, constraint, value in _violations(shape, ()):
            if path == () or constraint == "type" and path == ():
                continue  # the request itself is always a JSON object
            location = shape.members[path[0]].serialization.get("location") or "body"
            if location == "uri" and (value is DROP or constraint == "type" or constraint.endswith("min")):
                continue  # a URI label is always a non-empty string on the wire
            if location == "header" and constraint == "type":
                continue  # a header is always a string on the wire
            found.append(Case(service, operation, path, constraint, value, location))
    return found


CASES = cases()


# -- valid requests, one per operation -----------------------------------------------------------


@dataclass
class Chat:
    """One chat shared by the module's cases (no case changes it)."""

    contact_id: str
    participant_token: str
    connection_token: str
    upload_id: str
    attachment_id: str
    view_token: str
    topic_arn: str


def valid_request(operation: str, chat: Chat) -> dict[str, Any]:
    session_id = "6f1b8a52-8e7b-4a36-9a47-3f1c2d4e5a6b"
    requests_ = {
        "CreateParticipantConnection": {
            "ParticipantToken": chat.participant_token,
            "Type": ["CONNECTION_CREDENTIALS"],
            "ConnectParticipant": False,
        },
        "SendMessage": {"ContentType": "text/plain", "Content": "hello", "ClientToken": "m"},
        "SendEvent": {"ContentType": "application/vnd.amazonaws.connect.event.typing", "ClientToken": "e"},
        "GetTranscript": {
            "ContactId": chat.contact_id,
            "MaxResults": 10,
            "ScanDirection": "FORWARD",
            "SortOrder": "ASCENDING",
            "StartPosition": {"MostRecent": 5},
        },
        "StartAttachmentUpload": {
            "ContentType": "text/plain",
            "AttachmentSizeInBytes": 3,
            "AttachmentName": "a.txt",
            "ClientToken": "s",
        },
        "CompleteAttachmentUpload": {"AttachmentIds": [chat.upload_id], "ClientToken": "c"},
        "GetAttachment": {
            "AttachmentId": chat.attachment_id,
            "UrlExpiryInSeconds": 60,
            "UrlContentDisposition": "INLINE",
        },
        "DisconnectParticipant": {"ClientToken": "d"},
        "DescribeView": {"ViewToken": chat.view_token},
        "GetAuthenticationUrl": {"SessionId": session_id, "RedirectUri": "https://example.com/back"},
        "CancelParticipantAuthentication": {"SessionId": session_id},
        "StartChatContact": {
            "InstanceId": "instance-1",
            "ContactFlowId": "flow-1",
            "ParticipantDetails": {"DisplayName": "Ann"},
            "Attributes": {"k": "v"},
            "ParticipantConfiguration": {"ResponseMode": "COMPLETE"},
            "InitialMessage": {"ContentType": "text/plain", "Content": "hi"},
            "ClientToken": "start",
            "ChatDurationInMinutes": 60,
            "SupportedMessagingContentTypes": ["text/plain"],
            "PersistentChat": {"RehydrationType": "FROM_SEGMENT", "SourceContactId": chat.contact_id},
            "SegmentAttributes": {"k": {"ValueString": "v"}},
            "CustomerId": "customer",
            "DisconnectOnCustomerExit": ["AGENT"],
            "ConnectionTypes": ["WEBSOCKET"],
            "ChatStreamingConfiguration": {"StreamingEndpointArn": chat.topic_arn},
        },
        "CreateParticipant": {
            "InstanceId": "instance-1",
            "ContactId": chat.contact_id,
            "ClientToken": "p",
            "ParticipantDetails": {
                "ParticipantRole": "CUSTOM_BOT",
                "DisplayName": "Bot",
                "ParticipantCapabilities": {"Video": "SEND", "ScreenShare": "SEND"},
            },
        },
        "StopContact": {"ContactId": chat.contact_id, "InstanceId": "instance-1", "DisconnectReason": {"Code": "x"}},
        "StartContactStreaming": {
            "InstanceId": "instance-1",
            "ContactId": chat.contact_id,
            "ChatStreamingConfiguration": {"StreamingEndpointArn": chat.topic_arn},
            "ClientToken": "stream",
        },
        "StopContactStreaming": {"InstanceId": "instance-1", "ContactId": chat.contact_id, "StreamingId": "s"},
        "UpdateParticipantRoleConfig": {
            "InstanceId": "instance-1",
            "ContactId": chat.contact_id,
            "ChannelConfiguration": {
                "Chat": {
                    "ParticipantTimerConfigList": [
                        {
                            "ParticipantRole": "CUSTOMER",
                            "TimerType": "IDLE",
                            "TimerValue": {"ParticipantTimerDurationInMinutes": 5},
                        }
                    ]
                }
            },
        },
    }
    request = requests_[operation]
    if operation != "CreateParticipantConnection" and operation in PARTICIPANT_OPERATIONS:
        request["ConnectionToken"] = chat.connection_token
    return request


def broken_request(case: Case, chat: Chat) -> dict[str, Any]:
    """The valid request with the case's one violation put in (parents made as needed)."""
    shape = operation_model(case.service, case.operation).input_shape
    request = valid_request(case.operation, chat)
    holder: Any = request
    for step in case.path[:-1]:
        if isinstance(step, int):
            shape = shape.member
            holder = holder[step]
            continue
        shape = shape.value if shape.type_name == "map" else shape.members[step]
        if isinstance(holder, dict) and holder.get(step) is None:
            holder[step] = _valid(shape)
        holder = holder[step]
    last = case.path[-1]
    if case.value is DROP:
        del holder[last]
    else:
        holder[last] = json.loads(json.dumps(case.value))
    return request


def snapshot() -> str:
    """Everything a refused request must leave as it was."""
    backend = get_chat_backend()
    state = {
        "chats": {
            contact_id: {
                "items": chat.items,
                "ended": chat.ended,
                "participants": sorted((p.participant_id, p.joined, p.left) for p in chat.participants.values()),
            }
            for contact_id, chat in backend.chats.items()
        },
        "uploads": sorted((u.attachment_id, u.completed) for u in backend.uploads.values()),
        "connections": len(backend.connection_tokens),
        "streams": streaming_state(backend).streams,
    }
    return json.dumps(state, sort_keys=True, default=str)


# -- the two transports -----------------------------------------------------------------------------


def _setup(connect: Any, participant: Any, sns: Any) -> Chat:
    contact = connect.start_chat_contact(
        InstanceId="instance-1", ContactFlowId="flow-1", ParticipantDetails={"DisplayName": "Ann"}
    )
    joined = participant.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"], ConnectParticipant=True
    )
    token = joined["ConnectionCredentials"]["ConnectionToken"]
    upload = participant.start_attachment_upload(
        ConnectionToken=token, ContentType="text/plain", AttachmentSizeInBytes=3, AttachmentName="u.txt", ClientToken="u"
    )
    done = participant.start_attachment_upload(
        ConnectionToken=token, ContentType="text/plain", AttachmentSizeInBytes=3, AttachmentName="d.txt", ClientToken="d"
    )
    meta = done["UploadMetadata"]
    assert requests.put(meta["Url"], data=b"abc", headers=meta["HeadersToInclude"], timeout=10).status_code == 200
    participant.complete_attachment_upload(ConnectionToken=token, AttachmentIds=[done["AttachmentId"]], ClientToken="d")
    return Chat(
        contact_id=contact["ContactId"],
        participant_token=contact["ParticipantToken"],
        connection_token=token,
        upload_id=upload["AttachmentId"],
        attachment_id=done["AttachmentId"],
        view_token=get_chat_backend().register_view(),
        topic_arn=sns.create_topic(Name="conformance")["TopicArn"],
    )


def _clients(endpoint_url: str | None) -> tuple[Any, Any, Any]:
    off = {"parameter_validation": False, "retries": {"total_max_attempts": 1}}
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=endpoint_url, config=Config(**off), **credentials)
    participant = boto3.client(
        "connectparticipant",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        config=Config(signature_version=botocore.UNSIGNED, **off),
    )
    sns = boto3.client("sns", region_name="us-east-1", endpoint_url=endpoint_url, **credentials)
    return connect, participant, sns


@pytest.fixture(scope="module")
def environment() -> Iterator[None]:
    patch = pytest.MonkeyPatch()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        patch.setenv(name, "testing")
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield
    patch.undo()


@pytest.fixture(scope="module")
def in_process(environment: None) -> Iterator[tuple[Any, Any, Chat]]:
    with mock_aws():
        connect, participant, sns = _clients(None)
        yield connect, participant, _setup(connect, participant, sns)
        get_chat_backend().reset()


@pytest.fixture(scope="module")
def server(environment: None) -> Iterator[tuple[str, Chat]]:
    with LocalServer() as running:
        connect, participant, sns = _clients(running.endpoint_url)
        yield running.endpoint_url, _setup(connect, participant, sns)
        get_chat_backend().reset()


def _expected(case: Case) -> str:
    return invalid_input(case.service, case.operation, "").error_type


def _assert_refused(case: Case, status: int, code: str, message: str, request: dict[str, Any]) -> None:
    assert 400 <= status < 500, (case.id, status, message)
    assert code == _expected(case), (case.id, code, message)
    count = len(check(case.service, case.operation, request))
    noun = "error" if count == 1 else "errors"
    assert message.startswith(f"{count} validation {noun} detected: "), (case.id, message)
    for secret in ("ConnectionToken", "ParticipantToken", "ViewToken"):
        value = request.get(secret)
        if isinstance(value, str) and len(value) > 3:
            assert value not in message, (case.id, "a token was echoed")


def test_the_cases_cover_every_operation_and_start_from_valid_requests() -> None:
    """Every served operation has cases, and every case's request breaks the model exactly where
    the case says (its valid request does not break it at all)."""
    chat = Chat("c", "CPT.x.y", "CCT.x.y", "u", "a", "view", "arn:aws:sns:us-east-1:123456789012:t")
    assert {(c.service, c.operation) for c in CASES} == set(SERVED)
    for service, operation in SERVED:
        assert check(service, operation, valid_request(operation, chat)) == [], operation
    for case in CASES:
        assert check(case.service, case.operation, broken_request(case, chat)), case.id


@pytest.mark.parametrize("case", [c for c in CASES if not c.constraint.endswith("type")], ids=lambda c: c.id)
def test_boto3_without_parameter_validation(case: Case, in_process: tuple[Any, Any, Chat]) -> None:
    connect, participant, chat = in_process
    client = participant if case.service == "connectparticipant" else connect
    request = broken_request(case, chat)
    member = operation_model(case.service, case.operation).input_shape.members[case.path[0]]
    if case.value is DROP and len(case.path) == 1 and member.metadata.get("idempotencyToken"):
        pytest.skip("botocore fills in a missing idempotency token (the raw HTTP case covers it)")
    before = snapshot()
    method = getattr(client, botocore.xform_name(case.operation))
    with pytest.raises(ClientError) as info:
        method(**request)
    error = info.value.response
    _assert_refused(
        case, error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"]["Message"], request
    )
    assert snapshot() == before, case.id


def _raw_request(case: Case, endpoint_url: str, request: dict[str, Any]) -> requests.Response:
    model = operation_model(case.service, case.operation)
    uri, headers, body = model.http["requestUri"], {"Content-Type": "application/json"}, {}
    for name, value in request.items():
        member = model.input_shape.members[name]
        location = member.serialization.get("location")
        if location == "uri":
            uri = uri.replace("{" + name + "}", requests.utils.quote(str(value), safe=""))
        elif location == "header":
            headers[member.serialization["name"]] = str(value)
        else:
            body[name] = value
    data = json.dumps(body)
    url = endpoint_url + uri
    if case.service == "connect":
        signed = AWSRequest(model.http["method"], url, data=data, headers=headers)
        SigV4Auth(Credentials("testing", "testing"), "connect", "us-east-1").add_auth(signed)
        headers = dict(signed.headers)
    return requests.request(model.http["method"], url, data=data, headers=headers, timeout=10)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_raw_http_to_the_local_server(case: Case, server: tuple[str, Chat]) -> None:
    endpoint_url, chat = server
    request = broken_request(case, chat)
    before = snapshot()
    response = _raw_request(case, endpoint_url, request)
    assert response.headers.get("Content-Type") == "application/json", (case.id, response.status_code, response.text[:200])
    _assert_refused(case, response.status_code, response.headers["x-amzn-ErrorType"], response.json()["message"], request)
    assert snapshot() == before, case.id


# -- only modelled errors ------------------------------------------------------------------------------


def _codes(call: Any, request: dict[str, Any]) -> set[str]:
    try:
        call(**request)
    except ClientError as error:
        return {error.response["Error"]["Code"]}
    return set()


def test_every_error_an_operation_answers_is_in_its_model(aws_credentials: None) -> None:
    """botocore's models list each operation's errors; the backend answers no other. The walk
    covers every served operation of both models: its valid request (which may fail on the chat's
    state, e.g. an authentication session never initiated), unknown and ended contacts, unknown,
    ended and revoked tokens, injected faults. An unmodelled error would be turned into the
    internal error (and logged): that is counted as a failure here too."""
    from connectparticipant_ext.testing.validation import modelled_errors

    with mock_aws():
        connect, participant, sns = _clients(None)
        chat = _setup(connect, participant, sns)
        backend = get_chat_backend()
        answered: dict[str, set[str]] = {operation: set() for _, operation in SERVED}
        for service, operation in SERVED:
            client = participant if service == "connectparticipant" else connect
            call = getattr(client, botocore.xform_name(operation))
            request = valid_request(operation, chat)
            if operation in ("DisconnectParticipant", "StopContact"):
                continue  # they end the chat: walked last
            answered[operation] |= _codes(call, request)
            if service == "connect":
                for member, other in (("ContactId", "no-such-contact"), ("InstanceId", "another-instance")):
                    if member in request:
                        answered[operation] |= _codes(call, {**request, member: other})
            else:
                key = "ParticipantToken" if operation == "CreateParticipantConnection" else "ConnectionToken"
                answered[operation] |= _codes(call, {**request, key: "CCT.bm90LWEtcmVnaW9u.x"})
                backend.inject_faults(throttling=1.0)
                answered[operation] |= _codes(call, request)
                backend.inject_faults(internal=1.0)
                answered[operation] |= _codes(call, request)
                backend.clear_faults()
        for operation in ("DisconnectParticipant", "StopContact"):
            client = participant if operation == "DisconnectParticipant" else connect
            answered[operation] |= _codes(getattr(client, botocore.xform_name(operation)), valid_request(operation, chat))
        for service, operation in SERVED:  # now the chat has ended
            client = participant if service == "connectparticipant" else connect
            answered[operation] |= _codes(getattr(client, botocore.xform_name(operation)), valid_request(operation, chat))
        get_chat_backend().reset()
    for service, operation in SERVED:
        unmodelled = answered[operation] - modelled_errors(service, operation)
        assert not unmodelled, (operation, unmodelled)
        internal = {"InternalServerException", "InternalServiceException"}
        assert not (answered[operation] & internal) or operation in _FAULTED, operation
    assert answered["GetAuthenticationUrl"] and answered["SendMessage"]  # the walk did reach the backend


_FAULTED = set(PARTICIPANT_OPERATIONS)
"""Operations whose InternalServerException came from ``inject_faults(internal=1.0)``."""


def test_an_unmodelled_error_is_never_sent(aws_credentials: None, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    """The guard behind the rule: should an operation raise an error its model does not list
    (a bug in the backend), the answer is the service's internal error and the bug is logged."""
    from connectparticipant_ext.testing import models
    from connectparticipant_ext.testing.exceptions import ResourceNotFoundException

    def broken(self: Any, **kwargs: Any) -> None:
        raise ResourceNotFoundException("not modelled for GetAttachment")

    monkeypatch.setattr(models.ChatBackend, "get_attachment", broken)
    with mock_aws():
        connect, participant, sns = _clients(None)
        chat = _setup(connect, participant, sns)
        with pytest.raises(ClientError) as info:
            participant.get_attachment(**valid_request("GetAttachment", chat))
        get_chat_backend().reset()
    assert info.value.response["Error"]["Code"] == "InternalServerException"
    assert "ResourceNotFoundException" in caplog.text and "GetAttachment" in caplog.text
