"""Connections: made from a participant, restored from a token, closed, and their other calls (views, authentication)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from connectparticipant_ext import ChatEvent, Connection, Participant, WebRTCConnection, Websocket, exceptions

from _helpers import TYPING


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


def test_a_connection_without_a_websocket(participant):
    with participant.create_connection(websocket=False) as conn:
        assert conn.websocket is None
        assert conn.send_message("no socket").id


def test_create_connection_with_webrtc(chat, chat_contact):
    conn = chat.Participant(chat_contact["ParticipantToken"]).create_connection(webrtc=True)
    assert isinstance(conn.webrtc, WebRTCConnection)
    assert conn.webrtc.meeting is not None and conn.webrtc.attendee is not None
    join_token = conn.webrtc.attendee.join_token
    assert join_token and join_token not in repr(conn.webrtc) and join_token not in repr(conn)
    assert chat.Participant(chat_contact["ParticipantToken"]).create_connection().webrtc is None


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
