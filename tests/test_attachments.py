"""Attachments under mock_aws: checks before any call, streaming both ways, lifecycle states,
retries, rejection, safe file names, and no presigned URL in any error."""

from __future__ import annotations

import io
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
