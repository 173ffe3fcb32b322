"""What message streaming delivers, read: SQS messages, Lambda events and SNS messages.

Pure parsing, no I/O: :func:`parse` turns a payload into :class:`StreamedItem` objects.
"""

from __future__ import annotations

import hashlib
import reprlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional

import attrs

from .. import _json
from .._validation import require_choice, require_str
from .._wire import AGENT_ROLE, CUSTOMER_ROLE
from ..exceptions import InvalidArgumentError, InvalidArgumentTypeError, StreamingPayloadError
from ..models import TranscriptItem

__all__ = ["ATTRIBUTES", "AUDIENCES", "VISIBILITIES", "StreamedItem", "parse", "reply_token"]

VISIBILITIES = (AGENT_ROLE, "ALL", CUSTOMER_ROLE)
"""The values of the ``MessageVisibility`` attribute, per the admin guide."""

AUDIENCES = (AGENT_ROLE, CUSTOMER_ROLE)
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


def parse(
    message_or_event: Any, *, audience: Optional[str] = None, topic_arns: Optional[Iterable[str]] = None
) -> Iterator[StreamedItem]:
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
        topic_arns: the SNS topics items may come from: an SNS envelope naming another topic
            is refused, and so is a raw SQS delivery (it names no topic). None accepts any
            topic (the queue's or function's access policy decides who may send).

    The item's own ``ContactId``, ``InitialContactId`` and ``ParticipantRole`` are the ones
    used; a message attribute that disagrees with them is an error, not an override.

    Raises:
        StreamingPayloadError: the input is none of these, or a part is malformed, comes from
            a topic not in ``topic_arns``, or has attributes that disagree with its item; the
            message names what is wrong (never the content).
        InvalidArgumentError: ``audience`` or ``topic_arns`` is not a valid value.
    """
    if audience is not None:
        require_choice("audience", audience, AUDIENCES)
    topics = _topics(topic_arns)
    for streamed in _parse_any(message_or_event, "the payload", topics):
        if audience is None or streamed.visible_to(audience):
            yield streamed


def _topics(topic_arns: Optional[Iterable[str]]) -> Optional[frozenset[str]]:
    if topic_arns is None:
        return None
    if isinstance(topic_arns, (str, bytes)) or not isinstance(topic_arns, Iterable):
        raise InvalidArgumentTypeError("topic_arns must be a list of SNS topic ARNs (not a single string)")
    topics = frozenset(require_str("topic_arns[]", arn) for arn in topic_arns)
    if not topics:
        raise InvalidArgumentError("topic_arns must name at least one topic (or be None to accept any)")
    return topics


def _parse_any(value: Any, where: str, topics: Optional[frozenset[str]]) -> Iterator[StreamedItem]:
    if isinstance(value, (str, bytes)):
        yield from _parse_any(_json_object(value, where), where, topics)
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
            yield _parse_record(record, f"Records[{n}]", topics)
    elif "Messages" in value:  # a whole receive_message response
        messages = value["Messages"]
        if not isinstance(messages, list):
            raise StreamingPayloadError(f"{where}: Messages must be a list")
        for n, message in enumerate(messages):
            yield _parse_sqs(message, f"Messages[{n}]", topics, body_key="Body", attributes_key="MessageAttributes")
    elif "Body" in value:
        yield _parse_sqs(value, where, topics, body_key="Body", attributes_key="MessageAttributes")
    elif value.get("Type") == "Notification" or "TopicArn" in value:
        yield _parse_envelope(value, where, topics, receipt_handle=None)
    else:
        raise StreamingPayloadError(
            f"{where} has none of Records (a Lambda event), Body (an SQS message) or "
            "Type: Notification (an SNS message)"
        )


def _parse_record(record: Any, where: str, topics: Optional[frozenset[str]]) -> StreamedItem:
    if not isinstance(record, Mapping):
        raise StreamingPayloadError(f"{where} must be a dict")
    source = record.get("EventSource") or record.get("eventSource")
    if source == "aws:sns" or "Sns" in record:
        envelope = record.get("Sns")
        if not isinstance(envelope, Mapping):
            raise StreamingPayloadError(f"{where}: an SNS record needs an Sns object")
        return _parse_envelope(envelope, f"{where}.Sns", topics, receipt_handle=None)
    if source == "aws:sqs" or "body" in record:
        return _parse_sqs(record, where, topics, body_key="body", attributes_key="messageAttributes")
    raise StreamingPayloadError(f"{where} comes from {source!r}; expected aws:sns or aws:sqs")


def _parse_sqs(
    message: Any, where: str, topics: Optional[frozenset[str]], *, body_key: str, attributes_key: str
) -> StreamedItem:
    if not isinstance(message, Mapping):
        raise StreamingPayloadError(f"{where} must be a dict")
    body = message.get(body_key)
    if not isinstance(body, str):
        raise StreamingPayloadError(f"{where} has no {body_key} text")
    receipt = message.get("ReceiptHandle") or message.get("receiptHandle")
    document = _json_object(body, f"{where}.{body_key}")
    if document.get("Type") == "Notification" and "Message" in document:
        return _parse_envelope(document, f"{where}.{body_key}", topics, receipt_handle=receipt)
    # Raw message delivery: the body is the item itself, the attributes are SQS's.
    if topics is not None:
        raise StreamingPayloadError(
            f"{where} is a raw delivery, which names no topic to check against topic_arns: turn raw "
            "message delivery off, or leave topic_arns out (the queue's access policy decides who may send)"
        )
    attributes = _sqs_attributes(message.get(attributes_key), f"{where}.{attributes_key}")
    if not attributes:
        raise StreamingPayloadError(
            f"{where} is a raw delivery without message attributes: receive it with "
            "MessageAttributeNames=['All'] (or turn raw message delivery off)"
        )
    message_id = message.get("MessageId") or message.get("messageId")
    return _streamed(document, attributes, where, message_id=message_id, topic_arn=None, receipt_handle=receipt)


def _parse_envelope(
    envelope: Mapping[str, Any], where: str, topics: Optional[frozenset[str]], *, receipt_handle: Optional[str]
) -> StreamedItem:
    topic_arn = envelope.get("TopicArn")
    if topics is not None and topic_arn not in topics:
        raise StreamingPayloadError(
            f"{where} comes from topic {_shown(topic_arn)}, which is not in topic_arns"
            if isinstance(topic_arn, str)
            else f"{where} has no TopicArn to check against topic_arns"
        )
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
        topic_arn=topic_arn,
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
    contact_id = _agreed("ContactId", data, attributes, where)
    if contact_id is None:
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
        initial_contact_id=_agreed("InitialContactId", data, attributes, where),
        instance_id=attributes.get("InstanceId"),
        participant_role=_agreed("ParticipantRole", data, attributes, where),
        visibility=visibility,
        message_id=message_id if isinstance(message_id, str) else None,
        account_id=attributes.get("AccountId"),
        topic_arn=topic_arn if isinstance(topic_arn, str) else None,
        receipt_handle=receipt_handle if isinstance(receipt_handle, str) else None,
    )


def _agreed(name: str, data: Mapping[str, Any], attributes: Mapping[str, str], where: str) -> Optional[str]:
    """The item's own ``name``, else the message attribute's; an error when both exist and differ.

    The item is what Amazon Connect wrote; an attribute is one more place that says the same,
    and a payload in which they disagree was not written by Amazon Connect alone.
    """
    own = data.get(name)
    attribute = attributes.get(name)
    if isinstance(own, str) and own:
        if attribute is not None and attribute != own:
            raise StreamingPayloadError(f"{where}: the {name} message attribute disagrees with the item's own {name}")
        return own
    return attribute or None


_REPR = reprlib.Repr()
_REPR.maxstring = 400  # a whole topic ARN (at most 256 characters of name), but not a flood


def _shown(value: Any) -> str:
    """A value the sender controls, as an error message may quote it: repr'd, and bounded."""
    return _REPR.repr(value)


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
