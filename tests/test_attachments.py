"""Attachments under mock_aws: checks before any call, streaming both ways, lifecycle states,
retries, rejection, safe file names, and no presigned URL in any error."""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import tempfile
import threading
from datetime import datetime, timezone

import pytest
import requests

from connectparticipant_ext import (
    Attachment,
    AttachmentError,
    AttachmentLimits,
    AttachmentRejectedError,
    AttachmentTooLargeError,
    AttachmentUploadError,
    AttachmentUploadState,
    ChatService,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    UnsupportedAttachmentTypeError,
)
from connectparticipant_ext._files import safe_filename

from _helpers import WAIT, call_takes

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def test_upload_from_a_path_round_trips(connection, tmp_path):
    source = tmp_path / "invoice.pdf"
    source.write_bytes(PDF)
    attachment = connection.upload_attachment(source)
    assert attachment.name == "invoice.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(PDF)
    attachment.wait_until_approved(timeout=10, delay=0.01)
    assert attachment.status == "APPROVED"
    (tmp_path / "out").mkdir()
    target = connection.Attachment(attachment.id).download(tmp_path / "out")
    assert target.read_bytes() == PDF
    assert target.name == "invoice.pdf"


def test_upload_from_bytes_needs_a_name(connection):
    with pytest.raises(InvalidArgumentError) as info:
        connection.upload_attachment(b"data")
    assert "name=" in str(info.value)
    attachment = connection.upload_attachment(b"some,csv\n1,2\n", name="data.csv")
    buffer = io.BytesIO()
    attachment.download(buffer)
    assert buffer.getvalue() == b"some,csv\n1,2\n"


def test_upload_from_a_file_object(connection, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"header\nthe rest")
    with open(path, "rb") as fileobj:
        fileobj.read(7)  # read from the current position on
        attachment = connection.upload_attachment(fileobj)
    assert attachment.name == "notes.txt"
    out = io.BytesIO()
    attachment.download(out)
    assert out.getvalue() == b"the rest"


def test_upload_from_a_non_seekable_stream(connection):
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    attachment = connection.upload_attachment(Pipe(b"x" * 5000), name="stream.txt")
    out = io.BytesIO()
    attachment.download(out)
    assert out.getvalue() == b"x" * 5000


def test_attachment_appears_in_the_transcript(connection, agent, tmp_path):
    attachment = connection.upload_attachment(b"hello", name="hello.txt")
    attachment.wait_until_approved(timeout=10, delay=0.01)
    [item] = [i for i in agent.transcript if i.is_attachment]
    [entry] = item.attachments
    assert entry == attachment
    assert (entry.name, entry.status, entry.content_type) == ("hello.txt", "APPROVED", "text/plain")
    assert entry.download(tmp_path).read_bytes() == b"hello"  # bound to the agent's connection


def test_progress_callbacks(connection):
    seen_up: list[tuple[int, int | None]] = []
    seen_down: list[tuple[int, int | None]] = []
    data = os.urandom(300_000)
    attachment = connection.upload_attachment(
        data, name="big.png", progress=lambda done, total: seen_up.append((done, total))
    )
    attachment.download(io.BytesIO(), progress=lambda done, total: seen_down.append((done, total)))
    assert seen_up[-1] == (len(data), len(data))
    assert [d for d, _ in seen_up] == sorted(d for d, _ in seen_up)
    assert seen_down[-1] == (len(data), len(data))


@pytest.mark.parametrize(
    ("source", "kwargs", "error", "mentions"),
    [
        (b"x" * 21, {"name": "a.txt"}, AttachmentTooLargeError, "20"),
        (b"x", {"name": "virus.exe"}, UnsupportedAttachmentTypeError, ".exe"),
        (b"x", {"name": "README"}, UnsupportedAttachmentTypeError, "no extension"),
        (b"", {"name": "empty.txt"}, InvalidArgumentError, "empty"),
        (b"x", {"name": "file.txt", "content_type": 5}, InvalidArgumentTypeError, "content_type"),
        (b"x", {"name": ""}, InvalidArgumentError, "name"),
        (b"x", {"name": "n" * 300 + ".txt"}, InvalidArgumentError, "name"),
        (12345, {}, InvalidArgumentTypeError, "source"),
        (io.StringIO("text"), {"name": "a.txt"}, InvalidArgumentTypeError, "binary"),
    ],
)
def test_bad_uploads_fail_before_any_call(chat, chat_contact, wire_calls, source, kwargs, error, mentions):
    limited = chat.with_options(attachment_limits=AttachmentLimits(max_size=20))
    conn = limited.Participant(chat_contact["ParticipantToken"]).create_connection()
    wire_calls.clear()
    with pytest.raises(error) as info:
        conn.upload_attachment(source, **kwargs)
    assert mentions in str(info.value)
    assert wire_calls == []


def test_default_limits_are_amazon_connects():
    limits = AttachmentLimits()
    assert limits.max_size == 20 * 1024 * 1024
    assert ".pdf" in limits.allowed_extensions and ".exe" not in limits.allowed_extensions
    limits.check("A.PDF", 1)
    with pytest.raises(AttachmentTooLargeError) as info:
        limits.check("a.pdf", 20 * 1024 * 1024 + 1)
    assert str(20 * 1024 * 1024) in str(info.value)


def test_limits_are_a_setting(chat, chat_contact):
    custom = chat.with_options(attachment_limits=AttachmentLimits(allowed_extensions={"exe"}))
    conn = custom.Participant(chat_contact["ParticipantToken"]).create_connection()
    with pytest.raises(UnsupportedAttachmentTypeError):
        conn.upload_attachment(b"x", name="a.pdf")


def test_unknown_content_type_needs_to_be_given(chat, chat_contact):
    custom = chat.with_options(attachment_limits=AttachmentLimits(allowed_extensions={".zzz"}))
    conn = custom.Participant(chat_contact["ParticipantToken"]).create_connection()
    with pytest.raises(InvalidArgumentError) as info:
        conn.upload_attachment(b"x", name="a.zzz")
    assert "content_type" in str(info.value)


def test_the_steps_one_by_one(connection):
    upload = connection.start_attachment_upload("steps.txt", 5, "text/plain")
    assert upload.state is AttachmentUploadState.STARTED
    with pytest.raises(AttachmentError) as info:
        upload.complete()
    assert "not uploaded" in str(info.value)
    upload.upload(io.BytesIO(b"12345"))
    assert upload.state is AttachmentUploadState.UPLOADED
    with pytest.raises(AttachmentError):
        upload.upload(io.BytesIO(b"12345"))
    attachment = upload.complete()
    assert upload.state is AttachmentUploadState.COMPLETED
    assert upload.complete() is attachment
    assert attachment.id == upload.attachment_id


def test_failed_put_leaves_the_upload_failed_and_retryable(connection, mock_chat):
    mock_chat.fail_next_uploads(1, status=500)
    upload = connection.start_attachment_upload("retry.txt", 5, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"12345"))
    assert info.value.status_code == 500
    assert upload.state is AttachmentUploadState.FAILED
    upload.upload(io.BytesIO(b"12345"))
    assert upload.state is AttachmentUploadState.UPLOADED
    out = io.BytesIO()
    upload.complete().download(out)
    assert out.getvalue() == b"12345"


def test_upload_attachment_retries_a_failed_put(connection, mock_chat):
    mock_chat.fail_next_uploads(2, status=503)
    attachment = connection.upload_attachment(b"persist", name="retry.txt")
    out = io.BytesIO()
    attachment.download(out)
    assert out.getvalue() == b"persist"


def test_upload_attachment_gives_up_after_three_attempts(connection, mock_chat):
    mock_chat.fail_next_uploads(3, status=500)
    with pytest.raises(AttachmentUploadError) as info:
        connection.upload_attachment(b"doomed", name="doomed.txt")
    assert "HTTP 500" in str(info.value)


def test_same_client_token_makes_one_attachment(connection):
    first = connection.upload_attachment(b"one", name="one.txt", client_token="upload-1")
    second = connection.upload_attachment(b"one", name="one.txt", client_token="upload-1")
    assert first.id == second.id
    assert len([i for i in connection.transcript if i.is_attachment]) == 1


def test_rejected_attachment(connection, mock_chat):
    mock_chat.attachment_verdict = "REJECTED"
    attachment = connection.upload_attachment(b"bad", name="bad.txt")
    with pytest.raises(AttachmentRejectedError) as info:
        attachment.wait_until_approved(timeout=10, delay=0.01)
    assert "bad.txt" in str(info.value)


def test_wait_times_out(connection):
    attachment = connection.Attachment("never-completed")
    with pytest.raises(AttachmentError) as info:
        attachment.wait_until_approved(timeout=0.05, delay=0.01)
    assert "not approved within" in str(info.value)


def test_url(connection):
    attachment = connection.upload_attachment(b"abc", name="abc.txt")
    url = attachment.url(expires_in=30, disposition="INLINE")
    assert requests.get(url, timeout=10).content == b"abc"
    assert attachment.size == 3
    with pytest.raises(InvalidArgumentError):
        attachment.url(expires_in=4)
    with pytest.raises(InvalidArgumentError):
        attachment.url(expires_in=301)
    with pytest.raises(InvalidArgumentError):
        attachment.url(disposition="DOWNLOAD")


def test_unknown_attachment(connection):
    from connectparticipant_ext import ServiceError

    with pytest.raises(ServiceError):
        connection.Attachment("does-not-exist").url()


def test_download_to_an_explicit_path_does_not_overwrite(connection, tmp_path):
    attachment = connection.upload_attachment(b"new", name="a.txt")
    target = tmp_path / "existing.txt"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        attachment.download(target)
    assert target.read_bytes() == b"old"
    assert attachment.download(target, overwrite=True) == target
    assert target.read_bytes() == b"new"


def test_download_into_a_directory_never_clobbers(connection, tmp_path):
    attachment = connection.upload_attachment(b"v2", name="report.txt")
    (tmp_path / "report.txt").write_bytes(b"v1")
    written = attachment.download(tmp_path)
    assert written == tmp_path / "report (1).txt"
    assert (tmp_path / "report.txt").read_bytes() == b"v1"
    assert written.read_bytes() == b"v2"


def test_download_to_a_new_directory(connection, tmp_path):
    attachment = connection.upload_attachment(b"d", name="d.txt")
    written = attachment.download(str(tmp_path / "downloads") + "/")
    assert written == tmp_path / "downloads" / "d.txt"
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == ["d.txt"]  # no .part left


HOSTILE_NAMES = [
    "../../etc/passwd",
    "/abs.txt",
    "a\\b.txt",
    "nul\x00byte.txt",
    "..",
    ".",
    "ctl\x1b[2J.txt",
    "CON.txt",
    " .hidden.txt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_land_inside_the_directory(connection, mock_chat, tmp_path, name):
    attachment = connection.upload_attachment(b"payload", name="x.txt")
    attachment.name = name  # as if the service had sent this name
    target = tmp_path / "inbox"
    target.mkdir()
    written = attachment.download(target)
    assert written.parent == target
    assert written.read_bytes() == b"payload"
    assert "/" not in written.name and "\\" not in written.name and "\x00" not in written.name
    assert written.name not in ("", ".", "..")
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("/abs", "abs"),
        ("a\\b", "b"),
        ("a\x00b.pdf", "ab.pdf"),
        ("nul\x00.pdf", "_nul.pdf"),
        ("..", "attachment"),
        ("", "attachment"),
        ("con.txt", "_con.txt"),
        ("report.pdf", "report.pdf"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_safe_filename(name, safe):
    assert safe_filename(name) == safe


def test_no_url_or_token_in_errors(connection, mock_chat):
    mock_chat.fail_next_uploads(3, status=500)
    upload = connection.start_attachment_upload("secret.txt", 3, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    text = str(info.value) + repr(info.value) + repr(upload)
    assert "X-Amz" not in text and "Signature" not in text and "?" not in text
    assert connection.token not in text


def test_upload_errors_from_the_http_layer_hide_the_url(chat, chat_contact):
    class Broken(requests.Session):
        def put(self, url, *args, **kwargs):
            raise requests.ConnectionError(f"could not reach {url}")

    service = chat.with_options(http_session=Broken())
    conn = service.Participant(chat_contact["ParticipantToken"]).create_connection()
    with pytest.raises(AttachmentUploadError) as info:
        conn.upload_attachment(b"abc", name="a.txt")
    assert "ConnectionError" in str(info.value)
    assert "http" not in str(info.value)
    # the URL-bearing original is neither chained nor kept as the context (a traceback
    # printer or error reporter that walks __context__ would show the signed URL)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_the_http_session_is_injectable(chat, chat_contact):
    used = []

    class Recording(requests.Session):
        def put(self, url, *args, **kwargs):
            used.append("put")
            return super().put(url, *args, **kwargs)

        def get(self, url, *args, **kwargs):
            used.append("get")
            return super().get(url, *args, **kwargs)

    service = chat.with_options(http_session=Recording())
    conn = service.Participant(chat_contact["ParticipantToken"]).create_connection()
    conn.upload_attachment(b"abc", name="a.txt").download(io.BytesIO())
    assert used == ["put", "get"]


def test_attachment_repr_and_equality(connection):
    a = connection.Attachment("att-1")
    assert "att-1" in repr(a)
    assert a == Attachment("att-1")
    assert hash(a) == hash(Attachment("att-1"))
    assert a != Attachment("att-2")
    assert hash(a) != hash(Attachment("att-2"))  # a set or dict of attachments spreads them out


def test_service_limits_default():
    assert ChatService(region_name="us-east-1").attachment_limits == AttachmentLimits()


# -- the transfers against a scripted HTTP session: requests, answers and exact messages -------------


class Answer:
    """A ``requests.Response`` as the attachment code reads it."""

    def __init__(self, status_code=200, content=b"", chunks=()):
        self.status_code = status_code
        self.content = content
        self._chunks = list(chunks)
        self.chunk_sizes = []  # the chunk size the reader asked for, each time

    def iter_content(self, size):
        self.chunk_sizes.append(size)
        yield from self._chunks

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None


FORWARD = "forward"
"""A scripted answer: pass the request on to the (mocked) storage service."""


class ScriptedSession:
    """An injected HTTP session: answers PUTs and GETs from a script and records each request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[tuple[str, dict]] = []

    def _next(self, method, url, kwargs):
        if "data" in kwargs:  # read to the end, as requests does
            body = b"".join(iter(lambda: kwargs["data"].read(8192), b""))
            kwargs = {**{k: v for k, v in kwargs.items() if k != "data"}, "body": body}
        self.requests.append((method, kwargs))
        answer = self.last_answer = self.answers.pop(0)
        if answer == FORWARD:
            return requests.put(url, data=kwargs["body"], headers=kwargs["headers"], timeout=kwargs["timeout"])
        if isinstance(answer, Exception):
            raise answer
        return answer

    def put(self, url, **kwargs):
        return self._next("PUT", url, kwargs)

    def get(self, url, **kwargs):
        return self._next("GET", url, kwargs)


@pytest.fixture
def scripted(chat, chat_contact):
    """A connection whose presigned-URL transfers go to a ScriptedSession (``conn.session``)."""

    def connect(*answers, timeout=(4, 9)):
        session = ScriptedSession(*answers)
        service = chat.with_options(http_session=session, timeout=timeout)
        conn = service.Participant(chat_contact["ParticipantToken"]).create_connection(websocket=False)
        conn.session = session
        return conn

    return connect


S3_DENIED = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>no</Message></Error>"


def test_the_put_carries_the_headers_the_length_and_the_service_timeouts(scripted):
    conn = scripted(Answer(200))
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    upload.upload(io.BytesIO(b"abc"))
    [(method, request)] = conn.session.requests
    assert method == "PUT"
    assert request["headers"] == {**upload.headers, "Content-Length": "3"}
    assert request["timeout"] == (4.0, 9.0)
    assert request["body"] == b"abc"
    assert upload.state is AttachmentUploadState.UPLOADED


def test_a_refused_put_names_the_status_and_the_storage_error_code(scripted):
    conn = scripted(Answer(403, S3_DENIED), Answer(418, b"no xml here"))
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "uploading 'a.txt' failed: HTTP 403 (AccessDenied)"
    assert (info.value.status_code, info.value.error_code) == (403, "AccessDenied")
    assert upload.state is AttachmentUploadState.FAILED
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "uploading 'a.txt' failed: HTTP 418"
    assert (info.value.status_code, info.value.error_code) == (418, None)


def test_a_put_that_raises_is_reported_by_its_type_only(scripted):
    conn = scripted(requests.ConnectionError("https://bucket/key?X-Amz-Signature=secret"))
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "uploading 'a.txt' failed: ConnectionError"
    assert info.value.status_code is None
    assert upload.state is AttachmentUploadState.FAILED


@pytest.mark.parametrize(("status", "attempts"), [(500, 3), (503, 3), (429, 3), (403, 1), (404, 1)])
def test_upload_attachment_retries_only_what_may_succeed_later(scripted, status, attempts, caplog):
    caplog.set_level(logging.INFO, logger="connectparticipant_ext.attachments")
    conn = scripted(*[Answer(status)] * 3)
    with pytest.raises(AttachmentUploadError) as info:
        conn.upload_attachment(b"abc", name="a.txt")
    assert info.value.status_code == status
    assert [r[1]["body"] for r in conn.session.requests] == [b"abc"] * attempts  # rewound each time
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == attempts - 1
    expected = rf"upload of attachment [0-9a-f-]{{36}} failed \(uploading 'a\.txt' failed: HTTP {status}\); retrying"
    assert all(re.fullmatch(expected, m) for m in retries), retries


def test_a_connection_error_is_retried_and_a_stream_is_rewound_from_its_spool(scripted):
    conn = scripted(requests.ConnectionError("down"), FORWARD)
    conn.upload_attachment(b"abc", name="a.txt")
    assert [r[1]["body"] for r in conn.session.requests] == [b"abc", b"abc"]

    conn = scripted(Answer(500), FORWARD)
    attachment = conn.upload_attachment(Pipe(b"piped"), name="a.txt")
    assert [r[1]["body"] for r in conn.session.requests] == [b"piped", b"piped"]
    assert attachment.size == 5


def test_a_file_shorter_than_announced_fails_the_put(scripted):
    conn = scripted(Answer(200))
    upload = conn.start_attachment_upload("a.txt", 5, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "the file ended after 3 of 5 bytes"
    assert upload.state is AttachmentUploadState.FAILED  # and may be retried with the whole file
    upload.upload(io.BytesIO(b"abcde"))
    assert upload.state is AttachmentUploadState.UPLOADED


def test_an_expired_upload_url_fails_without_a_request(scripted):
    from datetime import datetime, timedelta, timezone

    conn = scripted()
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    upload.url_expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "the upload URL for 'a.txt' has expired; start a new upload"
    assert upload.state is AttachmentUploadState.FAILED
    assert conn.session.requests == []


def test_upload_states_are_checked_by_name(connection):
    upload = connection.start_attachment_upload("a.txt", 3, "text/plain")
    with pytest.raises(AttachmentError) as info:
        upload.complete()
    assert str(info.value) == "cannot complete the upload of 'a.txt': it is started, not uploaded"
    upload.upload(io.BytesIO(b"abc"))
    with pytest.raises(AttachmentError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "the upload of 'a.txt' is already uploaded"
    attachment = upload.complete()
    assert (attachment.name, attachment.content_type, attachment.size) == ("a.txt", "text/plain", 3)
    with pytest.raises(AttachmentError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "the upload of 'a.txt' is already completed"
    with pytest.raises(InvalidArgumentTypeError) as info:
        connection.start_attachment_upload("b.txt", 3, "text/plain").upload(io.StringIO("abc"))
    assert str(info.value) == "the file object must be opened in binary mode ('rb' / 'wb')"


def test_progress_reports_every_chunk_of_the_put(scripted):
    seen = []
    conn = scripted(Answer(200))
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    upload.upload(io.BytesIO(b"abc"), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 3)]


def test_the_complete_call_derives_its_client_token_from_the_start_token(connection):
    tokens = []
    events = connection.meta.client.meta.events

    def record(params, **kwargs):
        tokens.append(params["ClientToken"])

    events.register("before-parameter-build.connectparticipant.CompleteAttachmentUpload", record, unique_id="c")
    try:
        connection.upload_attachment(b"x", name="a.txt", client_token="start-1")
    finally:
        events.unregister("before-parameter-build.connectparticipant.CompleteAttachmentUpload", unique_id="c")
    # stable across processes and releases: a retry after a restart completes the same upload
    assert tokens == ["a2269bfb-aeb3-515e-920b-a3a330c81a4b"]


# -- downloads against a scripted session -------------------------------------------------------------


def scripted_attachment(scripted, *answers, size=3):
    """An attachment of ``size`` bytes (None: not announced) whose download gets ``answers``."""
    conn = scripted(*answers)
    answer = {"Url": "https://bucket/key?sig=1", **({} if size is None else {"AttachmentSizeInBytes": size})}
    conn.calls = []

    def call_operation(operation, **params):
        conn.calls.append((operation, params))
        return answer

    conn.call_operation = call_operation
    return conn.Attachment("att-1")


def test_a_download_writes_each_chunk_and_reports_progress(scripted):
    seen = []
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"ab", b"c"]))
    out = io.BytesIO()
    assert attachment.download(out, progress=lambda done, total: seen.append((done, total))) is out
    assert out.getvalue() == b"abc" and seen == [(2, 3), (3, 3)]
    [(method, request)] = attachment.connection.service.http_session.requests
    assert method == "GET" and request == {"stream": True, "timeout": (4.0, 9.0)}
    # a one-minute URL, saved as a file; read in chunks of a bounded size, never whole
    assert attachment.connection.calls == [
        ("GetAttachment", {"AttachmentId": "att-1", "UrlExpiryInSeconds": 60, "UrlContentDisposition": "ATTACHMENT"})
    ]
    assert attachment.connection.service.http_session.last_answer.chunk_sizes == [256 * 1024]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(404), "downloading attachment att-1 failed: HTTP 404"),
        (Answer(300), "downloading attachment att-1 failed: HTTP 300"),
        (Answer(302), "downloading attachment att-1 failed: HTTP 302"),
        (
            Answer(200, chunks=[b"ab", b"cd"]),
            "attachment att-1: the download is longer than the 3 bytes announced; stopped",
        ),
        (Answer(200, chunks=[b"ab"]), "attachment att-1: received 2 bytes, expected 3"),
        (requests.ReadTimeout("https://bucket/key?sig=1"), "downloading attachment att-1 failed: ReadTimeout"),
    ],
)
def test_a_failed_download_says_why_without_the_url(scripted, answer, message):
    attachment = scripted_attachment(scripted, answer)
    with pytest.raises(AttachmentError) as info:
        attachment.download(io.BytesIO())
    assert str(info.value) == message
    assert info.value.__context__ is None or "sig=" not in str(info.value.__context__)


def test_a_download_of_unknown_size_takes_what_comes(scripted):
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"ab", b"c"]), size=None)
    out = io.BytesIO()
    attachment.download(out)
    assert out.getvalue() == b"abc"


def test_download_refuses_what_is_not_a_destination(connection, tmp_path):
    attachment = connection.Attachment("att-1")
    with pytest.raises(InvalidArgumentTypeError) as info:
        attachment.download(42)
    assert str(info.value) == "dest must be a directory, a file path or a binary file object"
    with pytest.raises(InvalidArgumentTypeError):
        attachment.download(io.StringIO())
    existing = tmp_path / "a.txt"
    existing.write_bytes(b"old")
    with pytest.raises(FileExistsError) as info:
        attachment.download(existing)
    assert str(info.value) == f"{str(existing)!r} exists; pass overwrite=True to replace it"


def test_a_failed_download_leaves_no_file(scripted, tmp_path):
    attachment = scripted_attachment(scripted, Answer(500))
    with pytest.raises(AttachmentError):
        attachment.download(tmp_path / "a.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_bare_attachment_learns_its_name_before_downloading_into_a_directory(connection, tmp_path):
    uploaded = connection.upload_attachment(b"abc", name="notes.txt")
    bare = connection.Attachment(uploaded.id)
    assert bare.name is None
    written = bare.download(tmp_path)
    assert written == tmp_path / "notes.txt"
    assert (bare.name, bare.content_type, bare.status) == ("notes.txt", "text/plain", "APPROVED")


# -- the attachment object ----------------------------------------------------------------------------


def test_an_unbound_attachment_says_so():
    attachment = Attachment.from_item({"AttachmentId": "a", "AttachmentName": "n.txt", "Status": "APPROVED"})
    assert (attachment.id, attachment.name, attachment.status, attachment.content_type) == (
        "a",
        "n.txt",
        "APPROVED",
        None,
    )
    with pytest.raises(AttachmentError) as info:
        attachment.url()
    assert str(info.value) == "this attachment is not bound to a connection"
    assert Attachment.from_item({}).id == ""
    assert attachment != "a" and len({attachment, Attachment("a"), Attachment("b")}) == 2


def test_reload_leaves_an_attachment_it_cannot_find_alone(connection):
    attachment = connection.Attachment("not-in-this-chat")
    attachment.name = "kept.txt"
    assert attachment.reload() is attachment
    assert (attachment.name, attachment.status) == ("kept.txt", None)


@pytest.mark.parametrize("size", [True, "3", -1, 2.0])
def test_a_size_that_is_not_a_size_is_malformed(connection, monkeypatch, size):
    from connectparticipant_ext import MalformedResponseError

    monkeypatch.setattr(
        connection, "call_operation", lambda operation, **p: {"Url": "u", "AttachmentSizeInBytes": size}
    )
    with pytest.raises(MalformedResponseError) as info:
        connection.Attachment("a").url()
    assert str(info.value) == "GetAttachment returned a malformed answer: AttachmentSizeInBytes is not a size in bytes"


def test_a_size_of_zero_is_a_size(connection, monkeypatch):
    monkeypatch.setattr(connection, "call_operation", lambda operation, **p: {"Url": "u", "AttachmentSizeInBytes": 0})
    attachment = connection.Attachment("a")
    assert attachment.url() == "u" and attachment.size == 0


def test_waiting_reports_the_status_it_saw(connection):
    attachment = connection.Attachment("never-completed")
    with pytest.raises(AttachmentError) as info:
        attachment.wait_until_approved(timeout=0.01, delay=0)
    assert str(info.value) == "attachment 'never-completed' was not approved within 0.01 s (status None)"


def test_a_rejection_is_reported_by_name(connection, mock_chat):
    mock_chat.attachment_verdict = "REJECTED"
    attachment = connection.upload_attachment(b"bad", name="bad.txt")
    with pytest.raises(AttachmentRejectedError) as info:
        attachment.wait_until_approved(timeout=10, delay=0)
    assert str(info.value) == "attachment 'bad.txt' was rejected by the service"


# -- limits and sources -------------------------------------------------------------------------------


def test_allowed_extensions_are_normalised():
    limits = AttachmentLimits(allowed_extensions=["PDF", ".Txt", "..md", "XLSX"])
    assert limits.allowed_extensions == frozenset({".pdf", ".txt", ".md", ".xlsx"})
    with pytest.raises(InvalidArgumentTypeError) as info:
        AttachmentLimits(allowed_extensions=".pdf")
    assert str(info.value) == "allowed_extensions must be a collection of extensions, not a str"
    with pytest.raises(ValueError):
        AttachmentLimits(max_size=0)
    AttachmentLimits(max_size=1).check("a.TXT", 1)  # the extension's case does not matter


def test_a_type_nobody_can_guess_must_be_given(chat, chat_contact, mock_chat, wire_calls):
    mock_chat.settings.allowed_extensions = frozenset({".zzq"})  # the instance allows it too
    limited = chat.with_options(attachment_limits=AttachmentLimits(allowed_extensions=[".zzq"]))
    conn = limited.Participant(chat_contact["ParticipantToken"]).create_connection(websocket=False)
    wire_calls.clear()
    with pytest.raises(InvalidArgumentError) as info:
        conn.upload_attachment(b"abc", name="a.zzq")
    assert str(info.value) == "cannot tell the content type of 'a.zzq'; pass content_type="
    assert wire_calls == []
    assert conn.upload_attachment(b"abc", name="a.zzq", content_type="application/x-zzq").content_type == (
        "application/x-zzq"
    )


def test_a_stream_over_the_limit_is_refused_while_it_is_read(chat, chat_contact, wire_calls):
    limited = chat.with_options(attachment_limits=AttachmentLimits(max_size=10))
    conn = limited.Participant(chat_contact["ParticipantToken"]).create_connection(websocket=False)
    wire_calls.clear()
    with pytest.raises(AttachmentTooLargeError) as info:
        conn.upload_attachment(Pipe(b"x" * 11), name="a.txt")
    assert str(info.value) == "the stream is over the attachment size limit of 10 bytes"
    assert wire_calls == []


def test_sources_get_their_names_and_sizes(connection, tmp_path):
    with pytest.raises(InvalidArgumentTypeError) as info:
        connection.upload_attachment(12345)
    assert str(info.value) == "source must be a path, bytes or a binary file object, not int"
    with pytest.raises(IsADirectoryError) as info:
        connection.upload_attachment(tmp_path)
    assert str(info.value) == f"{str(tmp_path)!r} is a directory; an attachment must be a regular file"
    with pytest.raises(InvalidArgumentError) as info:
        connection.upload_attachment(io.BytesIO(b"abc"))
    assert str(info.value) == "name= is required when the source has no file name (bytes, a stream)"
    path = tmp_path / "sub" / "data.csv"
    path.parent.mkdir()
    path.write_bytes(b"1,2")
    with open(path, "rb") as fileobj:
        attachment = connection.upload_attachment(fileobj, name="renamed.csv")
        assert not fileobj.closed  # the caller's file stays open
    assert (attachment.name, attachment.size) == ("renamed.csv", 3)


# -- the start call: its arguments and the service's answer -------------------------------------------


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("", 3, "text/plain"), InvalidArgumentError, "name must not be empty"),
        (("n" * 253 + ".txt", 3, "text/plain"), InvalidArgumentError, "name has 257 characters; the limit is 256"),
        ((5, 3, "text/plain"), InvalidArgumentTypeError, "name must be a str, not int"),
        (("a.txt", -1, "text/plain"), InvalidArgumentError, "size must be at least 0, got -1"),
        (("a.txt", 0, "text/plain"), InvalidArgumentError, "'a.txt' is empty; an attachment needs at least 1 byte"),
        (("a.txt", "3", "text/plain"), InvalidArgumentTypeError, "size must be an int, not str"),
        (("a.txt", 3, "t" * 256), InvalidArgumentError, "content_type has 256 characters; the limit is 255"),
    ],
)
def test_start_checks_its_arguments_before_any_call(connection, wire_calls, args, error, message):
    wire_calls.clear()
    with pytest.raises(error) as info:
        connection.start_attachment_upload(*args)
    assert str(info.value) == message
    assert wire_calls == []


def test_start_takes_the_longest_name(connection):
    name = "n" * 252 + ".txt"
    assert connection.start_attachment_upload(name, 3, "text/plain").name == name


def test_each_upload_without_a_client_token_is_a_new_attachment(connection):
    first = connection.start_attachment_upload("a.txt", 3, "text/plain")
    second = connection.start_attachment_upload("a.txt", 3, "text/plain")
    assert first.attachment_id != second.attachment_id


def answering(connection, monkeypatch, answer):
    """Make the connection's calls return ``answer``; returns the calls made."""
    calls = []

    def call_operation(operation, **params):
        calls.append((operation, params))
        return answer

    monkeypatch.setattr(connection, "call_operation", call_operation)
    return calls


def test_a_well_formed_start_answer_makes_the_upload(connection, monkeypatch):
    metadata = {"Url": "https://bucket/key?sig=1", "UrlExpiry": "2030-01-02T03:04:05.678Z", "HeadersToInclude": None}
    calls = answering(connection, monkeypatch, {"AttachmentId": "att-9", "UploadMetadata": metadata})
    upload = connection.start_attachment_upload("a.txt", 3, "text/plain", client_token="token-1")
    assert (upload.attachment_id, upload.name, upload.size, upload.content_type) == ("att-9", "a.txt", 3, "text/plain")
    assert upload.url_expires_at == datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert upload.headers == {}
    assert calls == [
        (
            "StartAttachmentUpload",
            {
                "ContentType": "text/plain",
                "AttachmentSizeInBytes": 3,
                "AttachmentName": "a.txt",
                "ClientToken": "token-1",
            },
        )
    ]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"AttachmentId": "a"}, "UploadMetadata is missing or not an object"),
        ({"AttachmentId": "a", "UploadMetadata": ["u"]}, "UploadMetadata is missing or not an object"),
        (
            {"AttachmentId": "a", "UploadMetadata": {"Url": "u", "HeadersToInclude": ["h"]}},
            "HeadersToInclude is not a map of strings",
        ),
        (
            {"AttachmentId": "a", "UploadMetadata": {"Url": "u", "HeadersToInclude": {"h": 1}}},
            "HeadersToInclude is not a map of strings",
        ),
        (
            {"AttachmentId": "a", "UploadMetadata": {"Url": "u", "HeadersToInclude": {1: "h"}}},
            "HeadersToInclude is not a map of strings",
        ),
        ({"UploadMetadata": {"Url": "u"}}, "AttachmentId is missing or not a string"),
        ({"AttachmentId": 5, "UploadMetadata": {"Url": "u"}}, "AttachmentId is missing or not a string"),
        ({"AttachmentId": "", "UploadMetadata": {"Url": "u"}}, "AttachmentId is missing or not a string"),
        ({"AttachmentId": "a", "UploadMetadata": {}}, "Url is missing or not a string"),
        ({"AttachmentId": "a", "UploadMetadata": {"Url": 7}}, "Url is missing or not a string"),
    ],
)
def test_a_malformed_start_answer_says_what_is_wrong(connection, monkeypatch, answer, problem):
    from connectparticipant_ext import MalformedResponseError

    answering(connection, monkeypatch, answer)
    with pytest.raises(MalformedResponseError) as info:
        connection.start_attachment_upload("a.txt", 3, "text/plain")
    assert str(info.value) == f"StartAttachmentUpload returned a malformed answer: {problem}"
    assert info.value.operation == "StartAttachmentUpload"


@pytest.mark.parametrize("url", [None, 5, ""])
def test_a_get_answer_without_a_url_is_malformed(connection, monkeypatch, url):
    from connectparticipant_ext import MalformedResponseError

    answering(connection, monkeypatch, {} if url is None else {"Url": url})
    with pytest.raises(MalformedResponseError) as info:
        connection.Attachment("a").url()
    assert str(info.value) == "GetAttachment returned a malformed answer: Url is missing or not a string"


def test_a_download_url_lasts_a_minute_and_is_saved_as_a_file_unless_asked(connection, monkeypatch):
    calls = answering(connection, monkeypatch, {"Url": "u"})
    attachment = connection.Attachment("a")
    assert attachment.url() == "u"
    assert attachment.url(expires_in=300, disposition="INLINE") == "u"
    assert [params for _, params in calls] == [
        {"AttachmentId": "a", "UrlExpiryInSeconds": 60, "UrlContentDisposition": "ATTACHMENT"},
        {"AttachmentId": "a", "UrlExpiryInSeconds": 300, "UrlContentDisposition": "INLINE"},
    ]


# -- the PUT: its body, its answer, its log line ------------------------------------------------------


class ReadingSession:
    """An HTTP session that reads the PUT's body as a client library might, and records what it got."""

    def __init__(self, read):
        self.read = read
        self.seen = None

    def put(self, url, data, **kwargs):
        self.seen = self.read(data)
        return Answer(200)


def reading_connection(chat, chat_contact, read):
    session = ReadingSession(read)
    conn = chat.with_options(http_session=session).Participant(chat_contact["ParticipantToken"])
    return conn.create_connection(websocket=False), session


def test_the_put_body_is_a_file_of_the_announced_size(chat, chat_contact):
    def read(body):
        # requests sends len(body) - body.tell() as Content-Length; http.client reads blocks
        return [
            len(body),
            body.tell(),
            body.readable(),
            body.read(2),
            len(body),
            body.read(0),
            body.read(),
            body.read(),
        ]

    conn, session = reading_connection(chat, chat_contact, read)
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    upload.upload(io.BytesIO(b"abcdef"))  # a file longer than announced: only 3 bytes go
    assert session.seen == [3, 0, True, b"ab", 1, b"", b"c", b""]


def test_the_put_body_can_be_read_into_a_buffer(chat, chat_contact):
    def read(body):
        first, rest = bytearray(2), bytearray(8)
        return [body.readinto(first), bytes(first), body.readinto(rest), bytes(rest[:1]), body.read(None)]

    conn, session = reading_connection(chat, chat_contact, read)
    conn.start_attachment_upload("a.txt", 3, "text/plain").upload(io.BytesIO(b"abc"))
    assert session.seen == [2, b"ab", 1, b"c", b""]


def test_progress_follows_the_blocks_the_put_reads(scripted):
    seen = []
    conn = scripted(Answer(200))
    upload = conn.start_attachment_upload("a.txt", 20_000, "text/plain")
    upload.upload(io.BytesIO(b"x" * 20_000), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(8192, 20_000), (16_384, 20_000), (20_000, 20_000)]  # the session reads 8192 at a time


def test_only_a_2xx_answer_to_the_put_is_a_success(scripted):
    conn = scripted(Answer(300))
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "uploading 'a.txt' failed: HTTP 300"
    assert upload.state is AttachmentUploadState.FAILED


def test_the_put_is_logged_with_its_size_and_duration(scripted, caplog):
    caplog.set_level(logging.DEBUG, logger="connectparticipant_ext.attachments")
    conn = scripted(Answer(200))
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    with call_takes(0.25):
        upload.upload(io.BytesIO(b"abc"))
    [message] = [r.getMessage() for r in caplog.records if "PUT" in r.getMessage()]
    assert message == f"attachment {upload.attachment_id}: PUT of 3 bytes took 250.0 ms"


def test_an_upload_url_is_expired_from_its_expiry_on(scripted, monkeypatch):
    from connectparticipant_ext import attachments

    expiry = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return expiry

    conn = scripted()
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    upload.url_expires_at = expiry
    monkeypatch.setattr(attachments, "datetime", Frozen)
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert "has expired" in str(info.value)
    assert conn.session.requests == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<Error><Code>Acc\xffess</Code></Error>", "Acc\ufffdess"),  # not ASCII: replaced, not an error
        (b" " * 4082 + b"<Code>X</Code>", "X"),  # ends on the 4,096th byte: read
        (b" " * 4083 + b"<Code>X</Code>", None),  # ends on the 4,097th: past what is searched
    ],
)
def test_the_storage_error_code_is_read_from_the_start_of_the_answer(scripted, body, code):
    conn = scripted(Answer(400, body))
    upload = conn.start_attachment_upload("a.txt", 3, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert info.value.error_code == code


# -- downloads to paths ---------------------------------------------------------------------------------


def test_download_to_a_new_path_with_progress(scripted, tmp_path):
    seen = []
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"ab", b"c"]))
    target = tmp_path / "new.txt"
    assert attachment.download(target, progress=lambda done, total: seen.append((done, total))) == target
    assert target.read_bytes() == b"abc" and seen == [(2, 3), (3, 3)]
    assert list(tmp_path.iterdir()) == [target]


def test_a_file_made_at_the_path_during_the_download_is_left_alone(scripted, tmp_path):
    target = tmp_path / "new.txt"
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"abc"]))
    with pytest.raises(FileExistsError) as info:  # another program wrote it meanwhile
        attachment.download(target, progress=lambda done, total: target.write_bytes(b"theirs"))
    assert str(info.value) == f"{str(target)!r} exists; pass overwrite=True to replace it"
    assert target.read_bytes() == b"theirs"
    assert list(tmp_path.iterdir()) == [target]  # no partial file left


def test_the_download_error_is_raised_even_when_the_partial_file_is_gone(scripted, tmp_path):
    class ReaderGoneError(Exception):
        pass

    def progress(done, total):  # something removed the partial file, then the reader stopped
        for part in tmp_path.glob(".download-*.part"):
            part.unlink()
        raise ReaderGoneError

    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"abc"]))
    with pytest.raises(AttachmentError) as info:
        attachment.download(tmp_path / "a.txt", progress=progress)
    assert str(info.value) == "downloading attachment att-1 failed: ReaderGoneError"
    assert list(tmp_path.iterdir()) == []


def test_download_creates_nested_directories(scripted, tmp_path):
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"abc"]))
    attachment.name = "a.txt"
    written = attachment.download(str(tmp_path / "one" / "two") + "/")
    assert written == tmp_path / "one" / "two" / "a.txt"
    assert written.read_bytes() == b"abc"


def test_downloaded_files_get_the_umasks_permissions(scripted, tmp_path):
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"abc"]))
    attachment.name = "a.txt"
    previous = os.umask(0o022)
    try:
        written = attachment.download(tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(written.stat().st_mode) == 0o644  # 0o666 less the umask: not executable


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_link_in_the_directory_never_leads_the_download_out(scripted, tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_bytes(b"keep")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").symlink_to(elsewhere)
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"abc"]))
    attachment.name = "a.txt"
    with pytest.raises(AttachmentError) as info:
        attachment.download(inbox)
    assert str(info.value) == "refusing to write outside the target directory"
    assert elsewhere.read_bytes() == b"keep"
    assert sorted(p.name for p in inbox.iterdir()) == ["a.txt"]


def test_a_directory_gives_up_after_ten_thousand_taken_names(scripted, tmp_path):
    for n in range(10_000):
        (tmp_path / ("a.txt" if n == 0 else f"a ({n}).txt")).touch()
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"abc"]))
    attachment.name = "a.txt"
    with pytest.raises(FileExistsError):
        attachment.download(tmp_path)
    assert not (tmp_path / "a (10000).txt").exists()
    assert not list(tmp_path.glob(".download-*"))


# -- waiting for approval, on a clock the test turns ----------------------------------------------------


def test_waiting_polls_every_delay_until_the_timeout(connection, monkeypatch):
    import time

    now = [time.monotonic()]
    slept = []

    def sleep(seconds):
        assert len(slept) < 100, "still waiting"  # a wait that never ends fails instead
        slept.append(seconds)
        now[0] += seconds

    attachment = connection.Attachment("never-completed")
    with monkeypatch.context() as patch:
        patch.setattr(time, "monotonic", lambda: now[0])
        patch.setattr(time, "sleep", sleep)
        with pytest.raises(AttachmentError) as info:
            attachment.wait_until_approved()
        defaults = list(slept)
        slept.clear()
        with pytest.raises(AttachmentError):
            attachment.wait_until_approved(timeout=2.5, delay=1)
    assert "within 60.0 s" in str(info.value)
    assert defaults == [1.0] * 60  # a poll a second for a minute
    assert slept == [1, 1, 0.5]  # the last sleep ends at the deadline


# -- sources -----------------------------------------------------------------------------------------


class Pipe(io.RawIOBase):
    """A stream that cannot be rewound."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, buffer):
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_long_stream_is_counted_whole(scripted):
    conn = scripted(FORWARD)
    attachment = conn.upload_attachment(Pipe(b"y" * 600_000), name="long.txt")  # more than two 256 KiB chunks
    assert attachment.size == 600_000
    assert conn.session.requests[0][1]["body"] == b"y" * 600_000


def test_a_stream_of_exactly_the_limit_is_taken(chat, chat_contact):
    limited = chat.with_options(attachment_limits=AttachmentLimits(max_size=10))
    conn = limited.Participant(chat_contact["ParticipantToken"]).create_connection(websocket=False)
    assert conn.upload_attachment(Pipe(b"x" * 10), name="a.txt").size == 10


def test_a_stream_is_spooled_to_disk_past_8_mib(connection, monkeypatch):
    sizes = []

    class Recording(tempfile.SpooledTemporaryFile):
        def __init__(self, max_size=0, **kwargs):
            sizes.append(max_size)
            super().__init__(max_size=max_size, **kwargs)

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", Recording)
    connection.upload_attachment(Pipe(b"abc"), name="a.txt")
    assert sizes[0] == 8 * 1024 * 1024  # the first: spooled before any call (the PUT's server spools too)


def test_a_file_object_with_a_text_mode_is_refused(connection, wire_calls):
    wire_calls.clear()
    with tempfile.SpooledTemporaryFile(mode="w+") as text:  # not an io.TextIOBase, but opened for text
        with pytest.raises(InvalidArgumentTypeError) as info:
            connection.upload_attachment(text, name="a.txt")
    assert str(info.value) == "the file object must be opened in binary mode ('rb' / 'wb')"
    assert wire_calls == []


def test_the_name_is_checked_before_the_source_is_opened(connection, tmp_path):
    with pytest.raises(InvalidArgumentError) as info:
        connection.upload_attachment(tmp_path / "missing.txt", name="n" * 253 + ".txt")
    assert str(info.value) == "name has 257 characters; the limit is 256"


def test_a_type_only_the_lenient_table_knows_is_guessed(chat, chat_contact, mock_chat):
    import mimetypes

    assert mimetypes.guess_type("a.pict", strict=True)[0] is None  # not an IANA type
    mock_chat.settings.allowed_extensions = frozenset({".pict"})
    limited = chat.with_options(attachment_limits=AttachmentLimits(allowed_extensions=[".pict"]))
    conn = limited.Participant(chat_contact["ParticipantToken"]).create_connection(websocket=False)
    assert conn.upload_attachment(b"abc", name="a.pict").content_type == "image/pict"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(connection, wire_calls, tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    wire_calls.clear()
    outcome = []

    def upload():
        try:
            connection.upload_attachment(fifo)
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=upload, name="fifo-upload", daemon=True)
    thread.start()
    thread.join(WAIT)
    if thread.is_alive():  # blocked opening the pipe: a writer releases it, then the test fails
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(WAIT)
        pytest.fail("opening a named pipe waited for a writer")
    [error] = outcome
    assert isinstance(error, InvalidArgumentError)
    assert str(error) == f"{str(fifo)!r} is not a regular file (a pipe, socket or device); not sent"
    assert wire_calls == []
