"""Amazon Connect's message streaming in the chat backend, publishing to moto's SNS.

``connect.start_contact_streaming`` / ``connect.stop_contact_streaming`` under ``mock_aws`` and
the local server: while a chat streams to a topic, each new item of the chat (transcript and
live-only alike) is published to that topic in moto's SNS, so an SNS -> SQS (or Lambda) ->
worker pipeline runs end to end offline.

What is modelled, and from where:

* botocore's ``connect`` model: the request and response shapes (``POST /contact/start-streaming``
  with ``InstanceId``, ``ContactId``, ``ChatStreamingConfiguration.StreamingEndpointArn`` (1..350
  characters), ``ClientToken`` (idempotency); ``StreamingId`` back; ``POST /contact/stop-streaming``)
  and the errors, which are the Connect API's: ``InvalidRequestException``,
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
from typing import TYPE_CHECKING, Any, Callable, Optional

import moto.connect.urls as connect_urls

from .exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    LimitExceededException,
    ResourceNotFoundException,
)
from .models import ChatBackend
from .responses import ConnectChatResponse

if TYPE_CHECKING:
    from .state import Chat

__all__ = [
    "InvalidParameterException",
    "InvalidRequestException",
    "LimitExceededException",
    "MAX_TOPICS_PER_CONTACT",
    "StreamingState",
    "register_routes",
    "start_contact_streaming",
    "stop_contact_streaming",
    "streaming_state",
]

MAX_TOPICS_PER_CONTACT = 2
"""The admin guide: "You can subscribe to up to two SNS topics per contact"."""

MAX_ENDPOINT_ARN = 350

Response = tuple[int, dict[str, str], str]
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
        self._tokens: dict[tuple[str, str], dict[str, Any]] = {}
        self.lock = threading.RLock()


def streaming_state(backend: ChatBackend) -> StreamingState:
    """The streaming state of a backend, made on first use (moto's reset drops it)."""
    state: Optional[StreamingState] = backend.__dict__.get("_streaming_state")
    if state is None:
        state = backend.__dict__.setdefault("_streaming_state", StreamingState())
    assert state is not None
    return state


def _sns_backend(account_id: str, region: str) -> Any:
    from moto.sns.models import sns_backends

    return sns_backends[account_id][region]


def _check_topic(backend: ChatBackend, arn: Any) -> str:
    if not isinstance(arn, str) or not 1 <= len(arn) <= MAX_ENDPOINT_ARN:
        raise InvalidParameterException("StreamingEndpointArn must have 1 to 350 characters")
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not all(parts[3:]):
        raise InvalidParameterException("StreamingEndpointArn is not the ARN of an Amazon SNS topic")
    region, account_id = parts[3], parts[4]
    if region != backend.region_name:
        raise InvalidParameterException(
            f"the SNS topic must be in the instance's Region ({backend.region_name}), not {region}"
        )
    topic = _sns_backend(account_id, region).topics.get(arn)
    if topic is None:
        raise ResourceNotFoundException(f"SNS topic {arn} does not exist")
    if getattr(topic, "fifo_topic", False) or parts[5].endswith(".fifo"):
        raise InvalidRequestException("message streaming supports standard SNS topics only, not FIFO topics")
    return arn


def _chat(backend: ChatBackend, instance_id: Any, contact_id: Any) -> Chat:
    if not isinstance(instance_id, str) or not 1 <= len(instance_id) <= 100:
        raise InvalidParameterException("InstanceId must have 1 to 100 characters")
    if not isinstance(contact_id, str) or not 1 <= len(contact_id) <= 256:
        raise InvalidParameterException("ContactId must have 1 to 256 characters")
    chat = backend.chats.get(contact_id)
    if chat is None or chat.instance_id != instance_id:
        raise ResourceNotFoundException(f"contact {contact_id} does not exist in instance {instance_id}")
    return chat


def start_contact_streaming(
    backend: ChatBackend,
    instance_id: Any,
    contact_id: Any,
    configuration: Any,
    client_token: Any,
) -> dict[str, Any]:
    """StartContactStreaming: publish the chat's new items to a standard SNS topic."""
    chat = _chat(backend, instance_id, contact_id)
    if not isinstance(configuration, dict):
        raise InvalidParameterException("ChatStreamingConfiguration is required")
    if client_token is not None and (not isinstance(client_token, str) or len(client_token) > 500):
        raise InvalidParameterException("ClientToken must be a string of at most 500 characters")
    state = streaming_state(backend)
    with state.lock:
        if client_token and (chat.contact_id, client_token) in state._tokens:
            return dict(state._tokens[(chat.contact_id, client_token)])
        arn = _check_topic(backend, configuration.get("StreamingEndpointArn"))
        if chat.ended:
            raise InvalidRequestException(f"contact {chat.contact_id} has ended")
        streams = state.streams.setdefault(chat.contact_id, {})
        existing = next((sid for sid, topic in streams.items() if topic == arn), None)
        if existing is not None:
            response = {"StreamingId": existing}
        else:
            if len(streams) >= MAX_TOPICS_PER_CONTACT:
                raise LimitExceededException(
                    f"a contact can stream to at most {MAX_TOPICS_PER_CONTACT} SNS topics at once"
                )
            streaming_id = str(uuid.uuid4())
            streams[streaming_id] = arn
            chat.add_listener(_SnsPublisher(backend, chat.key, chat.contact_id))
            response = {"StreamingId": streaming_id}
        if client_token:
            state._tokens[(chat.contact_id, client_token)] = response
        return dict(response)


def stop_contact_streaming(
    backend: ChatBackend, instance_id: Any, contact_id: Any, streaming_id: Any
) -> dict[str, Any]:
    """StopContactStreaming: stop publishing a chat's items to one topic."""
    chat = _chat(backend, instance_id, contact_id)
    if not isinstance(streaming_id, str) or not 1 <= len(streaming_id) <= 100:
        raise InvalidParameterException("StreamingId must have 1 to 100 characters")
    state = streaming_state(backend)
    with state.lock:
        streams = state.streams.get(chat.contact_id, {})
        if streaming_id not in streams:
            raise ResourceNotFoundException(f"no streaming {streaming_id} on contact {chat.contact_id}")
        del streams[streaming_id]
    return {}


def _attributes(backend: ChatBackend, chat: Chat, item: dict[str, Any], visibility: str) -> dict[str, Any]:
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


class _SnsPublisher:
    """Chat listener publishing each new item to the chat's streaming topics; one per chat."""

    def __init__(self, backend: ChatBackend, key: Hashable, contact_id: str) -> None:
        self.backend = backend
        self.key = key
        self.contact_id = contact_id

    def __call__(self, item: dict[str, Any]) -> None:
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


# -- the Connect API routes ------------------------------------------------------------------------


class ConnectStreamingResponse(ConnectChatResponse):
    """``POST /contact/start-streaming`` and ``/contact/stop-streaming`` on moto's ``connect``.

    Request parsing, error answers and the backend lookup are :class:`ConnectChatResponse`'s.
    """

    def _route(self) -> Response:
        params = self._params()
        path = self.path.rstrip("/")
        if self.method == "POST" and path.endswith("/contact/start-streaming"):
            result = start_contact_streaming(
                self.backend,
                params.get("InstanceId"),
                params.get("ContactId"),
                params.get("ChatStreamingConfiguration"),
                params.get("ClientToken"),
            )
        elif self.method == "POST" and path.endswith("/contact/stop-streaming"):
            result = stop_contact_streaming(
                self.backend, params.get("InstanceId"), params.get("ContactId"), params.get("StreamingId")
            )
        else:
            raise InvalidRequestException(f"no Connect streaming operation at {self.method} {path}")
        return 200, {"Content-Type": "application/json"}, json.dumps(result)


ROUTES = {
    "{0}/contact/start-streaming$": ConnectStreamingResponse.dispatch,
    "{0}/contact/stop-streaming$": ConnectStreamingResponse.dispatch,
}


def register_routes() -> None:
    """Add the two operations to moto's ``connect`` URL map (idempotent)."""
    connect_urls.url_paths.update(ROUTES)
