"""Attachments under mock_aws: checks before any call, streaming both ways, lifecycle states,
retries, rejection, safe file names, and no presigned URL in any error."""

from __future__ import annotations

import io
import logging
import os

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


def test_service_limits_default():
    assert ChatService(region_name="us-east-1").attachment_limits == AttachmentLimits()


# -- the transfers against a scripted HTTP session: requests, answers and exact messages -------------


class Answer:
    """A ``requests.Response`` as the attachment code reads it."""

    def __init__(self, status_code=200, content=b"", chunks=()):
        self.status_code = status_code
        self.content = content
        self._chunks = list(chunks)

    def iter_content(self, size):
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
        answer = self.answers.pop(0)
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
    assert all(f"failed (uploading 'a.txt' failed: HTTP {status}); retrying" in m for m in retries)


def test_a_connection_error_is_retried_and_a_stream_is_rewound_from_its_spool(scripted):
    conn = scripted(requests.ConnectionError("down"), FORWARD)
    conn.upload_attachment(b"abc", name="a.txt")
    assert [r[1]["body"] for r in conn.session.requests] == [b"abc", b"abc"]

    class Pipe(io.RawIOBase):
        def __init__(self):
            self.data = io.BytesIO(b"piped")

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    conn = scripted(Answer(500), FORWARD)
    attachment = conn.upload_attachment(Pipe(), name="a.txt")
    assert [r[1]["body"] for r in conn.session.requests] == [b"piped", b"piped"]
    assert attachment.size == 5


def test_a_file_shorter_than_announced_fails_the_put(scripted):
    conn = scripted(Answer(200))
    upload = conn.start_attachment_upload("a.txt", 5, "text/plain")
    with pytest.raises(AttachmentUploadError) as info:
        upload.upload(io.BytesIO(b"abc"))
    assert str(info.value) == "the file ended after 3 of 5 bytes"


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
    conn.call_operation = lambda operation, **params: answer
    return conn.Attachment("att-1")


def test_a_download_writes_each_chunk_and_reports_progress(scripted):
    seen = []
    attachment = scripted_attachment(scripted, Answer(200, chunks=[b"ab", b"c"]))
    out = io.BytesIO()
    assert attachment.download(out, progress=lambda done, total: seen.append((done, total))) is out
    assert out.getvalue() == b"abc" and seen == [(2, 3), (3, 3)]
    [(method, request)] = attachment.connection.service.http_session.requests
    assert method == "GET" and request == {"stream": True, "timeout": (4.0, 9.0)}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(404), "downloading attachment att-1 failed: HTTP 404"),
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
    limits = AttachmentLimits(allowed_extensions=["PDF", ".Txt", "..md"])
    assert limits.allowed_extensions == frozenset({".pdf", ".txt", ".md"})
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

    class Pipe(io.RawIOBase):
        def __init__(self):
            self.data = io.BytesIO(b"x" * 11)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    wire_calls.clear()
    with pytest.raises(AttachmentTooLargeError) as info:
        conn.upload_attachment(Pipe(), name="a.txt")
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
