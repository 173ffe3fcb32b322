"""The in-memory Amazon Connect chat: one backend per account and region, moto style.

Chats are created on the Connect side (``start_chat_contact``, ``create_participant``,
``stop_contact``) and used through the eleven Participant Service operations. Tokens encode
the account and region they belong to, so a call finds its chat whatever region the client
was made for. Items are kept in time order with an id index, so a GetTranscript page costs
O(page size) however long the chat is.

Test switches live on the backend (see :class:`ChatBackend`): token lifetimes, attachment
limits and verdicts, seeded fault injection, failing uploads, revoked tokens, views.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import os
import random
import threading
import uuid
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Optional

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_models import BaseModel

if TYPE_CHECKING:
    from .agent import BackendAgent

from .exceptions import (
    AccessDeniedException,
    ConflictException,
    InternalServerException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ThrottlingException,
    ValidationException,
)

__all__ = ["Chat", "ChatBackend", "ChatSettings", "chat_backends", "find_backend"]

EVENT = "application/vnd.amazonaws.connect.event."
PARTICIPANT_JOINED = EVENT + "participant.joined"
PARTICIPANT_LEFT = EVENT + "participant.left"
CHAT_ENDED = EVENT + "chat.ended"
TYPING = EVENT + "typing"
MESSAGE_DELIVERED = EVENT + "message.delivered"
MESSAGE_READ = EVENT + "message.read"
CONNECTION_ACKNOWLEDGED = EVENT + "connection.acknowledged"
MESSAGE_METADATA = EVENT + "message.metadata"

MESSAGE_CONTENT_TYPES = frozenset(
    {
        "text/plain",
        "text/markdown",
        "application/json",
        "application/vnd.amazonaws.connect.message.interactive.response",
    }
)
EVENT_CONTENT_TYPES = frozenset({TYPING, MESSAGE_DELIVERED, MESSAGE_READ, CONNECTION_ACKNOWLEDGED})
MAX_CONTENT_LENGTH = 16384

DEFAULT_ALLOWED_EXTENSIONS = frozenset(
    {".csv", ".doc", ".docx", ".jpeg", ".jpg", ".pdf", ".png", ".ppt", ".pptx", ".txt", ".wav", ".xls", ".xlsx"}
)

PARTICIPANT_TOKEN = "CPT"
CONNECTION_TOKEN = "CCT"

Listener = Callable[[dict[str, Any]], None]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """The service's timestamp format: ``2024-01-02T03:04:05.678Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ChatSettings:
    """The switches a test can turn on a backend (``get_chat_backend().settings``)."""

    def __init__(self) -> None:
        self.connection_lifetime = timedelta(hours=24)
        """How long a connection token lives (about a day in the real service)."""
        self.websocket_lifetime: Optional[timedelta] = None
        """How long a websocket URL (and its socket) lives; None means as long as the connection token."""
        self.participant_token_lifetime: Optional[timedelta] = None
        """How long a participant token may be exchanged; None means for the whole chat."""
        self.max_attachment_size = 20 * 1024 * 1024
        self.allowed_extensions = DEFAULT_ALLOWED_EXTENSIONS
        self.attachment_verdict = "APPROVED"
        """What completed attachments become, ``APPROVED`` or ``REJECTED``."""
        self.attachment_pending_reads = 0
        """Transcript reads that show a new attachment as ``IN_PROGRESS`` before its verdict."""


class ChatParticipant(BaseModel):
    def __init__(self, contact_id: str, role: str, display_name: str, token: str, token_expires_at: datetime) -> None:
        self.participant_id = str(uuid.uuid4())
        self.contact_id = contact_id
        self.role = role
        self.display_name = display_name
        self.token = token
        self.token_expires_at = token_expires_at
        self.joined = False
        self.left = False


class ConnectionGrant(BaseModel):
    """A connection token: one participant of one chat, until it expires or is revoked."""

    def __init__(self, token: str, contact_id: str, participant_id: str, expires_at: datetime) -> None:
        self.token = token
        self.contact_id = contact_id
        self.participant_id = participant_id
        self.expires_at = expires_at
        self.revoked = False


class UploadRecord(BaseModel):
    def __init__(
        self, attachment_id: str, contact_id: str, participant_id: str, name: str, size: int, content_type: str
    ):
        self.attachment_id = attachment_id
        self.contact_id = contact_id
        self.participant_id = participant_id
        self.name = name
        self.size = size
        self.content_type = content_type
        self.completed = False
        self.status = "IN_PROGRESS"
        self.pending_reads = 0


class Chat(BaseModel):
    """One contact's chat: participants and its items in time order."""

    def __init__(self, backend: ChatBackend, contact_id: str, instance_id: str, duration: timedelta) -> None:
        self.backend = backend
        self.contact_id = contact_id
        self.instance_id = instance_id
        self.initial_contact_id = contact_id
        self.previous_contact_ids: list[str] = []
        self.participants: dict[str, ChatParticipant] = {}
        self.items: list[dict[str, Any]] = []
        self._times: list[datetime] = []
        self._index: dict[str, int] = {}
        self._last_time: Optional[datetime] = None
        self.attributes: dict[str, str] = {}
        self.started_at = utcnow()
        self.expires_at = self.started_at + duration
        self.ended = False
        self.listeners: list[Listener] = []
        self.lock = threading.RLock()

    @property
    def key(self) -> Hashable:
        return (self.backend.account_id, self.backend.region_name, self.contact_id)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(item)`` with every new item (transcript and live-only), in order."""
        with self.lock:
            if listener not in self.listeners:
                self.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self.lock:
            if listener in self.listeners:
                self.listeners.remove(listener)

    def _next_time(self) -> datetime:
        now = utcnow()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_time is not None and now <= self._last_time:
            now = self._last_time + timedelta(milliseconds=1)
        self._last_time = now
        return now

    def add_item(
        self,
        item_type: str,
        content_type: str,
        participant: Optional[ChatParticipant],
        content: Optional[str] = None,
        *,
        store: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        """Write an item (stored in the transcript unless ``store=False``) and tell listeners."""
        with self.lock:
            moment = self._next_time()
            item: dict[str, Any] = {
                "Id": str(uuid.uuid4()),
                "AbsoluteTime": iso(moment),
                "Type": item_type,
                "ContentType": content_type,
                "ContactId": self.contact_id,
                "InitialContactId": self.initial_contact_id,
            }
            if content is not None:
                item["Content"] = content
            if participant is not None:
                item.update(
                    ParticipantId=participant.participant_id,
                    DisplayName=participant.display_name,
                    ParticipantRole=participant.role,
                )
            else:
                item.update(ParticipantRole="SYSTEM", DisplayName="SYSTEM_MESSAGE")
            item.update(extra)
            if store:
                self._index[item["Id"]] = len(self.items)
                self.items.append(item)
                self._times.append(moment)
            for listener in list(self.listeners):
                listener(item)
            return item

    def position_of(self, item_id: str) -> Optional[int]:
        return self._index.get(item_id)

    def first_at_or_after(self, moment: datetime) -> int:
        return bisect.bisect_left(self._times, moment)

    def last_at_or_before(self, moment: datetime) -> int:
        return bisect.bisect_right(self._times, moment) - 1

    def message(self, item_id: str) -> Optional[dict[str, Any]]:
        position = self._index.get(item_id)
        return self.items[position] if position is not None else None


class _FaultPlan:
    def __init__(self, throttling: float, internal: float, seed: Optional[int], operations: Optional[set[str]]) -> None:
        self.throttling = throttling
        self.internal = internal
        self.operations = operations
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def check(self, operation: str) -> None:
        if self.operations is not None and operation not in self.operations:
            return
        with self.lock:
            roll = self.random.random()
        if roll < self.throttling:
            raise ThrottlingException()
        if roll < self.throttling + self.internal:
            raise InternalServerException()


def _encode_token(kind: str, account_id: str, region: str) -> str:
    where = base64.urlsafe_b64encode(f"{account_id}:{region}".encode()).decode().rstrip("=")
    return f"{kind}.{where}.{base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip('=')}"


def _decode_token(token: str) -> Optional[tuple[str, str, str]]:
    try:
        kind, where, _ = token.split(".", 2)
        account_id, region = base64.urlsafe_b64decode(where + "=" * (-len(where) % 4)).decode().split(":", 1)
    except (ValueError, UnicodeDecodeError):
        return None
    return kind, account_id, region


def find_backend(token: Optional[str], kind: str) -> ChatBackend:
    """The backend a token belongs to, or AccessDeniedException for anything else."""
    decoded = _decode_token(token or "")
    if decoded is None or decoded[0] != kind:
        raise AccessDeniedException()
    _, account_id, region = decoded
    try:
        return chat_backends[account_id][region]
    except KeyError:
        raise AccessDeniedException() from None


class ChatBackend(BaseBackend):
    """Amazon Connect chats of one account and region.

    The Connect-side operations (``start_chat_contact``, ``create_participant``,
    ``stop_contact``), the eleven Participant Service operations, and the switches tests use.
    """

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.settings = ChatSettings()
        self.chats: dict[str, Chat] = {}
        self.participant_tokens: dict[str, ChatParticipant] = {}
        self.connection_tokens: dict[str, ConnectionGrant] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.auth_sessions: set[str] = set()
        self._idempotent: dict[tuple[str, ...], Any] = {}
        self._faults: Optional[_FaultPlan] = None
        self._upload_failures: list[int] = []
        self._lock = threading.RLock()
        self._secret = os.urandom(16)

    def reset(self) -> None:
        from .websocket import shutdown_hub

        shutdown_hub()
        super().reset()

    # == test switches =========================================================================

    @property
    def attachment_verdict(self) -> str:
        """What completed attachments become, ``"APPROVED"`` (the default) or ``"REJECTED"``."""
        return self.settings.attachment_verdict

    @attachment_verdict.setter
    def attachment_verdict(self, verdict: str) -> None:
        if verdict not in ("APPROVED", "REJECTED"):
            raise ValueError("attachment_verdict must be APPROVED or REJECTED")
        self.settings.attachment_verdict = verdict

    def inject_faults(
        self,
        throttling: float = 0.0,
        internal: float = 0.0,
        seed: Optional[int] = None,
        operations: Optional[list[str]] = None,
    ) -> None:
        """Make a fraction of participant calls fail before they take effect.

        Args:
            throttling: fraction answered with ThrottlingException (429).
            internal: fraction answered with InternalServerException (500).
            seed: makes the sequence of failures repeatable.
            operations: limit faults to these operation names (e.g. ``["SendMessage"]``).
        """
        if not 0 <= throttling <= 1 or not 0 <= internal <= 1 or throttling + internal > 1:
            raise ValueError("fault fractions must be between 0 and 1 and add up to at most 1")
        self._faults = _FaultPlan(throttling, internal, seed, set(operations) if operations else None)

    def clear_faults(self) -> None:
        """Stop injecting faults."""
        self._faults = None

    def check_faults(self, operation: str) -> None:
        faults = self._faults
        if faults is not None:
            faults.check(operation)

    def fail_next_uploads(self, count: int = 1, status: int = 500) -> None:
        """Make the next ``count`` PUTs to attachment upload URLs fail with ``status``."""
        with self._lock:
            self._upload_failures.extend([status] * count)

    def take_upload_failure(self) -> Optional[int]:
        with self._lock:
            return self._upload_failures.pop(0) if self._upload_failures else None

    def revoke_connection_token(self, token: str) -> None:
        """Make a connection token be refused (AccessDeniedException) from now on."""
        with self._lock:
            grant = self.connection_tokens.get(token)
            if grant is None:
                raise KeyError("no such connection token in this backend")
            grant.revoked = True

    def register_view(
        self,
        name: str = "View",
        template: str = "<p>view</p>",
        actions: Optional[list[str]] = None,
        input_schema: str = "{}",
        version: int = 1,
    ) -> str:
        """Register a step-by-step guide view; returns the view token DescribeView takes."""
        view_id = str(uuid.uuid4())
        token = f"view-{uuid.uuid4().hex}"
        self.views[token] = {
            "Id": view_id,
            "Arn": f"arn:aws:connect:{self.region_name}:{self.account_id}:instance/views/{view_id}",
            "Name": name,
            "Version": version,
            "Content": {"InputSchema": input_schema, "Template": template, "Actions": list(actions or [])},
        }
        return token

    def get_chat(self, contact_id: str) -> Chat:
        """A chat by contact id (``chat.items`` are the stored items in wire format)."""
        try:
            return self.chats[contact_id]
        except KeyError:
            raise KeyError(f"no chat with contact id {contact_id!r}") from None

    def bulk_add_messages(
        self, contact_id: str, count: int, *, participant_id: Optional[str] = None, content: str = "message {n}"
    ) -> None:
        """Append ``count`` text messages quickly (for benchmarks and paging tests)."""
        chat = self.get_chat(contact_id)
        participant = chat.participants[participant_id] if participant_id else next(iter(chat.participants.values()))
        for n in range(count):
            chat.add_item("MESSAGE", "text/plain", participant, content.format(n=n))

    def join_as_agent(self, contact_id: str, display_name: str = "Agent", role: str = "AGENT") -> BackendAgent:
        """Add a participant to a chat and connect it, for a test to act as the other side.

        The same steps as ``connect.create_participant`` and ``CreateParticipantConnection``
        (``ConnectParticipant=True``), straight on the backend; see :class:`BackendAgent`.
        """
        from .agent import BackendAgent

        created = self.create_participant("", contact_id, {"ParticipantRole": role, "DisplayName": display_name})
        token = created["ParticipantCredentials"]["ParticipantToken"]
        connection = self.create_participant_connection(token, ["CONNECTION_CREDENTIALS"], True)
        return BackendAgent(
            self, contact_id, created["ParticipantId"], connection["ConnectionCredentials"]["ConnectionToken"]
        )

    def drop_websockets(self, contact_id: Optional[str] = None) -> int:
        """Abruptly close open websockets (of one chat, or of every chat). Returns how many."""
        from .websocket import get_hub

        key = self.get_chat(contact_id).key if contact_id else None
        return get_hub().drop_sockets(key)

    def answer_heartbeats(self, answer: bool) -> None:
        """Switch the websocket server's heartbeat answers on or off."""
        from .websocket import get_hub

        get_hub().answer_heartbeats = answer

    # == Connect side ==========================================================================

    def _participant_token(self, chat: Chat, role: str, display_name: str) -> ChatParticipant:
        lifetime = self.settings.participant_token_lifetime
        expires_at = chat.expires_at if lifetime is None else min(chat.expires_at, utcnow() + lifetime)
        token = _encode_token(PARTICIPANT_TOKEN, self.account_id, self.region_name)
        participant = ChatParticipant(chat.contact_id, role, display_name, token, expires_at)
        chat.participants[participant.participant_id] = participant
        self.participant_tokens[token] = participant
        return participant

    def _once(self, key: tuple[str, ...], make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._idempotent:
                self._idempotent[key] = make()
            return self._idempotent[key]

    def start_chat_contact(
        self,
        instance_id: str,
        contact_flow_id: str,
        participant_details: dict[str, Any],
        initial_message: Optional[dict[str, Any]] = None,
        attributes: Optional[dict[str, str]] = None,
        chat_duration_in_minutes: Optional[int] = None,
        persistent_chat: Optional[dict[str, Any]] = None,
        client_token: Optional[str] = None,
    ) -> dict[str, Any]:
        if not instance_id or not contact_flow_id:
            raise ValidationException("InstanceId and ContactFlowId are required")
        display_name = (participant_details or {}).get("DisplayName")
        if not display_name:
            raise ValidationException("ParticipantDetails.DisplayName is required")
        minutes = chat_duration_in_minutes or 25 * 60
        if not 60 <= minutes <= 10080:
            raise ValidationException("ChatDurationInMinutes must be between 60 and 10080")
        if initial_message is not None:
            content = initial_message.get("Content", "")
            if (
                initial_message.get("ContentType") not in MESSAGE_CONTENT_TYPES
                or not 1 <= len(content) <= MAX_CONTENT_LENGTH
            ):
                raise ValidationException("InitialMessage must have a valid ContentType and 1 to 16384 characters")

        def create() -> dict[str, Any]:
            chat = Chat(self, str(uuid.uuid4()), instance_id, timedelta(minutes=minutes))
            chat.attributes = dict(attributes or {})
            response: dict[str, Any] = {}
            if persistent_chat:
                source = self.chats.get(persistent_chat.get("SourceContactId", ""))
                if source is None:
                    raise ResourceNotFoundException("SourceContactId does not name a chat in this instance")
                if not source.ended:
                    raise ValidationException("the source contact of a persistent chat must have ended")
                chat.initial_contact_id = source.initial_contact_id
                chat.previous_contact_ids = [source.contact_id, *source.previous_contact_ids]
                response["ContinuedFromContactId"] = source.contact_id
            customer = self._participant_token(chat, "CUSTOMER", display_name)
            self.chats[chat.contact_id] = chat
            if initial_message is not None:
                chat.add_item("MESSAGE", initial_message["ContentType"], customer, initial_message["Content"])
            response.update(
                ContactId=chat.contact_id, ParticipantId=customer.participant_id, ParticipantToken=customer.token
            )
            return response

        if client_token:
            return dict(self._once(("start_chat_contact", client_token), create))
        return create()

    def create_participant(
        self, instance_id: str, contact_id: str, participant_details: dict[str, Any], client_token: Optional[str] = None
    ) -> dict[str, Any]:
        chat = self._connect_chat(contact_id)
        role = (participant_details or {}).get("ParticipantRole") or "CUSTOM_BOT"
        if role not in ("AGENT", "CUSTOM_BOT", "SUPERVISOR", "CUSTOMER"):
            raise ValidationException(f"unsupported ParticipantRole {role!r}")
        display_name = (participant_details or {}).get("DisplayName") or role.title()

        def create() -> dict[str, Any]:
            participant = self._participant_token(chat, role, display_name)
            return {
                "ParticipantCredentials": {
                    "ParticipantToken": participant.token,
                    "Expiry": iso(participant.token_expires_at),
                },
                "ParticipantId": participant.participant_id,
            }

        if client_token:
            return dict(self._once(("create_participant", contact_id, client_token), create))
        return create()

    def stop_contact(self, contact_id: str, instance_id: str) -> None:
        chat = self.chats.get(contact_id)
        if chat is None:
            raise ResourceNotFoundException(f"contact {contact_id} does not exist")
        self._end_chat(chat)

    def _connect_chat(self, contact_id: str) -> Chat:
        chat = self.chats.get(contact_id)
        if chat is None:
            raise ResourceNotFoundException(f"contact {contact_id} does not exist")
        if chat.ended:
            raise ValidationException(f"contact {contact_id} has ended")
        return chat

    def _end_chat(self, chat: Chat) -> None:
        from .websocket import get_hub

        with chat.lock:
            if chat.ended:
                return
            chat.add_item("EVENT", CHAT_ENDED, None)
            chat.ended = True
        if chat.listeners:
            get_hub().end_chat(chat.key)

    # == Participant side ======================================================================

    def _grant(self, token: Optional[str]) -> tuple[ConnectionGrant, Chat, ChatParticipant]:
        grant = self.connection_tokens.get(token or "")
        if grant is None or grant.revoked or grant.expires_at <= utcnow():
            raise AccessDeniedException()
        chat = self.chats[grant.contact_id]
        participant = chat.participants[grant.participant_id]
        if chat.ended or participant.left:
            raise AccessDeniedException("The chat has ended or the participant has left.")
        return grant, chat, participant

    def create_participant_connection(
        self, participant_token: Optional[str], types: list[str], connect_participant: Optional[bool]
    ) -> dict[str, Any]:
        from .websocket import get_hub

        participant = self.participant_tokens.get(participant_token or "")
        if participant is None or participant.token_expires_at <= utcnow():
            raise AccessDeniedException()
        chat = self.chats[participant.contact_id]
        if chat.ended or participant.left:
            raise AccessDeniedException("The chat has ended or the participant has left.")
        if not types or any(t not in ("WEBSOCKET", "CONNECTION_CREDENTIALS", "WEBRTC_CONNECTION") for t in types):
            raise ValidationException("Type must list WEBSOCKET and/or CONNECTION_CREDENTIALS")
        response: dict[str, Any] = {}
        now = utcnow()
        expires_at = now + self.settings.connection_lifetime
        if "CONNECTION_CREDENTIALS" in types:
            token = _encode_token(CONNECTION_TOKEN, self.account_id, self.region_name)
            self.connection_tokens[token] = ConnectionGrant(
                token, chat.contact_id, participant.participant_id, expires_at
            )
            response["ConnectionCredentials"] = {"ConnectionToken": token, "Expiry": iso(expires_at)}
        if "WEBSOCKET" in types:
            socket_expiry = now + (self.settings.websocket_lifetime or self.settings.connection_lifetime)
            hub = get_hub()
            chat.add_listener(_HubPublisher(chat.key))
            url = hub.register(chat.key, participant.participant_id, socket_expiry)
            response["Websocket"] = {"Url": url, "ConnectionExpiry": iso(socket_expiry)}
        if connect_participant and not participant.joined:
            participant.joined = True
            chat.add_item("EVENT", PARTICIPANT_JOINED, participant)
        return response

    def send_message(
        self, connection_token: Optional[str], content_type: str, content: str, client_token: Optional[str]
    ) -> dict[str, Any]:
        _, chat, participant = self._grant(connection_token)
        if content_type not in MESSAGE_CONTENT_TYPES:
            raise ValidationException(f"ContentType {content_type!r} is not supported for messages")
        if not isinstance(content, str) or not 1 <= len(content) <= MAX_CONTENT_LENGTH:
            raise ValidationException("Content must have 1 to 16384 characters")
        if content_type == "application/json":
            try:
                json.loads(content)
            except ValueError:
                raise ValidationException("Content is not valid JSON") from None

        def send() -> dict[str, Any]:
            item = chat.add_item("MESSAGE", content_type, participant, content)
            return {"Id": item["Id"], "AbsoluteTime": item["AbsoluteTime"]}

        return dict(self._idempotently(chat, participant, "SendMessage", client_token, send))

    def _idempotently(
        self,
        chat: Chat,
        participant: ChatParticipant,
        operation: str,
        client_token: Optional[str],
        make: Callable[[], Any],
    ) -> Any:
        if not client_token:
            return make()
        return self._once((chat.contact_id, participant.participant_id, operation, client_token), make)

    def send_event(
        self, connection_token: Optional[str], content_type: str, content: Optional[str], client_token: Optional[str]
    ) -> dict[str, Any]:
        _, chat, participant = self._grant(connection_token)
        if content_type not in EVENT_CONTENT_TYPES:
            raise ValidationException(f"ContentType {content_type!r} is not a supported event")
        if content is not None and not 1 <= len(content) <= MAX_CONTENT_LENGTH:
            raise ValidationException("Content must have 1 to 16384 characters")
        target: Optional[dict[str, Any]] = None
        if content_type in (MESSAGE_DELIVERED, MESSAGE_READ):
            try:
                message_id = json.loads(content or "")["messageId"]
            except (ValueError, KeyError, TypeError):
                raise ValidationException('a receipt needs Content {"messageId": "..."}') from None
            target = chat.message(message_id) if isinstance(message_id, str) else None
            if target is None or target["Type"] not in ("MESSAGE", "ATTACHMENT"):
                raise ValidationException("messageId does not name a message of this chat")

        def send() -> dict[str, Any]:
            if content_type == TYPING:
                item = chat.add_item("EVENT", TYPING, participant, content)
            elif target is not None:
                item = self._record_receipt(chat, participant, target, content_type)
            else:  # connection.acknowledged: accepted, kept out of the transcript
                item = chat.add_item("EVENT", CONNECTION_ACKNOWLEDGED, participant, content, store=False)
            return {"Id": item["Id"], "AbsoluteTime": item["AbsoluteTime"]}

        return dict(self._idempotently(chat, participant, "SendEvent", client_token, send))

    def _record_receipt(
        self, chat: Chat, participant: ChatParticipant, target: dict[str, Any], content_type: str
    ) -> dict[str, Any]:
        with chat.lock:
            moment = iso(utcnow())
            metadata = target.setdefault("MessageMetadata", {"MessageId": target["Id"], "Receipts": []})
            receipts = metadata["Receipts"]
            receipt = next((r for r in receipts if r["RecipientParticipantId"] == participant.participant_id), None)
            if receipt is None:
                receipt = {"RecipientParticipantId": participant.participant_id}
                receipts.append(receipt)
            if content_type == MESSAGE_READ:
                receipt.setdefault("DeliveredTimestamp", moment)
                receipt["ReadTimestamp"] = moment
            else:
                receipt.setdefault("DeliveredTimestamp", moment)
            snapshot = json.loads(json.dumps(metadata))
            return chat.add_item(
                "MESSAGEMETADATA", MESSAGE_METADATA, participant, store=False, MessageMetadata=snapshot
            )

    def disconnect_participant(self, connection_token: Optional[str], client_token: Optional[str]) -> None:
        from .websocket import get_hub

        _, chat, participant = self._grant(connection_token)
        with chat.lock:
            participant.left = True
            chat.add_item("EVENT", PARTICIPANT_LEFT, participant)
        if chat.listeners:
            get_hub().disconnect_participant(chat.key, participant.participant_id)
        if participant.role == "CUSTOMER":
            self._end_chat(chat)

    # -- transcript ----------------------------------------------------------------------------

    def _sign(self, payload: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{body}.{mac}"

    def _unsign(self, token: str) -> dict[str, Any]:
        body, _, mac = token.rpartition(".")
        expected = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:32]
        if not body or not hmac.compare_digest(mac, expected):
            raise ValidationException("NextToken is not valid")
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
        return payload

    def get_transcript(
        self,
        connection_token: Optional[str],
        contact_id: Optional[str],
        max_results: Optional[int],
        next_token: Optional[str],
        scan_direction: Optional[str],
        sort_order: Optional[str],
        start_position: Optional[dict[str, Any]],
    ) -> dict[str, Any]:
        _, own_chat, _ = self._grant(connection_token)
        chat = own_chat
        if contact_id and contact_id != own_chat.contact_id:
            if contact_id not in own_chat.previous_contact_ids or contact_id not in self.chats:
                raise ResourceNotFoundException("ContactId is not this chat or an earlier contact of it")
            chat = self.chats[contact_id]
        size = 10 if max_results is None else max_results
        if not 0 <= size <= 100:
            raise ValidationException("MaxResults must be between 0 and 100")
        direction = scan_direction or "BACKWARD"
        sort = sort_order or "DESCENDING"
        if direction not in ("FORWARD", "BACKWARD") or sort not in ("ASCENDING", "DESCENDING"):
            raise ValidationException("ScanDirection must be FORWARD or BACKWARD; SortOrder ASCENDING or DESCENDING")
        with chat.lock:
            count = len(chat.items)
            if next_token:
                state = self._unsign(next_token)
                if state.get("c") != chat.contact_id or state.get("d") != direction:
                    raise ValidationException("NextToken does not belong to this request")
                start = int(state["p"])
            else:
                start = self._start_index(chat, direction, start_position)
            if direction == "FORWARD":
                positions = list(range(max(start, 0), min(start + size, count)))
                following = start + size if start + size < count else None
            else:
                start = min(start, count - 1)
                positions = list(range(start, max(start - size, -1), -1))
                following = start - size if start - size >= 0 else None
            page = [self._served(chat.items[p]) for p in positions]
        if (sort == "ASCENDING") != (direction == "FORWARD"):
            page.reverse()
        response: dict[str, Any] = {"InitialContactId": chat.initial_contact_id, "Transcript": page}
        if size and following is not None:
            response["NextToken"] = self._sign({"c": chat.contact_id, "d": direction, "p": following})
        return response

    def _start_index(self, chat: Chat, direction: str, start_position: Optional[dict[str, Any]]) -> int:
        given = {k: v for k, v in (start_position or {}).items() if v is not None}
        if len(given) > 1:
            raise ValidationException("StartPosition takes exactly one of Id, AbsoluteTime, MostRecent")
        count = len(chat.items)
        if not given:
            if direction == "FORWARD":
                raise ValidationException("ScanDirection FORWARD needs a StartPosition")
            return count - 1
        if "Id" in given:
            position = chat.position_of(given["Id"])
            if position is None:
                raise ValidationException("StartPosition Id does not name an item of this chat")
            return position
        if "AbsoluteTime" in given:
            try:
                moment = parse_iso(str(given["AbsoluteTime"]))
            except ValueError:
                raise ValidationException("StartPosition AbsoluteTime is not an ISO 8601 time") from None
            return chat.first_at_or_after(moment) if direction == "FORWARD" else chat.last_at_or_before(moment)
        if "MostRecent" in given:
            recent = int(given["MostRecent"])
            if not 0 <= recent <= 100:
                raise ValidationException("StartPosition MostRecent must be between 0 and 100")
            position = max(count - recent, 0)
            return position if direction == "FORWARD" else min(position, count - 1)
        raise ValidationException("StartPosition takes one of Id, AbsoluteTime, MostRecent")

    def _served(self, item: dict[str, Any]) -> dict[str, Any]:
        """An item as GetTranscript shows it now (attachment status may still be pending)."""
        if item["Type"] != "ATTACHMENT":
            return item
        shown = dict(item)
        attachments = []
        for entry in item.get("Attachments", []):
            record = self.uploads.get(entry["AttachmentId"])
            status = record.status if record else entry.get("Status")
            if record is not None and record.pending_reads > 0:
                record.pending_reads -= 1
                status = "IN_PROGRESS"
            attachments.append({**entry, "Status": status})
        shown["Attachments"] = attachments
        return shown

    # -- attachments ---------------------------------------------------------------------------

    def start_attachment_upload(
        self,
        connection_token: Optional[str],
        content_type: str,
        size: int,
        name: str,
        client_token: Optional[str],
    ) -> dict[str, Any]:
        from . import storage

        _, chat, participant = self._grant(connection_token)
        if not name or len(name) > 256:
            raise ValidationException("AttachmentName must have 1 to 256 characters")
        if not content_type or len(content_type) > 255:
            raise ValidationException("ContentType must have 1 to 255 characters")
        extension = os.path.splitext(name)[1].lower()
        if extension not in self.settings.allowed_extensions:
            raise ValidationException(f"attachments of type {extension or '(none)'} are not allowed")
        if not isinstance(size, int) or size < 1:
            raise ValidationException("AttachmentSizeInBytes must be at least 1")
        if size > self.settings.max_attachment_size:
            raise ServiceQuotaExceededException(
                f"the attachment is larger than the limit of {self.settings.max_attachment_size} bytes"
            )

        def start() -> dict[str, Any]:
            attachment_id = str(uuid.uuid4())
            record = UploadRecord(attachment_id, chat.contact_id, participant.participant_id, name, size, content_type)
            self.uploads[attachment_id] = record
            expires_at = utcnow() + timedelta(minutes=5)
            url, headers = storage.presigned_put(self, record, expires_in=300)
            return {
                "AttachmentId": attachment_id,
                "UploadMetadata": {"Url": url, "UrlExpiry": iso(expires_at), "HeadersToInclude": headers},
            }

        return dict(self._idempotently(chat, participant, "StartAttachmentUpload", client_token, start))

    def complete_attachment_upload(
        self, connection_token: Optional[str], attachment_ids: list[str], client_token: Optional[str]
    ) -> None:
        from . import storage

        _, chat, participant = self._grant(connection_token)
        if not attachment_ids or len(attachment_ids) != 1:
            raise ValidationException("AttachmentIds must list exactly one attachment")
        record = self.uploads.get(attachment_ids[0])
        if (
            record is None
            or record.contact_id != chat.contact_id
            or record.participant_id != participant.participant_id
        ):
            raise ResourceNotFoundException("no upload with that AttachmentId for this participant")

        def complete() -> bool:
            if record.completed:
                raise ConflictException("the attachment upload is already complete")
            stored = storage.stored_object(self, record)
            if stored is None:
                raise ValidationException("the attachment's bytes were not uploaded")
            size, metadata = stored
            if size != record.size:
                raise ValidationException(f"the upload has {size} bytes; {record.size} were declared")
            if metadata.get("attachment-id") != record.attachment_id:
                raise ValidationException("the upload did not carry the headers in HeadersToInclude")
            record.completed = True
            record.status = self.settings.attachment_verdict
            record.pending_reads = self.settings.attachment_pending_reads
            entry = {
                "ContentType": record.content_type,
                "AttachmentId": record.attachment_id,
                "AttachmentName": record.name,
                "Status": record.status,
            }
            chat.add_item("ATTACHMENT", record.content_type, participant, Attachments=[entry])
            return True

        self._idempotently(chat, participant, "CompleteAttachmentUpload", client_token, complete)

    def get_attachment(
        self,
        connection_token: Optional[str],
        attachment_id: str,
        url_expiry_in_seconds: Optional[int],
        disposition: Optional[str],
    ) -> dict[str, Any]:
        from . import storage

        _, chat, _ = self._grant(connection_token)
        record = self.uploads.get(attachment_id)
        chats = {chat.contact_id, *chat.previous_contact_ids}
        if record is None or not record.completed or record.contact_id not in chats:
            raise ResourceNotFoundException("no attachment with that AttachmentId in this chat")
        if record.status == "REJECTED":
            raise ValidationException("the attachment was rejected")
        expires_in = 300 if url_expiry_in_seconds is None else url_expiry_in_seconds
        if not 5 <= expires_in <= 300:
            raise ValidationException("UrlExpiryInSeconds must be between 5 and 300")
        if disposition not in (None, "ATTACHMENT", "INLINE"):
            raise ValidationException("UrlContentDisposition must be ATTACHMENT or INLINE")
        url = storage.presigned_get(self, record, expires_in, disposition or "ATTACHMENT")
        return {
            "Url": url,
            "UrlExpiry": iso(utcnow() + timedelta(seconds=expires_in)),
            "AttachmentSizeInBytes": record.size,
        }

    # -- views and authentication ----------------------------------------------------------------

    def describe_view(self, connection_token: Optional[str], view_token: str) -> dict[str, Any]:
        self._grant(connection_token)
        view = self.views.get(view_token)
        if view is None:
            raise ResourceNotFoundException("no view with that ViewToken")
        return {"View": view}

    def get_authentication_url(
        self, connection_token: Optional[str], session_id: str, redirect_uri: str
    ) -> dict[str, Any]:
        self._grant(connection_token)
        if not isinstance(session_id, str) or len(session_id) != 36:
            raise ValidationException("SessionId must have 36 characters")
        if not isinstance(redirect_uri, str) or not 1 <= len(redirect_uri) <= 1024:
            raise ValidationException("RedirectUri must have 1 to 1024 characters")
        self.auth_sessions.add(session_id)
        return {"AuthenticationUrl": f"https://auth.{self.region_name}.connect.example/authorize?session={session_id}"}

    def cancel_participant_authentication(self, connection_token: Optional[str], session_id: str) -> None:
        self._grant(connection_token)
        if not isinstance(session_id, str) or len(session_id) != 36:
            raise ValidationException("SessionId must have 36 characters")
        if session_id not in self.auth_sessions:
            raise ResourceNotFoundException("no authentication session with that SessionId")
        self.auth_sessions.discard(session_id)


class _HubPublisher:
    """Listener that pushes a chat's items to its websockets; equal per chat, so added once."""

    def __init__(self, key: Hashable) -> None:
        self.key = key

    def __call__(self, item: dict[str, Any]) -> None:
        from .websocket import get_hub

        get_hub().publish(self.key, item)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _HubPublisher) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


chat_backends = BackendDict(ChatBackend, "connect")
"""moto's per-account, per-region store of :class:`ChatBackend` objects."""
