"""Receipts: SendEvent calls per 1,000 incoming messages with ``receipts=True``, against one
call per receipt (what ``send_delivered_receipt`` / ``send_read_receipt`` for each message cost).

An agent sends messages one at a time; the customer's stream (``receipts=True``, the default
5 s throttle window of amazon-connect-chatjs) reads each one as it comes, and in the second
case also marks each one read, as a bot that answers every message would. The figure is the
number of receipt calls the stream made (counted on the client's ``provide-client-params``
event), against 1,000 (delivered) and 2,000 (delivered and read) for one call per receipt.
In-process (moto), so the time a message takes is short: the window holds many messages.
"""

from __future__ import annotations

from typing import Any

from ._common import REGION, Result, log, mock_chat

TARGET = 0.05  # a call per 20 messages at most


def _calls(count: int, mark_read: bool) -> int:
    from connectparticipant_ext import ChatService

    with mock_chat() as env:
        chat = ChatService(region_name=REGION)
        customer = chat.Participant(env["participant_token"]).create_connection()
        agent_token = env["backend"].add_participant(env["contact_id"], "AGENT", "Bob")["ParticipantCredentials"][
            "ParticipantToken"
        ]
        agent = chat.Participant(agent_token).create_connection(websocket=False)
        calls = 0

        def record(params: Any, **kwargs: Any) -> None:
            nonlocal calls
            if str(params.get("ContentType", "")).endswith(("message.delivered", "message.read")):
                calls += 1

        events = chat.meta.client.meta.events
        events.register("provide-client-params.connectparticipant.SendEvent", record, unique_id="bench-receipts")
        try:
            with customer.stream(receipts=True) as stream:
                for n in range(count):
                    agent.send_message(f"m{n}")
                    while True:
                        item = stream.get(timeout=10)
                        if item is None:
                            raise RuntimeError("a message did not arrive")
                        if item.is_message:
                            break
                    if mark_read:
                        stream.mark_read(item)
        finally:
            events.unregister("provide-client-params.connectparticipant.SendEvent", unique_id="bench-receipts")
        return calls


def run(quick: bool = False) -> list[Result]:
    """Receipt calls per 1,000 incoming messages, delivered only and delivered + read."""
    count = 200 if quick else 1_000
    results = []
    for mark_read, baseline_per_message, label in ((False, 1, "delivered"), (True, 2, "delivered + read")):
        log(f"receipts: {count} messages, {label}")
        calls = _calls(count, mark_read)
        per_1000 = calls * 1000 / count
        baseline = 1000.0 * baseline_per_message
        results.append(
            Result(
                f"receipt calls per 1,000 messages ({label})",
                per_1000,
                baseline,
                per_1000 / baseline,
                TARGET,
                "calls",
                "batched over chatjs' 5 s window, against one call per receipt",
            )
        )
    return results
