"""The chat's state: settings, participants, connection grants, uploads and the chat itself.

A :class:`Chat` keeps its items in time order with an id index, so a GetTranscript page costs
O(page size) however long the chat is. The content-type names and limits the operations check
live here too, beside the state they describe.
"""

from __future__ import annotations

import bisect
import threading
import uuid
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Optional

from moto.core.common_models import BaseModel

if TYPE_CHECKING:
    from .base import ChatBackendBase

__all__ = [
    "CHAT_ENDED",
    "CHAT_REHYDRATED",
    "CONNECTION_ACKNOWLEDGED",
    "DEFAULT_ALLOWED_EXTENSIONS",
    "EVENT",
    "EVENT_CONTENT_TYPES",
    "INTERACTIVE",
    "INTERACTIVE_RESPONSE",
    "MAX_CONTENT_LENGTH",
    "MESSAGE_CONTENT_TYPES",
    "MESSAGE_DELIVERED",
    "MESSAGE_METADATA",
    "MESSAGE_READ",
    "PARTICIPANT_JOINED",
    "PARTICIPANT_LEFT",
    "SERVICE_EVENT_CONTENT_TYPES",
    "STORED_EVENT_CONTENT_TYPES",
    "SUPPORTED_MESSAGING_CONTENT_TYPES",
    "TYPING",
    "Chat",
    "ChatParticipant",
    "ChatSettings",
    "Clock",
    "ConnectionGrant",
    "Listener",
    "UploadRecord",
    "iso",
    "parse_iso",
    "utcnow",
]

EVENT = "application/vnd.amazonaws.connect.event."
PARTICIPANT_JOINED = EVENT + "participant.joined"
PARTICIPANT_LEFT = EVENT + "participant.left"
CHAT_ENDED = EVENT + "chat.ended"
TYPING = EVENT + "typing"
MESSAGE_DELIVERED = EVENT + "message.delivered"
MESSAGE_READ = EVENT + "message.read"
CONNECTION_ACKNOWLEDGED = EVENT + "connection.acknowledged"
MESSAGE_METADATA = EVENT + "message.metadata"
CHAT_REHYDRATED = EVENT + "chat.rehydrated"

SERVICE_EVENT_CONTENT_TYPES = frozenset(
    EVENT + name
    for name in (
        "participant.joined",
        "participant.left",
        "participant.invited",
        "participant.idle",
        "participant.returned",
        "participant.autodisconnection",
        "participant.displayname.updated",
        "participant.active",
        "participant.inactive",
        "transfer.succeeded",
        "transfer.failed",
        "chat.ended",
        "chat.rehydrated",
        "authentication.initiated",
        "authentication.succeeded",
        "authentication.failed",
        "authentication.timeout",
        "authentication.expired",
        "authentication.cancelled",
        "workflow.cancelled",
    )
)
"""Every event content type the service sends, as amazon-connect-chatjs 5's src/constants.js
(CONTENT_TYPE) names them; ``backend.emit_event`` takes these."""

STORED_EVENT_CONTENT_TYPES = frozenset(
    EVENT + name
    for name in (
        "participant.invited",
        "participant.joined",
        "participant.left",
        "chat.ended",
        "transfer.succeeded",
        "transfer.failed",
    )
)
"""The events GetTranscript keeps ("chat transcripts contain the following event content types",
GetTranscript API reference); every other event is pushed on the websocket only."""

INTERACTIVE = "application/vnd.amazonaws.connect.message.interactive"
"""An interactive message's template (a Lex bot or a flow sends it)."""
INTERACTIVE_RESPONSE = INTERACTIVE + ".response"
"""A participant's answer to an interactive message."""
MESSAGE_CONTENT_TYPES = frozenset({"text/plain", "text/markdown", "application/json", INTERACTIVE_RESPONSE})
SUPPORTED_MESSAGING_CONTENT_TYPES = MESSAGE_CONTENT_TYPES | {INTERACTIVE}
"""What StartChatContact's SupportedMessagingContentTypes may list (connect model)."""
EVENT_CONTENT_TYPES = frozenset({TYPING, MESSAGE_DELIVERED, MESSAGE_READ, CONNECTION_ACKNOWLEDGED})
MAX_CONTENT_LENGTH = 16384

DEFAULT_ALLOWED_EXTENSIONS = frozenset(
    {".csv", ".doc", ".docx", ".jpeg", ".jpg", ".pdf", ".png", ".ppt", ".pptx", ".txt", ".wav", ".xls", ".xlsx"}
)


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


class Clock:
    """The backend's time: the wall clock plus an offset a test moves forward (``advance_clock``).

    Token and chat expiry, authentication windows, participant timers and item times read it;
    the websocket server keeps the wall clock (its deadlines are real sockets' deadlines).
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return utcnow() + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (not backward); the new time."""
        if delta < timedelta(0):
            raise ValueError("the backend's clock only moves forward")
        with self._lock:
            self._offset += delta
            return utcnow() + self._offset


class ChatSettings:
    """The switches a test can turn on a backend (``get_chat_backend().settings``).

    The defaults are the service's, where the service documents one (see docs/fidelity.rst).
    """

    def __init__(self) -> None:
        self.connection_lifetime = timedelta(hours=24)
        """How long a connection token lives ("Expiry time for the connection token is 1 day",
        CreateParticipantConnection API reference)."""
        self.websocket_connect_timeout = timedelta(seconds=100)
        """How long a websocket URL may be opened: its ``ConnectionExpiry`` ("The response URL for
        WEBSOCKET Type has a connect expiry timeout of 100s", CreateParticipantConnection)."""
        self.websocket_max_lifetime: Optional[timedelta] = timedelta(hours=2)
        """How long an open websocket lives before the server closes it. The participant websocket
        is served by API Gateway, whose WebSocket connections last at most 2 hours (and are closed
        after 10 minutes idle); AWS's clients re-open theirs before an hour is up. None: no limit."""
        self.websocket_idle_timeout: Optional[timedelta] = timedelta(minutes=10)
        """API Gateway's WebSocket idle timeout (for the hub; heartbeats keep a socket busy)."""
        self.participant_token_lifetime: Optional[timedelta] = None
        """How long a participant token may be exchanged; None means for the whole chat
        ("valid for the lifetime of the participant", CreateParticipantConnection)."""
        self.max_attachment_size = 20 * 1024 * 1024
        self.allowed_extensions = DEFAULT_ALLOWED_EXTENSIONS
        self.max_attachments_per_contact: Optional[int] = None
        """More uploads on one contact give ServiceQuotaExceededException. The service's number is
        not documented, so there is no limit unless a test sets one."""
        self.attachment_verdict = "APPROVED"
        """What completed attachments become, ``APPROVED`` or ``REJECTED``."""
        self.attachment_pending_reads = 0
        """Transcript reads that show a new attachment as ``IN_PROGRESS`` before its verdict."""
        self.require_known_instance: Optional[bool] = None
        """Refuse a ``start_chat_contact`` whose InstanceId moto's connect backend does not know
        (ResourceNotFoundException). None (the default): only once the account and region have
        instances in moto (``connect.create_instance``); True: always; False: never."""

    @property
    def websocket_lifetime(self) -> Optional[timedelta]:
        """Older name of :attr:`websocket_connect_timeout` (setting None restores the 100 s)."""
        return self.websocket_connect_timeout

    @websocket_lifetime.setter
    def websocket_lifetime(self, value: Optional[timedelta]) -> None:
        self.websocket_connect_timeout = timedelta(seconds=100) if value is None else value


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
        self.item_id: Optional[str] = None
        """The Id of the ATTACHMENT item written on completion (its verdict reuses it)."""


class Chat(BaseModel):
    """One contact's chat: participants and its items in time order."""

    def __init__(
        self, backend: ChatBackendBase, contact_id: str, instance_id: str, duration: timedelta, clock: Clock
    ) -> None:
        self.backend = backend
        self.clock = clock
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
        self.started_at = clock.now()
        self.expires_at = self.started_at + duration
        self.ended = False
        self.supported_content_types: frozenset[str] = frozenset({"text/plain"})
        """SupportedMessagingContentTypes of StartChatContact (text/plain only by default)."""
        self.rehydration_pending = False
        """A persistent chat whose chat.rehydrated event waits for the customer's first websocket."""
        self.disconnect_flow = False
        """The customer leaving does not end the chat (DisconnectOnCustomerExit / a disconnect flow):
        agents are disconnected, flow messages still reach the customer's socket until stop_contact."""
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
        now = self.clock.now()
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
        item_id: Optional[str] = None,
        sender: str = "participant",
        **extra: Any,
    ) -> dict[str, Any]:
        """Write an item (stored in the transcript unless ``store=False``) and tell listeners.

        ``content_type`` may be empty: the item then has no ``ContentType`` (ATTACHMENT items, as
        AWS's clients' fixtures show them). Without a participant, ``sender`` says what the item
        carries: ``"system"`` (role SYSTEM, display name SYSTEM_MESSAGE: flow and bot messages and
        service events) or ``"none"`` (no participant fields at all: chat.ended, receipts).
        """
        with self.lock:
            moment = self._next_time()
            item: dict[str, Any] = {
                "Id": item_id or str(uuid.uuid4()),
                "AbsoluteTime": iso(moment),
                "Type": item_type,
            }
            if content_type:
                item["ContentType"] = content_type
            item.update(ContactId=self.contact_id, InitialContactId=self.initial_contact_id)
            if content is not None:
                item["Content"] = content
            if participant is not None and sender == "participant":
                item.update(
                    ParticipantId=participant.participant_id,
                    DisplayName=participant.display_name,
                    ParticipantRole=participant.role,
                )
            elif sender != "none":
                item.update(ParticipantRole="SYSTEM", DisplayName="SYSTEM_MESSAGE")
            item.update(extra)
            if store:
                self._index[item["Id"]] = len(self.items)
                self.items.append(item)
                self._times.append(moment)
            for listener in list(self.listeners):
                listener(item)
            return item

    def copy_past_items(self, items: list[dict[str, Any]]) -> None:
        """Put a past contact's items first in this (new, empty) chat, tagged RelatedContactId."""
        with self.lock:
            for old in items:
                item = {k: v for k, v in old.items() if k != "ContactId"}
                item.setdefault("RelatedContactId", old.get("ContactId"))
                item["InitialContactId"] = self.initial_contact_id
                self._index[item["Id"]] = len(self.items)
                self.items.append(item)
                self._times.append(parse_iso(item["AbsoluteTime"]))
            if self._times:
                self._last_time = self._times[-1]

    def active_participants(self) -> list[ChatParticipant]:
        """Participants that joined and have not left."""
        return [p for p in self.participants.values() if p.joined and not p.left]

    def position_of(self, item_id: str) -> Optional[int]:
        return self._index.get(item_id)

    def first_at_or_after(self, moment: datetime) -> int:
        return bisect.bisect_left(self._times, moment)

    def last_at_or_before(self, moment: datetime) -> int:
        return bisect.bisect_right(self._times, moment) - 1

    def message(self, item_id: str) -> Optional[dict[str, Any]]:
        position = self._index.get(item_id)
        return self.items[position] if position is not None else None
