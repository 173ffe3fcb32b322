"""Reading a whole transcript: ``conn.transcript`` vs a hand-written NextToken loop.

The raw loop is what a boto3 user writes without a paginator (FORWARD, ASCENDING, from the
epoch, 100 items a call). The library also wraps every item in a ``TranscriptItem``, so the
ratio of time per item is its whole cost. Both run in-process against moto (chats of 1,000,
10,000 and 100,000 items) and over loopback HTTP against the local server in a child process
(10,000 items). Memory: the library holds one page at a time, so the peak while consuming
and dropping items should not grow with the transcript.
"""

from __future__ import annotations

from typing import Any

from ._common import (
    MB,
    REGION,
    Result,
    cpu_clock,
    interleaved,
    local_server,
    log,
    mock_chat,
    peak_memory,
    server_chat,
)

TIME_TARGET = 1.05  # in-process: the library's per-item work against moto's ~10 µs per item
HTTP_TARGET = 1.02  # over loopback HTTP, where each page also crosses a socket and is parsed from JSON
HTTP_ITEMS = 10_000
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
    rounds = {1_000: 31, 10_000: 21, 100_000: 5} if not quick else {1_000: 11, 10_000: 7}
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
                lambda: _lib_iter(conn),
                lambda: _raw_iter(client, conn.token),
                rounds=rounds[size],
                warmup=0,
                clock=cpu_clock,
            )
            results.append(
                Result(
                    f"transcript {size:,} items, CPU time/item",
                    timing.median_a / total,
                    timing.median_b / total,
                    timing.median_ratio,
                    TIME_TARGET,
                    "s",
                    f"conn.transcript vs raw NextToken loop, in-process; {timing.median_delta / total * 1e6:+.2f} "
                    f"µs/item; wall-time ratio {timing.median_wall_ratio:.3f}",
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
    results.append(_over_http(quick))
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


def _over_http(quick: bool) -> Result:
    """The same comparison against the local server in a child process, over loopback HTTP."""
    from connectparticipant_ext import ChatService

    rounds = 5 if quick else 11
    with local_server() as server:
        env = server_chat(server.url)
        chat = ChatService(region_name=REGION, endpoint_url=server.url)
        conn = chat.Participant(env["participant_token"]).create_connection()
        client = chat.meta.client
        log(f"transcript: filling the server's chat to {HTTP_ITEMS:,} items")
        server.fill(env["contact_id"], HTTP_ITEMS - 1)  # plus the join event
        total = _lib_iter(conn)
        assert total == _raw_iter(client, conn.token) >= HTTP_ITEMS, "both sides must read every item"
        log(f"transcript: timing {total:,} items over HTTP, {rounds} rounds")
        timing = interleaved(
            lambda: _lib_iter(conn),
            lambda: _raw_iter(client, conn.token),
            rounds=rounds,
            warmup=1,
            clock=lambda: cpu_clock() + server.cpu_time(),
        )
    return Result(
        f"transcript {HTTP_ITEMS:,} items over HTTP, CPU time/item",
        timing.median_a / total,
        timing.median_b / total,
        timing.median_ratio,
        HTTP_TARGET,
        "s",
        f"local server in a child process, CPU of both processes; {timing.median_delta / total * 1e6:+.2f} µs/item; "
        f"wall-time ratio {timing.median_wall_ratio:.3f}",
    )


if __name__ == "__main__":
    from .run import main

    main(["transcript"])
