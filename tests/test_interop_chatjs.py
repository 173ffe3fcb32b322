"""Cross-client interoperability: AWS's own JavaScript chat client against the local server.

amazon-connect-chatjs (v5, in Node, with ``ws`` as its WebSocket) holds a whole customer
session against :class:`~connectparticipant_ext.testing.server.LocalServer`: it connects,
sends a message, receives the typing and the reply of a bot written with this library over its
websocket, and sees the chat end. The Node side is ``tests/interop/customer.js``; its
dependencies are installed by ``npm ci`` in ``tests/interop`` (CI does this). Without Node or
those dependencies the test is skipped locally, and fails under CI (``CI=true``).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Optional

import boto3

from connectparticipant_ext import ChatService, TranscriptItem
from connectparticipant_ext.testing.server import LocalServer

INTEROP = Path(__file__).parent / "interop"
CUSTOMER_JS = INTEROP / "customer.js"
CUSTOMER_MESSAGE = "hello from chatjs"
BOT_REPLY = "hello from the python bot"
NODE_TIMEOUT = 60.0
SESSION_TIMEOUT_MS = 30_000
CHAT_ENDED = "application/vnd.amazonaws.connect.event.chat.ended"


class Bot:
    """A CUSTOM_BOT participant written with this library: it answers the customer, then
    ends the chat."""

    def __init__(self, chat: ChatService, connect: Any, contact_id: str, participant_token: str) -> None:
        self.connect = connect
        self.contact_id = contact_id
        self.connection = chat.Participant(participant_token).create_connection()
        # Receipts as AWS's clients send them, unbatched here: the bot ends the chat at once.
        self.stream = self.connection.stream(receipts=True, receipt_throttle=0)
        self.stream.__enter__()  # subscribed before the customer can say anything
        self.heard: list[TranscriptItem] = []
        self.replied = threading.Event()
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="python-bot", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self.stream:
                self.heard.append(item)
                if (
                    not self.replied.is_set()
                    and item.is_message
                    and item.participant_role == "CUSTOMER"
                    and item.content == CUSTOMER_MESSAGE
                ):
                    self.connection.send_typing()
                    self.stream.mark_read(item)
                    self.connection.send_message(BOT_REPLY)
                    self.replied.set()
                    # The hub delivers a chat's items in order: typing, reply, then the end.
                    self.connect.stop_contact(InstanceId="instance-1", ContactId=self.contact_id)
        except BaseException as exc:  # reported by the test thread
            self.error = exc

    def stop(self) -> None:
        self.stream.close()
        self._thread.join(timeout=10)


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_chatjs_customer_holds_a_session_with_a_python_bot(node: str, local_server: LocalServer):
    url = local_server.endpoint_url
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=url)
    chat = ChatService(region_name="us-east-1", endpoint_url=url)

    contact = connect.start_chat_contact(
        InstanceId="instance-1", ContactFlowId="flow-1", ParticipantDetails={"DisplayName": "Ann"}
    )
    bot_token = connect.create_participant(
        InstanceId="instance-1",
        ContactId=contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "PyBot"},
    )["ParticipantCredentials"]["ParticipantToken"]
    bot = Bot(chat, connect, contact["ContactId"], bot_token)
    bot.start()

    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "ENDPOINT": url,
        "CONTACT_ID": contact["ContactId"],
        "PARTICIPANT_ID": contact["ParticipantId"],
        "PARTICIPANT_TOKEN": contact["ParticipantToken"],
        "CUSTOMER_MESSAGE": CUSTOMER_MESSAGE,
        "TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
    }
    try:
        result = subprocess.run(
            [node, str(CUSTOMER_JS)],
            cwd=INTEROP,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
            check=False,
        )
    finally:
        bot.stop()

    output = result.stdout + result.stderr
    assert contact["ParticipantToken"] not in output, "customer.js printed the participant token"
    assert bot.connection.token not in output
    assert result.returncode == 0, f"customer.js exited {result.returncode}:\n{result.stderr[-4000:]}"
    assert bot.error is None, f"the Python bot failed: {bot.error!r}"

    # The customer's message reached the Python side, from the customer chatjs connected.
    from_customer = [i for i in bot.heard if i.is_message and i.participant_role == "CUSTOMER"]
    assert [i.content for i in from_customer] == [CUSTOMER_MESSAGE]
    assert from_customer[0].participant_id == contact["ParticipantId"]
    assert bot.replied.is_set()

    events = _events(result.stdout)
    kinds = [e["event"] for e in events]
    assert "connected" in kinds and "sent" in kinds
    subscribed = [e for e in events if e["event"] == "subscribed"]
    assert subscribed and "aws/chat" in subscribed[0]["topics"], "chatjs's aws/chat subscription was not confirmed"

    # chatjs received the bot's typing and reply over its websocket, then saw the chat end.
    typing = [e for e in events if e["event"] == "typing" and e.get("role") == "CUSTOM_BOT"]
    assert typing, f"no typing event from the bot reached chatjs: {events}"
    messages = [e for e in events if e["event"] == "message" and e.get("type") == "MESSAGE"]
    replies = [e for e in messages if e.get("role") == "CUSTOM_BOT"]
    assert [r["content"] for r in replies] == [BOT_REPLY]
    assert replies[0]["contentType"] == "text/plain"
    assert "ended" in kinds
    assert events.index(typing[0]) < events.index(replies[0]) < kinds.index("ended")

    # chatjs's own message came back to it over the websocket, as from the real service.
    echoed = [e for e in messages if e.get("role") == "CUSTOMER"]
    assert [e["content"] for e in echoed] == [CUSTOMER_MESSAGE]
    assert echoed[0]["id"] == next(e for e in events if e["event"] == "sent")["id"]
    chat_ended = [e for e in events if e["event"] == "message" and e.get("contentType") == CHAT_ENDED]
    assert chat_ended, "chatjs did not receive the chat-ended event item"

    # The bot's stream sent a delivered and a read receipt for the customer's message, and
    # chatjs reported them as such (its onDeliveredReceipt / onReadReceipt).
    receipts = [e for e in events if e["event"] == "receipt" and e.get("messageId") == echoed[0]["id"]]
    assert {e["kind"] for e in receipts} == {"delivered", "read"}, f"chatjs did not see both receipts: {events}"
