"""Uploading attachments: from paths, bytes and files, step by step, checked before any call."""

from __future__ import annotations

import io
import mimetypes
import os
import threading
from pathlib import Path

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectparticipant_ext import (
    Attachment,
    AttachmentLimits,
    AttachmentTooLargeError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    UnsupportedAttachmentTypeError,
    exceptions,
)

from _helpers import DOCUMENTED, PROPERTY_SETTINGS, WAIT, utf8_size

pytestmark = pytest.mark.usefixtures("no_backoff")


def test_upload_attachment_from_path_bytes_and_fileobj(connection, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 path")
    from_path = connection.upload_attachment(str(path))
    from_pathlike = connection.upload_attachment(path)
    from_bytes = connection.upload_attachment(b"a,b\n1,2\n", name="data.csv", content_type="text/csv")
    from_file = connection.upload_attachment(io.BytesIO(b"notes"), name="notes.txt", content_type="text/plain")
    for att, data in (
        (from_path, b"%PDF-1.4 path"),
        (from_pathlike, b"%PDF-1.4 path"),
        (from_bytes, b"a,b\n1,2\n"),
        (from_file, b"notes"),
    ):
        assert isinstance(att, Attachment)
        assert att.wait_until_approved(timeout=WAIT, delay=0.01) is not None
        out = io.BytesIO()
        att.download(out)
        assert out.getvalue() == data
    assert from_path.name == "report.pdf"
    attachments = [a for i in connection.transcript if i.type == "ATTACHMENT" for a in i.attachments]
    assert {a.name for a in attachments} >= {"report.pdf", "data.csv", "notes.txt"}
    assert all(isinstance(a, Attachment) for a in attachments)
    assert all(a.id and a.content_type and a.status for a in attachments)


def test_attachment_steps_one_by_one_and_by_id(connection, tmp_path):
    data = b"one by one"
    up = connection.start_attachment_upload("steps.txt", len(data), "text/plain")
    up.upload(io.BytesIO(data))
    att = up.complete()
    assert isinstance(att, Attachment)
    att.wait_until_approved(timeout=WAIT, delay=0.01)
    again = connection.Attachment(att.id)
    url = again.url(expires_in=60, disposition="ATTACHMENT")
    assert url.startswith("http")
    assert again.url(expires_in=300, disposition="INLINE").startswith("http")
    assert again.download(tmp_path / "copy.txt").read_bytes() == data
    into_dir = again.download(tmp_path)
    assert Path(into_dir).read_bytes() == data
    with pytest.raises(exceptions.InvalidArgumentError):
        again.url(expires_in=4)
    with pytest.raises(exceptions.InvalidArgumentError):
        again.url(expires_in=301)


def test_attachment_limits_are_checked_before_any_call(connection, wire_calls):
    calls = len(wire_calls)
    with pytest.raises(exceptions.UnsupportedAttachmentTypeError):
        connection.upload_attachment(b"MZ", name="tool.exe", content_type="application/octet-stream")
    with pytest.raises(exceptions.AttachmentTooLargeError):
        connection.start_attachment_upload("big.pdf", 20 * 1024 * 1024 + 1, "application/pdf")
    assert len(wire_calls) == calls
    for cls in (
        exceptions.AttachmentTooLargeError,
        exceptions.UnsupportedAttachmentTypeError,
        exceptions.AttachmentUploadError,
        exceptions.AttachmentRejectedError,
    ):
        assert issubclass(cls, exceptions.AttachmentError)


def test_attachments_are_stored_in_motos_s3(mock_chat, connection):
    att = connection.upload_attachment(b"in s3", name="s3.txt", content_type="text/plain")
    s3 = boto3.client("s3", region_name="us-east-1")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    stored = [
        s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        for bucket in buckets
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert b"in s3" in stored and att.id


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


def test_upload_refuses_a_fifo_without_blocking(connection, tmp_path, wire_calls):
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
def test_wait_until_approved_refuses_bad_timeouts(connection, wire_calls, bad):
    attachment = connection.Attachment("att-1")
    with pytest.raises((InvalidArgumentError, InvalidArgumentTypeError)) as info:
        attachment.wait_until_approved(timeout=bad)
    assert "timeout" in str(info.value)
    with pytest.raises((InvalidArgumentError, InvalidArgumentTypeError)):
        attachment.wait_until_approved(timeout=5, delay=float("nan") if bad != 0 else -1)
    assert wire_calls == []
