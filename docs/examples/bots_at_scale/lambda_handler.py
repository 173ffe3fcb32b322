"""The bot as a Lambda function, subscribed to the topic (SNS trigger) or to the queue (SQS trigger).

Deploy with the environment variable ``BOT_TOKENS_TABLE`` and permissions for
``connect:CreateParticipant`` and the table. Both trigger kinds deliver at least once; the
reply tokens make a retried invocation post no second answer.
"""

from __future__ import annotations

from typing import Any

from bot import clients, handle

from connectparticipant_ext import streaming

_clients: dict[str, Any] = {}


def handler(event: dict[str, Any], context: Any = None) -> dict[str, int]:
    if not _clients:  # once per container, reused by later invocations
        _clients.update(clients())
    events = streaming.parse(event, audience="AGENT")  # what the agent side (our bot) should see
    return {"answered": handle(events, _clients["connect"], _clients["bots"])}
