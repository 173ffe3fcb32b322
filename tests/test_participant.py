"""Participant: identity, what CreateParticipantConnection is asked for, and its errors."""

from __future__ import annotations

import logging

import pytest
from botocore.exceptions import ClientError

from connectparticipant_ext import (
    AccessDeniedError,
    ChatService,
    InvalidArgumentTypeError,
    Participant,
)

from _helpers import CREDENTIALS, WEBRTC, WEBSOCKET, call_takes, unreachable


def test_participants_are_equal_by_token_and_show_none(chat):
    first, again, other = chat.Participant("token-a"), chat.Participant("token-a"), chat.Participant("token-b")
    assert first == again and hash(first) == hash(again)
    assert first != other and hash(first) != hash(other)
    assert first != "token-a"
    assert len({first, again, other}) == 2
    assert repr(first) == str(first) == "Participant(token=***)"
    assert first.token == "token-a"
    assert first.service is chat
    assert first.meta.client is chat.meta.client


@pytest.mark.parametrize(
    ("options", "types", "joins"),
    [
        ({}, [CREDENTIALS, WEBSOCKET], True),
        ({"websocket": False}, [CREDENTIALS], True),
        ({"connect_participant": False}, [CREDENTIALS, WEBSOCKET], False),
        ({"webrtc": True}, [CREDENTIALS, WEBSOCKET, WEBRTC], True),
        ({"websocket": False, "webrtc": True}, [CREDENTIALS, WEBRTC], True),
    ],
)
def test_create_connection_asks_for_what_it_is_told(participant, connection_requests, options, types, joins):
    conn = participant.create_connection(**options)
    [request] = connection_requests
    assert request == {"ParticipantToken": participant.token, "Type": types, "ConnectParticipant": joins}
    assert (conn.websocket is not None) == (WEBSOCKET in types)
    assert (conn.webrtc is not None) == (WEBRTC in types)
    assert conn.participant is participant


def test_the_lower_level_call_can_leave_the_credentials_out(participant, connection_requests):
    answer = participant.create_participant_connection(connect_participant=True, websocket=True, credentials=False)
    assert connection_requests[-1]["Type"] == [WEBSOCKET]
    assert "Websocket" in answer and "ConnectionCredentials" not in answer
    with pytest.raises(InvalidArgumentTypeError) as info:
        participant.create_participant_connection(connect_participant=True, websocket=False, credentials=False)
    assert str(info.value) == "ask for credentials, a websocket, or both"
    assert len(connection_requests) == 1


@pytest.mark.parametrize(
    "flags",
    [
        {"connect_participant": "yes", "websocket": True},
        {"connect_participant": True, "websocket": 1},
        {"connect_participant": None, "websocket": None},
    ],
)
def test_flags_must_be_bools(participant, connection_requests, flags):
    with pytest.raises(InvalidArgumentTypeError) as info:
        participant.create_participant_connection(**flags)
    assert str(info.value) == "connect_participant and websocket must be bools"
    assert connection_requests == []


def test_a_refused_token_is_a_library_error_chained_to_botocores(chat):
    with pytest.raises(AccessDeniedError) as info:
        chat.Participant("not-a-token").create_connection()
    assert isinstance(info.value, ClientError)
    assert isinstance(info.value.__cause__, ClientError) and not isinstance(info.value.__cause__, AccessDeniedError)
    assert info.value.operation_name == "CreateParticipantConnection"


def test_an_error_already_mapped_is_raised_as_it_is(chat, participant, monkeypatch):
    mapped = AccessDeniedError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "X")
    client = chat.meta.client

    def refuse(**kwargs):
        raise mapped

    monkeypatch.setattr(client, "create_participant_connection", refuse)
    with pytest.raises(AccessDeniedError) as info:
        participant.create_connection()
    assert info.value is mapped and info.value.__cause__ is None


def test_each_connection_request_is_logged_without_the_token(participant, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext.participant")
    participant.create_connection(websocket=False, connect_participant=False)
    with call_takes(0.25):
        participant.create_participant_connection(connect_participant=True, websocket=True)
    messages = [r.getMessage() for r in caplog.records if r.name == "connectparticipant_ext.participant"]
    assert messages[0].startswith(
        "CreateParticipantConnection types=CONNECTION_CREDENTIALS connect_participant=False took "
    )
    assert messages[0].endswith(" ms")
    assert messages[1] == (
        "CreateParticipantConnection types=CONNECTION_CREDENTIALS,WEBSOCKET connect_participant=True took 250.0 ms"
    )
    assert participant.token not in caplog.text


def test_an_unreachable_service_is_named_by_the_operation(chat, participant, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from connectparticipant_ext import ServiceUnreachableError

    monkeypatch.setattr(chat.meta.client, "create_participant_connection", unreachable)
    with pytest.raises(ServiceUnreachableError) as info:
        participant.create_connection()
    assert info.value.operation == "CreateParticipantConnection"
    assert str(info.value) == (
        "CreateParticipantConnection could not reach the service: EndpointConnectionError (after botocore's retries)"
    )
    assert isinstance(info.value.__cause__, EndpointConnectionError)


def test_a_participant_belongs_to_its_service():
    service = ChatService(region_name="us-east-1")
    assert Participant("t", service=service).service is service
