"""Participant and Connection against the in-memory backend: the token switch, every call,
renewal, the closed state, validation before any call, idempotency and secrets."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

import connectparticipant_ext.connection as connection_module
from connectparticipant_ext import (
    AccessDeniedError,
    AuthenticationError,
    ConnectionClosedError,
    ConnectionExpiredError,
    ConnectionState,
    ConnectParticipantError,
    InternalServerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    MalformedResponseError,
    ResourceNotFoundError,
    SentEvent,
    SentMessage,
    ValidationError,
    View,
    Websocket,
)

from _helpers import CREDENTIALS, TYPING, WEBSOCKET, call_takes, run, unreachable, without_websocket


def messages(conn):
    return [item for item in conn.transcript if item.is_message]


def fast_forward(monkeypatch, conn, before_expiry: timedelta) -> None:
    """Make the library's clock read ``before_expiry`` ahead of the token's expiry."""
    now = conn.expires_at - before_expiry
    monkeypatch.setattr(connection_module, "_utcnow", lambda: now)


# -- the token switch --------------------------------------------------------------------------


def test_create_connection_switches_tokens(participant):
    conn = participant.create_connection()
    assert conn.token and conn.token != participant.token
    assert conn.expires_at is not None and conn.expires_at.tzinfo is not None
    assert conn.expires_at > datetime.now(timezone.utc)
    assert isinstance(conn.websocket, Websocket)
    assert conn.websocket.url.startswith(("ws://", "wss://"))
    assert conn.participant is participant
    assert conn.meta.client is participant.meta.client


def test_create_connection_joins_the_chat(connection, chat_contact):
    joined = [i for i in connection.transcript if i.event == "participant.joined"]
    assert len(joined) == 1
    assert joined[0].participant_role == "CUSTOMER"


def test_reconnect_without_joining_again(participant, connection):
    again = participant.create_connection(connect_participant=False, websocket=False)
    assert again.websocket is None
    assert again.token != connection.token
    assert [i.event for i in again.transcript if i.event == "participant.joined"] == ["participant.joined"]


def test_connection_restored_from_a_stored_token(chat, connection):
    restored = chat.Connection(connection.token)
    sent = restored.send_message("from a restored connection")
    assert sent.id in [m.id for m in messages(connection)]
    assert restored.expires_at is None and restored.participant is None


# -- every call -------------------------------------------------------------------------------


def test_send_message(connection):
    sent = connection.send_message("Hi, I need help with my order")
    assert isinstance(sent, SentMessage)
    assert sent.absolute_time is not None and sent.absolute_time.tzinfo is not None
    [item] = [m for m in messages(connection) if m.id == sent.id]
    assert item.content == "Hi, I need help with my order"
    assert item.content_type == "text/plain"
    assert item.participant_role == "CUSTOMER"
    assert item.display_name == "Ann"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("**bold**", "text/markdown"),
        ('{"a": 1}', "application/json"),
        ('{"templateType": "ListPicker"}', "application/vnd.amazonaws.connect.message.interactive.response"),
    ],
)
def test_send_message_content_types(chat, connect_client, content, content_type):
    # A contact accepts only the types it was started with (SupportedMessagingContentTypes).
    contact = connect_client.start_chat_contact(
        InstanceId="instance-1",
        ContactFlowId="flow-1",
        ParticipantDetails={"DisplayName": "Ann"},
        SupportedMessagingContentTypes=["text/plain", content_type],
    )
    connection = chat.Participant(contact["ParticipantToken"]).create_connection()
    sent = connection.send_message(content, content_type=content_type)
    [item] = [m for m in messages(connection) if m.id == sent.id]
    assert (item.content, item.content_type) == (content, content_type)


def test_send_message_with_the_same_client_token_is_sent_once(connection):
    first = connection.send_message("once", client_token="token-1")
    second = connection.send_message("once", client_token="token-1")
    assert first.id == second.id
    assert [m.content for m in messages(connection)].count("once") == 1


def test_send_typing(connection):
    event = connection.send_typing()
    assert isinstance(event, SentEvent)
    # typing is pushed live but not kept in the transcript (see tests/fidelity)
    assert not any(i.event == "typing" for i in connection.transcript)


@pytest.mark.parametrize("bad", [float("nan"), -1, float("inf"), 1e308])
def test_a_bad_typing_throttle_is_refused_before_any_call(connection, wire_calls, bad):
    connection.typing_throttle = bad
    with pytest.raises(InvalidArgumentError, match="typing_throttle"):
        connection.send_typing()
    assert wire_calls == []


def test_receipts_reach_the_message_metadata(connection, agent):
    sent = agent.send_message("How can I help?")
    connection.send_delivered_receipt(sent.id)
    connection.send_read_receipt(sent.id)
    [item] = [m for m in agent.transcript if m.id == sent.id]
    assert item.message_metadata is not None
    [receipt] = item.message_metadata.receipts
    assert receipt.delivered_at is not None and receipt.read_at is not None


def test_acknowledge_connection(connection):
    assert isinstance(connection.acknowledge_connection(), SentEvent)


def test_describe_view(connection, mock_chat):
    token = mock_chat.register_view(name="Guide", template="<p>hi</p>", actions=["Submit"])
    view = connection.describe_view(token)
    assert isinstance(view, View)
    assert view.name == "Guide"
    assert view.content is not None and "Submit" in view.content.actions


def test_describe_unknown_view(connection):
    with pytest.raises(ResourceNotFoundError) as info:
        connection.describe_view("no-such-view")
    assert isinstance(info.value, ClientError)
    assert info.value.code == "ResourceNotFoundException"


def test_authentication_url_and_cancel(connection, mock_chat, chat_contact):
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])  # the flow's authentication.initiated
    url = connection.get_authentication_url(session_id, "https://example.com/back")
    assert url.startswith("https://")
    connection.cancel_authentication(session_id)


# -- disconnect and the closed state ------------------------------------------------------------


def test_disconnect_leaves_and_closes(connection, agent, wire_calls, mock_chat, chat_contact):
    agent.disconnect()
    assert agent.closed
    assert wire_calls == ["DisconnectParticipant"]
    # the agent leaving ends the chat, so the customer can no longer read it: ask the backend
    items = mock_chat.get_chat(chat_contact["ContactId"]).items
    left = [i for i in items if i["ContentType"].endswith("participant.left")]
    assert [i["DisplayName"] for i in left] == ["Bob"]


def test_customer_leaving_ends_the_chat(connection, agent):
    connection.disconnect()
    with pytest.raises(AccessDeniedError):
        agent.send_message("are you still there?")
    assert agent.closed


CLOSED_CALLS = [
    lambda c: c.send_message("hi"),
    lambda c: c.send_event(TYPING),
    lambda c: c.send_typing(),
    lambda c: c.send_read_receipt("m"),
    lambda c: c.send_delivered_receipt("m"),
    lambda c: c.describe_view("v"),
    lambda c: c.get_authentication_url("12345678-1234-1234-1234-123456789012", "https://x"),
    lambda c: c.cancel_authentication("12345678-1234-1234-1234-123456789012"),
    lambda c: list(c.transcript),
    lambda c: c.Attachment("a").url(),
    lambda c: c.upload_attachment(b"data", name="a.txt"),
    lambda c: c.renew(),
]


@pytest.mark.parametrize("call", CLOSED_CALLS)
def test_every_call_after_disconnect_raises_without_a_network_call(connection, wire_calls, call):
    connection.disconnect()
    wire_calls.clear()
    with pytest.raises(ConnectionClosedError):
        call(connection)
    assert wire_calls == []


def test_disconnect_twice_is_harmless(connection, wire_calls):
    connection.disconnect()
    connection.disconnect()
    assert wire_calls == ["DisconnectParticipant"]


def test_context_manager_disconnects(participant):
    with participant.create_connection() as conn:
        conn.send_message("bye")
    assert conn.closed


def test_context_manager_keeps_the_original_exception(participant, connect_client, chat_contact):
    with pytest.raises(KeyError):
        with participant.create_connection():
            connect_client.stop_contact(ContactId=chat_contact["ContactId"], InstanceId="instance-1")
            raise KeyError("original")


def test_ended_chat_refuses_then_closes(connection, connect_client, chat_contact, wire_calls):
    connect_client.stop_contact(ContactId=chat_contact["ContactId"], InstanceId="instance-1")
    with pytest.raises(AccessDeniedError):
        connection.send_message("anyone there?")
    assert connection.closed
    wire_calls.clear()
    with pytest.raises(ConnectionClosedError):
        connection.send_message("still?")
    assert wire_calls == []


# -- renewal ----------------------------------------------------------------------------------


def test_renews_before_expiry(connection, monkeypatch, wire_calls):
    old_token = connection.token
    fast_forward(monkeypatch, connection, timedelta(seconds=30))
    connection.send_message("still here")
    assert connection.renewals == 1
    assert connection.token != old_token
    assert wire_calls == ["CreateParticipantConnection", "SendMessage"]


def test_renewal_does_not_join_again(connection, monkeypatch):
    fast_forward(monkeypatch, connection, timedelta(seconds=30))
    connection.send_message("still here")
    assert [i.event for i in connection.transcript if i.event == "participant.joined"] == ["participant.joined"]


def test_no_renewal_while_far_from_expiry(connection, wire_calls):
    connection.send_message("hi")
    assert connection.renewals == 0
    assert wire_calls == ["SendMessage"]


def test_renews_once_after_access_denied(connection, mock_chat, wire_calls):
    old_token = connection.token
    mock_chat.revoke_connection_token(old_token)
    sent = connection.send_message("after revocation")
    assert connection.renewals == 1
    assert wire_calls == ["SendMessage", "CreateParticipantConnection", "SendMessage"]
    assert [m.id for m in messages(connection)].count(sent.id) == 1


def test_access_denied_twice_is_raised(connection, mock_chat, monkeypatch):
    real_renew = connection._renew

    def renew_then_revoke(*args, **kwargs):
        real_renew(*args, **kwargs)
        mock_chat.revoke_connection_token(connection.token)

    monkeypatch.setattr(connection, "_renew", renew_then_revoke)
    mock_chat.revoke_connection_token(connection.token)
    with pytest.raises(AccessDeniedError):
        connection.send_message("refused twice")
    assert connection.renewals == 1


def test_sixteen_threads_renew_once_after_access_denied(connection, mock_chat):
    mock_chat.revoke_connection_token(connection.token)
    _burst(connection, 16)
    assert connection.renewals == 1


def test_sixteen_threads_renew_once_near_expiry(connection, monkeypatch):
    fast_forward(monkeypatch, connection, timedelta(seconds=10))
    expiry_seen = connection.expires_at
    _burst(connection, 16)
    assert connection.renewals == 1
    assert connection.expires_at != expiry_seen


def _burst(connection, threads: int) -> None:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    sent: list[str] = []

    def worker(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            sent.append(connection.send_message(f"burst {n}").id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=30)
    assert errors == []
    contents = [m.content for m in messages(connection)]
    assert sorted(c for c in contents if c.startswith("burst")) == sorted(f"burst {n}" for n in range(threads))


def test_expired_connection_without_participant(chat, connection, monkeypatch, wire_calls):
    restored = chat.Connection(connection.token, expires_at=connection.expires_at)
    fast_forward(monkeypatch, connection, timedelta(seconds=-1))
    with pytest.raises(ConnectionExpiredError):
        restored.send_message("too late")
    assert wire_calls == []


def test_restored_connection_with_participant_renews(chat, participant, connection, mock_chat):
    restored = chat.Connection(connection.token, participant=participant)
    mock_chat.revoke_connection_token(connection.token)
    restored.send_message("renewed")
    assert restored.renewals == 1


# -- a fresh websocket URL --------------------------------------------------------------------


def test_refresh_websocket_keeps_a_fresh_url_and_the_token(connection, participant, monkeypatch, wire_calls):
    asked: list[dict] = []
    real_create = participant.create_participant_connection

    def create(**kwargs):
        asked.append(kwargs)
        return real_create(**kwargs)

    monkeypatch.setattr(participant, "create_participant_connection", create)
    old, token = connection.websocket, connection.token
    fresh = connection.refresh_websocket()
    assert asked == [{"connect_participant": False, "websocket": True, "credentials": False}]
    assert wire_calls == ["CreateParticipantConnection"]
    assert isinstance(fresh, Websocket) and connection.websocket == fresh and fresh.url != old.url
    assert connection.token == token and connection.renewals == 0


def test_refresh_websocket_needs_an_answer_with_a_url(connection, participant, monkeypatch):
    old = connection.websocket
    monkeypatch.setattr(participant, "create_participant_connection", lambda **kwargs: {})
    with pytest.raises(MalformedResponseError, match="Websocket.Url is missing"):
        connection.refresh_websocket()
    assert connection.websocket == old


def test_refresh_websocket_needs_an_open_connection_with_a_participant(chat, connection, wire_calls):
    restored = chat.Connection(connection.token)
    with pytest.raises(ConnectionExpiredError) as info:
        restored.refresh_websocket()
    assert str(info.value) == "this connection has no participant to ask for a websocket URL with"
    connection.disconnect()
    wire_calls.clear()
    with pytest.raises(ConnectionClosedError, match="it was disconnected"):
        connection.refresh_websocket()
    assert wire_calls == []


# -- validation before any call ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "mentions"),
    [
        (lambda c: c.send_message(""), InvalidArgumentError, "content"),
        (lambda c: c.send_message("x" * 16385), InvalidArgumentError, "16384"),
        (lambda c: c.send_message(None), InvalidArgumentTypeError, "content"),
        (lambda c: c.send_message(b"bytes"), InvalidArgumentTypeError, "content"),
        (lambda c: c.send_message("hi", content_type="text/html"), InvalidArgumentError, "content_type"),
        (lambda c: c.send_message("{not json", content_type="application/json"), InvalidArgumentError, "JSON"),
        (lambda c: c.send_message("[" * 10000, content_type="application/json"), InvalidArgumentError, "JSON"),
        (lambda c: c.send_message("hi", client_token=""), InvalidArgumentError, "client_token"),
        (lambda c: c.send_message("hi", client_token="x" * 501), InvalidArgumentError, "client_token"),
        (lambda c: c.send_event("application/vnd.amazonaws.connect.event.bogus"), InvalidArgumentError, "content_type"),
        (lambda c: c.send_event(TYPING, content=""), InvalidArgumentError, "content"),
        (lambda c: c.send_read_receipt(""), InvalidArgumentError, "message_id"),
        (lambda c: c.send_delivered_receipt(42), InvalidArgumentTypeError, "message_id"),
        (lambda c: c.describe_view(""), InvalidArgumentError, "view_token"),
        (lambda c: c.get_authentication_url("short", "https://x"), InvalidArgumentError, "session_id"),
        (
            lambda c: c.get_authentication_url("12345678-1234-1234-1234-123456789012", ""),
            InvalidArgumentError,
            "redirect_uri",
        ),
        (lambda c: c.cancel_authentication(None), InvalidArgumentTypeError, "session_id"),
        (lambda c: c.Attachment(""), InvalidArgumentError, "attachment_id"),
    ],
)
def test_bad_input_fails_before_any_call(connection, wire_calls, call, error, mentions):
    with pytest.raises(error) as info:
        call(connection)
    assert isinstance(info.value, ConnectParticipantError)
    assert isinstance(info.value, (ValueError, TypeError))
    assert mentions in str(info.value)
    assert wire_calls == []


INTERACTIVE_RESPONSE = "application/vnd.amazonaws.connect.message.interactive.response"
NOT_AN_OBJECT = f"content must be a JSON object for content_type {INTERACTIVE_RESPONSE}"
EMPTY_ACTION = "content's action must be a non-empty string in an interactive response"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", NOT_AN_OBJECT),
        ('["a list"]', NOT_AN_OBJECT),
        ('"a string"', NOT_AN_OBJECT),
        ("[" * 10000, NOT_AN_OBJECT),
        ('{"action": ""}', EMPTY_ACTION),
        ('{"action": null}', EMPTY_ACTION),
        ('{"action": 1}', EMPTY_ACTION),
    ],
)
def test_an_interactive_response_is_a_json_object_whose_action_is_not_empty(connection, wire_calls, content, message):
    with pytest.raises(InvalidArgumentError) as info:
        connection.send_message(content, content_type=INTERACTIVE_RESPONSE)
    assert str(info.value) == message
    assert wire_calls == []


def test_an_interactive_response_with_an_action_or_none_is_sent(chat, connect_client):
    contact = connect_client.start_chat_contact(
        InstanceId="instance-1",
        ContactFlowId="flow-1",
        ParticipantDetails={"DisplayName": "Ann"},
        SupportedMessagingContentTypes=["text/plain", INTERACTIVE_RESPONSE],
    )
    connection = chat.Participant(contact["ParticipantToken"]).create_connection()
    for content in ("{}", '{"action": " "}', '{"action": "Submit", "data": {}}'):
        sent = connection.send_message(content, content_type=INTERACTIVE_RESPONSE)
        [item] = [m for m in messages(connection) if m.id == sent.id]
        assert item.content == content


@pytest.mark.parametrize("token", [None, 123, b"bytes", "", "   "])
def test_bad_participant_token(chat, token):
    with pytest.raises((InvalidArgumentError, InvalidArgumentTypeError)) as info:
        chat.Participant(token)
    assert "participant token" in str(info.value)


@pytest.mark.parametrize("token", [None, 123, ""])
def test_bad_connection_token(chat, token):
    with pytest.raises((InvalidArgumentError, InvalidArgumentTypeError)):
        chat.Connection(token)


def test_unknown_participant_token_is_access_denied(chat):
    with pytest.raises(AccessDeniedError):
        chat.Participant("not-a-real-token").create_connection()


# -- secrets ----------------------------------------------------------------------------------


def test_no_secret_in_repr_str_logs_or_errors(chat, participant, connection, mock_chat, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext")
    secrets = {participant.token, connection.token}
    texts = [repr(participant), str(participant), repr(connection), str(connection), repr(connection.websocket)]
    connection.send_message("hello")
    mock_chat.revoke_connection_token(connection.token)
    connection.send_message("after renewal")
    secrets.add(connection.token)
    texts += [repr(connection)]
    for bad in (
        lambda: chat.Participant("not-a-real-" + participant.token).create_connection(),
        lambda: chat.Connection(connection.token + "x").send_message("x"),
    ):
        with pytest.raises(ConnectParticipantError) as info:
            bad()
        texts += [str(info.value), repr(info.value)]
    texts += [record.getMessage() for record in caplog.records]
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob
    websocket_query = connection.websocket.url.partition("?")[2]
    if websocket_query:
        assert websocket_query not in blob


def test_sent_message_value_object(connection):
    sent = connection.send_message("hi")
    assert sent == SentMessage.from_response(sent.raw)
    assert hash(sent) == hash(SentMessage.from_response(sent.raw))
    assert "ResponseMetadata" not in sent.raw
    with pytest.raises(AttributeError):
        sent.id = "other"  # type: ignore[misc]


def test_call_operation_is_the_seam_for_any_operation(connection, wire_calls):
    connection.send_message("seam")
    page = connection.call_operation("GetTranscript", MaxResults=100, ScanDirection="BACKWARD")
    assert any(item.get("Content") == "seam" for item in page["Transcript"])
    with pytest.raises(ValidationError):
        connection.call_operation("GetTranscript", ScanDirection="FORWARD")  # needs a StartPosition
    assert wire_calls[-2:] == ["GetTranscript", "GetTranscript"]


def test_an_operations_method_name_is_worked_out_once(connection, monkeypatch):
    worked_out: list[str] = []
    real_xform_name = connection_module.xform_name

    def xform_name(operation: str) -> str:
        worked_out.append(operation)
        return real_xform_name(operation)

    monkeypatch.setattr(connection_module, "_method_names", {})  # as in a fresh process
    monkeypatch.setattr(connection_module, "xform_name", xform_name)
    connection.send_message("first")
    connection.send_message("second")
    assert worked_out == ["SendMessage"]
    assert connection_module._method_names == {"SendMessage": "send_message"}


def test_other_resources_reach_a_connection_only_through_its_seams():
    import ast
    from pathlib import Path

    import connectparticipant_ext

    package = Path(connectparticipant_ext.__file__).parent
    for name in ("attachments.py", "transcript.py"):
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        private = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and (
                (isinstance(node.value, ast.Name) and node.value.id == "connection")
                or (isinstance(node.value, ast.Attribute) and node.value.attr in ("connection", "_connection"))
            )
        }
        assert private == set(), name


# -- what a connection shows, logs and refuses to read ---------------------------------------------


def test_repr_shows_state_and_expiry_but_no_token(chat, connection):
    expires = connection.expires_at.isoformat()
    assert repr(connection) == f"Connection(state='open', expires_at='{expires}', token=***)"
    assert repr(chat.Connection(connection.token)) == "Connection(state='open', expires_at=None, token=***)"
    connection.disconnect()
    assert repr(connection) == f"Connection(state='closed', expires_at='{expires}', token=***)"
    assert connection.state is ConnectionState.CLOSED and connection.closed


def test_a_connection_exposes_its_service_and_client(chat, participant, connection):
    assert connection.service is chat
    assert connection.meta.client is chat.meta.client
    assert connection.participant is participant
    assert connection.state is ConnectionState.OPEN and not connection.closed
    restored = chat.Connection(connection.token)
    assert restored.participant is None and restored.websocket is None and restored.webrtc is None


def test_each_call_is_logged_with_the_ids_it_returned(connection, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext.connection")
    sent = connection.send_message("logged")
    upload = connection.start_attachment_upload("a.txt", 1, "text/plain")
    items = list(connection.transcript)
    connection.disconnect()
    lines = [r.getMessage() for r in caplog.records if r.name == "connectparticipant_ext.connection"]
    expected = [
        f"SendMessage Id={sent.id} took ",
        f"StartAttachmentUpload AttachmentId={upload.attachment_id} took ",
        f"GetTranscript items={len(items)} took ",
        "DisconnectParticipant took ",
    ]
    assert [line.rpartition(" took ")[0] + " took " for line in lines] == expected
    assert all(line.endswith(" ms") for line in lines)
    assert connection.token not in caplog.text


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([], "ConnectionCredentials is missing or not a map"),
        ({"ConnectionCredentials": "token"}, "ConnectionCredentials is missing or not a map"),
        ({"ConnectionCredentials": {"ConnectionToken": ""}}, "ConnectionToken is missing or not a string"),
        ({"ConnectionCredentials": {"ConnectionToken": 5}}, "ConnectionToken is missing or not a string"),
    ],
)
def test_a_connection_answer_without_a_token_is_malformed(chat, participant, monkeypatch, answer, problem):
    monkeypatch.setattr(chat.meta.client, "create_participant_connection", lambda **kwargs: answer)
    with pytest.raises(MalformedResponseError) as info:
        participant.create_connection()
    assert info.value.operation == "CreateParticipantConnection"
    assert str(info.value).startswith("CreateParticipantConnection returned a malformed answer: ")
    assert str(info.value).endswith(problem)


def test_optional_parts_of_a_connection_answer(chat, participant, monkeypatch):
    expiry = "2030-01-02T03:04:05.000Z"
    answer = {"ConnectionCredentials": {"ConnectionToken": "t", "Expiry": expiry}, "WebRTCConnection": "junk"}
    monkeypatch.setattr(chat.meta.client, "create_participant_connection", lambda **kwargs: answer)
    conn = participant.create_connection()
    assert conn.token == "t"
    assert conn.expires_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert conn.websocket is None and conn.webrtc is None


def test_expires_at_must_be_aware(chat):
    for bad in (datetime(2030, 1, 1), "2030-01-01T00:00:00Z"):
        with pytest.raises(InvalidArgumentError) as info:
            chat.Connection("t", expires_at=bad)
        assert str(info.value) == "expires_at must be a timezone-aware datetime"


def test_typing_is_sent_once_per_throttle_window_unless_forced(connection, wire_calls):
    assert connection.send_typing() is not None
    assert connection.send_typing() is None
    assert connection.send_typing(force=True) is not None
    connection.typing_throttle = 0
    assert connection.send_typing() is not None
    assert wire_calls == ["SendEvent"] * 3


def test_typing_that_failed_to_send_is_not_throttled(connection, mock_chat, no_backoff):
    mock_chat.inject_faults(internal=1.0, operations=["SendEvent"])
    with pytest.raises(InternalServerError):
        connection.send_typing()
    mock_chat.clear_faults()
    assert connection.send_typing() is not None


def test_each_send_has_its_own_client_token(connection, monkeypatch):
    tokens: list[str] = []
    events = connection.meta.client.meta.events

    def record(params, **kwargs):
        tokens.append(params["ClientToken"])

    events.register("before-parameter-build.connectparticipant", record, unique_id="client-tokens")
    try:
        connection.send_message("a")
        connection.send_message("b")
        connection.send_typing(force=True)
        connection.disconnect()
    finally:
        events.unregister("before-parameter-build.connectparticipant", unique_id="client-tokens")
    assert len(set(tokens)) == 4
    assert all(len(token) == 36 for token in tokens)  # uuid4 strings


# -- what a connection hands on to the stream, the authentication flow and interactive replies --------

SESSION_ID = "12345678-1234-1234-1234-123456789012"


def _close(stream) -> None:
    if hasattr(stream, "aclose"):
        run(stream.aclose)  # on a loop in a thread of its own: Playwright's may run in this one
    else:
        stream.close()


@pytest.mark.parametrize("method", ["stream", "astream"])
def test_stream_hands_on_each_of_its_arguments(connection, wire_calls, method):
    open_stream = getattr(connection, method)
    stream = open_stream(since="item-1", partial_messages=True, receipts=True, reconnect_attempts=3)
    try:
        assert stream.receipts_enabled
    finally:
        _close(stream)
    refused = [
        ({"history": True, "since": "item-1"}, InvalidArgumentError, "give history=True or since=, not both"),
        ({"since": ""}, InvalidArgumentError, "since must be a non-empty item id"),
        ({"history": 1}, InvalidArgumentTypeError, "history must be True or False"),
        ({"partial_messages": "yes"}, InvalidArgumentTypeError, "partial_messages must be True or False"),
        ({"receipts": "yes"}, InvalidArgumentTypeError, "receipts must be True or False"),
        ({"reconnect_attempts": -1}, InvalidArgumentError, "reconnect_attempts must be 0 or more"),
    ]
    for arguments, error, message in refused:
        with pytest.raises(error) as info:
            open_stream(**arguments)
        assert str(info.value) == message
    assert wire_calls == []


class EndedStream:
    """A chat stream that has ended: the authentication flow reads nothing more from it."""

    ended = True
    end_reason = "the test ended it"

    def __init__(self):
        self.closed = False

    def get(self, timeout=None):
        return None

    def close(self):
        self.closed = True


def test_start_authentication_hands_on_each_of_its_arguments(connection, mock_chat, chat_contact, wire_calls):
    with pytest.raises(InvalidArgumentError) as info:
        connection.start_authentication("", session_id=SESSION_ID)
    assert str(info.value) == "redirect_uri must not be empty"
    with pytest.raises(InvalidArgumentError) as info:
        connection.start_authentication("https://example.com/back", timeout=0, session_id=SESSION_ID)
    assert str(info.value).startswith("timeout must be a finite number of seconds, more than 0")
    with pytest.raises(InvalidArgumentError) as info:
        connection.start_authentication("https://example.com/back", timeout=0.01, session_id="short")
    assert str(info.value) == "session_id must have at least 36 characters"
    assert wire_calls == []
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    stream = EndedStream()
    session = connection.start_authentication("https://example.com/back", stream=stream, session_id=session_id)
    assert session.session_id == session_id and session.url.startswith("https://")
    assert wire_calls == ["GetAuthenticationUrl"]
    with pytest.raises(AuthenticationError) as info:
        session.wait(timeout=5)
    assert str(info.value) == "the chat stream ended before the authentication outcome arrived (the test ended it)"
    session.close()
    assert not stream.closed  # the caller's stream is the caller's to close


def test_authenticate_hands_on_each_of_its_arguments(connection, mock_chat, chat_contact, wire_calls):
    with pytest.raises(InvalidArgumentTypeError) as info:
        connection.authenticate("https://example.com/back", on_url="print", session_id=SESSION_ID)
    assert str(info.value) == "on_url must be callable, not str"
    with pytest.raises(InvalidArgumentError) as info:
        connection.authenticate("https://example.com/back", timeout=-1, session_id=SESSION_ID)
    assert str(info.value).startswith("timeout must be a finite number of seconds, more than 0")
    with pytest.raises(InvalidArgumentError) as info:
        connection.authenticate("h" * 1025, timeout=0.01, session_id=SESSION_ID)
    assert str(info.value) == "redirect_uri has 1025 characters; the limit is 1024"
    with pytest.raises(InvalidArgumentError) as info:
        connection.authenticate("https://example.com/back", timeout=0.01, session_id=SESSION_ID + "0")
    assert str(info.value) == "session_id has 37 characters; the limit is 36"
    assert wire_calls == []
    session_id = mock_chat.initiate_authentication(chat_contact["ContactId"])
    urls: list[str] = []
    with pytest.raises(AuthenticationError) as info:
        connection.authenticate(
            "https://example.com/back", stream=EndedStream(), on_url=urls.append, timeout=5, session_id=session_id
        )
    assert str(info.value) == "the chat stream ended before the authentication outcome arrived (the test ended it)"
    assert len(urls) == 1 and urls[0].startswith("https://")


LIST_PICKER = {
    "templateType": "ListPicker",
    "version": "1.0",
    "data": {"content": {"title": "Fruit?", "elements": [{"title": "Apple"}, {"title": "Orange"}]}},
}
VIEW_RESOURCE = {  # answered with an interactive response, not plain text
    "templateType": "ViewResource",
    "version": "1.0",
    "data": {"content": {"viewId": "view-123", "Actions": ["Submit", "Cancel"], "InputSchema": "{}", "Template": "{}"}},
}


@pytest.mark.parametrize(("template", "choice"), [(LIST_PICKER, "Orange"), (VIEW_RESOURCE, "Submit")])
def test_reply_to_sends_the_reply_the_template_asks_for(connection, monkeypatch, template, choice):
    from connectparticipant_ext.interactive import build_reply, parse_template

    picker = parse_template(template)
    sent: list[dict] = []

    def record(operation, **params):  # the chat need not take interactive responses
        sent.append(params)
        return {"Id": "m-1", "AbsoluteTime": "2026-01-02T03:04:05.678Z"}

    monkeypatch.setattr(connection, "call_operation", record)
    assert connection.reply_to(picker, choice, client_token="reply-1").id == "m-1"
    expected = build_reply(picker, choice)
    [params] = sent
    assert (params["Content"], params["ContentType"]) == (expected.content, expected.content_type)
    assert params["ClientToken"] == "reply-1"


def test_typing_may_be_sent_again_once_the_throttle_has_passed(connection, monkeypatch, wire_calls):
    now = [1000.0]
    monkeypatch.setattr(connection_module.time, "monotonic", lambda: now[0])
    connection.typing_throttle = 10
    assert connection.send_typing() is not None
    now[0] += 9.999
    assert connection.send_typing() is None
    now[0] = 1010.0  # exactly one throttle later
    assert connection.send_typing() is not None
    connection.typing_throttle = 0
    assert connection.send_typing() is not None  # no time has passed: 0 turns the throttle off
    assert wire_calls == ["SendEvent"] * 3


def test_client_tokens_given_are_the_ones_sent(connection, monkeypatch):
    sent: list[tuple[str, dict]] = []
    real_call = connection.call_operation

    def record(operation, **params):
        sent.append((operation, params))
        return real_call(operation, **params)

    monkeypatch.setattr(connection, "call_operation", record)
    connection.send_event(TYPING, client_token="event-1")
    connection.start_attachment_upload("a.txt", 1, "text/plain", client_token="start-1")
    progress: list[tuple[int, int]] = []
    connection.upload_attachment(b"ab", name="b.txt", client_token="start-2", progress=lambda *p: progress.append(p))
    tokens = [(operation, params["ClientToken"]) for operation, params in sent if operation != "GetTranscript"]
    assert tokens[:3] == [
        ("SendEvent", "event-1"),
        ("StartAttachmentUpload", "start-1"),
        ("StartAttachmentUpload", "start-2"),
    ]
    assert progress == [(2, 2)]


def test_a_call_logs_every_id_its_answer_carries(connection, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext.connection")
    answer = {"Id": "m-1", "AttachmentId": "a-1", "Transcript": [{}, {}]}
    monkeypatch.setattr(connection.meta.client, "get_transcript", lambda **params: answer)
    assert connection.call_operation("GetTranscript") is answer
    [line] = [r.getMessage() for r in caplog.records if r.name == "connectparticipant_ext.connection"]
    assert line.startswith("GetTranscript Id=m-1 AttachmentId=a-1 items=2 took ")


# -- what a renewal asks for, and what the calls log -------------------------------------------------


@pytest.mark.parametrize(
    ("make", "types"),
    [
        ("asked", [CREDENTIALS, WEBSOCKET]),
        ("not asked", [CREDENTIALS]),
        ("asked, none came", [CREDENTIALS, WEBSOCKET]),
        ("restored token", [CREDENTIALS]),
        ("from a response with one", [CREDENTIALS, WEBSOCKET]),
        ("from a response without one", [CREDENTIALS]),
    ],
)
def test_a_renewal_asks_for_a_websocket_when_one_was_asked_for_or_given(
    chat, participant, connection_requests, monkeypatch, make, types
):
    from connectparticipant_ext import Connection

    if make == "asked":
        conn = participant.create_connection()
    elif make == "not asked":
        conn = participant.create_connection(websocket=False)
    elif make == "asked, none came":
        client = chat.meta.client
        monkeypatch.setattr(client, "create_participant_connection", without_websocket(client.create_participant_connection))
        conn = participant.create_connection()
        assert conn.websocket is None
    elif make == "restored token":
        conn = chat.Connection(participant.create_connection(websocket=False).token, participant=participant)
    else:
        response = participant.create_participant_connection(connect_participant=True, websocket=True)
        if make == "from a response without one":
            response.pop("Websocket")
        conn = Connection.from_response(chat, response, participant=participant)
    connection_requests.clear()
    conn.renew()
    [request] = connection_requests
    assert (request["Type"], request["ConnectParticipant"]) == (types, False)  # a renewal never joins again


def test_a_webrtc_connection_keeps_its_call_details(participant):
    conn = participant.create_connection(webrtc=True)
    webrtc = conn.webrtc
    assert webrtc is not None and webrtc.meeting.meeting_id and webrtc.attendee.attendee_id
    conn.renew()
    assert conn.webrtc == webrtc
    assert participant.create_connection().webrtc is None


def test_a_calls_duration_is_logged_with_the_ids_it_returned(connection, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext.connection")
    with call_takes(0.25):
        sent = connection.send_message("hello")
    assert f"SendMessage Id={sent.id} took 250.0 ms" in [r.getMessage() for r in caplog.records]


def test_an_unreachable_service_is_named_by_the_operation(chat, connection, monkeypatch):
    from connectparticipant_ext import ServiceUnreachableError

    monkeypatch.setattr(chat.meta.client, "send_message", unreachable)
    with pytest.raises(ServiceUnreachableError) as info:
        connection.send_message("hello")
    assert info.value.operation == "SendMessage"
    assert (
        str(info.value) == "SendMessage could not reach the service: EndpointConnectionError (after botocore's retries)"
    )


def test_a_refused_call_is_logged_before_the_renewal(connection, mock_chat, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext.connection")
    mock_chat.revoke_connection_token(connection.token)
    connection.send_message("after renewal")
    assert "SendMessage was refused; renewing the connection and retrying once" in [
        r.getMessage() for r in caplog.records
    ]
