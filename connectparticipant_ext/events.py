"""The chat's events by name: :class:`ChatEvent`, and how an item's event is read.

The service marks an event by its content type, ``application/vnd.amazonaws.connect.event.``
plus a name (``participant.joined``, ``chat.ended``, ...). :class:`ChatEvent` names every one
the service documents or AWS's own chat client handles. Sources:

* amazon-connect-chatjs 5, ``src/constants.js`` (``CONTENT_TYPE``, ``CHAT_EVENTS`` and
  ``CHAT_EVENT_TYPE_MAPPING``): joined, left, active, inactive, idle, returned, invited,
  autodisconnection, displayname.updated, transfer.succeeded/failed, chat.ended,
  chat.rehydrated, authentication.initiated/succeeded/failed/timeout/expired/cancelled,
  workflow.cancelled, typing, message.delivered/read, connection.acknowledged;
* ``src/index.d.ts`` (``ChatAuthenticationInitiatedEvent``: the content "contains JSON with
  SessionId");
* the Participant Service API reference (SendEvent's content types) and the service's
  ``MESSAGEMETADATA`` receipts item (``...event.message.metadata``).

Members are strings (their value is the name after the prefix), so ``item.event ==
"participant.joined"`` keeps working; compare with ``is`` for clarity. An event type this
library does not know yet is never an error: :attr:`TranscriptItem.event` is then None and
:attr:`TranscriptItem.event_name` still gives its name.
"""

from __future__ import annotations

import enum
from typing import Any, Optional

from . import _json, _wire
from ._wire import EVENT_PREFIX

__all__ = ["ChatEvent", "event_data", "event_name", "event_name_from_content_type"]


class ChatEvent(str, enum.Enum):
    """An event of the chat, named as AWS's chat clients name it.

    >>> ChatEvent.from_content_type("application/vnd.amazonaws.connect.event.chat.ended")
    <ChatEvent.CHAT_ENDED: 'chat.ended'>
    >>> ChatEvent.PARTICIPANT_IDLE.content_type
    'application/vnd.amazonaws.connect.event.participant.idle'
    """

    PARTICIPANT_JOINED = _wire.PARTICIPANT_JOINED
    PARTICIPANT_LEFT = _wire.PARTICIPANT_LEFT
    PARTICIPANT_ACTIVE = _wire.PARTICIPANT_ACTIVE
    PARTICIPANT_INACTIVE = _wire.PARTICIPANT_INACTIVE
    PARTICIPANT_IDLE = _wire.PARTICIPANT_IDLE
    PARTICIPANT_RETURNED = _wire.PARTICIPANT_RETURNED
    PARTICIPANT_INVITED = _wire.PARTICIPANT_INVITED
    PARTICIPANT_DISPLAY_NAME_UPDATED = _wire.PARTICIPANT_DISPLAY_NAME_UPDATED
    AUTODISCONNECTION = _wire.AUTODISCONNECTION
    TRANSFER_SUCCEEDED = _wire.TRANSFER_SUCCEEDED
    TRANSFER_FAILED = _wire.TRANSFER_FAILED
    CHAT_ENDED = _wire.CHAT_ENDED
    CHAT_REHYDRATED = _wire.CHAT_REHYDRATED
    AUTHENTICATION_INITIATED = _wire.AUTHENTICATION_INITIATED
    AUTHENTICATION_SUCCESSFUL = _wire.AUTHENTICATION_SUCCEEDED
    AUTHENTICATION_FAILED = _wire.AUTHENTICATION_FAILED
    AUTHENTICATION_TIMEOUT = _wire.AUTHENTICATION_TIMEOUT
    AUTHENTICATION_EXPIRED = _wire.AUTHENTICATION_EXPIRED
    AUTHENTICATION_CANCELED = _wire.AUTHENTICATION_CANCELLED
    WORKFLOW_CANCELED = _wire.WORKFLOW_CANCELLED
    TYPING = _wire.TYPING
    MESSAGE_DELIVERED = _wire.MESSAGE_DELIVERED
    MESSAGE_READ = _wire.MESSAGE_READ
    MESSAGE_METADATA = _wire.MESSAGE_METADATA
    CONNECTION_ACKNOWLEDGED = _wire.CONNECTION_ACKNOWLEDGED

    # str() and format() give the name the service uses, on every Python version.
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)

    @property
    def content_type(self) -> str:
        """The full content type the service sends for this event."""
        return _wire.event_content_type(self.value)

    @classmethod
    def from_content_type(cls, content_type: Optional[str]) -> Optional[ChatEvent]:
        """The member for a content type, or None for a non-event or an unknown event."""
        name = event_name_from_content_type(content_type)
        return _BY_NAME.get(name) if name is not None else None


_BY_NAME: dict[str, ChatEvent] = {member.value: member for member in ChatEvent}

# botocore's ChatItemType enum has these legacy item types; the service sends Type EVENT.
_LEGACY_TYPES: dict[str, ChatEvent] = {
    item_type: ChatEvent(name) for item_type, name in _wire.LEGACY_EVENT_ITEM_TYPES.items()
}


def event_name_from_content_type(content_type: Optional[str]) -> Optional[str]:
    """The event name in a content type (``"...event.chat.ended"`` -> ``"chat.ended"``), known
    to :class:`ChatEvent` or not; None when it is not an event's content type.

    Only the content type is read; :func:`event_name` also knows botocore's legacy item types.
    """
    if isinstance(content_type, str) and content_type.startswith(EVENT_PREFIX):
        return content_type[len(EVENT_PREFIX) :]
    return None


def event_of(item_type: Optional[str], content_type: Optional[str]) -> Optional[ChatEvent]:
    """The :class:`ChatEvent` of an item (by content type, else a legacy item type), or None."""
    name = event_name_from_content_type(content_type)
    if name is not None:
        return _BY_NAME.get(name)
    return _LEGACY_TYPES.get(item_type) if isinstance(item_type, str) else None


def event_name(item_type: Optional[str], content_type: Optional[str]) -> Optional[str]:
    """An event's name as a string, known to :class:`ChatEvent` or not (None for a non-event)."""
    name = event_name_from_content_type(content_type)
    if name is not None:
        return name
    legacy = _LEGACY_TYPES.get(item_type) if isinstance(item_type, str) else None
    return legacy.value if legacy is not None else None


def event_data(content_type: Optional[str], content: Optional[str]) -> Optional[dict[str, Any]]:
    """An event's content parsed as a JSON object (e.g. ``{"SessionId": ...}`` of
    ``authentication.initiated``), or None when it has no content or the content is not JSON.
    Never raises: a malformed content is the service's business, not the reader's."""
    if event_name_from_content_type(content_type) is None or not isinstance(content, str) or not content:
        return None
    try:
        data = _json.loads(content)
    except ValueError:  # not JSON, or nested too deeply
        return None
    return data if isinstance(data, dict) else None
