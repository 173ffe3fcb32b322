"""A connection renews its token: ahead of expiry, once after AccessDenied, once across threads, never without a participant."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from connectparticipant_ext import connection as connection_module
from connectparticipant_ext import exceptions

from _helpers import WAIT


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


def test_access_denied_after_the_chat_ended_is_renewed_at_most_once(mock_chat, connection, chat_contact, wire_calls):
    mock_chat.join_as_agent(chat_contact["ContactId"]).leave()  # ends the chat
    del wire_calls[:]
    with pytest.raises(exceptions.AccessDeniedError):
        connection.send_message("too late")
    assert wire_calls == ["SendMessage", "CreateParticipantConnection"]
    with pytest.raises(exceptions.ConnectionClosedError):
        connection.send_message("closed now")
    assert wire_calls == ["SendMessage", "CreateParticipantConnection"]
