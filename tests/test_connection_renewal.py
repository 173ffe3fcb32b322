"""Connection renewal and closing, path by path: successive renewals under concurrent threads,
the refreshed websocket, failed early renewals, the closed reason, and leaving a ``with`` block
while DisconnectParticipant fails."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest

import connectparticipant_ext.connection as connection_module
from connectparticipant_ext import (
    AccessDeniedError,
    ConnectionClosedError,
    ConnectionExpiredError,
    InternalServerError,
    Websocket,
)

pytestmark = pytest.mark.usefixtures("no_backoff")

THREADS = 8


class Clock:
    """The library's renewal clock (``connection._utcnow``), set by the test.

    It also records which threads asked for the time: a thread asks only after it has read
    the connection's generation, so once every thread has asked, they all saw the same one.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._askers: set[int] = set()
        self._changed = threading.Condition()

    def __call__(self) -> datetime:
        with self._changed:
            self._askers.add(threading.get_ident())
            self._changed.notify_all()
        return self.now

    def forget_askers(self) -> None:
        with self._changed:
            self._askers.clear()

    def wait_for_askers(self, count: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: len(self._askers) >= count, timeout=10)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(datetime.now(timezone.utc))
    monkeypatch.setattr(connection_module, "_utcnow", clock)
    return clock


@pytest.fixture
def renewal_answers(chat):
    """The parsed CreateParticipantConnection answers, in order, from the first one on."""
    answers: list[dict] = []

    def record(parsed, **kwargs) -> None:
        answers.append(parsed)

    events = chat.meta.client.meta.events
    events.register("after-call.connectparticipant.CreateParticipantConnection", record, unique_id="renewals")
    yield answers
    events.unregister("after-call.connectparticipant.CreateParticipantConnection", unique_id="renewals")


def _hold_renewals_until_every_thread_is_waiting(chat, clock: Clock, threads: int):
    """Make each CreateParticipantConnection wait until ``threads`` threads have read the generation."""

    def hold(**kwargs) -> None:
        clock.wait_for_askers(threads)

    chat.meta.client.meta.events.register(
        "before-call.connectparticipant.CreateParticipantConnection", hold, unique_id="hold-renewals"
    )


def _send_from_threads(connection, label: str) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            connection.send_message(f"{label} {n}")
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=30)
    return errors


def test_two_successive_renewals_under_concurrent_threads_each_renew_once(
    chat, mock_chat, participant, renewal_answers, clock, wire_calls
):
    connection = participant.create_connection()
    first_url = connection.websocket.url
    _hold_renewals_until_every_thread_is_waiting(chat, clock, THREADS)
    try:
        for round_number in (1, 2):
            wire_calls.clear()
            clock.forget_askers()
            clock.now = connection.expires_at - timedelta(seconds=10)
            # each new token lives a day past the clock's new reading, so it is not due at once
            mock_chat.settings.connection_lifetime = timedelta(days=round_number + 1)
            token_before = connection.token
            assert _send_from_threads(connection, f"round {round_number}") == []
            assert wire_calls.count("CreateParticipantConnection") == 1
            assert wire_calls.count("SendMessage") == THREADS
            assert connection.renewals == round_number
            assert connection.token != token_before
    finally:
        chat.meta.client.meta.events.unregister(
            "before-call.connectparticipant.CreateParticipantConnection", unique_id="hold-renewals"
        )
    latest = renewal_answers[-1]
    assert len(renewal_answers) == 3  # the first connection and two renewals
    assert connection.token == latest["ConnectionCredentials"]["ConnectionToken"]
    assert connection.websocket == Websocket.from_response(latest["Websocket"])
    assert connection.websocket.url != first_url
    assert connection.websocket.url != renewal_answers[1]["Websocket"]["Url"]


def test_a_renewal_asks_for_no_websocket_when_the_connection_had_none(participant, clock, renewal_answers):
    connection = participant.create_connection(websocket=False)
    clock.now = connection.expires_at - timedelta(seconds=10)
    connection.send_message("renewed")
    assert connection.renewals == 1
    assert "Websocket" not in renewal_answers[-1]
    assert connection.websocket is None


def test_renewal_reasons_are_logged(connection, mock_chat, clock, caplog):
    caplog.set_level(logging.INFO, logger="connectparticipant_ext.connection")
    connection.renew()
    mock_chat.revoke_connection_token(connection.token)
    connection.send_message("after revocation")
    clock.now = connection.expires_at - timedelta(seconds=10)
    connection.send_message("near expiry")
    renewed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("connection renewed")]
    assert renewed == [
        "connection renewed (asked for)",
        "connection renewed (access denied)",
        "connection renewed (token about to expire)",
    ]
    assert connection.renewals == 3


# -- the renewal margin -----------------------------------------------------------------------


def test_a_day_long_token_renews_60_seconds_before_expiry(connection, clock, wire_calls):
    clock.now = connection.expires_at - timedelta(seconds=60, microseconds=1)
    connection.send_message("not yet")
    assert connection.renewals == 0
    clock.now = connection.expires_at - timedelta(seconds=60)
    connection.send_message("now")
    assert connection.renewals == 1
    assert wire_calls == ["SendMessage", "CreateParticipantConnection", "SendMessage"]


def test_on_the_real_clock_path_a_token_renews_at_exactly_its_deadline(connection, monkeypatch, wire_calls):
    # The hot path compares time.time() with a precomputed deadline; it runs only while the
    # library's clock is the system one, so the fake clock stands in for both.
    deadline = connection.expires_at - timedelta(seconds=60)
    now = [deadline - timedelta(milliseconds=1)]

    def utcnow() -> datetime:
        return now[0]

    monkeypatch.setattr(connection_module, "_utcnow", utcnow)
    monkeypatch.setattr(connection_module, "_system_utcnow", utcnow)
    monkeypatch.setattr(connection_module, "_wall_time", lambda: now[0].timestamp())
    connection.send_message("not yet")
    assert connection.renewals == 0
    now[0] = deadline
    connection.send_message("now")
    assert connection.renewals == 1
    assert wire_calls == ["SendMessage", "CreateParticipantConnection", "SendMessage"]


def test_a_short_lived_token_renews_at_half_its_lifetime(chat, mock_chat, participant, clock):
    mock_chat.settings.connection_lifetime = timedelta(seconds=100)
    connection = participant.create_connection()
    lifetime = connection.expires_at - clock.now
    # the expiry is written to the millisecond: up to 1 ms earlier than 100 s after the clock's now
    assert timedelta(seconds=100) - timedelta(milliseconds=1) < lifetime < timedelta(seconds=110)
    clock.now = connection.expires_at - lifetime / 2 - timedelta(microseconds=1)
    connection.send_message("not yet")
    assert connection.renewals == 0
    clock.now = connection.expires_at - lifetime / 2
    connection.send_message("now")
    assert connection.renewals == 1


# -- without a participant ---------------------------------------------------------------------


def test_a_restored_token_is_refused_from_its_expiry_on_without_a_call(chat, connection, clock, wire_calls):
    restored = chat.Connection(connection.token, expires_at=connection.expires_at)
    clock.now = connection.expires_at - timedelta(microseconds=1)
    restored.send_message("just in time")
    assert wire_calls == ["SendMessage"]
    clock.now = connection.expires_at
    with pytest.raises(ConnectionExpiredError) as info:
        restored.send_message("too late")
    assert str(info.value) == (
        "the connection token has expired and this connection has no participant to renew it with"
    )
    assert wire_calls == ["SendMessage"]
    assert restored.renewals == 0


def test_renew_needs_a_participant(chat, connection, wire_calls):
    restored = chat.Connection(connection.token)
    with pytest.raises(ConnectionExpiredError) as info:
        restored.renew()
    assert str(info.value) == "this connection has no participant to renew it with"
    assert wire_calls == []


def test_a_restored_token_without_expiry_is_never_renewed_early(chat, participant, connection, clock, wire_calls):
    restored = chat.Connection(connection.token, participant=participant)
    assert restored.expires_at is None
    clock.now = connection.expires_at + timedelta(days=30)
    restored.send_message("no expiry known")
    assert restored.renewals == 0
    assert wire_calls == ["SendMessage"]


# -- failed renewals ---------------------------------------------------------------------------


def test_a_failed_early_renewal_keeps_the_token_while_it_is_valid(connection, mock_chat, clock, caplog, wire_calls):
    caplog.set_level(logging.WARNING, logger="connectparticipant_ext.connection")
    token = connection.token
    mock_chat.inject_faults(internal=1.0, operations=["CreateParticipantConnection"])
    clock.now = connection.expires_at - timedelta(seconds=10)
    sent = connection.send_message("on the old token")
    assert sent.id
    assert connection.token == token and connection.renewals == 0
    assert wire_calls[-1] == "SendMessage"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["renewing the connection failed; the current token is still valid"]
    assert isinstance(warnings[0].exc_info, tuple) and warnings[0].exc_info[1] is not None  # the traceback
    assert token not in caplog.text


def test_a_failed_renewal_at_expiry_raises_its_error(connection, mock_chat, clock, wire_calls):
    mock_chat.inject_faults(internal=1.0, operations=["CreateParticipantConnection"])
    clock.now = connection.expires_at
    wire_calls.clear()
    with pytest.raises(InternalServerError):
        connection.send_message("too late")
    assert "SendMessage" not in wire_calls
    assert not connection.closed


def test_a_refused_early_renewal_closes_the_connection(connection, connect_client, chat_contact, clock, wire_calls):
    connect_client.stop_contact(ContactId=chat_contact["ContactId"], InstanceId="instance-1")
    clock.now = connection.expires_at - timedelta(seconds=10)
    wire_calls.clear()
    with pytest.raises(AccessDeniedError):
        connection.send_message("the chat has ended")
    assert wire_calls == ["CreateParticipantConnection"]
    assert connection.closed


# -- the closed reason -------------------------------------------------------------------------


def test_after_a_refused_renewal_calls_say_why_the_connection_closed(connection, connect_client, chat_contact):
    connect_client.stop_contact(ContactId=chat_contact["ContactId"], InstanceId="instance-1")
    with pytest.raises(AccessDeniedError):
        connection.send_message("anyone there?")
    with pytest.raises(ConnectionClosedError) as info:
        connection.send_message("still?")
    assert str(info.value) == (
        "this connection is closed: the service refused to renew it (the chat has ended or the participant left)"
    )
    with pytest.raises(ConnectionClosedError, match="refused to renew it"):
        connection.renew()


def test_after_disconnect_calls_say_it_was_disconnected(connection):
    connection.disconnect()
    with pytest.raises(ConnectionClosedError) as info:
        connection.send_message("hello?")
    assert str(info.value) == "this connection is closed: it was disconnected"


def test_disconnect_after_the_participant_left_closes_quietly(connection, agent, wire_calls, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext.connection")
    agent.disconnect()  # the agent leaving ends the chat: the customer's calls are refused now
    wire_calls.clear()
    connection.disconnect()
    assert connection.closed
    assert wire_calls == ["DisconnectParticipant", "CreateParticipantConnection"]
    assert "DisconnectParticipant was refused: the participant had already left" in [
        r.getMessage() for r in caplog.records
    ]
    with pytest.raises(ConnectionClosedError, match="it was disconnected"):
        connection.send_message("hello?")


# -- leaving a with block ----------------------------------------------------------------------


def test_a_with_block_that_raises_keeps_its_exception_when_disconnect_fails(participant, mock_chat, caplog):
    caplog.set_level(logging.WARNING, logger="connectparticipant_ext.connection")
    with pytest.raises(KeyError, match="original"):
        with participant.create_connection() as conn:
            token = conn.token
            mock_chat.inject_faults(internal=1.0, operations=["DisconnectParticipant"])
            raise KeyError("original")
    assert not conn.closed  # the disconnect did not happen
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "disconnect failed while leaving a block that raised"
    assert record.exc_info is not None and isinstance(record.exc_info[1], InternalServerError)
    assert token not in caplog.text and participant.token not in caplog.text


def test_a_with_block_that_ends_normally_raises_a_failed_disconnect(participant, mock_chat, caplog):
    with pytest.raises(InternalServerError):
        with participant.create_connection() as conn:
            mock_chat.inject_faults(internal=1.0, operations=["DisconnectParticipant"])
    assert not conn.closed
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
