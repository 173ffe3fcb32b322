"""Reading a whole transcript: ``conn.transcript`` vs a hand-written NextToken loop.

The raw loop is what a boto3 user writes without a paginator (FORWARD, ASCENDING, from the
epoch, 100 items a call). The library also parses every item into a ``TranscriptItem``, so
the ratio of time per item is its whole cost. Memory: the library holds one page at a time,
so the peak while consuming and dropping items should not grow with the transcript.
"""

from __future__ import annotations

from typing import Any

from ._common import MB, REGION, Result, interleaved, log, mock_chat, peak_memory

TIME_TARGET = 1.10
GROWTH_TARGET_MB = 5.0
EPOCH = "1970-01-01T00:00:00.000Z"


def _raw_iter(client: Any, token: str) -> int:
    """The NextToken loop a boto3 user writes by hand; returns the item count."""
    count = 0
    params: dict[str, Any] = {
        "ConnectionToken": token,
        "MaxResults": 100,
        "ScanDirection": "FORWARD",
        "SortOrder": "ASCENDING",
        "StartPosition": {"AbsoluteTime": EPOCH},
    }
    while True:
        response = client.get_transcript(**params)
        for _ in response["Transcript"]:
            count += 1
        next_token = response.get("NextToken")
        if not next_token:
            return count
        params["NextToken"] = next_token


def _lib_iter(conn: Any) -> int:
    count = 0
    for _ in conn.transcript:
        count += 1
    return count


def run(quick: bool = False) -> list[Result]:
    """Time and memory of full transcript reads at growing sizes."""
    from connectparticipant_ext import ChatService

    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    rounds = {1_000: 15, 10_000: 7, 100_000: 3} if not quick else {1_000: 7, 10_000: 3}
    results: list[Result] = []
    peaks: dict[int, int] = {}
    with mock_chat() as env:
        chat = ChatService(region_name=REGION)
        conn = chat.Participant(env["participant_token"]).create_connection()
        client = chat.meta.client
        backend, contact_id = env["backend"], env["contact_id"]
        chat_items = backend.get_chat(contact_id).items
        for size in sizes:
            missing = size - len(chat_items)
            if missing > 0:
                log(f"transcript: filling the chat to {size:,} items")
                backend.bulk_add_messages(contact_id, missing)
            total = len(chat_items)  # the join event is in the transcript too
            assert _lib_iter(conn) == total == _raw_iter(client, conn.token), "both sides must read every item"
            log(f"transcript: timing {total:,} items, {rounds[size]} rounds")
            timing = interleaved(
                lambda: _lib_iter(conn), lambda: _raw_iter(client, conn.token), rounds=rounds[size], warmup=0
            )
            results.append(
                Result(
                    f"transcript {size:,} items, time/item",
                    timing.median_a / total,
                    timing.median_b / total,
                    timing.median_ratio,
                    TIME_TARGET,
                    "s",
                    f"conn.transcript vs raw NextToken loop; {timing.median_delta / total * 1e6:+.1f} µs/item",
                )
            )
            log(f"transcript: peak memory at {total:,} items")
            lib_peak, _ = peak_memory(lambda: _lib_iter(conn))
            raw_peak, _ = peak_memory(lambda: _raw_iter(client, conn.token))
            peaks[size] = lib_peak
            results.append(
                Result(
                    f"transcript {size:,} items, peak memory",
                    lib_peak / MB,
                    raw_peak / MB,
                    None,
                    None,
                    "MB",
                    "tracemalloc peak, items dropped; baseline = raw loop",
                )
            )
    smallest, largest = min(peaks), max(peaks)
    results.append(
        Result(
            f"transcript peak growth {smallest:,} -> {largest:,}",
            (peaks[largest] - peaks[smallest]) / MB,
            None,
            None,
            GROWTH_TARGET_MB,
            "MB",
            "flat = the library holds one page at a time",
        )
    )
    return results


if __name__ == "__main__":
    from .run import main

    main(["transcript"])
