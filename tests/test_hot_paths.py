"""The per-call path kept lean for issue 17: renewal on a precomputed deadline, errors mapped
without a context manager per call, SentMessage's raw copied cheaply. Behaviour, not speed:
nothing here measures time (the benchmarks do)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from connectparticipant_ext import (
    AccessDeniedError,
    ConnectionClosedError,
    ConnectionExpiredError,
    SentMessage,
    ThrottlingError,
    ValidationError,
)
from connectparticipant_ext.exceptions import ServiceError, map_client_errors, service_error_from

from _helpers import client_error


def test_map_client_errors_leaves_other_exceptions_alone():
    with pytest.raises(KeyError):
        with map_client_errors():
            raise KeyError("x")
    ours = ThrottlingError({"Error": {"Code": "ThrottlingException"}}, "SendMessage")
    with pytest.raises(ThrottlingError) as info:
        with map_client_errors():
            raise ours
    assert info.value is ours and info.value.__cause__ is None
    with map_client_errors():
        pass


def test_map_client_errors_is_safe_to_share_between_threads():
    barrier = threading.Barrier(8)
    caught: list[type[BaseException]] = []

    def work(code: str) -> None:
        barrier.wait(timeout=10)
        for _ in range(50):
            try:
                with map_client_errors():
                    raise client_error(code)
            except ServiceError as exc:
                caught.append(type(exc))

    codes = ["ThrottlingException", "ValidationException"] * 4
    threads = [threading.Thread(target=work, args=(code,)) for code in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert caught.count(ThrottlingError) == caught.count(ValidationError) == 200


def test_service_error_from():
    error = service_error_from(client_error("ValidationException"))
    assert type(error) is ValidationError and error.operation_name == "SendMessage"
    assert service_error_from(error) is error


def test_call_errors_are_mapped_and_chained(connection, monkeypatch):
    def refuse(**params):
        raise client_error("ThrottlingException")

    monkeypatch.setattr(connection.meta.client, "send_message", refuse)
    with pytest.raises(ThrottlingError) as info:
        connection.send_message("hi")
    assert isinstance(info.value.__cause__, ClientError) and not isinstance(info.value.__cause__, ServiceError)


def test_an_already_mapped_error_is_raised_as_is(connection, monkeypatch):
    ours = ValidationError({"Error": {"Code": "ValidationException"}}, "SendMessage")

    def refuse(**params):
        raise ours

    monkeypatch.setattr(connection.meta.client, "send_message", refuse)
    with pytest.raises(ValidationError) as info:
        connection.send_message("hi")
    assert info.value is ours


def test_a_token_already_past_its_renewal_time_renews_on_the_first_call(chat, participant, connection):
    stale = chat.Connection(
        connection.token, participant=participant, expires_at=datetime.now(timezone.utc) + timedelta(seconds=30)
    )
    # Issued "now" with 30 s left: renewal is due 15 s before expiry, not yet.
    stale.send_message("not due")
    assert stale.renewals == 0
    expired = chat.Connection(
        connection.token, participant=participant, expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)
    )
    expired.send_message("due")
    assert expired.renewals == 1
    assert expired.expires_at is not None and expired.expires_at > datetime.now(timezone.utc)
    expired.send_message("the new deadline is far away")
    assert expired.renewals == 1


def test_the_renewal_deadline_passes_with_real_time(chat, participant, connection):
    short = chat.Connection(
        connection.token, participant=participant, expires_at=datetime.now(timezone.utc) + timedelta(seconds=0.4)
    )
    # Lifetime 0.4 s: renewal is due at half of it. Wait until then (bounded), then call.
    deadline = time.monotonic() + 5
    while datetime.now(timezone.utc) < short.expires_at - timedelta(seconds=0.2) and time.monotonic() < deadline:
        time.sleep(0.05)
    short.send_message("after the deadline")
    assert short.renewals == 1


def test_an_expired_token_without_a_participant_is_refused_before_any_call(chat, connection, wire_calls):
    restored = chat.Connection(connection.token, expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    with pytest.raises(ConnectionExpiredError):
        restored.send_message("hi")
    assert "SendMessage" not in wire_calls


def test_closed_connections_fail_on_the_fast_path_too(connection, wire_calls):
    connection.send_message("warm")  # the fast path is taken from now on
    connection.disconnect()
    wire_calls.clear()
    with pytest.raises(ConnectionClosedError):
        connection.send_message("after")
    assert wire_calls == []


def test_access_denied_still_renews_once_and_retries(connection, mock_chat):
    mock_chat.revoke_connection_token(connection.token)
    sent = connection.send_message("after a revoked token")
    assert sent.id and connection.renewals == 1


def test_access_denied_after_the_retry_is_raised(connection, monkeypatch):
    def refuse(**params):
        raise client_error("AccessDeniedException")

    monkeypatch.setattr(connection.meta.client, "send_message", refuse)
    with pytest.raises(AccessDeniedError) as info:
        connection.send_message("hi")
    assert isinstance(info.value.__cause__, ClientError)
    assert connection.renewals == 1  # renewed once, retried once, then gave up


def test_sent_message_raw_is_a_copy_without_response_metadata():
    response = {"Id": "m", "AbsoluteTime": "2024-01-01T00:00:00.000Z", "ResponseMetadata": {"RequestId": "r"}}
    sent = SentMessage.from_response(response)
    assert sent.raw == {"Id": "m", "AbsoluteTime": "2024-01-01T00:00:00.000Z"}
    assert "ResponseMetadata" in response  # the caller's dict is not changed
    assert sent.absolute_time == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_sent_results_are_the_attrs_values_their_constructors_make():
    import attrs

    from connectparticipant_ext import SentEvent
    from connectparticipant_ext.models import _SENT_EVENT_SLOTS, _SENT_MESSAGE_SLOTS

    assert len(_SENT_MESSAGE_SLOTS) == len(attrs.fields(SentMessage))  # a new field needs a new slot store
    assert len(_SENT_EVENT_SLOTS) == len(attrs.fields(SentEvent))
    response = {
        "Id": "m",
        "AbsoluteTime": "2024-01-01T00:00:00.000Z",
        "MessageMetadata": {"MessageId": "m", "MessageProcessingStatus": "PROCESSING"},
    }
    sent = SentMessage.from_response(response)
    built = SentMessage(
        id="m",
        absolute_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
        message_metadata=sent.message_metadata,
        raw=dict(response),
    )
    assert sent == built and hash(sent) == hash(built) and repr(sent) == repr(built)
    assert sent.message_metadata is not None and sent.message_metadata.message_processing_status == "PROCESSING"
    assert attrs.evolve(sent, id="n").id == "n" and attrs.asdict(sent)["id"] == "m"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        sent.id = "x"  # type: ignore[misc]
    event = SentEvent.from_response({"Id": "e", "AbsoluteTime": None, "ResponseMetadata": {}})
    assert event == SentEvent(id="e", absolute_time=None) and event.raw == {"Id": "e", "AbsoluteTime": None}

    @attrs.frozen(kw_only=True)
    class Tagged(SentMessage):
        tag: str = "t"

    tagged = Tagged.from_response(response)  # a subclass goes through its own __init__
    assert type(tagged) is Tagged and tagged.tag == "t" and tagged.id == "m"
