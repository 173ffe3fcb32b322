"""connectparticipant_ext.sessions: a connection kept in a web session between requests, and got back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from connectparticipant_ext import ChatService, Connection, InvalidArgumentError
from connectparticipant_ext.sessions import (
    DEFAULT_SESSION_KEY,
    forget_connection,
    restore_connection,
    store_connection,
    update_connection,
)


def test_store_and_restore_a_connection(chat: ChatService, connection: Connection) -> None:
    session: dict[str, Any] = {}
    store_connection(session, connection)
    assert json.loads(json.dumps(session)) == session  # JSON-serialisable, as Django's sessions need
    restored = restore_connection(session, chat)
    assert restored is not None
    assert restored.token == connection.token
    assert restored.expires_at == connection.expires_at
    assert restored.participant is not None
    assert restored.participant.token == connection.participant.token  # type: ignore[union-attr]
    assert restored.send_message("via the session").id


def test_restore_without_a_stored_connection_is_none(chat: ChatService) -> None:
    assert restore_connection({}, chat) is None


def test_restore_refuses_something_else(chat: ChatService) -> None:
    with pytest.raises(InvalidArgumentError, match="stored connection"):
        restore_connection({DEFAULT_SESSION_KEY: "a string"}, chat)


def test_store_without_the_participant_token(chat: ChatService, connection: Connection) -> None:
    session: dict[str, Any] = {}
    store_connection(session, connection, participant_token=False)
    assert session[DEFAULT_SESSION_KEY]["participant_token"] is None
    restored = restore_connection(session, chat)
    assert restored is not None and restored.participant is None


def test_a_renewed_connection_is_written_back(chat: ChatService, connection: Connection) -> None:
    session: dict[str, Any] = {}
    store_connection(session, connection)
    session[DEFAULT_SESSION_KEY]["expires_at"] = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    restored = restore_connection(session, chat)
    assert restored is not None
    assert update_connection(session, restored) is False  # nothing renewed yet
    restored.send_message("renews first")
    assert update_connection(session, restored) is True
    assert session[DEFAULT_SESSION_KEY]["connection_token"] == restored.token != connection.token
    forget_connection(session)
    assert session == {}


def test_the_stored_state_is_strings_under_one_key(connection: Connection) -> None:
    session: dict[str, Any] = {"other": 1}
    store_connection(session, connection)
    assert set(session) == {"other", DEFAULT_SESSION_KEY}
    state = session[DEFAULT_SESSION_KEY]
    assert set(state) == {"connection_token", "expires_at", "participant_token"}
    assert all(isinstance(value, str) for value in state.values())
    assert datetime.fromisoformat(state["expires_at"]) == connection.expires_at


def test_a_key_of_its_own_keeps_two_connections_apart(
    chat: ChatService, connection: Connection, agent: Connection
) -> None:
    session: dict[str, Any] = {}
    store_connection(session, connection)
    store_connection(session, agent, key="agent")
    customer = restore_connection(session, chat)
    restored_agent = restore_connection(session, chat, key="agent")
    assert customer is not None and restored_agent is not None
    assert (customer.token, restored_agent.token) == (connection.token, agent.token)
    assert update_connection(session, restored_agent, key="agent") is False
    forget_connection(session, key="agent")
    assert set(session) == {DEFAULT_SESSION_KEY}


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        ({"connection_token": 5}, "stored connection"),
        ({"expires_at": "2030-01-01T00:00:00+00:00"}, "stored connection"),
        ({"connection_token": "t", "expires_at": "not a time"}, "unreadable expiry"),
    ],
)
def test_restore_refuses_a_damaged_state(chat: ChatService, state: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidArgumentError, match=problem) as info:
        restore_connection({"kept": state}, chat, key="kept")
    assert "'kept'" in str(info.value)


def test_update_without_a_stored_connection_writes_nothing(connection: Connection) -> None:
    session: dict[str, Any] = {}
    assert update_connection(session, connection) is False
    assert session == {}


def test_a_written_back_connection_keeps_leaving_the_participant_token_out(connection: Connection) -> None:
    session: dict[str, Any] = {}
    store_connection(session, connection, participant_token=False)
    stored = session[DEFAULT_SESSION_KEY]["connection_token"]
    connection.renew()
    assert update_connection(session, connection) is True
    assert session[DEFAULT_SESSION_KEY]["connection_token"] == connection.token != stored
    assert session[DEFAULT_SESSION_KEY]["participant_token"] is None


def test_forget_without_a_stored_connection_does_nothing() -> None:
    session: dict[str, Any] = {"other": 1}
    forget_connection(session)
    assert session == {"other": 1}
