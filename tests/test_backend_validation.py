"""The backend checks every request against botocore's input shapes, as the service does.

botocore checks only ``min`` on the client (nothing at all with ``parameter_validation=False``),
the JavaScript SDK, chatjs and AWS's widget check nothing: the service is what refuses a
request that breaks its model. The Participant Service answers ``ValidationException`` in AWS's
request-validation wording; the Connect API has no ValidationException and answers its own
invalid-input error. The generated suite (every constraint of every member) is
tests/fidelity/test_fidelity_conformance.py; these are the wording and the cases issue reports
named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from connectparticipant_ext.testing import get_chat_backend, validation
from connectparticipant_ext.testing.server import LocalServer

TOKEN_501 = "c" * 501
EXPECTED_CLIENT_TOKEN_MESSAGE = (
    f"1 validation error detected: Value '{TOKEN_501}' at 'clientToken' failed to satisfy constraint: "
    "Member must have length less than or equal to 500"
)


class Clients:
    def __init__(self, endpoint_url: str | None) -> None:
        config = Config(parameter_validation=False, retries={"total_max_attempts": 1})
        credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.endpoint_url = endpoint_url
        self.connect = boto3.client(
            "connect", region_name="us-east-1", endpoint_url=endpoint_url, config=config, **credentials
        )
        unsigned = Config(
            signature_version=botocore.UNSIGNED, parameter_validation=False, retries={"total_max_attempts": 1}
        )
        self.participant = boto3.client(
            "connectparticipant", region_name="us-east-1", endpoint_url=endpoint_url, config=unsigned
        )

    def start_chat(self, **extra: Any) -> dict[str, Any]:
        params = {"InstanceId": "instance-1", "ContactFlowId": "flow-1", "ParticipantDetails": {"DisplayName": "Ann"}}
        return self.connect.start_chat_contact(**{**params, **extra})

    def customer(self) -> tuple[dict[str, Any], str]:
        contact = self.start_chat()
        joined = self.participant.create_participant_connection(
            ParticipantToken=contact["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"], ConnectParticipant=True
        )
        return contact, joined["ConnectionCredentials"]["ConnectionToken"]


@pytest.fixture(params=["mock_aws", "server"])
def clients(request: pytest.FixtureRequest, aws_credentials: None) -> Iterator[Clients]:
    if request.param == "mock_aws":
        with mock_aws():
            yield Clients(None)
            get_chat_backend().reset()
    else:
        with LocalServer() as server:
            yield Clients(server.endpoint_url)
            get_chat_backend().reset()


def refused(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response


# -- the wording --------------------------------------------------------------------------------


def test_one_violation_is_worded_as_aws_words_it() -> None:
    """The issue's example, AWS's request-validation message: "1 validation error detected:
    Value '...' at 'clientToken' failed to satisfy constraint: Member must have length less than
    or equal to 500"."""
    found = validation.check(
        "connectparticipant",
        "SendMessage",
        {"ConnectionToken": "t", "ContentType": "text/plain", "Content": "hi", "ClientToken": TOKEN_501},
    )
    assert validation.validation_message(found) == EXPECTED_CLIENT_TOKEN_MESSAGE


def test_several_violations_are_counted_and_joined() -> None:
    found = validation.check("connectparticipant", "SendMessage", {"ConnectionToken": "t", "Content": ""})
    assert validation.validation_message(found) == (
        "2 validation errors detected: "
        "Value null at 'contentType' failed to satisfy constraint: Member must not be null; "
        "Value '' at 'content' failed to satisfy constraint: Member must have length greater than or equal to 1"
    )


def test_nested_list_and_map_members_are_named_by_their_path() -> None:
    found = validation.check(
        "connect",
        "StartChatContact",
        {
            "InstanceId": "i",
            "ContactFlowId": "f",
            "ParticipantDetails": {"DisplayName": "d" * 257},
            "ConnectionTypes": ["FOO"],
            "Attributes": {"": "v"},
        },
    )
    text = [str(v) for v in found]
    assert (
        "Value '"
        + "d" * 257
        + "' at 'participantDetails.displayName' failed to satisfy constraint: "
        "Member must have length less than or equal to 256" in text
    )
    assert (
        "Value 'FOO' at 'connectionTypes.1.member' failed to satisfy constraint: Member must satisfy enum value "
        "set: [WEBSOCKET, CONNECTION_CREDENTIALS, AUTHENTICATION_SESSION, WEBRTC_CONNECTION]" in text
    )
    assert (
        "Value '{=v}' at 'attributes' failed to satisfy constraint: Map keys must satisfy constraint: "
        "[Member must have length greater than or equal to 1]" in text
    )


def test_a_union_takes_exactly_one_member() -> None:
    """connect model, ParticipantTimerValue ("union"): "Either the timer action (Unset to delete the
    timer), or the duration of the timer in minutes. Only one value can be set"."""
    timer = {"ParticipantRole": "AGENT", "TimerType": "IDLE"}
    both = {"ParticipantTimerAction": "Unset", "ParticipantTimerDurationInMinutes": 5}
    for value, broken in (({}, True), (both, True), ({"ParticipantTimerAction": "Unset"}, False)):
        params = {
            "InstanceId": "i",
            "ContactId": "c",
            "ChannelConfiguration": {"Chat": {"ParticipantTimerConfigList": [{**timer, "TimerValue": value}]}},
        }
        found = validation.check("connect", "UpdateParticipantRoleConfig", params)
        assert bool(found) is broken
        assert not found or found[0].constraint == "Member must have exactly one member set"


# -- over both transports -----------------------------------------------------------------------


def test_a_501_character_client_token_is_refused_by_every_operation_that_takes_one(clients: Clients) -> None:
    """Issue 23, point 1: ClientToken is at most 500 characters in every input shape of both
    models (``ClientToken`` and ``NonEmptyClientToken``: max 500); botocore does not check max."""
    contact, token = clients.customer()
    calls = {
        "SendMessage": (clients.participant.send_message, {"ContentType": "text/plain", "Content": "hi"}),
        "SendEvent": (clients.participant.send_event, {"ContentType": "application/vnd.amazonaws.connect.event.typing"}),
        "StartAttachmentUpload": (
            clients.participant.start_attachment_upload,
            {"ContentType": "text/plain", "AttachmentSizeInBytes": 3, "AttachmentName": "a.txt"},
        ),
        "CompleteAttachmentUpload": (clients.participant.complete_attachment_upload, {"AttachmentIds": ["a"]}),
        "DisconnectParticipant": (clients.participant.disconnect_participant, {}),
    }
    for name, (call, params) in calls.items():
        response = refused(call, ConnectionToken=token, ClientToken=TOKEN_501, **params)
        assert response["Error"]["Code"] == "ValidationException", name
        assert response["Error"]["Message"] == EXPECTED_CLIENT_TOKEN_MESSAGE, name
    response = refused(clients.start_chat, ClientToken=TOKEN_501)
    assert response["Error"]["Code"] == "InvalidParameterException"
    assert "at 'clientToken'" in response["Error"]["Message"]
    response = refused(
        clients.connect.create_participant,
        InstanceId="instance-1",
        ContactId=contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
        ClientToken=TOKEN_501,
    )
    # CreateParticipant's model has no InvalidParameterException: InvalidRequestException is its one
    assert response["Error"]["Code"] == "InvalidRequestException"
    assert get_chat_backend().get_chat(contact["ContactId"]).participants.__len__() == 1


@pytest.mark.parametrize(
    "params",
    [
        {"ConnectionTypes": ["FOO"]},
        {"ConnectionTypes": ["WEBSOCKET", "CONNECTION_CREDENTIALS", "WEBSOCKET"]},
        {"ParticipantConfiguration": {"ResponseMode": "BAD"}},
        {"CustomerId": "c" * 129},
        {"Attributes": {"a b": "x"}},
        {"Attributes": {"a": "x" * 40 * 1024}},
        {"Attributes": {f"k{n}": "x" * 9000 for n in range(4)}},
        {"ChatStreamingConfiguration": {"StreamingEndpointArn": "a" * 351}},
        {
            "SegmentAttributes": {"connect:Subtype": {"ValueString": "connect:Guide"}},
            "SupportedMessagingContentTypes": ["text/plain"],
        },
    ],
    ids=[
        "connection-type-enum",
        "three-connection-types",
        "response-mode",
        "customer-id-129",
        "attribute-key",
        "attribute-value-40kb",
        "attributes-over-32768-bytes",
        "streaming-arn-351",
        "guide-without-interactive-types",
    ],
)
def test_start_chat_contact_refuses_what_its_model_and_docs_refuse(clients: Clients, params: dict) -> None:
    """Issue 23, point 2. connect model, StartChatContact: ConnectionTypes (enum, max 2),
    ParticipantConfiguration.ResponseMode (enum), CustomerId (max 128), Attributes values (max
    32767) and "up to 32,768 UTF-8 bytes across all key-value pairs per contact. Attribute keys can
    include only alphanumeric, dash, and underscore characters", SegmentAttributes (connect:Guide
    needs the interactive types in SupportedMessagingContentTypes). No contact is created."""
    before = len(get_chat_backend().chats)
    response = refused(clients.start_chat, **params)
    assert response["Error"]["Code"] == "InvalidParameterException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(get_chat_backend().chats) == before


def test_create_participant_refuses_a_display_name_over_256(clients: Clients) -> None:
    """connect model, CreateParticipant ParticipantDetails.DisplayName: max 256; its errors list
    InvalidRequestException but not InvalidParameterException."""
    contact = clients.start_chat()
    response = refused(
        clients.connect.create_participant,
        InstanceId="instance-1",
        ContactId=contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "b" * 257},
    )
    assert response["Error"]["Code"] == "InvalidRequestException"


def test_create_participant_connection_refuses_an_empty_type_list(clients: Clients) -> None:
    """connectparticipant model, CreateParticipantConnection Type: ConnectionTypeList min 1 (Type
    itself may be left out, as chatjs's agent sessions do)."""
    contact = clients.start_chat()
    response = refused(
        clients.participant.create_participant_connection, ParticipantToken=contact["ParticipantToken"], Type=[]
    )
    assert response["Error"]["Code"] == "ValidationException"
    assert "at 'type'" in response["Error"]["Message"]
    joined = clients.participant.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"], ConnectParticipant=True
    )
    assert "ConnectionCredentials" not in joined


def test_a_token_is_never_echoed_in_a_validation_message(clients: Clients) -> None:
    """The project's promise: no participant or connection token appears in an error message.
    AWS leaves the value out of the message for such members ("Value at '...'")."""
    contact, token = clients.customer()
    long_token = token + "x" * 1000
    response = refused(clients.participant.send_message, ConnectionToken=long_token, ContentType="text/plain", Content="x")
    message = response["Error"]["Message"]
    assert response["Error"]["Code"] == "ValidationException"
    assert message == (
        "1 validation error detected: Value at 'connectionToken' failed to satisfy constraint: "
        "Member must have length less than or equal to 1000"
    )
    assert token not in message
    response = refused(clients.participant.create_participant_connection, ParticipantToken=contact["ParticipantToken"] + "p" * 1000)
    assert contact["ParticipantToken"] not in response["Error"]["Message"]
    response = refused(clients.participant.describe_view, ConnectionToken=token, ViewToken="v" * 1001)
    assert response["Error"]["Code"] == "ValidationException" and "v" * 1001 not in response["Error"]["Message"]


def test_validation_comes_before_anything_changes(clients: Clients) -> None:
    """A refused SendMessage writes nothing, and its ClientToken stays free for the valid retry."""
    contact, token = clients.customer()
    items = list(get_chat_backend().get_chat(contact["ContactId"]).items)
    refused(clients.participant.send_message, ConnectionToken=token, ContentType="text/plain", Content="", ClientToken="t1")
    assert get_chat_backend().get_chat(contact["ContactId"]).items == items
    sent = clients.participant.send_message(ConnectionToken=token, ContentType="text/plain", Content="hi", ClientToken="t1")
    assert sent["Id"]


def _raw(clients: Clients, path: str, body: bytes, token: str) -> requests.Response:
    assert clients.endpoint_url is not None
    return requests.post(
        clients.endpoint_url + path,
        data=body,
        headers={"X-Amz-Bearer": token, "Content-Type": "application/json"},
        timeout=10,
    )


def test_a_non_ascii_next_token_is_a_validation_error_not_a_crash(clients: Clients) -> None:
    """Issue 23, point 10: NextToken is a string of 1 to 1000 characters (model); one the service
    did not issue is invalid input, a 400, whatever characters it holds."""
    _, token = clients.customer()
    for forged in ("é", "ünïcödé.ßig", "abc.ä" * 10):
        response = refused(clients.participant.get_transcript, ConnectionToken=token, NextToken=forged)
        assert response["Error"]["Code"] == "ValidationException"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_wrong_json_types_are_a_400_not_a_crash(clients: Clients) -> None:
    """Issue 23, point 10: ``ChatDurationInMinutes="120"`` and other wrongly typed members are
    refused with the operation's invalid-input error (AWS's own answer is an unmodelled
    SerializationException), never a TypeError or an HTML 500."""
    if clients.endpoint_url is None:
        # In-process botocore serializes the string as given (validation is off)
        response = refused(clients.start_chat, ChatDurationInMinutes="120")
    else:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        body = json.dumps(
            {
                "InstanceId": "instance-1",
                "ContactFlowId": "flow-1",
                "ParticipantDetails": {"DisplayName": "Ann"},
                "ChatDurationInMinutes": "120",
            }
        )
        aws = AWSRequest("PUT", clients.endpoint_url + "/contact/chat", data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials("testing", "testing"), "connect", "us-east-1").add_auth(aws)
        raw = requests.put(aws.url, data=body, headers=dict(aws.headers), timeout=10)
        assert raw.status_code == 400 and raw.headers["Content-Type"] == "application/json"
        response = {"Error": {"Code": raw.headers["x-amzn-ErrorType"], "Message": raw.json()["message"]}}
    assert response["Error"]["Code"] == "InvalidParameterException"
    assert "Value '120' at 'chatDurationInMinutes' failed to satisfy constraint" in response["Error"]["Message"]
    if clients.endpoint_url is not None:
        _, token = clients.customer()
        for body in (b'{"MaxResults": "10"}', b'{"StartPosition": "x"}', b"[1]", b"{not json"):
            raw = _raw(clients, "/participant/transcript", body, token)
            assert raw.status_code == 400, body
            assert raw.headers["x-amzn-ErrorType"] == "ValidationException"


def test_a_path_that_names_no_operation_does_not_echo_a_view_token(local_server: Any) -> None:
    """A view's path holds its (encrypted) token (DescribeView: ``GET /participant/views/{ViewToken}``);
    a request to it with another method names no operation, and the answer leaves the token out."""
    clients = Clients(local_server.endpoint_url)
    _, token = clients.customer()
    view_token = get_chat_backend().register_view()
    raw = _raw(clients, "/participant/views/" + view_token, b"{}", token)
    assert raw.status_code == 400 and raw.headers["x-amzn-ErrorType"] == "ValidationException"
    assert view_token not in raw.text
