"""``POST /start-chat``: the contract of AWS's ui-examples start-chat Lambda behind API Gateway,
over plain HTTP (the request and answers of ``startChatContact.js`` and its CloudFormation
template; see :mod:`connectparticipant_ext.testing.startchat` for the source)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Optional

import pytest
import requests

from connectparticipant_ext import ChatService
from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.server import LocalServer
from connectparticipant_ext.testing.startchat import StartChatDefaults

TIMEOUT = 10
PAGE = "http://localhost:8000"
LAMBDA_ALLOW_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token"


@pytest.fixture
def server(aws_credentials: None) -> Iterator[LocalServer]:
    defaults = StartChatDefaults(instance_id="widget-instance", contact_flow_id="widget-flow")
    with LocalServer(start_chat_defaults=defaults) as running:
        yield running
        get_chat_backend().reset()


def start_chat(server: LocalServer, body: Any, origin: Optional[str] = PAGE) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {})}
    return requests.post(server.start_chat_url, data=data, headers=headers, timeout=TIMEOUT)


def test_a_chat_starts_with_the_servers_instance_and_flow(server: LocalServer):
    answer = start_chat(server, {"ParticipantDetails": {"DisplayName": "Ann"}, "Attributes": {"plan": "gold"}})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    data = answer.json()["data"]
    assert data["featurePermissions"] == {}
    result = data["startChatResult"]
    assert set(result) == {"ContactId", "ParticipantId", "ParticipantToken"}
    chat = get_chat_backend().get_chat(result["ContactId"])
    assert chat.instance_id == "widget-instance"
    assert chat.attributes == {"customerName": "Ann"}  # the Lambda's own; the body's are not read
    # the token works as AWS's widget uses it
    conn = (
        ChatService(region_name="us-east-1", endpoint_url=server.endpoint_url)
        .Participant(result["ParticipantToken"])
        .create_connection()
    )
    conn.send_message("hello from the widget")
    assert "hello from the widget" in [item.content for item in conn.transcript]


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ({"InstanceId": "other-instance"}, "other-instance"),
        ({"InstanceId": ""}, "widget-instance"),
        ({"InstanceId": 0}, "widget-instance"),  # 0 == "" in JavaScript
        ({"InstanceId": []}, "widget-instance"),  # so is [] == ""
    ],
)
def test_instance_named_in_the_body_or_the_default_as_javascript_compares(server: LocalServer, given, used):
    answer = start_chat(server, {"ParticipantDetails": {"DisplayName": "Ann"}, **given})
    assert answer.status_code == 200, answer.text
    contact_id = answer.json()["data"]["startChatResult"]["ContactId"]
    assert get_chat_backend().get_chat(contact_id).instance_id == used


def test_content_types_duration_and_markdown_permission(server: LocalServer):
    body = {
        "ParticipantDetails": {"DisplayName": "Ann"},
        "SupportedMessagingContentTypes": ["text/plain", "text/markdown"],
        "ChatDurationInMinutes": 60,
    }
    answer = start_chat(server, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["featurePermissions"] == {"MESSAGING_MARKDOWN": True}
    chat = get_chat_backend().get_chat(data["startChatResult"]["ContactId"])
    assert chat.supported_content_types == {"text/plain", "text/markdown"}
    plain = start_chat(server, {**body, "SupportedMessagingContentTypes": ["text/plain"]})
    assert plain.json()["data"]["featurePermissions"] == {"MESSAGING_MARKDOWN": False}


def test_a_service_error_is_the_sdks_error_with_its_status(server: LocalServer):
    answer = start_chat(server, {"ParticipantDetails": {"DisplayName": "Ann"}, "ChatDurationInMinutes": 30})
    assert answer.status_code == 400
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    error = answer.json()["data"]["Error"]
    assert error["code"] == "InvalidParameterException" and error["statusCode"] == 400
    assert "chatDurationInMinutes" in error["message"]  # AWS names members in lowerCamelCase
    assert error["retryable"] is False and isinstance(error["retryDelay"], (int, float))
    assert error["time"].endswith("Z") and error["requestId"]


def test_a_persistent_chat_of_an_unknown_contact_is_not_found(server: LocalServer):
    body = {
        "ParticipantDetails": {"DisplayName": "Ann"},
        "PersistentChat": {"RehydrationType": "ENTIRE_PAST_SESSION", "SourceContactId": "no-such-contact"},
    }
    answer = start_chat(server, body)
    assert answer.status_code == 404
    assert answer.json()["data"]["Error"]["code"] == "ResourceNotFoundException"


def test_a_persistent_chat_continues_an_ended_one(server: LocalServer):
    first = start_chat(server, {"ParticipantDetails": {"DisplayName": "Ann"}}).json()["data"]["startChatResult"]
    get_chat_backend().stop_contact(first["ContactId"], "widget-instance")
    body = {
        "ParticipantDetails": {"DisplayName": "Ann"},
        "PersistentChat": {"RehydrationType": "ENTIRE_PAST_SESSION", "SourceContactId": first["ContactId"]},
    }
    answer = start_chat(server, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["startChatResult"]["ContinuedFromContactId"] == first["ContactId"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"null",
        b"[]",
        {"InstanceId": "i"},  # no ParticipantDetails: the function throws
        {"ParticipantDetails": None},
        {"ParticipantDetails": {}},  # no DisplayName: the SDK refuses before sending
        {"ParticipantDetails": {"DisplayName": 5}},
        {"ParticipantDetails": {"DisplayName": "Ann"}, "SupportedMessagingContentTypes": "text/plain"},
        {"ParticipantDetails": {"DisplayName": "Ann"}, "InstanceId": None},
    ],
)
def test_what_the_function_cannot_handle_is_api_gateways_502(server: LocalServer, body: Any):
    answer = start_chat(server, body)
    assert answer.status_code == 502
    assert answer.json() == {"message": "Internal server error"}
    assert "Access-Control-Allow-Origin" not in answer.headers  # API Gateway's answer, not the function's
    assert get_chat_backend().chats == {}


def test_the_cors_preflight_is_api_gateways(server: LocalServer):
    headers = {
        "Origin": PAGE,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    answer = requests.options(server.start_chat_url, headers=headers, timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    assert answer.headers["Access-Control-Allow-Methods"] == "POST,OPTIONS"
    assert answer.headers["Access-Control-Allow-Headers"] == LAMBDA_ALLOW_HEADERS
    foreign = requests.options(
        server.start_chat_url, headers={**headers, "Origin": "https://evil.example"}, timeout=TIMEOUT
    )
    assert foreign.status_code == 403 and "Access-Control-Allow-Origin" not in foreign.headers


def test_other_methods_are_api_gateways_missing_token(server: LocalServer):
    answer = requests.get(server.start_chat_url, timeout=TIMEOUT)
    assert answer.status_code == 403 and answer.json() == {"message": "Missing Authentication Token"}


def test_without_an_origin_no_cors_header_is_sent(server: LocalServer):
    answer = start_chat(server, {"ParticipantDetails": {"DisplayName": "Ann"}}, origin=None)
    assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer.headers
