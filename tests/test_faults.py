"""Injected faults and token expiry under load: every message arrives once, and a seed makes faults repeatable.

Fault injection is seeded and bounded; botocore's retry backoff is patched to zero (``no_backoff``) so
retries cost no wall-clock time, while the retry logic stays botocore's own.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import connectparticipant_ext.connection as connection_module
from connectparticipant_ext import ConnectParticipantError

pytestmark = pytest.mark.usefixtures("no_backoff")


@pytest.fixture
def patient(chat):
    """A service that retries as often as a long faulty run needs."""
    return chat.with_options(retries={"mode": "standard", "total_max_attempts": 12})


@pytest.fixture
def patient_connection(patient, chat_contact):
    return patient.Participant(chat_contact["ParticipantToken"]).create_connection()


def message_contents(conn) -> list[str]:
    return [i.content for i in conn.transcript if i.is_message]


def test_faulty_service_500_messages_arrive_exactly_once(patient_connection, mock_chat):
    mock_chat.inject_faults(throttling=0.2, internal=0.05, seed=20261124)
    for n in range(500):
        patient_connection.send_message(f"message {n}")
    mock_chat.clear_faults()
    contents = message_contents(patient_connection)
    assert contents == [f"message {n}" for n in range(500)]


def test_faulty_service_2000_item_read_returns_every_item_once(patient_connection, mock_chat, chat_contact):
    existing = len(mock_chat.get_chat(chat_contact["ContactId"]).items)
    mock_chat.bulk_add_messages(chat_contact["ContactId"], 2000 - existing)
    expected = [i["Id"] for i in mock_chat.get_chat(chat_contact["ContactId"]).items]
    mock_chat.inject_faults(throttling=0.2, internal=0.05, seed=7)
    ids = [item.id for item in patient_connection.transcript.page_size(50)]
    mock_chat.clear_faults()
    assert ids == expected


def test_faults_are_deterministic_with_a_seed(chat, chat_contact, mock_chat):
    conn = (
        chat.with_options(retries={"mode": "standard", "total_max_attempts": 1})
        .Participant(chat_contact["ParticipantToken"])
        .create_connection()
    )

    def outcomes() -> list[str]:
        mock_chat.inject_faults(throttling=0.3, internal=0.1, seed=99)
        seen = []
        for n in range(40):
            try:
                conn.send_message(f"probe {n}", client_token=f"probe-{n}")
                seen.append("ok")
            except ConnectParticipantError as exc:
                seen.append(type(exc).__name__)
        mock_chat.clear_faults()
        return seen

    first, second = outcomes(), outcomes()
    assert first == second
    assert {"ok", "ThrottlingError", "InternalServerError"} <= set(first)


def test_expiry_during_a_long_read_under_faults(patient_connection, mock_chat, chat_contact, monkeypatch):
    mock_chat.bulk_add_messages(chat_contact["ContactId"], 1500)
    mock_chat.inject_faults(throttling=0.1, seed=3)
    pages = patient_connection.transcript.pages()
    items = list(next(pages))
    later = patient_connection.expires_at - timedelta(seconds=1)
    monkeypatch.setattr(connection_module, "_utcnow", lambda: later)
    for page in pages:
        items.extend(page)
    mock_chat.clear_faults()
    assert patient_connection.renewals == 1
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids)) == len(mock_chat.get_chat(chat_contact["ContactId"]).items)


def test_expiry_during_a_burst_from_16_threads(patient_connection, mock_chat, monkeypatch):
    mock_chat.inject_faults(throttling=0.1, seed=5)
    later = patient_connection.expires_at - timedelta(seconds=1)
    monkeypatch.setattr(connection_module, "_utcnow", lambda: later)
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def burst(worker: int) -> None:
        barrier.wait(timeout=10)
        for n in range(10):
            try:
                patient_connection.send_message(f"w{worker}-{n}")
            except BaseException as exc:  # asserted below
                errors.append(exc)

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    mock_chat.clear_faults()
    assert errors == []
    assert patient_connection.renewals == 1
    contents = message_contents(patient_connection)
    assert sorted(contents) == sorted(f"w{w}-{n}" for w in range(16) for n in range(10))
