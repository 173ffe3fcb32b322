"""Downloading attachments to files: every file kept, no partial file, the umask followed, safe names."""

from __future__ import annotations

import os
import threading

import pytest

pytestmark = pytest.mark.usefixtures("no_backoff")


def _stored(connection, data: bytes, name: str):
    attachment = connection.upload_attachment(data, name=name)
    return connection.Attachment(attachment.id)  # bare: learns its name from the transcript


def test_parallel_same_name_downloads_keep_every_file(connection, tmp_path):
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


def test_no_part_file_when_the_name_lookup_fails(connection, tmp_path, monkeypatch):
    from connectparticipant_ext import Attachment, ThrottlingError

    attachment = _stored(connection, b"some bytes", "a.txt")

    def refuse(self):
        raise ThrottlingError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetTranscript")

    monkeypatch.setattr(Attachment, "reload", refuse)
    with pytest.raises(ThrottlingError):
        attachment.download(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_downloads_follow_the_umask(connection, tmp_path):
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
def test_safe_filename_windows_names_and_bare_extensions(name, safe):
    from connectparticipant_ext._files import safe_filename

    assert safe_filename(name) == safe
