"""Cross-SDK interoperability: the AWS SDK for JavaScript v3 against the local server.

``tests/interop/sdk.js`` drives :class:`~connectparticipant_ext.testing.server.LocalServer`
with AWS's own generated clients, ``@aws-sdk/client-connect`` (StartChatContact) and
``@aws-sdk/client-connectparticipant`` (all eleven Participant Service operations), and moves
attachment bytes with ``fetch()`` through the presigned S3 URLs. It prints one JSON line per
step; this test checks those steps, then the chat as the Python backend holds it. The
dependencies are installed by ``npm ci`` in ``tests/interop`` (CI does this). Without Node or
those dependencies the test is skipped locally, and fails under CI (``CI=true``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.server import LocalServer

from _helpers import EVENT

INTEROP = Path(__file__).parent / "interop"
SDK_JS = INTEROP / "sdk.js"
NODE_TIMEOUT = 60.0  # sdk.js bounds itself at 30 s
JS_MESSAGE = "hello from the JS SDK"
ATTACHMENT_NAME = "notes.txt"
ATTACHMENT_BYTES = len(b"notes from the JS SDK\nsecond line\n")

EXPECTED_STEPS = [
    "start-chat-contact",
    "create-participant-connection",
    "send-message",
    "send-message-idempotent",
    "send-event-typing",
    "send-event-read",
    "get-transcript",
    "get-transcript-forward-without-start",
    "start-attachment-upload",
    "upload-attachment-bytes",
    "complete-attachment-upload",
    "get-attachment",
    "describe-view-unknown",
    "get-authentication-url",
    "cancel-participant-authentication",
    "disconnect-participant",
    "send-message-after-disconnect",
]


def _steps(stdout: str) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        if line.strip():
            record = json.loads(line)
            assert record["step"] not in steps, f"step {record['step']} reported twice"
            steps[record["step"]] = record
    return steps


def test_js_sdk_drives_every_participant_operation(node: str, local_server: LocalServer):
    result = subprocess.run(
        [node, str(SDK_JS)],
        cwd=INTEROP,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            "ENDPOINT": local_server.endpoint_url,
        },
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    steps = _steps(result.stdout)
    failed = {name: record for name, record in steps.items() if not record.get("ok")}
    assert result.returncode == 0, f"sdk.js exited {result.returncode}: {failed}\n{result.stderr[-4000:]}"
    assert list(steps) == EXPECTED_STEPS
    assert not failed

    backend = get_chat_backend()
    contact_id = steps["start-chat-contact"]["contactId"]
    chat = backend.get_chat(contact_id)

    # Nothing secret left the Node process: no token of this chat, no presigned URL, no websocket key.
    output = result.stdout + result.stderr
    tokens = [t for t, p in backend.participant_tokens.items() if p.contact_id == contact_id]
    tokens += [t for t, g in backend.connection_tokens.items() if g.contact_id == contact_id]
    assert len(tokens) == 2
    for token in tokens:
        assert token not in output, "sdk.js printed a token"
    for marker in ("X-Amz-Signature", "X-Amz-Credential", "AuthToken=", "/connect/"):
        assert marker not in output, f"sdk.js printed a presigned or websocket URL ({marker})"

    # The same ClientToken gave the same message, once.
    message_id = steps["send-message"]["id"]
    assert steps["send-message-idempotent"]["id"] == message_id
    assert steps["send-message"]["content"] == JS_MESSAGE

    # GetTranscript paged forward one at a time through a NextToken.
    transcript = steps["get-transcript"]
    assert transcript["pages"] >= 2 and all(size <= 1 for size in transcript["pageSizes"])
    assert transcript["messageCount"] == 1
    assert [i["id"] for i in transcript["items"]].count(message_id) == 1
    assert transcript["initialContactId"] == contact_id

    # The errors the service answers with, as the SDK names them.
    assert steps["get-transcript-forward-without-start"]["error"] == "ValidationException"
    assert steps["describe-view-unknown"]["error"] == "ResourceNotFoundException"
    assert steps["send-message-after-disconnect"]["error"] == "AccessDeniedException"

    # The attachment's bytes went up and came back unchanged.
    upload = steps["start-attachment-upload"]
    attachment_id = upload["attachmentId"]
    assert upload["headerNames"], "StartAttachmentUpload returned no HeadersToInclude"
    assert steps["upload-attachment-bytes"]["bytes"] == ATTACHMENT_BYTES
    download = steps["get-attachment"]
    assert download["attachmentId"] == attachment_id
    assert download["attachmentSizeInBytes"] == ATTACHMENT_BYTES
    assert download["uploadedBytes"] == download["downloadedBytes"] == ATTACHMENT_BYTES
    assert download["bytesMatch"] is True

    # The chat as the Python side holds it: the JS SDK's message exactly once, read, and the attachment.
    items = chat.items
    messages = [i for i in items if i["Type"] == "MESSAGE"]
    assert [(m["Id"], m["Content"], m["ContentType"]) for m in messages] == [(message_id, JS_MESSAGE, "text/plain")]
    customer_id = steps["start-chat-contact"]["participantId"]
    assert messages[0]["ParticipantId"] == customer_id
    assert messages[0]["ParticipantRole"] == "CUSTOMER"
    assert messages[0]["DisplayName"] == "JsSdk"
    receipts = messages[0]["MessageMetadata"]["Receipts"]
    assert [r["RecipientParticipantId"] for r in receipts] == [customer_id]
    assert receipts[0].get("ReadTimestamp")

    attachments = [i for i in items if i["Type"] == "ATTACHMENT"]
    assert len(attachments) == 1
    assert attachments[0]["ParticipantId"] == customer_id
    assert attachments[0]["Attachments"] == [
        {
            "ContentType": "text/plain",
            "AttachmentId": attachment_id,
            "AttachmentName": ATTACHMENT_NAME,
            "Status": "APPROVED",
        }
    ]

    # The customer's DisconnectParticipant left the chat and ended it.
    content_types = [i.get("ContentType") for i in items]  # ATTACHMENT items have none
    assert content_types[0] == EVENT + "participant.joined"
    assert content_types[-2:] == [EVENT + "participant.left", EVENT + "chat.ended"]
    assert chat.ended
