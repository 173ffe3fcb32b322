"""Reliability: injected faults, token expiry under load, hostile input, and secrets.

Deterministic (fault injection is seeded) and bounded; botocore's retry backoff is patched to
zero so retries cost no wall-clock time, while the retry logic stays botocore's own.
"""

from __future__ import annotations

import io
import json
import logging
import mimetypes
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connectparticipant_ext.connection as connection_module
from connectparticipant_ext import (
    AttachmentLimits,
    AttachmentTooLargeError,
    ChatService,
    ConnectParticipantError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    StreamError,
    TranscriptItem,
    UnsupportedAttachmentTypeError,
    _json,
)
from connectparticipant_ext._validation import EVENT_CONTENT_TYPES, MESSAGE_CONTENT_TYPES
from connectparticipant_ext._wire import INTERACTIVE_RESPONSE

pytestmark = pytest.mark.usefixtures("no_backoff")

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


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


# -- property-based: valid input is sent, invalid input fails before any call ----------------------
#
# Each test decides on its own whether the input is valid (the documented limits, restated here
# as the oracle), then checks both ways: a valid input reaches the service, an invalid one raises
# a documented error without a call.

DOCUMENTED = (InvalidArgumentError, InvalidArgumentTypeError)
MAX_CONTENT_BYTES = 16384


def utf8_size(text: str) -> float:
    """The size of ``text`` in UTF-8, or infinity when it cannot be sent (a lone surrogate)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return float("inf")


def valid_text(value: Any, *, max_bytes: int) -> bool:
    """A str of 1 to ``max_bytes`` bytes of UTF-8."""
    return isinstance(value, str) and 1 <= utf8_size(value) <= max_bytes


def valid_json(text: str) -> bool:
    try:
        _json.loads(text)
    except ValueError:
        return False
    return True


def valid_interactive_response(text: str) -> bool:
    """A JSON object whose ``action``, when present, is a non-empty string."""
    try:
        data = _json.loads(text)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    return "action" not in data or (isinstance(data["action"], str) and bool(data["action"]))


@pytest.fixture
def any_type_connection(chat, connect_client):
    """A customer of a chat started with every message content type (the service refuses a type
    the contact was not started with)."""
    contact = connect_client.start_chat_contact(
        InstanceId="instance-1",
        ContactFlowId="flow-1",
        ParticipantDetails={"DisplayName": "Ann"},
        SupportedMessagingContentTypes=sorted(MESSAGE_CONTENT_TYPES),
    )
    return chat.Participant(contact["ParticipantToken"]).create_connection(websocket=False)


@PROPERTY_SETTINGS
@given(
    content=st.one_of(st.text(max_size=17000), st.binary(max_size=10), st.none(), st.integers()),
    content_type=st.one_of(st.sampled_from(sorted(MESSAGE_CONTENT_TYPES)), st.text(max_size=40), st.none()),
)
def test_send_message_inputs(any_type_connection, wire_calls, content, content_type):
    connection = any_type_connection
    valid = (
        valid_text(content, max_bytes=MAX_CONTENT_BYTES)
        and content_type in MESSAGE_CONTENT_TYPES
        and (content_type != "application/json" or valid_json(content))
        and (content_type != INTERACTIVE_RESPONSE or valid_interactive_response(content))
    )
    wire_calls.clear()
    try:
        connection.send_message(content, content_type=content_type)
    except DOCUMENTED as exc:
        assert not valid, f"valid input refused: {exc}"
        assert wire_calls == []
        return
    assert valid
    assert wire_calls == ["SendMessage"]


@PROPERTY_SETTINGS
@given(
    content_type=st.one_of(st.sampled_from(sorted(EVENT_CONTENT_TYPES)), st.text(max_size=60)),
    content=st.one_of(st.none(), st.text(max_size=40)),
)
def test_send_event_inputs(connection, wire_calls, content_type, content):
    valid = content_type in EVENT_CONTENT_TYPES and (
        content is None or valid_text(content, max_bytes=MAX_CONTENT_BYTES)
    )
    wire_calls.clear()
    try:
        connection.send_event(content_type, content)
    except DOCUMENTED as exc:
        assert not valid, f"valid input refused: {exc}"
        assert wire_calls == []
        return
    except ConnectParticipantError as exc:  # the service may still refuse a receipt for no message
        assert valid
        assert wire_calls == ["SendEvent"]
        assert content_type.endswith(("message.read", "message.delivered")), exc
        return
    assert valid
    assert wire_calls == ["SendEvent"]


@PROPERTY_SETTINGS
@given(
    page_size=st.one_of(st.integers(min_value=-5, max_value=150), st.floats(allow_nan=True), st.text(max_size=3)),
    limit=st.one_of(st.integers(min_value=-5, max_value=30), st.none()),
    most_recent=st.one_of(st.none(), st.integers(min_value=-5, max_value=120)),
    start_time=st.one_of(st.none(), st.datetimes(), st.datetimes(timezones=st.just(timezone.utc))),
)
def test_transcript_inputs(connection, wire_calls, page_size, limit, most_recent, start_time):
    valid = (
        isinstance(page_size, int)
        and 1 <= page_size <= 100
        and (limit is None or limit >= 0)
        and (most_recent is None or 0 <= most_recent <= 100)
        and (start_time is None or start_time.tzinfo is not None)
        and (most_recent is None or start_time is None)
    )
    wire_calls.clear()
    try:
        collection = connection.transcript.page_size(page_size)
        if limit is not None:
            collection = collection.limit(limit)
        if most_recent is not None and start_time is not None:
            collection = collection.filter(most_recent=most_recent, start_time=start_time)
        elif most_recent is not None:
            collection = collection.filter(most_recent=most_recent)
        elif start_time is not None:
            collection = collection.filter(start_time=start_time)
    except DOCUMENTED as exc:
        assert not valid, f"valid input refused: {exc}"
        assert wire_calls == []
        return
    assert valid
    items = list(collection)
    if limit == 0:
        assert wire_calls == []
    else:
        assert wire_calls and set(wire_calls) == {"GetTranscript"}
    assert limit is None or len(items) <= limit
    assert all(isinstance(i, TranscriptItem) for i in items)


@PROPERTY_SETTINGS
@given(
    name=st.one_of(st.text(max_size=300), st.none()),
    size=st.integers(min_value=0, max_value=64),
    content_type=st.one_of(st.none(), st.sampled_from(["text/plain", "application/pdf"]), st.integers()),
)
def test_attachment_inputs(chat, chat_contact, wire_calls, name, size, content_type):
    limited = chat.with_options(attachment_limits=AttachmentLimits(max_size=32))
    conn = limited.Participant(chat_contact["ParticipantToken"]).create_connection(websocket=False)
    valid = (
        isinstance(name, str)
        and 1 <= len(name) <= 256
        and utf8_size(name) < float("inf")
        and os.path.splitext(name)[1].lower() in AttachmentLimits().allowed_extensions
        and 1 <= size <= 32
        and (
            isinstance(content_type, str)
            or (content_type is None and mimetypes.guess_type(name, strict=False)[0] is not None)
        )
    )
    wire_calls.clear()
    try:
        attachment = conn.upload_attachment(b"x" * size, name=name, content_type=content_type)
    except (*DOCUMENTED, AttachmentTooLargeError, UnsupportedAttachmentTypeError) as exc:
        assert not valid, f"valid input refused: {exc}"
        assert wire_calls == [], exc
        return
    assert valid
    assert wire_calls == ["StartAttachmentUpload", "CompleteAttachmentUpload"]
    out = io.BytesIO()
    attachment.download(out)
    assert out.getvalue() == b"x" * size


# -- hostile content --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    ["\x00\x01\x02 control", "\u202eright-to-left override", "x" * 16384, "line\r\nbreak\x1b[31m", "😀" * 100],
)
def test_hostile_message_content_round_trips(connection, content):
    sent = connection.send_message(content)
    [item] = [i for i in connection.transcript if i.id == sent.id]
    assert item.content == content


def test_hostile_items_parse_without_crashing():
    weird = [
        {},
        {"Id": None, "Type": None},
        {"Id": "x", "Type": "MESSAGE", "AbsoluteTime": "2024-13-45"},
        {"Id": "t", "Type": "MESSAGE", "AbsoluteTime": 12345},
        {"Id": "y", "Type": "ATTACHMENT", "Attachments": [{}]},
        {"Id": "z", "Type": "MESSAGE", "MessageMetadata": "not a dict"},
        {"Id": "w", "Type": "X" * 10000, "Content": "\x00" * 100000, "Extra": {"nested": [1, 2]}},
    ]
    for data in weird:
        item = TranscriptItem.from_response(data)
        assert item.raw == data
    assert TranscriptItem.from_response(weird[2]).absolute_time is None


# -- the canary -------------------------------------------------------------------------------


def test_canary_no_secret_anywhere(chat, participant, connection, agent, mock_chat, caplog, tmp_path, monkeypatch):
    caplog.set_level(logging.DEBUG)  # everything: ours, botocore's, urllib3's
    texts: list[str] = []
    secrets = {participant.token, connection.token, agent.token, agent.participant.token}

    sent = connection.send_message("hello")
    agent.send_read_receipt(sent.id)
    attachment = connection.upload_attachment(b"secret bytes", name="s.txt")
    url = attachment.url()
    signature = url.partition("?")[2]
    attachment.download(tmp_path)
    texts += [repr(attachment), repr(connection), repr(participant), repr(connection.websocket), repr(chat)]
    texts += [repr(i) for i in connection.transcript]

    mock_chat.revoke_connection_token(connection.token)
    connection.send_message("renewed")
    secrets.add(connection.token)
    later = connection.expires_at - timedelta(seconds=1)
    monkeypatch.setattr(connection_module, "_utcnow", lambda: later)
    connection.send_typing()
    secrets.add(connection.token)

    mock_chat.fail_next_uploads(3, status=500)
    for failing in (
        lambda: connection.upload_attachment(b"x", name="fail.txt"),
        lambda: chat.Participant("bogus" + participant.token).create_connection(),
        lambda: chat.Connection(connection.token + "x").send_message("nope"),
        lambda: connection.send_message(""),
    ):
        with pytest.raises(Exception) as info:
            failing()
        texts += [str(info.value), repr(info.value)]
    connection.disconnect()
    with pytest.raises(Exception) as info:
        connection.send_message("closed")
    texts += [str(info.value)]

    texts += [record.getMessage() for record in caplog.records]
    blob = "\n".join(texts)
    assert any("SendMessage" in r.getMessage() for r in caplog.records)  # the logs were really captured
    for secret in secrets:
        assert secret not in blob
    assert signature and signature not in blob
    assert json.dumps(blob)  # the blob is plain text


def test_time_parsing_accepts_service_formats():
    from connectparticipant_ext._time import format_time, parse_time

    assert parse_time("2024-01-02T03:04:05.678Z") == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert parse_time("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_time("2024-01-02T05:04:05.678+02:00") == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    moment = datetime(2024, 1, 2, 3, 4, 5, 678999, tzinfo=timezone.utc)
    assert format_time(moment) == "2024-01-02T03:04:05.678Z"
    early = datetime(999, 1, 1, tzinfo=timezone.utc)  # found by hypothesis: strftime gave "999-01-01"
    assert format_time(early) == "0999-01-01T00:00:00.000Z"
    assert parse_time(format_time(early)) == early
    assert parse_time(None) is None


def test_a_chat_service_per_thread_is_cheap_and_shared():
    services = [ChatService(region_name="sa-east-1") for _ in range(50)]
    assert len({id(s.meta.client) for s in services}) == 1


def test_canary_cli_output_carries_no_secret(participant, mock_chat, caplog, capsys, tmp_path, monkeypatch):
    """The command line, in-process with --debug: stdout, stderr and the logs it causes."""
    from connectparticipant_ext.cli import main

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CONNECT_PARTICIPANT_TOKEN", participant.token)
    source = tmp_path / "note.txt"
    source.write_text("hello")
    assert main(["--debug", "send", "hi from the cli"]) == 0
    assert main(["upload", str(source), "--wait", "5", "--debug"]) == 0
    attachment_id = capsys.readouterr().out.split()[-3]
    assert main(["download", attachment_id, str(tmp_path / "down") + "/", "--debug"]) == 0
    for fmt in ("text", "jsonl", "csv"):
        assert main(["transcript", "--format", fmt, "--debug"]) == 0
    assert main(["disconnect", "--debug"]) == 0
    assert main(["send", "after the end", "--debug"]) == 1  # an error with a traceback
    captured = capsys.readouterr()
    blob = "\n".join([captured.out, captured.err, *(r.getMessage() for r in caplog.records)])
    assert "hi from the cli" in blob and "Traceback" in captured.err
    secrets = set(mock_chat.connection_tokens) | set(mock_chat.participant_tokens)
    assert participant.token in secrets
    for secret in secrets:
        assert secret not in blob
    assert "X-Amz-Signature=" not in blob and "AuthToken=" not in blob


# -- issue 15: fixes from a hostile review, each kept by a test ---------------------------------
# Numbers refer to the points of issue 15. Misbehaving servers come from tests/hostile.py.


def _stored(connection, data: bytes, name: str):
    attachment = connection.upload_attachment(data, name=name)
    return connection.Attachment(attachment.id)  # bare: learns its name from the transcript


def test_15_1_parallel_same_name_downloads_keep_every_file(connection, tmp_path):
    payloads = [f"file number {n}\n".encode() * (n + 1) for n in range(6)]
    attachments = [_stored(connection, data, "report.txt") for data in payloads]
    for attachment in attachments:
        attachment.reload()  # learn the name first, so the threads race on creating the file only
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    barrier = threading.Barrier(len(attachments))
    written: list[object] = []
    errors: list[BaseException] = []

    def fetch(attachment) -> None:
        try:
            barrier.wait(timeout=10)
            written.append(attachment.download(inbox))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(a,)) for a in attachments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(set(written)) == 6
    assert sorted(p.read_bytes() for p in inbox.iterdir()) == sorted(payloads)
    assert sorted(p.name for p in inbox.iterdir())[0] == "report (1).txt"


def test_15_3_no_part_file_when_the_name_lookup_fails(connection, tmp_path, monkeypatch):
    from connectparticipant_ext import Attachment, ThrottlingError

    attachment = _stored(connection, b"some bytes", "a.txt")

    def refuse(self):
        raise ThrottlingError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetTranscript")

    monkeypatch.setattr(Attachment, "reload", refuse)
    with pytest.raises(ThrottlingError):
        attachment.download(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_15_18_downloads_follow_the_umask(connection, tmp_path):
    attachment = _stored(connection, b"some bytes", "a.txt")
    previous = os.umask(0o022)
    try:
        written = attachment.download(tmp_path)
        explicit = attachment.download(tmp_path / "b.txt")
    finally:
        os.umask(previous)
    assert written.stat().st_mode & 0o777 == 0o644
    assert explicit.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("CONIN$", "_CONIN$"),
        ("conout$.txt", "_conout$.txt"),
        ("COM\u00b9", "_COM\u00b9"),
        ("lpt\u00b3.pdf", "_lpt\u00b3.pdf"),
        ("com0.txt", "_com0.txt"),
        ("con .txt", "_con.txt"),
        (" .. .txt", "attachment.txt"),
        ("report.pdf. ", "report.pdf"),
        ("com10.txt", "com10.txt"),
        ("archive.tar.gz", "archive.tar.gz"),
    ],
)
def test_15_18_safe_filename_windows_names_and_bare_extensions(name, safe):
    from connectparticipant_ext._files import safe_filename

    assert safe_filename(name) == safe


def test_15_14_upload_refuses_a_fifo_without_blocking(connection, tmp_path, wire_calls):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def upload() -> None:
        try:
            connection.upload_attachment(fifo)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=upload, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():  # release the blocked open() so no thread is left behind, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout=10)
        pytest.fail("upload_attachment(<a FIFO>) blocked in open()")
    [error] = outcome
    assert isinstance(error, InvalidArgumentError) and "regular file" in str(error)
    assert wire_calls == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, 0, "5", True])
def test_15_7_wait_until_approved_refuses_bad_timeouts(connection, wire_calls, bad):
    attachment = connection.Attachment("att-1")
    with pytest.raises((InvalidArgumentError, InvalidArgumentTypeError)) as info:
        attachment.wait_until_approved(timeout=bad)
    assert "timeout" in str(info.value)
    with pytest.raises((InvalidArgumentError, InvalidArgumentTypeError)):
        attachment.wait_until_approved(timeout=5, delay=float("nan") if bad != 0 else -1)
    assert wire_calls == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, (1, float("nan"))])
def test_15_7_service_timeout_must_be_finite(bad):
    with pytest.raises(InvalidArgumentError):
        ChatService(region_name="us-east-1", timeout=bad)


def test_15_16_lone_surrogates_are_refused_before_the_call(connection, wire_calls):
    for send in (
        lambda: connection.send_message("broken \ud800 text"),
        lambda: connection.send_event("application/vnd.amazonaws.connect.event.typing", "\udfff"),
    ):
        with pytest.raises(InvalidArgumentError) as info:
            send()
        assert "surrogate" in str(info.value) and "content" in str(info.value)
    assert wire_calls == []


# -- attachments against a hostile storage endpoint (points 11 and 13) --------------------------


def _hostile_connection(chat, chat_contact, endpoint, **options):
    from hostile import redirecting_session

    service = chat.with_options(http_session=redirecting_session(endpoint), **options)
    return service.Participant(chat_contact["ParticipantToken"]).create_connection()


def _chain(exc: BaseException) -> str:
    """Every message in an exception's cause and context chain."""
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(texts) < 20:
        texts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def test_15_13_a_stalled_put_honours_the_service_timeout(chat, chat_contact):
    from hostile import FAKE_SIGNATURE, HostileHTTP

    from connectparticipant_ext import AttachmentUploadError

    def stall_then_accept(request) -> None:
        request.read_body()
        request.wait(8)  # longer than timeout=0.5; the default 60 s read timeout would wait it out
        request.reply(200)

    with HostileHTTP(stall_then_accept) as endpoint:
        conn = _hostile_connection(chat, chat_contact, endpoint, timeout=0.5)
        upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
        with pytest.raises(AttachmentUploadError) as info:
            upload.upload(io.BytesIO(b"abc"))
    assert "Timeout" in str(info.value)
    assert FAKE_SIGNATURE not in _chain(info.value)  # point 11: not in the context either
    assert info.value.__context__ is None


def test_15_13_a_download_stops_at_the_announced_size(chat, chat_contact):
    from hostile import FAKE_SIGNATURE, HostileHTTP

    from connectparticipant_ext import AttachmentError

    sent: list[int] = []

    def endless(request) -> None:
        request.start(200, {"Content-Type": "text/plain"})  # no length: bytes until the client leaves
        total = 0
        while total < 50 * 1024 * 1024 and request.write(b"x" * 65536):
            total += 65536
        sent.append(total)

    connection = chat.Participant(chat_contact["ParticipantToken"]).create_connection()
    attachment_id = connection.upload_attachment(b"ten bytes!", name="a.txt").id
    with HostileHTTP(endless) as endpoint:
        conn = _hostile_connection(chat, chat_contact, endpoint)
        buffer = io.BytesIO()
        with pytest.raises(AttachmentError) as info:
            conn.Attachment(attachment_id).download(buffer)
    assert "longer than the 10 bytes announced" in str(info.value)
    assert len(buffer.getvalue()) <= 10
    assert FAKE_SIGNATURE not in _chain(info.value)


def test_15_11_download_errors_keep_no_url_in_their_context(chat, chat_contact):
    from hostile import FAKE_SIGNATURE, HostileHTTP

    from connectparticipant_ext import AttachmentError

    def hang_up(request) -> None:
        request.start(200, {"Content-Length": "10"})
        request.write(b"abc")  # then the connection closes: a truncated body

    connection = chat.Participant(chat_contact["ParticipantToken"]).create_connection()
    attachment_id = connection.upload_attachment(b"ten bytes!", name="a.txt").id
    with HostileHTTP(hang_up) as endpoint:
        conn = _hostile_connection(chat, chat_contact, endpoint)
        with pytest.raises(AttachmentError) as info:
            conn.Attachment(attachment_id).download(io.BytesIO())
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert FAKE_SIGNATURE not in _chain(info.value)


@pytest.mark.parametrize(
    ("retries", "error", "named"),
    [
        ({"mode": "bogus"}, InvalidArgumentError, "mode"),
        ({"total_max_attempts": "five"}, InvalidArgumentTypeError, "total_max_attempts"),
        ({"max_attempts": 2.5}, InvalidArgumentTypeError, "max_attempts"),
        ({"total_max_attempts": 0}, InvalidArgumentError, "total_max_attempts"),
        ({"max_attempts": -1}, InvalidArgumentError, "max_attempts"),
        ({"mode": "standard", "attempts": 3}, InvalidArgumentError, "attempts"),
    ],
)
def test_15_21_retries_are_checked_when_the_service_is_made(retries, error, named):
    with pytest.raises(error) as info:
        ChatService(region_name="us-east-1", retries=retries)
    assert named in str(info.value)


def test_15_21_valid_retries_are_accepted():
    for retries in ({"mode": "adaptive", "max_attempts": 0}, {"mode": "legacy"}, {"total_max_attempts": 1}):
        ChatService(region_name="us-east-1", retries=retries).meta.client  # noqa: B018 - builds the client


def test_15_6_a_next_token_cycle_ends_with_a_clear_error(connection, monkeypatch):
    tokens = ["A", "B", "A", "B"] * 50  # the cycle the hostile review saw; bounded for the old code
    calls: list[object] = []

    def cycling(operation, **params):
        calls.append(params.get("NextToken"))
        n = len(calls)
        item = {"Id": f"i{n}", "Type": "MESSAGE", "Content": str(n), "AbsoluteTime": "2024-01-01T00:00:00.000Z"}
        return {"Transcript": [item], "NextToken": tokens[n - 1] if n <= len(tokens) else None}

    monkeypatch.setattr(connection, "call_operation", cycling)
    with pytest.raises(ConnectParticipantError) as info:
        list(connection.transcript)
    assert "NextToken" in str(info.value) and "repeat" in str(info.value)
    assert calls == [None, "A", "B"]  # stops at the first repeated token


# -- the local server (point 12) -----------------------------------------------------------------


@pytest.fixture
def served_connection(local_server):
    import boto3

    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    contact = connect.start_chat_contact(
        InstanceId="instance-1", ContactFlowId="flow-1", ParticipantDetails={"DisplayName": "Ann"}
    )
    chat = ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    return chat.Participant(contact["ParticipantToken"]).create_connection()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # the member as AWS's validation messages name it ("at 'contentType'", "at 'type.1.member'")
        ("/participant/message", {"ContentType": ["text/plain"], "Content": "x"}, "'contentType'"),
        ("/participant/message", {"ContentType": "text/plain", "Content": {"a": 1}}, "'content'"),
        ("/participant/connection", {"Type": 5}, "'type'"),
        ("/participant/connection", {"Type": [5]}, "'type.1.member'"),
        ("/participant/connection", {"ConnectParticipant": "yes"}, "'connectParticipant'"),
        ("/participant/transcript", {"StartPosition": "x"}, "'startPosition'"),
        ("/participant/transcript", {"MaxResults": "10"}, "'maxResults'"),
        ("/participant/transcript", {"MaxResults": True}, "'maxResults'"),
        ("/participant/start-attachment-upload", {"AttachmentName": 5}, "'attachmentName'"),
        ("/participant/complete-attachment-upload", {"AttachmentIds": "a"}, "'attachmentIds'"),
    ],
)
def test_15_12_wrongly_typed_fields_get_the_services_error_shape(served_connection, local_server, path, body, field):
    import requests

    answer = requests.post(
        local_server.endpoint_url + path,
        data=json.dumps(body),
        headers={"X-Amz-Bearer": served_connection.token, "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.headers["x-amzn-ErrorType"].startswith("ValidationException")
    assert field in answer.json()["message"]


def test_15_12_request_bodies_are_limited(served_connection, local_server):
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(local_server.endpoint_url)
    for path, method in (("/participant/message", "POST"), ("/cp-ext-attachments-x/key", "PUT")):
        link = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            link.putrequest(method, path)
            link.putheader("Content-Length", str(300 * 1024 * 1024))  # announced, never sent
            link.putheader("X-Amz-Bearer", served_connection.token)
            link.endheaders()
            answer = link.getresponse()
            assert answer.status == 413, path
            assert "limit" in json.loads(answer.read())["message"]
        finally:
            link.close()


def test_15_12_non_latin1_attachment_names_download(served_connection, tmp_path):
    import requests

    attachment = served_connection.upload_attachment(b"report body", name="\u043e\u0442\u0447\u0451\u0442.txt")
    answer = requests.get(attachment.url(), timeout=10)
    assert answer.status_code == 200 and answer.content == b"report body"
    disposition = answer.headers["Content-Disposition"]
    assert "filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt" in disposition
    written = served_connection.Attachment(attachment.id).download(tmp_path)
    assert written.name == "\u043e\u0442\u0447\u0451\u0442.txt" and written.read_bytes() == b"report body"


def test_15_19_ci_says_in_one_line_when_node_is_missing(tmp_path):
    """Without node, npm and apt-get on PATH, .ci/need-node fails with one clear line."""
    import shutil
    import subprocess
    from pathlib import Path

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    script = Path(__file__).parent.parent / ".ci" / "need-node"
    result = subprocess.run(
        [str(bin_dir / "bash"), str(script)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Node.js and npm are needed" in result.stderr
    assert "command not found" not in result.stderr


# -- malformed service data (point 15, the parts in the transcript and attachments) -------------


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"Transcript": "abc"}, "Transcript is a str"),
        ({"Transcript": [1, 2]}, "Transcript[0] is a int"),
        ({"Transcript": [], "NextToken": 5}, "NextToken is a int"),
        ([], "the answer is a list"),
    ],
)
def test_15_15_a_malformed_transcript_is_a_library_error(connection, monkeypatch, answer, problem):
    from connectparticipant_ext import MalformedResponseError

    monkeypatch.setattr(connection, "call_operation", lambda operation, **params: answer)
    with pytest.raises(MalformedResponseError) as info:
        list(connection.transcript)
    assert info.value.operation == "GetTranscript"
    assert "GetTranscript" in str(info.value) and problem in str(info.value)


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        ("StartAttachmentUpload", {"UploadMetadata": {"Url": "https://h/p?sig=1"}}),  # no AttachmentId
        ("StartAttachmentUpload", {"AttachmentId": "a"}),  # no UploadMetadata
        ("StartAttachmentUpload", {"AttachmentId": "a", "UploadMetadata": {"Url": 5}}),
        ("StartAttachmentUpload", {"AttachmentId": "a", "UploadMetadata": {"Url": "u", "HeadersToInclude": "x"}}),
        ("GetAttachment", {"AttachmentSizeInBytes": 3}),  # no Url
        ("GetAttachment", {"Url": "https://h/p?sig=1", "AttachmentSizeInBytes": "three"}),
    ],
)
def test_15_15_malformed_attachment_answers_are_library_errors(connection, monkeypatch, operation, answer):
    from connectparticipant_ext import MalformedResponseError

    real_call = connection.call_operation
    monkeypatch.setattr(
        connection, "call_operation", lambda op, **params: answer if op == operation else real_call(op, **params)
    )
    with pytest.raises(MalformedResponseError) as info:
        if operation == "StartAttachmentUpload":
            connection.start_attachment_upload("a.txt", 3, "text/plain")
        else:
            connection.Attachment("att-1").url()
    assert info.value.operation == operation and "sig=1" not in str(info.value)


def test_15_15_times_past_the_calendar_are_argument_errors(connection, wire_calls):
    from datetime import datetime as dt

    for moment in (
        dt.max.replace(tzinfo=timezone(timedelta(hours=-5))),
        dt.min.replace(tzinfo=timezone(timedelta(hours=5))),
    ):
        with pytest.raises(InvalidArgumentError) as info:
            connection.transcript.filter(start_time=moment)
        assert "start_time" in str(info.value)
    assert wire_calls == []


# -- malformed service data (point 15: sends, connections, websocket frames, transport) ----------


def _json_answer(body: object) -> Callable[[Any], None]:
    """A hostile endpoint handler answering every API call 200 with ``body`` as JSON."""

    def answer(request: Any) -> None:
        request.read_body()
        request.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    return answer


def _hostile_service(url: str, **options: Any) -> ChatService:
    return ChatService(
        region_name="us-east-1",
        endpoint_url=url,
        retries={"mode": "standard", "total_max_attempts": 1},
        **options,
    )


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("SendMessage", {"AbsoluteTime": "2030-01-01T00:00:00.000Z"}),
        ("SendMessage", {"Id": 5}),
        ("SendMessage", {"Id": ""}),
        ("SendEvent", {}),
        ("SendEvent", {"Id": None, "AbsoluteTime": "2030-01-01T00:00:00.000Z"}),
    ],
)
def test_15_15_a_send_answer_without_id_is_a_library_error(operation, body):
    from hostile import HostileHTTP

    from connectparticipant_ext import MalformedResponseError

    with HostileHTTP(_json_answer(body)) as endpoint:
        conn = _hostile_service(endpoint.url).Connection("not-a-real-token")
        with pytest.raises(MalformedResponseError) as info:
            if operation == "SendMessage":
                conn.send_message("hello")
            else:
                conn.send_event("application/vnd.amazonaws.connect.event.typing")
    assert info.value.operation == operation
    assert operation in str(info.value) and "Id" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ConnectionCredentials": None},
        {"ConnectionCredentials": "abc"},
        {"ConnectionCredentials": {"Expiry": "2030-01-01T00:00:00.000Z"}},
        {"ConnectionCredentials": {"ConnectionToken": 5}},
        {"ConnectionCredentials": {"ConnectionToken": "t"}, "Websocket": {"ConnectionExpiry": "x"}},
    ],
)
def test_15_15_a_connection_answer_without_credentials_is_a_library_error(body):
    from hostile import HostileHTTP

    from connectparticipant_ext import MalformedResponseError

    with HostileHTTP(_json_answer(body)) as endpoint:
        participant = _hostile_service(endpoint.url).Participant("not-a-real-participant-token")
        with pytest.raises(MalformedResponseError) as info:
            participant.create_connection()
    assert info.value.operation == "CreateParticipantConnection"
    assert "not-a-real" not in str(info.value)


def test_15_15_a_renewal_without_credentials_is_a_library_error(participant, connection, monkeypatch):
    from connectparticipant_ext import MalformedResponseError

    monkeypatch.setattr(participant, "create_participant_connection", lambda **kwargs: {"Websocket": {}})
    old_token = connection.token
    with pytest.raises(MalformedResponseError) as info:
        connection.renew()
    assert info.value.operation == "CreateParticipantConnection"
    assert connection.token == old_token  # nothing half-applied


@pytest.mark.parametrize(
    "metadata",
    [
        {"MessageId": "m1", "Receipts": "abc"},
        {"MessageId": "m1", "Receipts": 5},
        {"MessageId": "m1", "Receipts": {"RecipientParticipantId": "p"}},
        {"MessageId": "m1", "Receipts": [5, "x", None, {"RecipientParticipantId": 7, "ReadTimestamp": []}]},
        {"MessageId": ["m1"], "Receipts": None, "MessageProcessingStatus": {}},
    ],
)
def test_15_15_junk_receipts_never_break_an_item(metadata):
    item = TranscriptItem.from_response(
        {"Id": "r1", "Type": "MESSAGEMETADATA", "ContentType": "x", "MessageMetadata": metadata}
    )
    parsed = item.message_metadata
    assert parsed is not None
    for receipt in parsed.receipts:
        assert receipt.recipient_participant_id is None or isinstance(receipt.recipient_participant_id, str)
    assert parsed.message_id in (None, "m1")
    assert item.raw["MessageMetadata"] is metadata


def test_15_15_junk_receipts_in_a_transcript_page(connection, monkeypatch):
    page = {
        "Transcript": [
            {"Id": "r1", "Type": "MESSAGEMETADATA", "MessageMetadata": {"MessageId": "m", "Receipts": "abc"}},
            {"Id": "m2", "Type": "MESSAGE", "Content": "after", "MessageMetadata": {"Receipts": 5}},
        ]
    }
    monkeypatch.setattr(connection, "call_operation", lambda operation, **params: page)
    items = list(connection.transcript)
    assert [i.id for i in items] == ["r1", "m2"]
    assert [i.message_metadata.receipts for i in items if i.message_metadata] == [(), ()]


def test_15_15_a_subscribe_answer_that_is_not_an_object_is_a_failed_attempt(connection):
    from hostile_ws import HostileWebsocket, subscribe_answered_with_a_list

    with HostileWebsocket(subscribe_answered_with_a_list) as server:
        connection._websocket = server.websocket()
        stream = connection.stream(
            reconnect_attempts=1,
            backoff_base=0.05,
            backoff_max=0.1,
            open_timeout=0.5,
            heartbeat_interval=0.2,
            heartbeat_timeout=0.5,
        )
        with pytest.raises(StreamError, match="after 2 attempts"):
            with stream:
                for _ in stream:
                    pass
        assert server.connections == 2


def test_15_15_frames_and_items_of_junk_are_ignored(connection):
    from hostile_ws import JUNK_THEN_ITEM, HostileWebsocket, junk_frames_then_an_item

    with HostileWebsocket(junk_frames_then_an_item) as server:
        connection._websocket = server.websocket()
        stream = connection.stream(reconnect_attempts=0, heartbeat_interval=0.2, heartbeat_timeout=2)
        with stream:
            got = []
            for item in stream:
                got.append(item)
                _ = (item.message_metadata, item.attachments, item.event, item.is_complete, item.absolute_time)
                if item.content == JUNK_THEN_ITEM:
                    break
        assert got[-1].id == "good-1"
        assert stream.reconnects == 0


@pytest.mark.parametrize("kind", ["stall", "refused"])
def test_15_15_timeouts_and_refused_connections_are_library_errors(kind, caplog):
    import socket as socket_module

    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
    from hostile import HostileHTTP

    from connectparticipant_ext import ConnectParticipantError, ServiceUnreachableError

    def stall(request: Any) -> None:
        request.wait(5)

    caplog.set_level(logging.DEBUG)
    if kind == "stall":
        with HostileHTTP(stall) as endpoint:
            chat = _hostile_service(endpoint.url, timeout=0.3)
            conn = chat.Connection("secret-connection-token-123")
            with pytest.raises(ServiceUnreachableError) as info:
                conn.send_message("hello")
            assert isinstance(info.value.__cause__, ReadTimeoutError)
            with pytest.raises(ServiceUnreachableError) as info2:
                chat.Participant("secret-participant-token-456").create_connection()
            assert info2.value.operation == "CreateParticipantConnection"
    else:
        with socket_module.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        conn = _hostile_service(f"http://127.0.0.1:{port}", timeout=0.3).Connection("secret-connection-token-123")
        with pytest.raises(ServiceUnreachableError) as info:
            conn.send_message("hello")
        assert isinstance(info.value.__cause__, (EndpointConnectionError, ConnectTimeoutError))
    assert isinstance(info.value, ConnectParticipantError)
    assert info.value.operation == "SendMessage" and "SendMessage" in str(info.value)
    assert "secret-connection-token-123" not in str(info.value)
    assert "secret" not in caplog.text


def test_15_15_botocore_still_retries_before_giving_up():
    from hostile import HostileHTTP

    from connectparticipant_ext import ServiceUnreachableError

    calls = []

    def stall(request: Any) -> None:
        calls.append(request.path)
        request.wait(5)

    with HostileHTTP(stall) as endpoint:
        chat = ChatService(
            region_name="us-east-1",
            endpoint_url=endpoint.url,
            timeout=0.3,
            retries={"mode": "standard", "total_max_attempts": 2},
        )
        with pytest.raises(ServiceUnreachableError):
            chat.Connection("t").send_message("hello")
    assert len(calls) == 2
