"""Value objects built from the service's responses.

Each class is built with a named constructor, ``from_response(...)``, that maps the service's
CamelCase keys to snake_case attributes and parses timestamps into aware UTC datetimes; the
service's dict stays available as ``raw``. Unknown item types and fields from a newer service
pass through (they are kept in ``raw``) instead of failing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Optional, cast

import attrs

from . import _wire
from ._redact import redact_url
from ._time import format_time, parse_time, read_iso_time
from ._wire import ATTACHMENT_ITEM_TYPE, EVENT_ITEM_TYPE, EVENT_PREFIX, LEGACY_EVENT_ITEM_TYPES, MESSAGE_ITEM_TYPE
from ._wire import CHAT_ENDED_CONTENT_TYPE as CHAT_ENDED
from ._wire import INTERACTIVE as INTERACTIVE_CONTENT_TYPE
from .events import ChatEvent, event_data, event_name, event_of
from .exceptions import MalformedResponseError

if TYPE_CHECKING:
    from .attachments import Attachment
    from .connection import Connection
    from .interactive import InteractiveTemplate

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

LEGACY_EVENT_TYPES = frozenset(LEGACY_EVENT_ITEM_TYPES)
"""Item types of botocore's ChatItemType enum that are events; the service sends ``EVENT``."""
_NOT_EVENT_ITEM_TYPES = (MESSAGE_ITEM_TYPE, ATTACHMENT_ITEM_TYPE, _wire.MESSAGE_METADATA_ITEM_TYPE)


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
        """From CreateParticipantConnection's ``Websocket``; MalformedResponseError without a Url."""
        url = data.get("Url") if isinstance(data, Mapping) else None
        if not isinstance(url, str) or not url:
            raise MalformedResponseError("CreateParticipantConnection", "Websocket.Url is missing or not a string")
        return cls(url=url, expires_at=parse_time(data.get("ConnectionExpiry")))


@attrs.frozen(kw_only=True)
class Receipt:
    """One recipient's delivered/read receipt for a message."""

    recipient_participant_id: Optional[str]
    delivered_at: Optional[datetime]
    read_at: Optional[datetime]

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Receipt:
        """A receipt; a field of the wrong type reads as None (the original stays in ``raw``)."""
        recipient = data.get("RecipientParticipantId")
        return cls(
            recipient_participant_id=recipient if isinstance(recipient, str) else None,
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
        """Metadata as the service sends it, tolerantly: an item must never break a transcript or
        a stream. ``Receipts`` that is not a list reads as no receipts, entries that are not maps
        are skipped, and a field of the wrong type reads as None; ``raw`` keeps what came."""
        receipts = data.get("Receipts")
        message_id = data.get("MessageId")
        status = data.get("MessageProcessingStatus")
        return cls(
            message_id=message_id if isinstance(message_id, str) else None,
            receipts=tuple(Receipt.from_response(r) for r in receipts if isinstance(r, Mapping))
            if isinstance(receipts, list)
            else (),
            message_processing_status=status if isinstance(status, str) else None,
            raw=dict(data),
        )


def _sent_id(data: Any, operation: str) -> str:
    """The ``Id`` of a SendMessage/SendEvent answer; MalformedResponseError when there is none."""
    value = data.get("Id") if isinstance(data, Mapping) else None
    if not isinstance(value, str) or not value:
        raise MalformedResponseError(operation, "Id is missing or not a string")
    return value


@attrs.frozen(kw_only=True)
class SentMessage:
    """What SendMessage answered: the new message's id and time."""

    id: str
    absolute_time: Optional[datetime]
    message_metadata: Optional[MessageMetadata] = None
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> SentMessage:
        message_id = _sent_id(data, "SendMessage")
        metadata = data.get("MessageMetadata")
        absolute_time = parse_time(data.get("AbsoluteTime"))
        message_metadata = MessageMetadata.from_response(metadata) if isinstance(metadata, Mapping) else None
        raw = _without_metadata(data)
        if cls is not SentMessage:  # a subclass may add fields: its own __init__ sets them
            return cls(id=message_id, absolute_time=absolute_time, message_metadata=message_metadata, raw=raw)
        # Every send returns one: the slots are filled directly, which is what attrs'
        # __init__ does through object.__setattr__, for a third of the cost.
        sent = _new_object(cls)
        _SENT_MESSAGE_SLOTS[0](sent, message_id)
        _SENT_MESSAGE_SLOTS[1](sent, absolute_time)
        _SENT_MESSAGE_SLOTS[2](sent, message_metadata)
        _SENT_MESSAGE_SLOTS[3](sent, raw)
        return sent


@attrs.frozen(kw_only=True)
class SentEvent:
    """What SendEvent answered: the event's id and time."""

    id: str
    absolute_time: Optional[datetime]
    raw: dict[str, Any] = _raw_field()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> SentEvent:
        event_id = _sent_id(data, "SendEvent")
        absolute_time = parse_time(data.get("AbsoluteTime"))
        raw = _without_metadata(data)
        if cls is not SentEvent:
            return cls(id=event_id, absolute_time=absolute_time, raw=raw)
        sent = _new_object(cls)  # as in SentMessage.from_response
        _SENT_EVENT_SLOTS[0](sent, event_id)
        _SENT_EVENT_SLOTS[1](sent, absolute_time)
        _SENT_EVENT_SLOTS[2](sent, raw)
        return sent


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


_ITEM_FIELDS = (
    "id",
    "type",
    "content_type",
    "content",
    "absolute_time",
    "participant_id",
    "participant_role",
    "display_name",
    "attachments",
    "message_metadata",
    "contact_id",
    "initial_contact_id",
    "related_contact_id",
)
"""The public fields of a :class:`TranscriptItem`, in ``repr`` order (the order they had as attrs fields)."""

_UNSET: Any = object()
"""What the ``attachments`` and ``message_metadata`` caches hold until their field is first read."""


class TranscriptItem:
    """One item of a chat: a message, an event, an attachment or a receipt.

    ``type`` is the service's string as sent (``MESSAGE``, ``EVENT``, ``ATTACHMENT``,
    ``MESSAGEMETADATA``, or anything a newer service invents); events are told apart by
    ``content_type`` (see :attr:`event`).

    An item is an immutable value: setting or deleting an attribute raises
    :class:`attrs.exceptions.FrozenInstanceError` (an :class:`AttributeError`); two items are
    equal, and hash alike, when their fields are equal (``raw`` and the connection are not
    compared); items pickle (an unpickled item's attachments are not bound to a connection).

    A transcript read or a live stream makes one per item, and a reader reads its fields, so
    both are kept cheap: the object holds the service's dict (``raw``, not copied) and the
    fields a reader uses (``id``, ``type``, ``content_type``, ``content``, ``absolute_time``,
    ``participant_id``, ``participant_role``, ``display_name``), each parsed once when the item
    is made (the timestamp into an aware UTC datetime), so reading one is a plain attribute
    read. The three contact ids are read from ``raw`` when asked for. The ``attachments`` and
    ``message_metadata`` objects are built on first access and then kept, so reading a field
    twice gives the same object.
    ``TranscriptItem`` is not an attrs class (it used to be): ``attrs.evolve``,
    ``attrs.asdict`` and ``attrs.fields`` do not apply. Use
    ``TranscriptItem.from_response({**item.raw, "Content": ...})`` for a changed copy, and
    ``item.raw`` for the item as a dict.
    """

    # The fields are slots (a read is as cheap as an attribute read gets); _builder() below
    # fills them. The two caches hold _UNSET until their field is first read.
    __slots__ = {
        "_raw": "The service's dict.",
        "_connection": "The connection the item was read through (attachments are bound to it).",
        "_attachments": "The attachments, built on first access.",
        "_metadata": "The message metadata, built on first access.",
        "id": "The item's id (``Id``).",
        "type": "The service's item type as sent (``Type``): ``MESSAGE``, ``EVENT``, ``ATTACHMENT``, ...",
        "content_type": "``ContentType``: ``text/plain``, ..., or an event's ``application/vnd.amazonaws.connect.event.*``.",
        "content": "The message text or event content (``Content``), if any.",
        "absolute_time": "When the item was sent, as an aware UTC datetime, or None.",
        "participant_id": "``ParticipantId`` of the sender.",
        "participant_role": "``ParticipantRole``: ``CUSTOMER``, ``AGENT``, ``SYSTEM``, ``CUSTOM_BOT``, ``SUPERVISOR``.",
        "display_name": "``DisplayName`` of the sender.",
        "__weakref__": "",
    }

    _raw: dict[str, Any]
    _connection: Optional[Connection]
    _attachments: tuple[Attachment, ...]
    _metadata: Optional[MessageMetadata]
    id: str
    type: str
    content_type: Optional[str]
    content: Optional[str]
    absolute_time: Optional[datetime]
    participant_id: Optional[str]
    participant_role: Optional[str]
    display_name: Optional[str]

    def __init__(
        self,
        *,
        id: str,  # noqa: A002 - the field's public name
        type: str,  # noqa: A002 - the field's public name
        content_type: Optional[str] = None,
        content: Optional[str] = None,
        absolute_time: Optional[datetime] = None,
        participant_id: Optional[str] = None,
        participant_role: Optional[str] = None,
        display_name: Optional[str] = None,
        attachments: tuple[Attachment, ...] = (),
        message_metadata: Optional[MessageMetadata] = None,
        contact_id: Optional[str] = None,
        initial_contact_id: Optional[str] = None,
        related_contact_id: Optional[str] = None,
        raw: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Build an item from its fields (tests, fakes); the service's items use :meth:`from_response`.

        ``raw`` becomes a copy of ``raw`` (if given) with the service's keys of the given
        fields set, so ``item.raw`` always describes the item; a field left out is read from
        ``raw``.
        """
        data = dict(raw) if raw is not None else {}
        data["Id"] = id
        data["Type"] = type
        for key, value in (
            ("ContentType", content_type),
            ("Content", content),
            ("ParticipantId", participant_id),
            ("ParticipantRole", participant_role),
            ("DisplayName", display_name),
            ("ContactId", contact_id),
            ("InitialContactId", initial_contact_id),
            ("RelatedContactId", related_contact_id),
        ):
            if value is not None:
                data[key] = value
        if absolute_time is not None:
            data["AbsoluteTime"] = format_time(absolute_time)
        if attachments:
            attachments = tuple(attachments)
            data["Attachments"] = [_attachment_entry(a) for a in attachments]
        if message_metadata is not None:
            data["MessageMetadata"] = _metadata_entry(message_metadata)
        built = _item(self.__class__, data, None)
        for setter, getter in _ITEM_SLOTS:
            setter(self, getter(built))
        if absolute_time is not None:
            _set_time(self, absolute_time)  # as given (microseconds kept, not re-read from the text)
        if attachments:
            _set_attachments(self, attachments)
        if message_metadata is not None:
            _set_metadata(self, message_metadata)

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, connection: Connection | None = None) -> TranscriptItem:
        """Build an item from a GetTranscript entry or a websocket ``aws/chat`` payload.

        Args:
            data: the service's item dict (kept as ``raw``, not copied when it is a dict).
            connection: the connection the item was read through; attachments are bound to it
                so ``item.attachments[0].download(...)`` works.
        """
        return _item(cls, data if type(data) is dict else dict(data), connection)

    @classmethod
    def from_page(
        cls, entries: Iterable[Mapping[str, Any]], *, connection: Connection | None = None
    ) -> list[TranscriptItem]:
        """Items from a GetTranscript page's ``Transcript`` list, in order (the transcript's hot loop)."""
        # The one place an item's fields are parsed. Each item is made as its class's builder
        # (plain slot stores, see _builder), filled, then given its class. Written out in
        # full, without a call per item or per field: this loop runs once per item of every
        # page and every live message, and each call or property costs as much as a field.
        builder = _builder(cls)
        items: list[TranscriptItem] = []
        append = items.append
        for data in entries:
            raw = data if type(data) is dict else dict(data)
            item: Any = _new_object(builder)
            item._raw = raw
            item._connection = connection
            item._attachments = item._metadata = _UNSET
            item.id = str(raw.get("Id") or "")
            item.type = str(raw.get("Type") or "")
            item.content_type = raw.get("ContentType")
            item.content = raw.get("Content")
            item.participant_id = raw.get("ParticipantId")
            item.participant_role = raw.get("ParticipantRole")
            item.display_name = raw.get("DisplayName")
            when: Optional[datetime]
            value: Any = raw.get("AbsoluteTime")
            try:  # the service's "...Z", read in C; parse_time has the rest
                when = read_iso_time(value)
            except Exception:  # not a string, or not a time: parse_time decides (it never raises)
                when = parse_time(value)
            else:
                if when.tzinfo is not _UTC:  # another offset, or none
                    when = parse_time(value)
            item.absolute_time = when
            item.__class__ = cls
            append(item)
        return items

    # -- the fields read or built on first access ------------------------------------------------

    @property
    def contact_id(self) -> Optional[str]:
        """``ContactId``: the contact the item belongs to."""
        return self._raw.get("ContactId")

    @property
    def initial_contact_id(self) -> Optional[str]:
        """``InitialContactId``: the first contact of the chat (transfers keep it)."""
        return self._raw.get("InitialContactId")

    @property
    def related_contact_id(self) -> Optional[str]:
        """``RelatedContactId``, where it applies (persistent chats)."""
        return self._raw.get("RelatedContactId")

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """The item's attachments as :class:`~connectparticipant_ext.Attachment` objects (built once)."""
        value = self._attachments
        if value is _UNSET:
            entries = self._raw.get("Attachments")
            value = _attachments(entries, self._connection) if entries and isinstance(entries, list) else ()
            _set_attachments(self, value)
        return value

    @property
    def message_metadata(self) -> Optional[MessageMetadata]:
        """Receipts and processing status (``MessageMetadata``), or None (built once)."""
        value = self._metadata
        if value is _UNSET:
            data = self._raw.get("MessageMetadata")
            value = MessageMetadata.from_response(data) if data and isinstance(data, Mapping) else None
            _set_metadata(self, value)
        return value

    @property
    def raw(self) -> dict[str, Any]:
        """The service's dict for the item, unchanged (unknown fields of a newer service included)."""
        return self._raw

    # -- a value object ---------------------------------------------------------------------------

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _ITEM_FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, TranscriptItem)
        return self._fields() == other._fields()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((TranscriptItem, self._fields()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _ITEM_FIELDS)
        return f"{self.__class__.__name__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # The connection holds a lock and secrets: an unpickled item is not bound to one.
        return _unpickle_item, (self.__class__, self._raw, self.absolute_time)

    def __copy__(self) -> TranscriptItem:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> TranscriptItem:
        item = _item(self.__class__, copy.deepcopy(self._raw, memo), self._connection)
        _set_time(item, self.absolute_time)
        return item

    # -- what kind of item ------------------------------------------------------------------------

    @property
    def is_message(self) -> bool:
        """True for a chat message (``Type`` ``MESSAGE``)."""
        return self.type == MESSAGE_ITEM_TYPE

    @property
    def is_attachment(self) -> bool:
        """True for an attachment item (``Type`` ``ATTACHMENT``)."""
        return self.type == ATTACHMENT_ITEM_TYPE

    @property
    def is_event(self) -> bool:
        """True for an event (``Type`` ``EVENT``, or one of the legacy event item types)."""
        if self.type == EVENT_ITEM_TYPE or self.type in LEGACY_EVENT_TYPES:
            return True
        if self.type in _NOT_EVENT_ITEM_TYPES:
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
        return self.content_type == CHAT_ENDED or LEGACY_EVENT_ITEM_TYPES.get(self.type) == _wire.CHAT_ENDED

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

    @property
    def interactive(self) -> Optional[InteractiveTemplate]:
        """The typed template of an interactive message, or None for anything else.

        A :class:`~connectparticipant_ext.interactive.ListPicker`, ``TimePicker``, ``Panel``,
        ``Carousel``, ``QuickReply``, ``ViewResource``, or an
        :class:`~connectparticipant_ext.interactive.InteractiveTemplate` for a template type
        this library does not know. Parsed on each access; see :mod:`connectparticipant_ext.interactive`.
        """
        if self.content_type != INTERACTIVE_CONTENT_TYPE or not self.content:
            return None
        from .interactive import parse_template

        return parse_template(self.content)


_new_object = object.__new__


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The store of one of a slotted class's slots, bypassing a frozen ``__setattr__``."""
    return cast("Callable[[Any, Any], None]", cls.__dict__[name].__set__)


_set_time = _slot_setter(TranscriptItem, "absolute_time")
_set_attachments = _slot_setter(TranscriptItem, "_attachments")
_set_metadata = _slot_setter(TranscriptItem, "_metadata")
_ITEM_SLOTS = tuple(
    (_slot_setter(TranscriptItem, name), cast("Callable[[Any], Any]", TranscriptItem.__dict__[name].__get__))
    for name in TranscriptItem.__slots__
    if name != "__weakref__"
)
"""The store and the read of each of TranscriptItem's slots (to copy one item's state into another)."""

# The attrs fields of the two send results, in order; a test checks these match attrs.fields.
_SENT_MESSAGE_SLOTS = tuple(_slot_setter(SentMessage, n) for n in ("id", "absolute_time", "message_metadata", "raw"))
_SENT_EVENT_SLOTS = tuple(_slot_setter(SentEvent, n) for n in ("id", "absolute_time", "raw"))


_builders: dict[type, type] = {}


def _builder(cls: type[TranscriptItem]) -> type:
    """The builder class of ``cls``: the same slots, with plain attribute stores (made once).

    An item's own ``__setattr__`` refuses every store, and storing through a slot's
    descriptor from Python costs a call per field. So :meth:`TranscriptItem.from_page` makes
    each item as an instance of this subclass (``object.__setattr__``, which adds no slot),
    fills it with ordinary attribute stores, then gives it its class (``item.__class__ =
    cls``, allowed because the layouts are the same) before anyone else sees it.
    """
    builder = _builders.get(cls)
    if builder is None:
        namespace = {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__}
        builder = _builders.setdefault(cls, type(f"_{cls.__name__}Builder", (cls,), namespace))
    return builder


_UTC = timezone.utc


def _item(cls: type[TranscriptItem], data: dict[str, Any], connection: Connection | None) -> TranscriptItem:
    """One item of class ``cls`` made from the service's dict."""
    return cls.from_page((data,), connection=connection)[0]


def _unpickle_item(
    cls: type[TranscriptItem], data: dict[str, Any], absolute_time: Optional[datetime]
) -> TranscriptItem:
    item = _item(cls, data, None)
    _set_time(item, absolute_time)
    return item


def _attachment_entry(attachment: Attachment) -> dict[str, Any]:
    entry = {
        "AttachmentId": attachment.id,
        "AttachmentName": attachment.name,
        "ContentType": attachment.content_type,
        "Status": attachment.status,
    }
    return {key: value for key, value in entry.items() if value is not None}


def _metadata_entry(metadata: MessageMetadata) -> dict[str, Any]:
    if metadata.raw:
        return dict(metadata.raw)
    entry: dict[str, Any] = {"MessageId": metadata.message_id}
    if metadata.receipts:
        entry["Receipts"] = [
            {
                key: value
                for key, value in (
                    ("RecipientParticipantId", r.recipient_participant_id),
                    ("DeliveredTimestamp", format_time(r.delivered_at) if r.delivered_at else None),
                    ("ReadTimestamp", format_time(r.read_at) if r.read_at else None),
                )
                if value is not None
            }
            for r in metadata.receipts
        ]
    if metadata.message_processing_status is not None:
        entry["MessageProcessingStatus"] = metadata.message_processing_status
    return {key: value for key, value in entry.items() if value is not None}


def _without_metadata(data: Mapping[str, Any]) -> dict[str, Any]:
    raw = dict(data)  # a C-level copy; then drop botocore's HTTP details
    raw.pop("ResponseMetadata", None)
    return raw
