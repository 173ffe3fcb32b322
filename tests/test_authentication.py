"""Customer authentication: the initiated event, GetAuthenticationUrl within its window, each
outcome, cancel, timeouts, and the whole flow over the local server.

Sequence and content types: amazon-connect-chat-interface ChatSession.js
(_handleAuthenticationInitiated), amazon-connect-chatjs src/constants.js; the one-minute window:
botocore's GetAuthenticationUrl documentation.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connectparticipant_ext import (
    AuthenticationError,
    AuthenticationResult,
    AuthenticationStatus,
    AuthenticationTimeoutError,
    ChatService,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    TranscriptItem,
    ValidationError,
)
from connectparticipant_ext.authentication import (
    AUTHENTICATION_INITIATED,
    authentication_session_id,
    authentication_status,
)

from _helpers import EVENT, start_chat

REDIRECT = "https://shop.example.com/signed-in"


def test_status_content_types_are_the_services():
    assert {s.content_type for s in AuthenticationStatus} == {
        EVENT + "authentication.succeeded",
        EVENT + "authentication.failed",
        EVENT + "authentication.timeout",
        EVENT + "authentication.expired",
        EVENT + "authentication.cancelled",
    }


def test_event_helpers():
    initiated = TranscriptItem.from_response(
        {"Id": "e", "Type": "EVENT", "ContentType": AUTHENTICATION_INITIATED, "Content": '{"SessionId": "s"}'}
    )
    assert authentication_session_id(initiated) == "s"
    assert authentication_status(initiated) is None
    failed = TranscriptItem.from_response({"Id": "f", "Type": "EVENT", "ContentType": EVENT + "authentication.failed"})
    assert authentication_status(failed) is AuthenticationStatus.FAILED
    assert authentication_session_id(failed) is None
    broken = TranscriptItem.from_response({"Id": "b", "Type": "EVENT", "ContentType": AUTHENTICATION_INITIATED})
    assert authentication_session_id(broken) is None


@pytest.mark.parametrize("outcome", list(AuthenticationStatus), ids=lambda s: s.name)
def test_each_outcome(outcome, connection, mock_chat, chat_contact):
    contact_id = chat_contact["ContactId"]
    urls: list[str] = []
    with connection.stream() as stream:
        session_id = mock_chat.initiate_authentication(contact_id)

        def show(url: str) -> None:
            urls.append(url)
            mock_chat.finish_authentication(session_id, outcome.value)

        result = connection.authenticate(REDIRECT, stream=stream, on_url=show, timeout=20)
    assert isinstance(result, AuthenticationResult)
    assert result.status is outcome
    assert result.succeeded is (outcome is AuthenticationStatus.SUCCESSFUL)
    assert result.session_id == session_id
    assert result.item.content_type == outcome.content_type
    (url,) = urls
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_uri"] == [REDIRECT] and query["state"] == [session_id]
    assert urlsplit(url).path == "/oauth2/authorize"  # a Cognito authorize endpoint, as documented


def test_chatjs_outcome_names_are_accepted_by_the_backend(mock_chat, chat_contact):
    contact_id = chat_contact["ContactId"]
    for name, stored in (("successful", "succeeded"), ("canceled", "cancelled")):
        session_id = mock_chat.initiate_authentication(contact_id)
        mock_chat.finish_authentication(session_id, name)
        assert {s["SessionId"]: s["Outcome"] for s in mock_chat.authentication_sessions(contact_id)}[
            session_id
        ] == stored
    with pytest.raises(ValueError):
        mock_chat.finish_authentication(mock_chat.initiate_authentication(contact_id), "maybe")


def test_events_are_pushed_live_with_the_session_id(connection, mock_chat, chat_contact):
    with connection.stream() as stream:
        session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
        mock_chat.finish_authentication(session_id, "succeeded")
        events = [stream.get(timeout=10), stream.get(timeout=10)]
    assert [i.content_type for i in events] == [AUTHENTICATION_INITIATED, EVENT + "authentication.succeeded"]
    assert all(i.type == "EVENT" and i.participant_role == "SYSTEM" for i in events)
    assert [json.loads(i.content)["SessionId"] for i in events] == [session_id, session_id]
    # not kept: the GetTranscript reference does not list authentication events
    assert not [i for i in connection.transcript if "authentication" in (i.content_type or "")]


def test_a_session_opened_by_emit_event_is_known(connection, mock_chat, chat_contact):
    if not hasattr(mock_chat, "emit_event"):
        pytest.skip("this backend has no emit_event control yet")
    session_id = "0d32303e-528f-4f4e-bd27-656e3fef6b44"
    content = json.dumps({"SessionId": session_id})
    mock_chat.emit_event(chat_contact["ContactId"], "authentication.initiated", content)
    assert connection.get_authentication_url(session_id, REDIRECT).startswith("https://")
    mock_chat.emit_event(chat_contact["ContactId"], "authentication.failed")  # names no session: the latest
    with pytest.raises(ValidationError):
        connection.get_authentication_url(session_id, REDIRECT)


def test_two_step_flow_and_cancel(connection, mock_chat, chat_contact):
    with connection.stream() as stream:
        session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
        session = connection.start_authentication(REDIRECT, stream=stream, timeout=20)
        assert session.session_id == session_id
        assert session.url.startswith("https://")
        assert "?" in session.url and "***" in repr(session) and session_id in repr(session)
        assert session.result is None
        session.cancel()
        result = session.wait(timeout=20)
    assert result.status is AuthenticationStatus.CANCELED
    assert session.result is result and session.wait() is result
    assert mock_chat.authentication_sessions(chat_contact["ContactId"])[0]["Outcome"] == "cancelled"


def test_other_items_are_handed_back_in_order(connection, mock_chat, chat_contact, agent):
    contact_id = chat_contact["ContactId"]
    with connection.stream() as stream:
        agent.send_message("before")
        session_id = mock_chat.initiate_authentication(contact_id)
        other = mock_chat.initiate_authentication(contact_id)  # another session's outcome is not ours

        def show(url: str) -> None:
            agent.send_message("while signing in")
            mock_chat.finish_authentication(other, "failed")
            mock_chat.finish_authentication(session_id, "succeeded")

        result = connection.authenticate(REDIRECT, stream=stream, on_url=show, timeout=20)
    assert result.succeeded
    contents = [i.content for i in result.other_items if i.is_message]
    assert contents == ["before", "while signing in"]
    skipped = [authentication_status(i) for i in result.other_items if authentication_status(i)]
    assert skipped == [AuthenticationStatus.FAILED]


def test_a_known_session_id_skips_the_wait(connection, mock_chat, chat_contact, wire_calls):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    with connection.stream() as stream:
        session = connection.start_authentication(REDIRECT, stream=stream, session_id=session_id)
        assert wire_calls[-1] == "GetAuthenticationUrl"
        mock_chat.finish_authentication(session_id, "expired")
        assert session.wait(timeout=20).status is AuthenticationStatus.EXPIRED


def test_own_stream_when_none_is_given(connection, mock_chat, chat_contact):
    contact_id = chat_contact["ContactId"]
    started = threading.Event()
    result: dict[str, AuthenticationResult] = {}

    def run() -> None:
        result["r"] = connection.authenticate(REDIRECT, on_url=lambda url: started.set(), timeout=30)

    thread = threading.Thread(target=run)
    thread.start()
    # the flow opens its own live stream; send the request until it is seen
    session_id = None
    for _ in range(100):
        session_id = mock_chat.initiate_authentication(contact_id)
        if started.wait(timeout=0.2):
            break
    mock_chat.finish_authentication(
        next(s["SessionId"] for s in mock_chat.authentication_sessions(contact_id) if s["UrlsIssued"]), "succeeded"
    )
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert result["r"].succeeded and session_id is not None


# -- the URL window and the service's refusals ---------------------------------------------------


def test_url_is_refused_after_the_window(connection, mock_chat, chat_contact):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    mock_chat.advance_clock(61)
    with pytest.raises(ValidationError, match="one minute"):
        connection.get_authentication_url(session_id, REDIRECT)


def test_url_is_given_within_the_window_more_than_once(connection, mock_chat, chat_contact):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    mock_chat.advance_clock(timedelta(seconds=59))
    assert connection.get_authentication_url(session_id, REDIRECT) == connection.get_authentication_url(
        session_id, REDIRECT
    )


def test_a_short_window_control(connection, mock_chat, chat_contact):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"], url_window=5)
    mock_chat.advance_clock(6)
    with pytest.raises(ValidationError):
        connection.get_authentication_url(session_id, REDIRECT)


def test_url_is_refused_without_an_initiated_session(connection, mock_chat, chat_contact, connect_client, chat):
    with pytest.raises(ValidationError):
        connection.get_authentication_url("6f1b8a52-8e7b-4a36-9a47-3f1c2d4e5a6b", REDIRECT)
    with pytest.raises(ValidationError):
        connection.cancel_authentication("6f1b8a52-8e7b-4a36-9a47-3f1c2d4e5a6b")
    # another chat's session is not this participant's
    other = start_chat(connect_client, "Bo")
    foreign = mock_chat.initiate_authentication(other["ContactId"])
    with pytest.raises(ValidationError):
        connection.get_authentication_url(foreign, REDIRECT)


def test_url_is_refused_after_the_outcome(connection, mock_chat, chat_contact):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    mock_chat.finish_authentication(session_id, "timeout")
    with pytest.raises(ValidationError, match="ended"):
        connection.get_authentication_url(session_id, REDIRECT)
    with pytest.raises(ValidationError):
        connection.cancel_authentication(session_id)
    with pytest.raises(ValueError):
        mock_chat.finish_authentication(session_id, "succeeded")


# -- timeouts, the end of the chat, bad input ------------------------------------------------------


def test_no_request_within_the_timeout(connection):
    with connection.stream() as stream:
        with pytest.raises(AuthenticationTimeoutError, match="authentication.initiated") as caught:
            connection.start_authentication(REDIRECT, stream=stream, timeout=0.3)
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, AuthenticationError)


def test_no_outcome_within_the_timeout(connection, mock_chat, chat_contact):
    with connection.stream() as stream:
        mock_chat.initiate_authentication(chat_contact["ContactId"])
        with pytest.raises(AuthenticationTimeoutError, match="outcome"):
            connection.authenticate(REDIRECT, stream=stream, timeout=1.0)


def test_the_chat_ending_ends_the_flow(connection, mock_chat, chat_contact, connect_client):
    with connection.stream() as stream:
        mock_chat.initiate_authentication(chat_contact["ContactId"])

        def end(url: str) -> None:
            connect_client.stop_contact(InstanceId="instance-1", ContactId=chat_contact["ContactId"])

        with pytest.raises(AuthenticationError, match="ended"):
            connection.authenticate(REDIRECT, stream=stream, on_url=end, timeout=20)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"redirect_uri": ""}, InvalidArgumentError),
        ({"redirect_uri": "x" * 1025}, InvalidArgumentError),
        ({"redirect_uri": 3}, InvalidArgumentTypeError),
        ({"timeout": 0}, InvalidArgumentError),
        ({"timeout": "soon"}, InvalidArgumentTypeError),
        ({"timeout": float("nan")}, InvalidArgumentError),
        ({"timeout": -5}, InvalidArgumentError),
        ({"timeout": float("inf")}, InvalidArgumentError),
        ({"timeout": 1e308}, InvalidArgumentError),
        ({"session_id": "short"}, InvalidArgumentError),
        ({"on_url": "print"}, InvalidArgumentTypeError),
    ],
)
def test_bad_arguments_fail_before_any_call(connection, wire_calls, kwargs, error):
    arguments = {"redirect_uri": REDIRECT, **kwargs}
    redirect_uri = arguments.pop("redirect_uri")
    with pytest.raises(error):
        connection.authenticate(redirect_uri, **arguments)
    assert wire_calls == []


@pytest.mark.parametrize("bad", [float("nan"), -1, 1e308])
def test_bad_timeouts_of_the_two_step_flow_fail_before_any_call(connection, wire_calls, bad):
    with pytest.raises(InvalidArgumentError, match="timeout"):
        connection.start_authentication(REDIRECT, timeout=bad)
    assert wire_calls == []


def test_the_url_is_not_logged(connection, mock_chat, chat_contact, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    with connection.stream() as stream:
        session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
        seen: list[str] = []

        def show(url: str) -> None:
            seen.append(url)
            mock_chat.finish_authentication(session_id, "succeeded")

        connection.authenticate(REDIRECT, stream=stream, on_url=show, timeout=20)
    assert seen and urlsplit(seen[0]).query not in caplog.text


# -- over the local server ----------------------------------------------------------------------


def test_authentication_over_the_local_server(local_server):
    import boto3

    from connectparticipant_ext.testing import get_chat_backend

    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    contact = start_chat(connect)
    chat = ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    backend = get_chat_backend()
    with chat.Participant(contact["ParticipantToken"]).create_connection() as conn, conn.stream() as stream:
        session_id = backend.initiate_authentication(contact["ContactId"])
        session = conn.start_authentication(REDIRECT, stream=stream, timeout=20)
        assert session.session_id == session_id
        backend.finish_authentication(session_id, "succeeded")
        assert session.wait(timeout=20).succeeded
        # a second session, cancelled by the customer over the wire
        backend.initiate_authentication(contact["ContactId"])
        second = conn.start_authentication(REDIRECT, stream=stream, timeout=20)
        second.cancel()
        assert second.wait(timeout=20).status is AuthenticationStatus.CANCELED


def test_a_deeply_nested_initiated_event_has_no_session_id():
    deep = TranscriptItem.from_response(
        {"Id": "d", "Type": "EVENT", "ContentType": AUTHENTICATION_INITIATED, "Content": "[" * 100_000}
    )
    assert authentication_session_id(deep) is None


# -- what a customer acts on comes from the service ------------------------------------------------


def test_authentication_events_count_only_from_the_service(connection, mock_chat, chat_contact, caplog):
    contact_id = chat_contact["ContactId"]
    customer_id = chat_contact["ParticipantId"]
    with connection.stream() as stream:
        session_id = mock_chat.initiate_authentication(contact_id)
        content = json.dumps({"SessionId": session_id})

        def show(url: str) -> None:
            mock_chat.emit_event(contact_id, "authentication.succeeded", content, participant_id=customer_id)
            mock_chat.emit_event(contact_id, "authentication.failed", content)

        result = connection.authenticate(REDIRECT, stream=stream, on_url=show, timeout=20)
    assert result.status is AuthenticationStatus.FAILED
    [forged] = [i for i in result.other_items if i.content_type == EVENT + "authentication.succeeded"]
    assert forged.participant_role == "CUSTOMER"
    assert "authentication event from a CUSTOMER participant was ignored" in caplog.text


@pytest.mark.parametrize("role", ["CUSTOMER", "AGENT", "CUSTOM_BOT", "SUPERVISOR"])
def test_authentication_events_from_a_participants_role_are_not_believed(role):
    def event(name: str, **fields) -> TranscriptItem:
        return TranscriptItem.from_response(
            {"Id": name, "Type": "EVENT", "ContentType": EVENT + name, "Content": '{"SessionId": "s"}', **fields}
        )

    for name in ("authentication.initiated", "authentication.succeeded"):
        assert authentication_session_id(event(name, ParticipantRole=role)) is None
        assert authentication_status(event(name, ParticipantRole=role)) is None
    assert authentication_session_id(event("authentication.initiated", ParticipantRole="SYSTEM")) == "s"
    assert authentication_status(event("authentication.succeeded")) is AuthenticationStatus.SUCCESSFUL


def _answer_url_with(connection, monkeypatch, url):
    real = connection.call_operation

    def call(operation, **params):
        return {"AuthenticationUrl": url} if operation == "GetAuthenticationUrl" else real(operation, **params)

    monkeypatch.setattr(connection, "call_operation", call)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "http://login.evil.example/oauth2/authorize?state=x",
        "http://127.0.0.1.evil.example/",
        "ftp://files.example/x",
        "//evil.example/oauth2/authorize",
        "https:///no-host",
        "vbscript:msgbox",
    ],
)
def test_a_sign_in_url_that_is_not_https_never_reaches_on_url(connection, mock_chat, chat_contact, monkeypatch, url):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    _answer_url_with(connection, monkeypatch, url)
    shown: list[str] = []
    with connection.stream() as stream:
        with pytest.raises(AuthenticationError, match="only https") as info:
            connection.authenticate(REDIRECT, stream=stream, on_url=shown.append, session_id=session_id, timeout=5)
    assert shown == []
    assert url not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://connect-chat-1.auth.us-east-1.amazoncognito.com/oauth2/authorize?state=x",
        "http://127.0.0.1:8000/oauth2/authorize",
        "http://localhost:8000/oauth2/authorize",
        "http://[::1]:8000/oauth2/authorize",
    ],
)
def test_https_and_loopback_sign_in_urls_are_handed_on(connection, mock_chat, chat_contact, monkeypatch, url):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    _answer_url_with(connection, monkeypatch, url)
    with connection.stream() as stream:
        session = connection.start_authentication(REDIRECT, stream=stream, session_id=session_id)
        assert session.url == url
