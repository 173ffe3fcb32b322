"""Amazon Connect's message streaming in the chat backend, publishing to moto's SNS.

``connect.start_contact_streaming`` / ``connect.stop_contact_streaming`` under ``mock_aws`` and
the local server: while a chat streams to a topic, each new item of the chat (transcript and
live-only alike) that the SNS payload page lists (:func:`is_streamed`) is published to that topic
in moto's SNS, so an SNS -> SQS (or Lambda) -> worker pipeline runs end to end offline.
``StartChatContact`` with ``ChatStreamingConfiguration`` starts the same stream.

What is modelled, and from where:

* botocore's ``connect`` model: the request and response shapes (``POST /contact/start-streaming``
  with ``InstanceId``, ``ContactId``, ``ChatStreamingConfiguration.StreamingEndpointArn``,
  ``ClientToken`` (idempotency); ``StreamingId`` back; ``POST /contact/stop-streaming``; their
  constraints are checked from the model before an operation runs) and the errors, which are the Connect API's: ``InvalidRequestException``,
  ``InvalidParameterException``, ``ResourceNotFoundException``, ``LimitExceededException``
  (never ``ValidationException``).
* The admin guide, "Enable real-time chat message streaming": standard topics only (FIFO topics
  are not supported), at most two topics per contact, the topic in the instance's Region (any
  account). "Amazon SNS payload used in message streaming": the body is the item as JSON; the
  message attributes are ``InitialContactId``, ``ContactId``, ``ParticipantRole``,
  ``InstanceId``, ``AccountId``, ``Type``, ``ContentType`` and ``MessageVisibility``.

Where the evidence is thin, this backend chooses and says so: which error each refusal gets
(a FIFO topic: InvalidRequestException; an unknown topic: ResourceNotFoundException; a topic in
another Region or not an SNS ARN: InvalidParameterException; a third topic:
LimitExceededException; an ended chat: InvalidRequestException); starting again with a topic
already streaming returns its StreamingId; every item gets ``MessageVisibility: ALL`` unless a
test sets :attr:`StreamingState.visibility`.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Hashable
from typing import Any, Callable

from .base import ChatBackendBase
from .exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    LimitExceededException,
    ResourceNotFoundException,
)
from .state import EVENT, Chat

__all__ = [
    "MAX_TOPICS_PER_CONTACT",
    "STREAMED_EVENTS",
    "ContactStreaming",
    "StreamingState",
    "is_streamed",
    "streaming_state",
]

MAX_TOPICS_PER_CONTACT = 2
"""The admin guide: "You can subscribe to up to two SNS topics per contact"."""

Visibility = Callable[[dict[str, Any]], str]


def _all(item: dict[str, Any]) -> str:
    return "ALL"


class StreamingState:
    """The message streams of one backend (account and region).

    Attributes:
        streams: contact id -> {StreamingId: topic ARN} of the streams running on that chat.
        visibility: gives each item's ``MessageVisibility`` (``ALL`` by default); a test can
            set it to model agent-only or customer-only items.
        published: how many SNS messages were published (for tests and benchmarks).
    """

    def __init__(self) -> None:
        self.streams: dict[str, dict[str, str]] = {}
        self.visibility: Visibility = _all
        self.published = 0
        self.lock = threading.RLock()


def streaming_state(backend: ContactStreaming) -> StreamingState:
    """The message streams of a backend (a test sets ``visibility`` here)."""
    return backend._streaming


def _sns_backend(account_id: str, region: str) -> Any:
    from moto.sns.models import sns_backends

    return sns_backends[account_id][region]


class ContactStreaming(ChatBackendBase):
    """StartContactStreaming and StopContactStreaming (a mixin of ``ChatBackend``)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._streaming = StreamingState()

    def start_contact_streaming(
        self, instance_id: str, contact_id: str, chat_streaming_configuration: dict[str, Any], client_token: str
    ) -> dict[str, Any]:
        """StartContactStreaming: publish the chat's new items to a standard SNS topic."""
        chat = self._instance_chat(instance_id, contact_id)
        request = {"InstanceId": instance_id, "ChatStreamingConfiguration": chat_streaming_configuration}

        def start() -> dict[str, Any]:
            arn = self._check_topic(chat_streaming_configuration["StreamingEndpointArn"])
            if chat.ended:
                raise InvalidRequestException(f"contact {chat.contact_id} has ended")
            return {"StreamingId": self._stream_to(chat, arn)}

        key = ("StartContactStreaming", chat.contact_id, client_token)
        return dict(self._once(key, request, start, InvalidRequestException))

    def stop_contact_streaming(self, instance_id: str, contact_id: str, streaming_id: str) -> dict[str, Any]:
        """StopContactStreaming: stop publishing a chat's items to one topic."""
        chat = self._instance_chat(instance_id, contact_id)
        with self._streaming.lock:
            streams = self._streaming.streams.get(chat.contact_id, {})
            if streaming_id not in streams:
                raise ResourceNotFoundException(f"no streaming {streaming_id} on contact {chat.contact_id}")
            del streams[streaming_id]
        return {}

    def _check_topic(self, arn: str) -> str:
        """The topic ARN if a chat's items may stream to it; the Connect API's refusal otherwise."""
        parts = arn.split(":")
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not all(parts[3:]):
            raise InvalidParameterException("StreamingEndpointArn is not the ARN of an Amazon SNS topic")
        region, account_id = parts[3], parts[4]
        if region != self.region_name:
            raise InvalidParameterException(
                f"the SNS topic must be in the instance's Region ({self.region_name}), not {region}"
            )
        topic = _sns_backend(account_id, region).topics.get(arn)
        if topic is None:
            raise ResourceNotFoundException(f"SNS topic {arn} does not exist")
        if getattr(topic, "fifo_topic", False) or parts[5].endswith(".fifo"):
            raise InvalidRequestException("message streaming supports standard SNS topics only, not FIFO topics")
        return arn

    def _stream_to(self, chat: Chat, arn: str) -> str:
        """Publish the chat's new items to a checked topic; its StreamingId (the running one's, if any)."""
        with self._streaming.lock:
            streams = self._streaming.streams.setdefault(chat.contact_id, {})
            existing = next((sid for sid, topic in streams.items() if topic == arn), None)
            if existing is not None:
                return existing
            if len(streams) >= MAX_TOPICS_PER_CONTACT:
                raise LimitExceededException(
                    f"a contact can stream to at most {MAX_TOPICS_PER_CONTACT} SNS topics at once"
                )
            streaming_id = str(uuid.uuid4())
            streams[streaming_id] = arn
            chat.add_listener(_SnsPublisher(self, chat.key, chat.contact_id))
            return streaming_id


def _attributes(backend: ChatBackendBase, chat: Chat, item: dict[str, Any], visibility: str) -> dict[str, Any]:
    values = {
        "InitialContactId": item.get("InitialContactId") or chat.initial_contact_id,
        "ContactId": item.get("ContactId") or chat.contact_id,
        "ParticipantRole": item.get("ParticipantRole"),
        "InstanceId": chat.instance_id,
        "AccountId": backend.account_id,
        "Type": item.get("Type"),
        "ContentType": item.get("ContentType"),
        "MessageVisibility": visibility,
    }
    # SNS refuses empty attribute values; an item without a role (none today) goes without one.
    return {name: {"Type": "String", "Value": str(value)} for name, value in values.items() if value}


STREAMED_EVENTS = frozenset(
    EVENT + name
    for name in ("typing", "participant.joined", "participant.left", "transfer.succeeded", "transfer.failed", "chat.ended")
)
"""The event content types the SNS payload page lists for ``ContentType`` (with the messages')."""


def is_streamed(item: dict[str, Any]) -> bool:
    """Whether message streaming publishes an item: the SNS payload page gives ``Type`` "Possible
    values: EVENT, MESSAGE" and lists the event content types (:data:`STREAMED_EVENTS`). So
    receipts (``MESSAGEMETADATA``), attachments (``ATTACHMENT``) and the other events (idle,
    authentication, rehydrated, ...) are not published; that the service leaves them out too is
    read from that list, not shown by a capture."""
    if item.get("Type") == "MESSAGE":
        return True
    return item.get("Type") == "EVENT" and item.get("ContentType") in STREAMED_EVENTS


class _SnsPublisher:
    """Chat listener publishing each new item to the chat's streaming topics; one per chat."""

    def __init__(self, backend: ContactStreaming, key: Hashable, contact_id: str) -> None:
        self.backend = backend
        self.key = key
        self.contact_id = contact_id

    def __call__(self, item: dict[str, Any]) -> None:
        if not is_streamed(item):
            return
        state = streaming_state(self.backend)
        with state.lock:
            topics = list(state.streams.get(self.contact_id, {}).values())
        if not topics:
            return
        chat = self.backend.chats[self.contact_id]
        body = json.dumps(item)
        attributes = _attributes(self.backend, chat, item, state.visibility(item))
        for arn in topics:
            _, _, _, region, account_id, _ = arn.split(":")
            _sns_backend(account_id, region).publish(body, arn=arn, message_attributes=attributes)
            with state.lock:
                state.published += 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SnsPublisher) and other.key == self.key

    def __hash__(self) -> int:
        return hash(("sns", self.key))
