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

The package, one job per module (every public name is importable from here):
``payloads`` reads what arrives (:func:`parse`, :class:`StreamedItem`, :func:`reply_token`),
``signatures`` checks an SNS message's signature (:func:`verify_sns_message`, for HTTPS
subscriptions), ``connect_api`` starts and stops streaming (:func:`start`, :func:`stop`), ``stores`` keeps the
bots' credentials (:class:`TokenStore` and its two implementations) and ``bots`` joins chats
as a bot once (:class:`BotParticipants`).
"""

from __future__ import annotations

from .bots import BotParticipants
from .connect_api import start, stop
from .payloads import ATTRIBUTES, AUDIENCES, VISIBILITIES, StreamedItem, parse, reply_token
from .signatures import verify_sns_message
from .stores import DEFAULT_CHAT_LIFETIME, BotRecord, DynamoDBTokenStore, InMemoryTokenStore, TokenStore

__all__ = [
    "ATTRIBUTES",
    "AUDIENCES",
    "BotParticipants",
    "BotRecord",
    "DEFAULT_CHAT_LIFETIME",
    "DynamoDBTokenStore",
    "InMemoryTokenStore",
    "StreamedItem",
    "TokenStore",
    "VISIBILITIES",
    "parse",
    "reply_token",
    "start",
    "stop",
    "verify_sns_message",
]
