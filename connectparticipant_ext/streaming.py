"""Bots at fleet scale, on Amazon Connect's own message streaming.

A bot that holds a websocket per chat is tied to one process. Amazon Connect can instead
publish every item of a chat to a standard SNS topic (``connect.start_contact_streaming``),
which fans out to SQS queues or Lambda functions, so any worker can take any chat's next
item and no worker holds a socket::

    from connectparticipant_ext import ChatService, streaming

    # once per chat (the contact flow's Lambda, or the app that starts chats):
    streaming.start(connect_client, instance_id, contact_id, topic_arn)

    # in any number of workers (an SQS poller or a Lambda handler):
    bots = streaming.BotParticipants(ChatService(), store=streaming.DynamoDBTokenStore(table))
    for event in streaming.parse(sqs_message_or_lambda_event, audience="AGENT"):
        if event.item.is_message and event.participant_role == "CUSTOMER":
            conn = bots.connection(connect_client, event.instance_id, event.contact_id)
            conn.send_message(answer(event.item.content), client_token=event.reply_token)

What the service sends, and where it comes from (the admin guide's pages "Enable real-time
chat message streaming" and "Amazon SNS payload used in message streaming", and botocore's
``connect`` model):

* The SNS message body is the chat item as JSON, in the same shape as a GetTranscript item
  (``Id``, ``AbsoluteTime``, ``Type``, ``ContentType``, ``Content``, ``ParticipantId``,
  ``DisplayName``, ``ParticipantRole``, ``InitialContactId``, ``ContactId``).
* Its message attributes (all ``String``): ``InitialContactId``, ``ContactId``,
  ``ParticipantRole``, ``InstanceId``, ``AccountId``, ``Type``, ``ContentType`` and
  ``MessageVisibility`` (``CUSTOMER``, ``AGENT`` or ``ALL``).
* Only standard topics: the message streaming APIs do not support SNS FIFO topics. At most
  two topics per contact; the topic must be in the instance's Region.

The guide does not say which items get ``CUSTOMER`` or ``AGENT`` visibility, nor whether
receipts and attachments are streamed (it lists ``Type`` values ``EVENT`` and ``MESSAGE``);
:func:`parse` therefore reads any ``Type`` and any visibility it is given.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Optional, Protocol, runtime_checkable

import attrs

from . import _json
from ._redact import redact_secret
from ._time import parse_time
from ._validation import require_choice, require_int, require_seconds, require_str
from .exceptions import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    MalformedResponseError,
    StreamingPayloadError,
    map_client_errors,
)
from .models import TranscriptItem

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from .connection import Connection
    from .service import ChatService

__all__ = [
    "AUDIENCES",
    "BotParticipants",
    "BotRecord",
    "DynamoDBTokenStore",
    "InMemoryTokenStore",
    "StreamedItem",
    "TokenStore",
    "VISIBILITIES",
    "parse",
    "reply_token",
    "start",
    "stop",
]

VISIBILITIES = ("AGENT", "ALL", "CUSTOMER")
"""The values of the ``MessageVisibility`` attribute, per the admin guide."""

AUDIENCES = ("AGENT", "CUSTOMER")
"""The sides :func:`parse` can filter for (``audience=``)."""

ATTRIBUTES = (
    "InitialContactId",
    "ContactId",
    "ParticipantRole",
    "InstanceId",
    "AccountId",
    "Type",
    "ContentType",
    "MessageVisibility",
)
"""The SNS message attributes Amazon Connect sets on each streamed item."""

_MAX_ARN = 350  # ChatStreamingEndpointARN: 1..350 characters
_MAX_STREAMING_ID = 100


# -- starting and stopping ---------------------------------------------------------------------


def _require_topic_arn(topic_arn: Any) -> str:
    arn = require_str("topic_arn", topic_arn, max_length=_MAX_ARN)
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not all(parts[3:]):
        raise InvalidArgumentError(
            "topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>); "
            f"got one with {len(parts)} parts"
        )
    if parts[5].endswith(".fifo"):
        raise InvalidArgumentError(
            "topic_arn names an SNS FIFO topic; Amazon Connect streams chats to standard topics only"
        )
    return arn


def start(
    connect_client: BaseClient,
    instance_id: str,
    contact_id: str,
    topic_arn: str,
    *,
    client_token: Optional[str] = None,
) -> str:
    """Stream a chat's items to a standard SNS topic (``connect.start_contact_streaming``).

    Args:
        connect_client: a boto3 ``connect`` client (IAM credentials; the call is signed).
        instance_id: the Amazon Connect instance id.
        contact_id: the chat's contact id (the one StartChatContact returned).
        topic_arn: a standard SNS topic in the instance's Region whose access policy lets
            ``connect.amazonaws.com`` publish.
        client_token: idempotency token; a random one when omitted. Pass your own (for
            example derived from the contact id) to make a retried start safe.

    Returns:
        The ``StreamingId``, which :func:`stop` takes.

    Raises:
        InvalidArgumentError: a bad argument, or a FIFO topic, before any call.
        ServiceError: the service refused (``InvalidRequestException``,
            ``InvalidParameterException``, ``ResourceNotFoundException``,
            ``LimitExceededException`` for a third topic on one contact).
        ServiceUnreachableError: the Connect API could not be reached (after botocore's retries).
    """
    require_str("instance_id", instance_id, max_length=100)
    require_str("contact_id", contact_id, max_length=256)
    _require_topic_arn(topic_arn)
    token = str(uuid.uuid4()) if client_token is None else require_str("client_token", client_token, max_length=500)
    with map_client_errors("StartContactStreaming"):
        response = connect_client.start_contact_streaming(
            InstanceId=instance_id,
            ContactId=contact_id,
            ChatStreamingConfiguration={"StreamingEndpointArn": topic_arn},
            ClientToken=token,
        )
    streaming_id = response.get("StreamingId") if isinstance(response, Mapping) else None
    if not isinstance(streaming_id, str) or not streaming_id:
        raise MalformedResponseError("StartContactStreaming", "StreamingId is missing or not a string")
    return streaming_id


def stop(connect_client: BaseClient, instance_id: str, contact_id: str, streaming_id: str) -> None:
    """Stop streaming a chat (``connect.stop_contact_streaming``).

    Optional: streaming ends with the chat. Use it to stop while the chat goes on.
    """
    require_str("instance_id", instance_id, max_length=100)
    require_str("contact_id", contact_id, max_length=256)
    require_str("streaming_id", streaming_id, max_length=_MAX_STREAMING_ID)
    with map_client_errors("StopContactStreaming"):
        connect_client.stop_contact_streaming(InstanceId=instance_id, ContactId=contact_id, StreamingId=streaming_id)


# -- reading what arrives ------------------------------------------------------------------------


def reply_token(contact_id: str, item_id: str, part: int | str = 0) -> str:
    """The ClientToken to answer an item with: the same for every delivery of that item.

    SQS delivers at least once and Lambda retries failed invocations, so a worker may see an
    item twice; SendMessage with the same ClientToken is answered from the first call instead
    of posting a second message. ``part`` tells several answers to one item apart.
    """
    digest = hashlib.sha256(f"{contact_id}\x1f{item_id}\x1f{part}".encode()).hexdigest()
    return f"reply-{digest[:48]}"


@attrs.frozen(kw_only=True)
class StreamedItem:
    """One chat item as Amazon Connect's message streaming delivered it.

    ``item`` is the same :class:`~connectparticipant_ext.TranscriptItem` a transcript or a
    live stream gives; the rest are the SNS message attributes and delivery details.
    """

    item: TranscriptItem
    contact_id: str
    initial_contact_id: Optional[str]
    instance_id: Optional[str]
    participant_role: Optional[str]
    visibility: str
    message_id: Optional[str]
    """The id of the SNS message (or, with raw delivery, the SQS message) that carried it."""
    account_id: Optional[str] = None
    topic_arn: Optional[str] = None
    receipt_handle: Optional[str] = attrs.field(default=None, repr=False)
    """SQS's receipt handle, for ``delete_message`` (None for SNS deliveries)."""

    @property
    def reply_token(self) -> str:
        """The ClientToken to answer this item with, so a redelivery is answered once."""
        return reply_token(self.contact_id, self.item.id)

    def reply_token_for(self, part: int | str) -> str:
        """A ClientToken for the ``part``-th of several answers to this item."""
        return reply_token(self.contact_id, self.item.id, part)

    def visible_to(self, audience: str) -> bool:
        """The admin guide's test: meant for ``audience`` and not sent by that side.

        ``(MessageVisibility == audience or ALL) and ParticipantRole != audience``.
        """
        require_choice("audience", audience, AUDIENCES)
        return self.visibility in (audience, "ALL") and self.participant_role != audience


def parse(message_or_event: Any, *, audience: Optional[str] = None) -> Iterator[StreamedItem]:
    """The streamed chat items in an SQS message, a Lambda event or an SNS message.

    Accepts, as they arrive:

    * an SQS message from boto3's ``receive_message`` (``{"Body": ..., "MessageAttributes": ...}``),
      or the whole ``receive_message`` response, with SNS's envelope in the body or with raw
      message delivery (then call ``receive_message`` with ``MessageAttributeNames=["All"]``);
    * a Lambda event whose ``Records`` come from SNS (``"EventSource": "aws:sns"``) or from
      SQS (``"eventSource": "aws:sqs"``);
    * an SNS message (the envelope with ``Type: Notification``), as a dict or JSON text.

    Args:
        audience: ``"CUSTOMER"`` or ``"AGENT"``: keep only the items meant for that side and
            not sent by it, as the admin guide's filter has it (see
            :meth:`StreamedItem.visible_to`); None keeps everything.

    Raises:
        StreamingPayloadError: the input is none of these, or a part is malformed; the
            message names what is wrong (never the content).
    """
    if audience is not None:
        require_choice("audience", audience, AUDIENCES)
    for streamed in _parse_any(message_or_event, "the payload"):
        if audience is None or streamed.visible_to(audience):
            yield streamed


def _parse_any(value: Any, where: str) -> Iterator[StreamedItem]:
    if isinstance(value, (str, bytes)):
        yield from _parse_any(_json_object(value, where), where)
        return
    if not isinstance(value, Mapping):
        raise StreamingPayloadError(
            f"{where} must be an SQS message, a Lambda event or an SNS message (a dict), not {type(value).__name__}"
        )
    if "Records" in value:
        records = value["Records"]
        if not isinstance(records, list):
            raise StreamingPayloadError(f"{where}: Records must be a list")
        for n, record in enumerate(records):
            yield _parse_record(record, f"Records[{n}]")
    elif "Messages" in value:  # a whole receive_message response
        messages = value["Messages"]
        if not isinstance(messages, list):
            raise StreamingPayloadError(f"{where}: Messages must be a list")
        for n, message in enumerate(messages):
            yield _parse_sqs(message, f"Messages[{n}]", body_key="Body", attributes_key="MessageAttributes")
    elif "Body" in value:
        yield _parse_sqs(value, where, body_key="Body", attributes_key="MessageAttributes")
    elif value.get("Type") == "Notification" or "TopicArn" in value:
        yield _parse_envelope(value, where, receipt_handle=None)
    else:
        raise StreamingPayloadError(
            f"{where} has none of Records (a Lambda event), Body (an SQS message) or "
            "Type: Notification (an SNS message)"
        )


def _parse_record(record: Any, where: str) -> StreamedItem:
    if not isinstance(record, Mapping):
        raise StreamingPayloadError(f"{where} must be a dict")
    source = record.get("EventSource") or record.get("eventSource")
    if source == "aws:sns" or "Sns" in record:
        envelope = record.get("Sns")
        if not isinstance(envelope, Mapping):
            raise StreamingPayloadError(f"{where}: an SNS record needs an Sns object")
        return _parse_envelope(envelope, f"{where}.Sns", receipt_handle=None)
    if source == "aws:sqs" or "body" in record:
        return _parse_sqs(record, where, body_key="body", attributes_key="messageAttributes")
    raise StreamingPayloadError(f"{where} comes from {source!r}; expected aws:sns or aws:sqs")


def _parse_sqs(message: Any, where: str, *, body_key: str, attributes_key: str) -> StreamedItem:
    if not isinstance(message, Mapping):
        raise StreamingPayloadError(f"{where} must be a dict")
    body = message.get(body_key)
    if not isinstance(body, str):
        raise StreamingPayloadError(f"{where} has no {body_key} text")
    receipt = message.get("ReceiptHandle") or message.get("receiptHandle")
    document = _json_object(body, f"{where}.{body_key}")
    if document.get("Type") == "Notification" and "Message" in document:
        return _parse_envelope(document, f"{where}.{body_key}", receipt_handle=receipt)
    # Raw message delivery: the body is the item itself, the attributes are SQS's.
    attributes = _sqs_attributes(message.get(attributes_key), f"{where}.{attributes_key}")
    if not attributes:
        raise StreamingPayloadError(
            f"{where} is a raw delivery without message attributes: receive it with "
            "MessageAttributeNames=['All'] (or turn raw message delivery off)"
        )
    message_id = message.get("MessageId") or message.get("messageId")
    return _streamed(document, attributes, where, message_id=message_id, topic_arn=None, receipt_handle=receipt)


def _parse_envelope(envelope: Mapping[str, Any], where: str, *, receipt_handle: Optional[str]) -> StreamedItem:
    body = envelope.get("Message")
    if not isinstance(body, str):
        raise StreamingPayloadError(f"{where} has no Message text")
    item = _json_object(body, f"{where}.Message")
    attributes = _sns_attributes(envelope.get("MessageAttributes"), f"{where}.MessageAttributes")
    return _streamed(
        item,
        attributes,
        where,
        message_id=envelope.get("MessageId"),
        topic_arn=envelope.get("TopicArn"),
        receipt_handle=receipt_handle,
    )


def _streamed(
    data: Mapping[str, Any],
    attributes: Mapping[str, str],
    where: str,
    *,
    message_id: Optional[str],
    topic_arn: Optional[str],
    receipt_handle: Optional[str],
) -> StreamedItem:
    if not isinstance(data.get("Id"), str) or not data["Id"]:
        raise StreamingPayloadError(f"{where}: the chat item has no Id")
    contact_id = attributes.get("ContactId") or data.get("ContactId")
    if not isinstance(contact_id, str) or not contact_id:
        raise StreamingPayloadError(f"{where}: no ContactId, neither as a message attribute nor in the item")
    visibility = attributes.get("MessageVisibility")
    if visibility is None:
        raise StreamingPayloadError(f"{where}: the MessageVisibility message attribute is missing")
    if visibility not in VISIBILITIES:
        raise StreamingPayloadError(
            f"{where}: MessageVisibility must be one of {', '.join(VISIBILITIES)}; got {visibility!r}"
        )
    return StreamedItem(
        item=TranscriptItem.from_response(data),
        contact_id=contact_id,
        initial_contact_id=attributes.get("InitialContactId") or data.get("InitialContactId"),
        instance_id=attributes.get("InstanceId"),
        participant_role=attributes.get("ParticipantRole") or data.get("ParticipantRole"),
        visibility=visibility,
        message_id=message_id if isinstance(message_id, str) else None,
        account_id=attributes.get("AccountId"),
        topic_arn=topic_arn if isinstance(topic_arn, str) else None,
        receipt_handle=receipt_handle if isinstance(receipt_handle, str) else None,
    )


def _json_object(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        value = _json.loads(text)
    except _json.JSONNestingError:
        raise StreamingPayloadError(f"{where} nests deeper than {_json.MAX_DEPTH} levels") from None
    except ValueError:
        raise StreamingPayloadError(f"{where} is not valid JSON") from None
    if not isinstance(value, dict):
        raise StreamingPayloadError(f"{where} must be a JSON object, not {type(value).__name__}")
    return value


def _sns_attributes(attributes: Any, where: str) -> dict[str, str]:
    """SNS's ``{"Name": {"Type": "String", "Value": "..."}}`` as plain strings."""
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise StreamingPayloadError(f"{where} must be a dict")
    values = {}
    for name, entry in attributes.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("Value"), str):
            raise StreamingPayloadError(f"{where}.{name} has no string Value")
        values[name] = entry["Value"]
    return values


def _sqs_attributes(attributes: Any, where: str) -> dict[str, str]:
    """SQS's ``{"Name": {"DataType": "String", "StringValue": "..."}}`` (boto3) or
    ``{"stringValue": ...}`` (Lambda) as plain strings."""
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise StreamingPayloadError(f"{where} must be a dict")
    values = {}
    for name, entry in attributes.items():
        value = entry.get("StringValue", entry.get("stringValue")) if isinstance(entry, Mapping) else None
        if not isinstance(value, str):
            raise StreamingPayloadError(f"{where}.{name} has no StringValue")
        values[name] = value
    return values


DEFAULT_CHAT_LIFETIME = timedelta(hours=25)
"""How long a record is kept when the service gives no participant token expiry (a chat
lasts 25 hours by default, ``ChatDurationInMinutes``)."""


# -- the bot's credentials, where every worker can reach them --------------------------------------


@attrs.frozen(kw_only=True)
class BotRecord:
    """What a store keeps about one chat's bot participant.

    A record without ``participant_token`` is a claim: a worker is creating the participant
    and holds the claim until ``claimed_until``.
    """

    contact_id: str
    expires_at: datetime
    """When the record may be forgotten (the chat's end at the latest); the store's TTL."""
    participant_id: Optional[str] = None
    participant_token: Optional[str] = attrs.field(default=None, repr=redact_secret)
    connection_token: Optional[str] = attrs.field(default=None, repr=redact_secret)
    connection_expires_at: Optional[datetime] = None
    owner: Optional[str] = None
    claimed_until: Optional[datetime] = None

    @property
    def complete(self) -> bool:
        """True once the bot participant exists (the record holds its token)."""
        return self.participant_token is not None


@runtime_checkable
class TokenStore(Protocol):
    """Where bot participants' credentials live, shared by every worker.

    Implementations must make :meth:`claim` and :meth:`save` atomic (a conditional write):
    that is what makes two workers joining one chat at once create a single bot.
    """

    def get(self, contact_id: str) -> Optional[BotRecord]:
        """The record of a chat, complete or a claim, or None."""
        ...

    def claim(self, contact_id: str, owner: str, until: datetime, expires_at: datetime) -> bool:
        """Create a claim for ``owner`` unless a record exists; take over an expired claim.

        Returns True when ``owner`` now holds the claim.
        """
        ...

    def save(self, record: BotRecord, owner: str) -> bool:
        """Store a complete record if ``owner`` still holds the claim (or it is gone).

        Returns False when another worker's record won.
        """
        ...

    def update_connection(self, contact_id: str, connection_token: str, expires_at: Optional[datetime]) -> None:
        """Replace the shared connection token after a renewal."""
        ...

    def delete(self, contact_id: str) -> None:
        """Forget a chat (when it ends)."""
        ...


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class InMemoryTokenStore:
    """A :class:`TokenStore` in this process (tests, a single worker); thread-safe."""

    def __init__(self) -> None:
        self._records: dict[str, BotRecord] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemoryTokenStore(chats={len(self._records)})"

    def get(self, contact_id: str) -> Optional[BotRecord]:
        with self._lock:
            record = self._records.get(contact_id)
            if record is not None and record.expires_at <= _utcnow():
                del self._records[contact_id]
                return None
            return record

    def claim(self, contact_id: str, owner: str, until: datetime, expires_at: datetime) -> bool:
        with self._lock:
            current = self._records.get(contact_id)
            now = _utcnow()
            if current is not None and current.expires_at > now:
                if current.complete or (current.claimed_until is not None and current.claimed_until > now):
                    return current.owner == owner and not current.complete
            self._records[contact_id] = BotRecord(
                contact_id=contact_id, expires_at=expires_at, owner=owner, claimed_until=until
            )
            return True

    def save(self, record: BotRecord, owner: str) -> bool:
        with self._lock:
            current = self._records.get(record.contact_id)
            if current is not None and (current.complete or current.owner != owner):
                return False
            self._records[record.contact_id] = record
            return True

    def update_connection(self, contact_id: str, connection_token: str, expires_at: Optional[datetime]) -> None:
        with self._lock:
            current = self._records.get(contact_id)
            if current is not None and current.complete:
                self._records[contact_id] = attrs.evolve(
                    current, connection_token=connection_token, connection_expires_at=expires_at
                )

    def delete(self, contact_id: str) -> None:
        with self._lock:
            self._records.pop(contact_id, None)


def _epoch(moment: Optional[datetime]) -> Optional[int]:
    return None if moment is None else int(moment.timestamp())


def _from_epoch(value: Any) -> Optional[datetime]:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), timezone.utc)


class DynamoDBTokenStore:
    """A :class:`TokenStore` in a DynamoDB table, shared by workers on any machine.

    Args:
        table: a boto3 ``Table`` resource (``boto3.resource("dynamodb").Table(name)``) whose
            partition key is the string attribute ``key`` (see :meth:`create_table`).
        key: the partition key's name (a string attribute); read from the table when omitted.
        ttl_attribute: the number attribute holding the record's expiry in epoch seconds;
            when omitted, the table's TTL attribute if TTL is on, else ``expires_at``. Enable
            DynamoDB's TTL on it so records expire with their chat.

    Claims and saves are conditional writes, so two workers racing to join one chat create
    one bot participant. Tokens are written as plain string attributes: DynamoDB encrypts
    tables at rest; restrict the table with IAM as you would any credential store. They never
    appear in a repr or log line of this library.
    """

    def __init__(self, table: Any, *, key: Optional[str] = None, ttl_attribute: Optional[str] = None) -> None:
        if not hasattr(table, "put_item") or not hasattr(table, "get_item"):
            raise InvalidArgumentTypeError("table must be a boto3 DynamoDB Table resource")
        self.table = table
        self._key = None if key is None else require_str("key", key)
        self._ttl_attribute = None if ttl_attribute is None else require_str("ttl_attribute", ttl_attribute)
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        """The table's partition key: as given, or read from the table on first use."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    schema = self.table.key_schema  # DescribeTable, once
                    hashes = [k["AttributeName"] for k in schema if k.get("KeyType") == "HASH"]
                    if len(schema) != 1 or not hashes:
                        raise InvalidArgumentError(
                            "the table must have a partition key only (no sort key); pass key= to name it"
                        )
                    self._key = str(hashes[0])
        return self._key

    @property
    def ttl_attribute(self) -> str:
        """The TTL attribute: as given, the table's TTL attribute if it has one, else ``expires_at``."""
        if self._ttl_attribute is None:
            with self._lock:
                if self._ttl_attribute is None:
                    described = self.table.meta.client.describe_time_to_live(TableName=self.table.name)
                    description = described.get("TimeToLiveDescription", {})
                    enabled = description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
                    name = description.get("AttributeName")
                    self._ttl_attribute = str(name) if enabled and name else "expires_at"
        return self._ttl_attribute

    def __repr__(self) -> str:
        return f"DynamoDBTokenStore(table={getattr(self.table, 'name', '?')!r})"

    @classmethod
    def create_table(
        cls, dynamodb: Any, name: str, *, key: str = "contact_id", ttl_attribute: str = "expires_at"
    ) -> DynamoDBTokenStore:
        """Create an on-demand table with the key and TTL this store uses, and wait for it."""
        table = dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table.wait_until_exists()
        dynamodb.meta.client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
        return cls(table, key=key, ttl_attribute=ttl_attribute)

    # -- mapping ---------------------------------------------------------------------------------

    def _to_item(self, record: BotRecord) -> dict[str, Any]:
        item: dict[str, Any] = {self.key: record.contact_id, self.ttl_attribute: _epoch(record.expires_at)}
        optional = {
            "participant_id": record.participant_id,
            "participant_token": record.participant_token,
            "connection_token": record.connection_token,
            "connection_expires_at": _epoch(record.connection_expires_at),
            "owner": record.owner,
            "claimed_until": _epoch(record.claimed_until),
        }
        item.update({name: value for name, value in optional.items() if value is not None})
        return item

    def _from_item(self, item: Mapping[str, Any]) -> BotRecord:
        return BotRecord(
            contact_id=str(item[self.key]),
            expires_at=_from_epoch(item.get(self.ttl_attribute)) or (_utcnow() + DEFAULT_CHAT_LIFETIME),
            participant_id=item.get("participant_id"),
            participant_token=item.get("participant_token"),
            connection_token=item.get("connection_token"),
            connection_expires_at=_from_epoch(item.get("connection_expires_at")),
            owner=item.get("owner"),
            claimed_until=_from_epoch(item.get("claimed_until")),
        )

    @staticmethod
    def _condition_failed(exc: Exception) -> bool:
        response = getattr(exc, "response", None)
        return isinstance(response, Mapping) and response.get("Error", {}).get("Code") == (
            "ConditionalCheckFailedException"
        )

    # -- the protocol ----------------------------------------------------------------------------

    def get(self, contact_id: str) -> Optional[BotRecord]:
        response = self.table.get_item(Key={self.key: contact_id}, ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        record = self._from_item(item)
        # DynamoDB deletes expired items within days, not at once: treat them as gone.
        return record if record.expires_at > _utcnow() else None

    def claim(self, contact_id: str, owner: str, until: datetime, expires_at: datetime) -> bool:
        record = BotRecord(contact_id=contact_id, expires_at=expires_at, owner=owner, claimed_until=until)
        return self._put_if(
            record,
            "attribute_not_exists(#k) OR #ttl <= :now OR "
            "(attribute_not_exists(participant_token) AND claimed_until <= :now)",
            {"#k": self.key, "#ttl": self.ttl_attribute},
            {":now": int(time.time())},
        )

    def save(self, record: BotRecord, owner: str) -> bool:
        return self._put_if(
            record,
            "attribute_not_exists(#k) OR (attribute_not_exists(participant_token) AND #owner = :owner)",
            {"#k": self.key, "#owner": "owner"},
            {":owner": owner},
        )

    def _put_if(self, record: BotRecord, condition: str, names: dict[str, str], values: dict[str, Any]) -> bool:
        """Write the record if ``condition`` holds; False when another worker's write won."""
        try:
            self.table.put_item(
                Item=self._to_item(record),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if self._condition_failed(exc):
                return False
            raise
        return True

    def update_connection(self, contact_id: str, connection_token: str, expires_at: Optional[datetime]) -> None:
        names = {"#k": self.key}
        values: dict[str, Any] = {":token": connection_token}
        expression = "SET connection_token = :token"
        if expires_at is not None:
            expression += ", connection_expires_at = :expiry"
            values[":expiry"] = _epoch(expires_at)
        try:
            self.table.update_item(
                Key={self.key: contact_id},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(#k) AND attribute_exists(participant_token)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if not self._condition_failed(exc):
                raise

    def delete(self, contact_id: str) -> None:
        self.table.delete_item(Key={self.key: contact_id})


# -- joining chats as a bot, once ------------------------------------------------------------------


def _join_token(instance_id: str, contact_id: str) -> str:
    """The CreateParticipant ClientToken: the same for every worker joining one chat."""
    return "bot-" + hashlib.sha256(f"{instance_id}\x1f{contact_id}".encode()).hexdigest()[:48]


class BotParticipants:
    """One ``CUSTOM_BOT`` participant per chat, usable from any worker.

    Args:
        chat_service: the :class:`~connectparticipant_ext.ChatService` to make connections with.
        store: where the participant and connection tokens live (default: in this process).
        display_name: the bot's name in the chat.
        claim_seconds: how long a worker may take to create the participant before another
            worker takes over.
        wait_seconds: how long a worker that lost the race waits for the winner's record.
        cache_size: how many chats' connections this worker keeps in memory (least recently
            used first out); the rest are restored from the store when needed.

    :meth:`connection` joins a chat the first time any worker asks (``connect.create_participant``
    with ``ParticipantRole`` ``CUSTOM_BOT``, then CreateParticipantConnection with
    ``ConnectParticipant=True``) and later restores the connection from the store, with its
    participant, so it renews itself on whichever worker finds its token expiring.
    """

    def __init__(
        self,
        chat_service: ChatService,
        store: Optional[TokenStore] = None,
        *,
        display_name: str = "Bot",
        claim_seconds: float = 30.0,
        wait_seconds: float = 10.0,
        cache_size: int = 1024,
    ) -> None:
        from .service import ChatService

        if not isinstance(chat_service, ChatService):
            raise InvalidArgumentTypeError("chat_service must be a ChatService")
        if store is not None and not isinstance(store, TokenStore):
            raise InvalidArgumentTypeError(
                "store must implement TokenStore (get, claim, save, update_connection, delete)"
            )
        self.chat_service = chat_service
        self.store: TokenStore = store if store is not None else InMemoryTokenStore()
        self.display_name = require_str("display_name", display_name, max_length=256)
        self.claim_seconds = require_seconds("claim_seconds", claim_seconds)
        self.wait_seconds = require_seconds("wait_seconds", wait_seconds)
        self.cache_size = require_int("cache_size", cache_size, minimum=1)
        self.owner = f"worker-{uuid.uuid4()}"
        self._connections: OrderedDict[str, Connection] = OrderedDict()
        self._shared_renewals: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BotParticipants(store={self.store!r}, chats={len(self._connections)})"

    def connection(self, connect_client: BaseClient, instance_id: str, contact_id: str) -> Connection:
        """The bot's connection to a chat: joined once across all workers, then restored."""
        require_str("instance_id", instance_id, max_length=100)
        require_str("contact_id", contact_id, max_length=256)
        with self._lock:
            cached = self._connections.get(contact_id)
            if cached is not None:
                self._connections.move_to_end(contact_id)
        if cached is not None and not cached.closed:
            self._share_renewal(contact_id, cached)
            return cached
        record = self.store.get(contact_id)
        if record is None or not record.complete:
            record = self._join(connect_client, instance_id, contact_id)
        conn = self._restore(record)
        with self._lock:
            self._connections[contact_id] = conn
            while len(self._connections) > self.cache_size:
                evicted, _ = self._connections.popitem(last=False)
                self._shared_renewals.pop(evicted, None)
        return conn

    def forget(self, contact_id: str) -> None:
        """Drop a chat from the store and this worker (call it when the chat has ended)."""
        with self._lock:
            self._connections.pop(contact_id, None)
            self._shared_renewals.pop(contact_id, None)
        self.store.delete(contact_id)

    # -- steps -----------------------------------------------------------------------------------

    def _restore(self, record: BotRecord) -> Connection:
        assert record.participant_token is not None
        participant = self.chat_service.Participant(record.participant_token)
        if record.connection_token is None:
            conn = participant.create_connection(connect_participant=False, websocket=False)
            self.store.update_connection(record.contact_id, conn.token, conn.expires_at)
            return conn
        return self.chat_service.Connection(
            record.connection_token, participant=participant, expires_at=record.connection_expires_at
        )

    def _share_renewal(self, contact_id: str, conn: Connection) -> None:
        """After this worker renewed a connection, let the others use the new token."""
        with self._lock:
            seen = self._shared_renewals.get(contact_id, 0)
            if conn.renewals == seen:
                return
            self._shared_renewals[contact_id] = conn.renewals
        self.store.update_connection(contact_id, conn.token, conn.expires_at)

    def _join(self, connect_client: BaseClient, instance_id: str, contact_id: str) -> BotRecord:
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.02
        while True:
            now = _utcnow()
            claimed = self.store.claim(
                contact_id,
                self.owner,
                now + timedelta(seconds=self.claim_seconds),
                now + DEFAULT_CHAT_LIFETIME,
            )
            if claimed:
                return self._create(connect_client, instance_id, contact_id)
            record = self.store.get(contact_id)
            if record is not None and record.complete:
                return record
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"another worker claimed the bot participant of contact {contact_id} and did not finish "
                    f"within {self.wait_seconds:g} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _create(self, connect_client: BaseClient, instance_id: str, contact_id: str) -> BotRecord:
        with map_client_errors("CreateParticipant"):
            created = connect_client.create_participant(
                InstanceId=instance_id,
                ContactId=contact_id,
                ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": self.display_name},
                ClientToken=_join_token(instance_id, contact_id),
            )
        credentials = created["ParticipantCredentials"]
        participant = self.chat_service.Participant(credentials["ParticipantToken"])
        conn = participant.create_connection(connect_participant=True, websocket=False)
        expires_at = parse_time(credentials.get("Expiry")) or (_utcnow() + DEFAULT_CHAT_LIFETIME)
        record = BotRecord(
            contact_id=contact_id,
            expires_at=expires_at,
            participant_id=created.get("ParticipantId"),
            participant_token=participant.token,
            connection_token=conn.token,
            connection_expires_at=conn.expires_at,
            owner=self.owner,
        )
        if not self.store.save(record, self.owner):
            # Our claim was taken over (we were too slow); the other worker's record wins.
            winner = self.store.get(contact_id)
            if winner is not None and winner.complete:
                return winner
        return record
