"""The test backend's own cost: a GetTranscript page must not get slower as a chat grows.

One page of 100 items is read through the raw boto3 client under ``mock_aws`` in four ways
(the first page, a page from a NextToken near the end, a MostRecent page, a page from an
item Id in the middle) in a chat of 1,000 and then of 100,000 messages. The ratio of the
median page time at the large size to the small size should be at most 2 (O(page), not
O(transcript)).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ._common import REGION, Result, log, median, mock_chat

TARGET = 2.0
EPOCH = {"AbsoluteTime": "1970-01-01T00:00:00.000Z"}


def _page_readers(client: Any, token: str, items: list[dict[str, Any]]) -> dict[str, Callable[[], Any]]:
    middle = items[len(items) // 2]["Id"]
    forward = {
        "ConnectionToken": token,
        "MaxResults": 100,
        "ScanDirection": "FORWARD",
        "SortOrder": "ASCENDING",
        "StartPosition": EPOCH,
    }
    deep_token = client.get_transcript(**forward)["NextToken"]
    # Walk to a NextToken near the end once; the timed call then reads from there.
    for _ in range(max(0, len(items) // 100 - 3)):
        deep_token = client.get_transcript(**forward, NextToken=deep_token)["NextToken"]
    return {
        "first page": lambda: client.get_transcript(**forward),
        "NextToken page near the end": lambda: client.get_transcript(**forward, NextToken=deep_token),
        "MostRecent page": lambda: client.get_transcript(
            ConnectionToken=token, MaxResults=100, StartPosition={"MostRecent": 100}
        ),
        "page from an Id in the middle": lambda: client.get_transcript(
            ConnectionToken=token, MaxResults=100, ScanDirection="FORWARD", StartPosition={"Id": middle}
        ),
    }


def _time(func: Callable[[], Any], rounds: int) -> float:
    func()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return median(samples)


def run(quick: bool = False) -> list[Result]:
    """Page cost at 1,000 and at 100,000 messages (10,000 with ``quick``)."""
    from connectparticipant_ext import ChatService

    small, large = 1_000, (10_000 if quick else 100_000)
    rounds = 15 if quick else 30
    timings: dict[int, dict[str, float]] = {}
    with mock_chat() as env:
        conn = ChatService(region_name=REGION).Participant(env["participant_token"]).create_connection()
        client, backend, contact_id = conn.meta.client, env["backend"], env["contact_id"]
        chat_items = backend.get_chat(contact_id).items
        for size in (small, large):
            backend.bulk_add_messages(contact_id, size - len(chat_items))
            log(f"backend: timing pages in a chat of {len(chat_items):,} items")
            readers = _page_readers(client, conn.token, chat_items)
            timings[size] = {name: _time(read, rounds) for name, read in readers.items()}
    return [
        Result(
            f"backend {name}, {large:,} vs {small:,}",
            timings[large][name],
            timings[small][name],
            timings[large][name] / timings[small][name],
            TARGET,
            "s",
            "one GetTranscript page of 100 through the raw client under mock_aws",
        )
        for name in timings[small]
    ]
