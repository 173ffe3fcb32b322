"""Attachments against a misbehaving storage endpoint (``tests/hostile.py``): timeouts kept, sizes enforced, no URL in errors."""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.usefixtures("no_backoff")


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


def test_a_stalled_put_honours_the_service_timeout(chat, chat_contact):
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
    assert FAKE_SIGNATURE not in _chain(info.value)  # nor in the context
    assert info.value.__context__ is None


def test_a_download_stops_at_the_announced_size(chat, chat_contact):
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


def test_download_errors_keep_no_url_in_their_context(chat, chat_contact):
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
