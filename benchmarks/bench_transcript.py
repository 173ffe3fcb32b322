"""Reading a whole transcript: ``conn.transcript`` vs a hand-written NextToken loop.

The raw loop is what a boto3 user writes without a paginator (FORWARD, ASCENDING, from the
epoch, 100 items a call). Both loops do what the docs show a reader doing with each item:
read its ``id``, ``content``, ``absolute_time``, ``participant_role`` and ``display_name``.
The raw loop reads the same values from the dicts and parses ``AbsoluteTime`` into an aware
datetime (what the library hands over), so the ratio of time per item is the library's whole
cost for what a user gets. A second row at 10,000 items only counts the items (no field
read): the cost of iterating alone.

Both run in-process against moto (chats of 1,000, 10,000 and 100,000 items) and over
loopback HTTP against the local server in a child process (10,000 items). In-process, the
two reads advance a page at a time in turn (:func:`~benchmarks._common.interleaved_steps`),
each read's CPU time the sum of its pages', so that the load of a shared machine falls on
both alike; over HTTP each round times whole reads. Memory: the
library holds one page at a time, so the peak while consuming and dropping items should not
grow with the transcript.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from ._common import (
    MB,
    REGION,
    Result,
    cpu_clock,
    interleaved,
    interleaved_steps,
    local_server,
    log,
    mock_chat,
    parse_absolute_time,
    peak_memory,
    server_chat,
)

TIME_TARGET = 1.05  # in-process: the library's per-item work against moto's ~10 µs per item
HTTP_TARGET = 1.02  # over loopback HTTP, where each page also crosses a socket and is parsed from JSON
HTTP_ITEMS = 10_000
COUNT_ONLY_SIZE = 10_000
GROWTH_TARGET_MB = 5.0
EPOCH = "1970-01-01T00:00:00.000Z"


def _raw_pages(client: Any, token: str) -> Any:
    """The NextToken loop a boto3 user writes by hand: yields each page's ``Transcript`` list."""
    params: dict[str, Any] = {
        "ConnectionToken": token,
        "MaxResults": 100,
        "ScanDirection": "FORWARD",
        "SortOrder": "ASCENDING",
        "StartPosition": {"AbsoluteTime": EPOCH},
    }
    while True:
        response = client.get_transcript(**params)
        yield response["Transcript"]
        next_token = response.get("NextToken")
        if not next_token:
            return
        params["NextToken"] = next_token


PAGE = 100


def _raw_read(client: Any, token: str) -> Iterator[int]:
    """The raw loop reading what a user reads from each item, one page per step (yields counts)."""
    for page in _raw_pages(client, token):
        count = 0  # counted as the library's side counts
        for entry in page:
            _item_id = entry["Id"]
            _content = entry.get("Content")
            _time = parse_absolute_time(entry["AbsoluteTime"])
            _role = entry.get("ParticipantRole")
            _name = entry.get("DisplayName")
            count += 1
        yield count


def _lib_read(conn: Any) -> Iterator[int]:
    """``for item in conn.transcript`` reading the same fields, a page's worth of items per step."""
    items = iter(conn.transcript)
    while True:
        count = 0
        for item in islice(items, PAGE):
            _item_id = item.id
            _content = item.content
            _time = item.absolute_time
            _role = item.participant_role
            _name = item.display_name
            count += 1
        if not count:
            return
        yield count


def _raw_count(client: Any, token: str) -> Iterator[int]:
    """The raw loop counting the items, reading no field."""
    for page in _raw_pages(client, token):
        count = 0
        for _ in page:
            count += 1
        yield count


def _lib_count(conn: Any) -> Iterator[int]:
    items = iter(conn.transcript)
    while True:
        count = 0
        for _ in islice(items, PAGE):
            count += 1
        if not count:
            return
        yield count


def _total(steps: Iterator[int]) -> int:
    """Run a step-wise read to its end; the number of items it read."""
    return sum(steps)


def _check_same_values(conn: Any, client: Any) -> int:
    """Both sides see the same values for every item (once, before timing); returns the count."""
    lib = [(i.id, i.content, i.absolute_time, i.participant_role, i.display_name) for i in conn.transcript]
    raw = [
        (
            e["Id"],
            e.get("Content"),
            parse_absolute_time(e["AbsoluteTime"]),
            e.get("ParticipantRole"),
            e.get("DisplayName"),
        )
        for page in _raw_pages(client, conn.token)
        for e in page
    ]
    assert lib == raw, "both sides must read the same values from every item"
    assert all(t.tzinfo is not None for _, _, t, _, _ in lib), "both sides give aware datetimes"
    return len(lib)


def _time_row(name: str, timing: Any, total: int, target: float, what: str) -> Result:
    return Result(
        name,
        timing.median_a / total,
        timing.median_b / total,
        timing.median_ratio,
        target,
        "s",
        f"{what}; {timing.median_delta / total * 1e6:+.2f} µs/item; wall-time ratio {timing.median_wall_ratio:.3f}",
        extra={"items": total, "ratios": timing.ratios},
    )


def run(quick: bool = False) -> list[Result]:
    """Time (fields read, and count only) and memory of full transcript reads at growing sizes."""
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
            assert _check_same_values(conn, client) == total, "both sides must read every item"
            log(f"transcript: timing {total:,} items, fields read, {rounds[size]} rounds")
            timing = interleaved_steps(
                lambda: _lib_read(conn),
                lambda: _raw_read(client, conn.token),
                rounds=rounds[size],
                warmup=0,
                clock=cpu_clock,
            )
            results.append(
                _time_row(
                    f"transcript {size:,} items, fields read, CPU time/item",
                    timing,
                    total,
                    TIME_TARGET,
                    "conn.transcript vs raw NextToken loop, in-process, 5 fields read per item (AbsoluteTime parsed)",
                )
            )
            if size == COUNT_ONLY_SIZE:
                assert _total(_lib_count(conn)) == _total(_raw_count(client, conn.token)) == total
                log(f"transcript: timing {total:,} items, count only, {rounds[size]} rounds")
                timing = interleaved_steps(
                    lambda: _lib_count(conn),
                    lambda: _raw_count(client, conn.token),
                    rounds=rounds[size],
                    warmup=0,
                    clock=cpu_clock,
                )
                results.append(
                    _time_row(
                        f"transcript {size:,} items, count only (no field read), CPU time/item",
                        timing,
                        total,
                        TIME_TARGET,
                        "conn.transcript vs raw NextToken loop, in-process, items counted, no field read",
                    )
                )
            log(f"transcript: peak memory at {total:,} items")
            lib_peak, _ = peak_memory(lambda: _total(_lib_read(conn)))
            raw_peak, _ = peak_memory(lambda: _total(_raw_read(client, conn.token)))
            peaks[size] = lib_peak
            results.append(
                Result(
                    f"transcript {size:,} items, peak memory",
                    lib_peak / MB,
                    raw_peak / MB,
                    None,
                    None,
                    "MB",
                    "tracemalloc peak, fields read, items dropped; baseline = raw loop",
                    extra={"items": total},
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
        total = _check_same_values(conn, client)
        assert total >= HTTP_ITEMS, "both sides must read every item"
        log(f"transcript: timing {total:,} items over HTTP, {rounds} rounds")
        timing = interleaved(  # whole reads: each step would also ask the server for its CPU time
            lambda: _total(_lib_read(conn)),
            lambda: _total(_raw_read(client, conn.token)),
            rounds=rounds,
            warmup=1,
            clock=lambda: cpu_clock() + server.cpu_time(),
        )
    return _time_row(
        f"transcript {HTTP_ITEMS:,} items over HTTP, fields read, CPU time/item",
        timing,
        total,
        HTTP_TARGET,
        "local server in a child process, CPU of both processes, 5 fields read per item",
    )


if __name__ == "__main__":
    from .run import main

    main(["transcript"])
