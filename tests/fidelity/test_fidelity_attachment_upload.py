"""Issue 13 point 13: the presigned PUT's HeadersToInclude, as the service sends them, and S3
refusing a PUT whose signed headers differ; the verdict of attachment scanning on the socket."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from fidelity_wire import Socket, Wire

from connectparticipant_ext import ChatService

# amazon-connect/amazon-connect-chat-ios, AmazonConnectChatIOSTests/Core/utils/TestUtils.swift
# (TestConstants.sampleAttachmentHeaders): the HeadersToInclude of a real answer.
IOS_FIXTURE_NAMES = {
    "x-amz-meta-contact_id",
    "x-amz-meta-initial_contact_id",
    "x-amz-acl",
    "Content-Disposition",
    "x-amz-meta-account_id",
    "Content-Length",
    "Content-Type",
    "x-amz-meta-organization_id",
}


def _start(wire: Wire, token: str, data: bytes, name: str = "sample.txt") -> dict[str, Any]:
    started: dict[str, Any] = wire.participant.start_attachment_upload(
        ConnectionToken=token,
        ContentType="text/plain",
        AttachmentSizeInBytes=len(data),
        AttachmentName=name,
        ClientToken=f"start-{name}",
    )
    return started


def test_headers_to_include_are_the_services(wire: Wire) -> None:
    """amazon-connect-chat-ios TestUtils.swift (sampleAttachmentHeaders): Content-Type,
    Content-Length, Content-Disposition ``attachment; filename="sample.txt"``, ``x-amz-acl:
    bucket-owner-full-control`` and x-amz-meta- contact_id, initial_contact_id, account_id,
    organization_id."""
    contact, token = wire.customer()
    data = b"Sample text file contents"
    headers = _start(wire, token, data)["UploadMetadata"]["HeadersToInclude"]
    assert set(headers) == IOS_FIXTURE_NAMES
    assert headers["Content-Type"] == "text/plain"
    assert headers["Content-Length"] == str(len(data))
    assert headers["Content-Disposition"] == 'attachment; filename="sample.txt"'
    assert headers["x-amz-acl"] == "bucket-owner-full-control"
    assert headers["x-amz-meta-contact_id"] == contact["ContactId"]
    assert headers["x-amz-meta-initial_contact_id"] == contact["ContactId"]
    assert headers["x-amz-meta-account_id"] == wire.backend.account_id
    assert headers["x-amz-meta-organization_id"] == wire.backend.get_chat(contact["ContactId"]).instance_id


def _changed(headers: dict[str, str], name: str, value: str | None) -> dict[str, str]:
    changed = dict(headers)
    if value is None:
        del changed[name]
    else:
        changed[name] = value
    return changed


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-amz-meta-contact_id", None),
        ("x-amz-meta-contact_id", "someone-else"),
        ("x-amz-acl", None),
        ("x-amz-acl", "public-read"),
        ("Content-Type", "application/pdf"),
        ("Content-Disposition", 'inline; filename="sample.txt"'),
        ("x-amz-meta-organization_id", None),
    ],
)
def test_a_put_whose_signed_headers_differ_is_refused(wire: Wire, name: str, value: str | None) -> None:
    """S3 (SigV4 query signing): a presigned URL signed over headers is refused, ``403
    SignatureDoesNotMatch``, when a signed header is missing or has another value. The URL stays
    good for a PUT with the right headers."""
    _, token = wire.customer()
    data = b"abc"
    meta = _start(wire, token, data)["UploadMetadata"]
    refused = requests.put(meta["Url"], data=data, headers=_changed(meta["HeadersToInclude"], name, value), timeout=10)
    assert refused.status_code == 403
    assert "SignatureDoesNotMatch" in refused.text
    assert requests.put(meta["Url"], data=data, headers=meta["HeadersToInclude"], timeout=10).status_code == 200


def test_a_put_with_another_length_is_refused(wire: Wire) -> None:
    """Content-Length is signed: bytes of another length than declared are refused by S3."""
    _, token = wire.customer()
    meta = _start(wire, token, b"abc")["UploadMetadata"]
    headers = _changed(meta["HeadersToInclude"], "Content-Length", "4")
    refused = requests.put(meta["Url"], data=b"abcd", headers=headers, timeout=10)
    assert refused.status_code == 403


def test_a_non_latin1_name_uploads(wire: Wire) -> None:
    """RFC 6266 ``filename*`` keeps a non-Latin-1 name sendable (header values are Latin-1)."""
    _, token = wire.customer()
    started = _start(wire, token, "данные".encode(), name="отчёт.txt")
    meta = started["UploadMetadata"]
    assert "filename*=UTF-8''" in meta["HeadersToInclude"]["Content-Disposition"]
    data = "данные".encode()
    assert requests.put(meta["Url"], data=data, headers=meta["HeadersToInclude"], timeout=10).status_code == 200
    wire.participant.complete_attachment_upload(
        ConnectionToken=token, AttachmentIds=[started["AttachmentId"]], ClientToken="c"
    )


def test_the_library_uploads_through_the_signed_url(wire: Wire) -> None:
    """The library's upload sends every header of HeadersToInclude, so the signed PUT holds."""
    _, token = wire.customer()
    chat = ChatService(client=wire.participant)
    conn = chat.Connection(token)
    attachment = conn.upload_attachment(b"library bytes", name="notes.txt")
    assert attachment.id
    got = wire.participant.get_attachment(ConnectionToken=token, AttachmentId=attachment.id)
    assert requests.get(got["Url"], timeout=10).content == b"library bytes"


def _attachment_verdict(item: dict[str, Any]) -> str:
    return str(item["Attachments"][0]["Status"])


def _socket_customer(wire: Wire) -> tuple[dict[str, Any], str, Socket]:
    contact = wire.start_chat()
    response = wire.join(contact["ParticipantToken"], types=("WEBSOCKET", "CONNECTION_CREDENTIALS"))
    return contact, response["ConnectionCredentials"]["ConnectionToken"], Socket(response["Websocket"]["Url"])


@pytest.mark.parametrize("verdict", ["APPROVED", "REJECTED"])
def test_the_scan_verdict_arrives_as_a_second_item(wire: Wire, verdict: str) -> None:
    """amazon-connect-chatjs docs/attachment-scanner-feature.md: "Amazon Connect will send the
    result (APPROVED | REJECTED) of the scanned attachment as a message in the websocket" (an
    ATTACHMENT item with the attachment's entry and its Status). The second item reuses the first
    one's Id (amazon-connect-chat-interface ChatSession._addItemsToTranscript replaces by Id)."""
    wire.backend.attachment_verdict = verdict
    wire.backend.settings.attachment_pending_reads = 1
    contact, token, socket = _socket_customer(wire)
    with socket:
        data = b"scan me"
        started = _start(wire, token, data)
        meta = started["UploadMetadata"]
        assert requests.put(meta["Url"], data=data, headers=meta["HeadersToInclude"], timeout=10).status_code == 200
        wire.participant.complete_attachment_upload(
            ConnectionToken=token, AttachmentIds=[started["AttachmentId"]], ClientToken="c"
        )
        [first] = [i for i in socket.until(lambda i: i.get("Type") == "ATTACHMENT") if i.get("Type") == "ATTACHMENT"]
        assert _attachment_verdict(first) == "IN_PROGRESS"
        assert wire.backend.finish_attachment_scans(contact["ContactId"]) == 1
        second = socket.until(lambda i: i.get("Type") == "ATTACHMENT" and i is not first)[-1]
        assert second["Id"] == first["Id"]
        assert second["Attachments"][0]["AttachmentId"] == started["AttachmentId"]
        assert _attachment_verdict(second) == verdict
    [kept] = [i for i in wire.transcript(token) if i["Type"] == "ATTACHMENT"]
    assert _attachment_verdict(kept) == verdict


def test_the_verdict_also_comes_when_the_pending_reads_run_out(wire: Wire) -> None:
    """The backend's ``attachment_pending_reads`` switch: the read that ends them sends the verdict."""
    wire.backend.settings.attachment_pending_reads = 1
    _, token, socket = _socket_customer(wire)
    with socket:
        data = b"abc"
        started = _start(wire, token, data)
        meta = started["UploadMetadata"]
        requests.put(meta["Url"], data=data, headers=meta["HeadersToInclude"], timeout=10)
        wire.participant.complete_attachment_upload(
            ConnectionToken=token, AttachmentIds=[started["AttachmentId"]], ClientToken="c"
        )
        [pending] = [i for i in wire.transcript(token) if i["Type"] == "ATTACHMENT"]
        assert _attachment_verdict(pending) == "IN_PROGRESS"
        items = socket.until(lambda i: i.get("Type") == "ATTACHMENT" and _attachment_verdict(i) == "APPROVED")
        assert [_attachment_verdict(i) for i in items if i.get("Type") == "ATTACHMENT"] == ["IN_PROGRESS", "APPROVED"]


def test_the_library_stream_yields_the_verdict(wire: Wire) -> None:
    """The library's stream yields the verdict item although its Id was yielded before."""
    wire.backend.settings.attachment_pending_reads = 1
    contact = wire.start_chat()
    chat = ChatService(client=wire.participant)
    participant = chat.Participant(contact["ParticipantToken"])
    with participant.create_connection() as conn, conn.stream() as stream:
        upload = conn.start_attachment_upload("scan.txt", 3, "text/plain")
        upload.upload(io.BytesIO(b"abc"))
        upload.complete()
        statuses = []
        for item in stream:
            if item.type == "ATTACHMENT":
                statuses.append(item.attachments[0].status)
                if len(statuses) == 1:
                    wire.backend.finish_attachment_scans(contact["ContactId"])
                else:
                    break
        assert statuses == ["IN_PROGRESS", "APPROVED"]
