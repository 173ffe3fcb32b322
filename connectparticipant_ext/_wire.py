"""The chat's wire constants, each defined once: item types, roles, content types, event names, frame topics.

The library and the command line import these; nothing else spells them. (The offline
backend in :mod:`connectparticipant_ext.testing` keeps its own copy on purpose, so that what
it checks does not follow from what the client sends.)

Sources:

* item types: botocore's ``connectparticipant`` model (``ChatItemType``) and the service's
  receipts item (``MESSAGEMETADATA``, which that enum does not list);
* participant roles: the same model, ``ParticipantRole``;
* content types: amazon-connect-chatjs 5 ``src/constants.js`` (``CONTENT_TYPE``), the
  Participant Service API reference (SendMessage's and SendEvent's ``ContentType``) and the
  service's receipts item (``...event.message.metadata``);
* event names: the same ``CONTENT_TYPE`` table, the part after :data:`EVENT_PREFIX`;
* legacy item types: botocore's ``connectparticipant`` model, ``ChatItemType``;
* frame topics: CreateParticipantConnection's documentation (``aws/subscribe`` with
  ``aws/chat``) and chatjs ``src/lib/amazon-connect-websocket-manager.js`` (``aws/heartbeat``,
  ``aws/ping``).
"""

from __future__ import annotations

import json
from types import MappingProxyType

# -- item types: a transcript item's ``Type`` --------------------------------------------------

MESSAGE_ITEM_TYPE = "MESSAGE"
EVENT_ITEM_TYPE = "EVENT"
ATTACHMENT_ITEM_TYPE = "ATTACHMENT"
MESSAGE_METADATA_ITEM_TYPE = "MESSAGEMETADATA"
"""Receipts (``MessageMetadata.Receipts``): the service sends this type, which botocore's
``ChatItemType`` enum does not list."""

# -- participant roles: an item's ``ParticipantRole`` ------------------------------------------

CUSTOMER_ROLE = "CUSTOMER"
AGENT_ROLE = "AGENT"
SYSTEM_ROLE = "SYSTEM"
"""The contact flow, a Lex bot and the service itself."""
CUSTOM_BOT_ROLE = "CUSTOM_BOT"
"""A participant that ``connect.create_participant`` added (a bot of your own)."""
SUPERVISOR_ROLE = "SUPERVISOR"

# -- messages ----------------------------------------------------------------------------------

TEXT_PLAIN = "text/plain"
TEXT_MARKDOWN = "text/markdown"
APPLICATION_JSON = "application/json"
INTERACTIVE = "application/vnd.amazonaws.connect.message.interactive"
"""An interactive message (a Lex template): received, never sent by a participant."""
INTERACTIVE_RESPONSE = INTERACTIVE + ".response"
"""A participant's answer to an interactive message."""

MESSAGE_CONTENT_TYPES = frozenset({TEXT_PLAIN, TEXT_MARKDOWN, APPLICATION_JSON, INTERACTIVE_RESPONSE})
"""What SendMessage accepts."""

# -- events: the content type is EVENT_PREFIX + the event's name -------------------------------

EVENT_PREFIX = "application/vnd.amazonaws.connect.event."

PARTICIPANT_JOINED = "participant.joined"
PARTICIPANT_LEFT = "participant.left"
PARTICIPANT_ACTIVE = "participant.active"
PARTICIPANT_INACTIVE = "participant.inactive"
PARTICIPANT_IDLE = "participant.idle"
PARTICIPANT_RETURNED = "participant.returned"
PARTICIPANT_INVITED = "participant.invited"
PARTICIPANT_DISPLAY_NAME_UPDATED = "participant.displayname.updated"
AUTODISCONNECTION = "participant.autodisconnection"
TRANSFER_SUCCEEDED = "transfer.succeeded"
TRANSFER_FAILED = "transfer.failed"
CHAT_ENDED = "chat.ended"
CHAT_REHYDRATED = "chat.rehydrated"
AUTHENTICATION_INITIATED = "authentication.initiated"
AUTHENTICATION_SUCCEEDED = "authentication.succeeded"
AUTHENTICATION_FAILED = "authentication.failed"
AUTHENTICATION_TIMEOUT = "authentication.timeout"
AUTHENTICATION_EXPIRED = "authentication.expired"
AUTHENTICATION_CANCELLED = "authentication.cancelled"
WORKFLOW_CANCELLED = "workflow.cancelled"
TYPING = "typing"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_READ = "message.read"
MESSAGE_METADATA = "message.metadata"
CONNECTION_ACKNOWLEDGED = "connection.acknowledged"


def event_content_type(name: str) -> str:
    """The content type of the event called ``name`` (``"typing"`` -> ``...event.typing``)."""
    return EVENT_PREFIX + name


TYPING_CONTENT_TYPE = event_content_type(TYPING)
MESSAGE_DELIVERED_CONTENT_TYPE = event_content_type(MESSAGE_DELIVERED)
MESSAGE_READ_CONTENT_TYPE = event_content_type(MESSAGE_READ)
CONNECTION_ACKNOWLEDGED_CONTENT_TYPE = event_content_type(CONNECTION_ACKNOWLEDGED)
CHAT_ENDED_CONTENT_TYPE = event_content_type(CHAT_ENDED)
AUTHENTICATION_INITIATED_CONTENT_TYPE = event_content_type(AUTHENTICATION_INITIATED)

EVENT_CONTENT_TYPES = frozenset(
    {
        TYPING_CONTENT_TYPE,
        MESSAGE_DELIVERED_CONTENT_TYPE,
        MESSAGE_READ_CONTENT_TYPE,
        CONNECTION_ACKNOWLEDGED_CONTENT_TYPE,
    }
)
"""What SendEvent accepts."""

LEGACY_EVENT_ITEM_TYPES = MappingProxyType(
    {
        "TYPING": TYPING,
        "PARTICIPANT_JOINED": PARTICIPANT_JOINED,
        "PARTICIPANT_LEFT": PARTICIPANT_LEFT,
        "CHAT_ENDED": CHAT_ENDED,
        "TRANSFER_SUCCEEDED": TRANSFER_SUCCEEDED,
        "TRANSFER_FAILED": TRANSFER_FAILED,
        "CONNECTION_ACK": CONNECTION_ACKNOWLEDGED,
        "MESSAGE_DELIVERED": MESSAGE_DELIVERED,
        "MESSAGE_READ": MESSAGE_READ,
    }
)
"""The item types of botocore's ``ChatItemType`` enum that are events, and each one's event
name; the service itself sends ``Type: EVENT`` with the event in the content type."""

# -- websocket frames ---------------------------------------------------------------------------

SUBSCRIBE_TOPIC = "aws/subscribe"
CHAT_TOPIC = "aws/chat"
HEARTBEAT_TOPIC = "aws/heartbeat"
PING_TOPIC = "aws/ping"

SUBSCRIBE_FRAME = json.dumps({"topic": SUBSCRIBE_TOPIC, "content": {"topics": [CHAT_TOPIC]}})
"""The frame a client sends once its socket is open, to receive the chat's items."""
HEARTBEAT_FRAME = json.dumps({"topic": HEARTBEAT_TOPIC})
"""The frame a client sends to keep its socket alive (the server answers with the same)."""
