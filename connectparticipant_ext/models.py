"""Value objects built from the service's responses.

Each class is built with a named constructor, ``from_response(...)``, that maps the service's
CamelCase keys to snake_case attributes and parses timestamps into aware UTC datetimes; the
service's dict stays available as ``raw``. Unknown item types and fields from a newer service
pass through (they are kept in ``raw``) instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

import attrs

from ._redact import redact_url
from ._time import parse_time
from ._validation import EVENT_PREFIX
from .events import ChatEvent, event_data, event_name, event_of

if TYPE_CHECKING:
    from .attachments import Attachment
    from .connection import Connection

__all__ = [
    "MessageMetadata",
    "Receipt",
    "SentEvent",
    "SentMessage",
    "TranscriptItem",
    "View",
    "ViewContent",
    "Websocket",
]

CHAT_ENDED = EVENT_PREFIX + "chat.ended"
PARTICIPANT_JOINED = EVENT_PREFIX + "participant.joined"
PARTICIPANT_LEFT = EVENT_PREFIX + "participant.left"
MESSAGE_METADATA = EVENT_PREFIX + "message.metadata"
LEGACY_EVENT_TYPES = frozenset(
    {
        "TYPING",
        "PARTICIPANT_JOINED",
        "PARTICIPANT_LEFT",
        "CHAT_ENDED",
        "TRANSFER_SUCCEEDED",
        "TRANSFER_FAILED",
        "CONNECTION_ACK",
        "MESSAGE_DELIVERED",
        "MESSAGE_READ",
    }
)
"""Item types of botocore's ChatItemType enum that are events; the service sends ``EVENT``."""


def _attachments(entries: Any, connection: Connection | None) -> tuple[Attachment, ...]:
    from .attachments import Attachment

    return tuple(Attachment.from_item(a, connection=connection) for a in entries if isinstance(a, Mapping))


def _raw_field() -> Any:
    return attrs.field(repr=False, eq=False, factory=dict)


@attrs.frozen
class Websocket:
    """The websocket URL a connection may open, and when that URL stops working.

    The URL's query string is a credential: it is left out of ``repr``.
    """

    url: str = attrs.field(repr=redact_url)
    expires_at: Optional[datetime]

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Websocket:
        return cls(url=str(data["Url"]), expires_at=parse_time(data.get("ConnectionExpiry")))


@attrs.frozen(kw_only=True)
class Receipt:
    """One recipient's delivered/read receipt for a message."""

    recipient_participant_id: Optional[str]
    delivered_at: Optional[datetime]
    read_at: Optional[datetime]

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Receipt:
        return cls(
            recipient_participant_id=data.get("RecipientParticipantId"),
            delivered_at=parse_time(data.get("DeliveredTimestamp")),
            read_at=parse_time(data.get("ReadTimestamp")),
        )


@attrs.frozen(kw_only=True)
class MessageMetadata:
    """Receipts and processing status of a message."""

    message_id: Optional[str]
    receipts: tuple[Receipt, ...] = ()
    message_processing_status: Optional[str] = None
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> MessageMetadata:
        return cls(
            message_id=data.get("MessageId"),
            receipts=tuple(Receipt.from_response(r) for r in data.get("Receipts") or ()),
            message_processing_status=data.get("MessageProcessingStatus"),
            raw=dict(data),
        )


@attrs.frozen(kw_only=True)
class SentMessage:
    """What SendMessage answered: the new message's id and time."""

    id: str
    absolute_time: Optional[datetime]
    message_metadata: Optional[MessageMetadata] = None
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> SentMessage:
        metadata = data.get("MessageMetadata")
        return cls(
            id=str(data["Id"]),
            absolute_time=parse_time(data.get("AbsoluteTime")),
            message_metadata=MessageMetadata.from_response(metadata) if metadata else None,
            raw=_without_metadata(data),
        )


@attrs.frozen(kw_only=True)
class SentEvent:
    """What SendEvent answered: the event's id and time."""

    id: str
    absolute_time: Optional[datetime]
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> SentEvent:
        return cls(id=str(data["Id"]), absolute_time=parse_time(data.get("AbsoluteTime")), raw=_without_metadata(data))


@attrs.frozen(kw_only=True)
class ViewContent:
    """A view's template, input schema and the actions it can take."""

    input_schema: Optional[str]
    template: Optional[str]
    actions: tuple[str, ...] = ()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> ViewContent:
        return cls(
            input_schema=data.get("InputSchema"),
            template=data.get("Template"),
            actions=tuple(data.get("Actions") or ()),
        )


@attrs.frozen(kw_only=True)
class View:
    """A step-by-step guide view, as DescribeView returns it."""

    id: Optional[str]
    arn: Optional[str]
    name: Optional[str]
    version: Optional[int]
    content: Optional[ViewContent]
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> View:
        content = data.get("Content")
        return cls(
            id=data.get("Id"),
            arn=data.get("Arn"),
            name=data.get("Name"),
            version=data.get("Version"),
            content=ViewContent.from_response(content) if content else None,
            raw=dict(data),
        )


@attrs.frozen(kw_only=True)
class TranscriptItem:
    """One item of a chat: a message, an event, an attachment or a receipt.

    ``type`` is the service's string as sent (``MESSAGE``, ``EVENT``, ``ATTACHMENT``,
    ``MESSAGEMETADATA``, or anything a newer service invents); events are told apart by
    ``content_type`` (see :attr:`event`).
    """

    id: str
    type: str
    content_type: Optional[str] = None
    content: Optional[str] = None
    absolute_time: Optional[datetime] = None
    participant_id: Optional[str] = None
    participant_role: Optional[str] = None
    display_name: Optional[str] = None
    attachments: tuple[Attachment, ...] = ()
    message_metadata: Optional[MessageMetadata] = None
    contact_id: Optional[str] = None
    initial_contact_id: Optional[str] = None
    related_contact_id: Optional[str] = None
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, connection: Connection | None = None) -> TranscriptItem:
        """Build an item from a GetTranscript entry or a websocket ``aws/chat`` payload.

        Args:
            data: the service's item dict.
            connection: the connection the item was read through; attachments are bound to it
                so ``item.attachments[0].download(...)`` works.
        """
        # The hot path of every transcript read and stream: one lookup per field, and no copy
        # of the dict the service's answer (botocore, json) was just parsed into.
        get = data.get
        attachments = get("Attachments")
        metadata = get("MessageMetadata")
        return cls(
            id=str(get("Id") or ""),
            type=str(get("Type") or ""),
            content_type=get("ContentType"),
            content=get("Content"),
            absolute_time=parse_time(get("AbsoluteTime")),
            participant_id=get("ParticipantId"),
            participant_role=get("ParticipantRole"),
            display_name=get("DisplayName"),
            attachments=_attachments(attachments, connection) if attachments else (),
            message_metadata=MessageMetadata.from_response(metadata)
            if metadata and isinstance(metadata, Mapping)
            else None,
            contact_id=get("ContactId"),
            initial_contact_id=get("InitialContactId"),
            related_contact_id=get("RelatedContactId"),
            raw=data if type(data) is dict else dict(data),
        )

    @property
    def is_message(self) -> bool:
        """True for a chat message (``Type`` ``MESSAGE``)."""
        return self.type == "MESSAGE"

    @property
    def is_attachment(self) -> bool:
        """True for an attachment item (``Type`` ``ATTACHMENT``)."""
        return self.type == "ATTACHMENT"

    @property
    def is_event(self) -> bool:
        """True for an event (``Type`` ``EVENT``, or one of the legacy event item types)."""
        if self.type == "EVENT" or self.type in LEGACY_EVENT_TYPES:
            return True
        if self.type in ("MESSAGE", "ATTACHMENT", "MESSAGEMETADATA"):
            return False
        return bool(self.content_type and self.content_type.startswith(EVENT_PREFIX))

    @property
    def event(self) -> Optional[ChatEvent]:
        """The event as a :class:`~connectparticipant_ext.ChatEvent` member, or None.

        None for a message, and for an event this library does not know yet (read
        :attr:`event_name` for those). Members are strings: ``item.event == "typing"`` holds.
        """
        return event_of(self.type, self.content_type)

    @property
    def is_chat_ended(self) -> bool:
        """True for the event that ends the chat."""
        return self.content_type == CHAT_ENDED or self.type == "CHAT_ENDED"

    @property
    def event_name(self) -> Optional[str]:
        """The event's name without the content-type prefix (``"chat.ended"``), known or not."""
        return event_name(self.type, self.content_type)

    @property
    def event_data(self) -> Optional[dict[str, Any]]:
        """An event's JSON content as a dict (an authentication event's ``SessionId``), or None."""
        return event_data(self.content_type, self.content)

    @property
    def is_complete(self) -> bool:
        """False for a piece of a Lex streamed reply (``MessageMetadata.MessageCompleted`` false)."""
        metadata = self.raw.get("MessageMetadata")
        return not (isinstance(metadata, Mapping) and metadata.get("MessageCompleted") is False)


def _without_metadata(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "ResponseMetadata"}
