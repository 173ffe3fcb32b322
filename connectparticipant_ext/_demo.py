"""``connectparticipant-ext demo``: a whole chat, end to end, against a real endpoint.

With no endpoint given, the embedded local backend (:mod:`connectparticipant_ext.testing`)
is started on a free loopback port, so the demo needs no AWS account. A customer starts a
chat, a bot participant answers over its live stream, the customer sends an attachment, and
the transcript is printed as a table.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Optional, TextIO
from urllib.parse import urlsplit

from ._export import write_transcript
from ._local import is_loopback_host
from ._terminal import escape_controls, printable
from ._wire import CUSTOM_BOT_ROLE, CUSTOMER_ROLE
from .connection import Connection
from .exceptions import DemoError
from .models import TranscriptItem
from .service import ChatService
from .stream import ChatStream

WAIT_SECONDS = 15.0
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


@contextmanager
def _endpoint(endpoint_url: Optional[str]) -> Iterator[tuple[str, bool]]:
    """The endpoint to use, and whether it is the embedded local backend."""
    if endpoint_url is not None:
        yield endpoint_url, False
        return
    from .testing.server import LocalServer  # needs the "local" extra (moto)

    with LocalServer() as server:
        yield server.endpoint_url, True


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    return is_loopback_host(urlsplit(url).hostname or "")


def connect_client(region: str, endpoint_url: Optional[str], local: bool) -> Any:
    """A ``connect`` client; against a loopback endpoint it gets fake credentials if none are set.

    The Connect API is signed, so boto3 wants credentials even though the local backend
    does not check them. ``endpoint_url=None`` leaves the endpoint to botocore
    (``AWS_ENDPOINT_URL_CONNECT``, ``AWS_ENDPOINT_URL``, the config file), and the check is on
    the endpoint botocore chose.
    """
    import boto3

    session = boto3.Session()
    client = session.client("connect", region_name=region, endpoint_url=endpoint_url)
    if local or (is_loopback_url(client.meta.endpoint_url) and session.get_credentials() is None):
        client = session.client("connect", region_name=region, endpoint_url=endpoint_url, **LOCAL_CREDENTIALS)
    return client


def _answer(item: TranscriptItem) -> Optional[str]:
    if item.is_message:
        return f"Thanks, I can help with that. You said: {item.content}"
    if item.is_attachment and item.attachments:
        return f"I have received {item.attachments[0].name}."
    return None


def _bot(connection: Connection, stream: ChatStream, errors: list[BaseException]) -> None:
    """Answer each customer message and attachment until the chat ends."""
    try:
        for item in stream:
            if item.participant_role == CUSTOMER_ROLE:
                reply = _answer(item)
                if reply is not None:
                    connection.send_typing()
                    connection.send_message(reply)
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)


def _wait_for(stream: ChatStream, wanted: Callable[[TranscriptItem], bool], what: str) -> TranscriptItem:
    while True:
        item = stream.get(timeout=WAIT_SECONDS)
        if item is None:
            raise DemoError(f"no {what} within {WAIT_SECONDS:.0f} s")
        if wanted(item):
            return item


def run_demo(
    out: TextIO,
    *,
    endpoint_url: Optional[str] = None,
    region: str = "us-east-1",
    instance_id: str = "demo-instance",
    contact_flow_id: str = "demo-contact-flow",
) -> int:
    """Run the demo chat, printing what happens to ``out``; return the transcript's length."""
    with _endpoint(endpoint_url) as (url, local):

        def say(text: str) -> None:
            # ids, names and statuses come from the endpoint: shown, never acted on
            print(escape_controls(text), file=out, flush=True)

        say(f"Using {'the embedded local backend at ' if local else ''}{url} ({region})")
        connect = connect_client(region, url, local)
        chat = ChatService(region_name=region, endpoint_url=url)

        contact = connect.start_chat_contact(
            InstanceId=instance_id, ContactFlowId=contact_flow_id, ParticipantDetails={"DisplayName": "Ann"}
        )
        say(f"Started chat contact {contact['ContactId']}")
        customer = chat.Participant(contact["ParticipantToken"]).create_connection()
        bot_token = connect.create_participant(
            InstanceId=instance_id,
            ContactId=contact["ContactId"],
            ParticipantDetails={"ParticipantRole": CUSTOM_BOT_ROLE, "DisplayName": "HelpBot"},
        )["ParticipantCredentials"]["ParticipantToken"]
        bot = chat.Participant(bot_token).create_connection()
        say("Ann (customer) and HelpBot (bot) are connected")

        errors: list[BaseException] = []
        with ExitStack() as cleanup:
            # The bot listens before Ann says anything, so it hears her first message.
            bot_stream = cleanup.enter_context(bot.stream())
            cleanup.callback(bot.disconnect)
            bot_thread = threading.Thread(target=_bot, args=(bot, bot_stream, errors), name="demo-bot", daemon=True)
            cleanup.callback(bot_thread.join, WAIT_SECONDS)
            cleanup.callback(customer.disconnect)  # Ann leaving ends the chat, and the bot's stream
            bot_thread.start()
            live = cleanup.enter_context(customer.stream())

            customer.send_message("Hi, I need help with my order 1234")
            say("Ann: Hi, I need help with my order 1234")
            reply = _wait_for(live, lambda i: i.is_message and i.participant_role == CUSTOM_BOT_ROLE, "bot answer")
            say(f"HelpBot: {printable(reply.content)}")
            customer.send_read_receipt(reply.id)

            tmp = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
            receipt = tmp / "receipt.txt"
            receipt.write_text("Order 1234\nTotal: 42.00 EUR\n", encoding="utf-8")
            attachment = customer.upload_attachment(receipt)
            attachment.wait_until_approved(timeout=WAIT_SECONDS, delay=0.2)
            say(f"Ann sent the attachment {attachment.name} ({attachment.status})")
            reply = _wait_for(
                live,
                lambda i: i.is_message and i.participant_role == CUSTOM_BOT_ROLE and "received" in (i.content or ""),
                "bot answer to the attachment",
            )
            say(f"HelpBot: {printable(reply.content)}")
            downloaded = customer.Attachment(attachment.id).download(tmp / "downloads/")
            assert isinstance(downloaded, Path)  # a directory was given, so a path comes back
            say(f"Downloaded it back through a presigned URL: {downloaded.stat().st_size} bytes")

            say("\nTranscript:")
            count = write_transcript(customer.transcript, out, "text")
        if errors:
            raise DemoError(f"the bot failed: {type(errors[0]).__name__}: {errors[0]}")
        say(f"\nDemo finished: {count} transcript items; Ann left and the chat ended.")
        return count
