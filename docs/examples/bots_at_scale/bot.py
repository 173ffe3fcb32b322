"""The bot itself, shared by the worker pool and the Lambda handler.

``handle(events, ...)`` answers each customer message of a batch once: the answer carries the
item's reply token, so a redelivered message (SQS's at-least-once delivery, a Lambda retry)
posts nothing new. When a chat ends, its bot record is dropped from the store.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import boto3

from connectparticipant_ext import ChatService, streaming

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
ENDPOINT_URL = os.environ.get("CONNECT_ENDPOINT_URL")  # the local server; unset on AWS
TABLE_NAME = os.environ.get("BOT_TOKENS_TABLE", "bot-tokens")

# An SNS subscription filter policy for the bot's queue: what customers send, and the
# service's own events (chat.ended); not the bot's answers nor the agent's messages.
FILTER_POLICY = '{"ParticipantRole": ["CUSTOMER", "SYSTEM"]}'


def answer(text: str) -> str:
    """What the bot says to a customer's message (replace with your own logic)."""
    if "refund" in text.lower():
        return "I can help with refunds. What is your order number?"
    return f"You said: {text}"


def clients(endpoint_url: str | None = ENDPOINT_URL, table_name: str = TABLE_NAME) -> dict[str, Any]:
    """The clients a worker needs, made once per process (Lambda: once per container)."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint_url)
    return {
        "connect": boto3.client("connect", region_name=REGION, endpoint_url=endpoint_url),
        "bots": streaming.BotParticipants(
            ChatService(region_name=REGION, endpoint_url=endpoint_url),
            store=streaming.DynamoDBTokenStore(dynamodb.Table(table_name)),
            display_name="Helper bot",
        ),
    }


def handle(events: Iterable[streaming.StreamedItem], connect: Any, bots: streaming.BotParticipants) -> int:
    """Answer the customer messages among ``events``; returns how many answers were sent."""
    answered = 0
    for event in events:
        if event.item.is_chat_ended:
            bots.forget(event.contact_id)
            continue
        if not (event.item.is_message and event.participant_role == "CUSTOMER" and event.item.content):
            continue
        assert event.instance_id is not None  # Amazon Connect always sets InstanceId
        conn = bots.connection(connect, event.instance_id, event.contact_id)
        conn.send_message(answer(event.item.content), client_token=event.reply_token)
        answered += 1
    return answered
