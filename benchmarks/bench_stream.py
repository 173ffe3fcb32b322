"""The live stream: delivery latency against a bare websocket client, and memory under backlog.

Latency: an agent sends messages one at a time; the customer's ``conn.stream()`` and a bare
``websockets`` client subscribed to the same chat (a second websocket URL of the same
customer) both read them from the same loopback server. Each message's latency is the time
from just before ``send_message`` to the moment each reader has it; the ratio compares the
stream's median and p99 with the bare client's, measured on the same messages.

Memory: the chat's backend runs in a child process (so its stored items are not counted).
The stream is opened, then N messages are written while the consumer sleeps, then the
consumer reads them all. The peak of this process's Python allocations (tracemalloc) should
not grow with N: the socket is read only as fast as the caller consumes, the server drops a
reader that falls too far behind, and the reconnect pages the missed items in from the
transcript, 100 at a time.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from ._common import MB, REGION, Result, local_server, log, median, mock_chat, peak_memory, server_chat

LATENCY_TARGET = 1.10
GROWTH_TARGET_MB = 5.0
WAIT = 10.0


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def _latency(count: int) -> list[Result]:
    import boto3
    from websockets.sync.client import connect as ws_connect

    from connectparticipant_ext import ChatService

    with mock_chat() as env:
        chat = ChatService(region_name=REGION)
        customer = chat.Participant(env["participant_token"]).create_connection()
        connect = boto3.client("connect", region_name=REGION)
        agent_token = connect.create_participant(
            InstanceId="i",
            ContactId=env["contact_id"],
            ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bob"},
        )["ParticipantCredentials"]["ParticipantToken"]
        agent = chat.Participant(agent_token).create_connection(websocket=False)
        bare_url = customer.participant.create_participant_connection(  # type: ignore[union-attr]
            connect_participant=False, websocket=True, credentials=False
        )["Websocket"]["Url"]

        arrived_stream: dict[str, float] = {}
        arrived_bare: dict[str, float] = {}
        done = threading.Event()

        def read_stream(stream: Any) -> None:
            while not done.is_set():
                item = stream.get(timeout=0.2)
                if item is not None and item.is_message:
                    arrived_stream[item.content] = time.perf_counter()

        def read_bare(socket: Any) -> None:
            while not done.is_set():
                try:
                    frame = json.loads(socket.recv(timeout=0.2))
                except TimeoutError:
                    continue
                if frame.get("topic") == "aws/chat":
                    item = json.loads(frame["content"])
                    if item.get("Type") == "MESSAGE":
                        arrived_bare[item["Content"]] = time.perf_counter()

        with customer.stream() as stream, ws_connect(bare_url) as socket:
            socket.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))
            json.loads(socket.recv(timeout=WAIT))  # the subscription's confirmation
            readers = [
                threading.Thread(target=read_stream, args=(stream,)),
                threading.Thread(target=read_bare, args=(socket,)),
            ]
            for reader in readers:
                reader.start()
            sent_at: dict[str, float] = {}
            try:
                for n in range(count):
                    text = f"m{n}"
                    sent_at[text] = time.perf_counter()
                    agent.send_message(text)
                    deadline = time.monotonic() + WAIT
                    while text not in arrived_stream or text not in arrived_bare:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"message {n} did not reach both readers")
                        time.sleep(0.0002)
            finally:
                done.set()
                for reader in readers:
                    reader.join(WAIT)
        lib = [arrived_stream[t] - s for t, s in sent_at.items()]
        bare = [arrived_bare[t] - s for t, s in sent_at.items()]
    note = f"{count} messages, send -> yielded, loopback"
    return [
        Result(
            "stream latency, median", median(lib), median(bare), median(lib) / median(bare), LATENCY_TARGET, "s", note
        ),
        Result("stream latency, p99", _p99(lib), _p99(bare), _p99(lib) / _p99(bare), None, "s", note),
    ]


def _backlog_peak(count: int) -> int:
    """Peak bytes while a stream drains ``count`` messages written while its consumer slept."""
    from connectparticipant_ext import ChatService

    with local_server() as server:
        chat = server_chat(server.url)
        conn = (
            ChatService(region_name=REGION, endpoint_url=server.url)
            .Participant(chat["participant_token"])
            .create_connection()
        )

        def drain() -> int:
            received = 0
            with conn.stream(heartbeat_interval=1.0, heartbeat_timeout=5.0, backoff_base=0.05) as stream:
                server.fill(chat["contact_id"], count)  # written while we are not reading
                deadline = time.monotonic() + 60 + count / 500
                while received < count:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"only {received} of {count} messages arrived")
                    item = stream.get(timeout=1.0)
                    if item is not None and item.is_message:
                        received += 1
            return received

        peak, received = peak_memory(drain)
        assert received == count
        conn.disconnect()
    return peak


def run(quick: bool = False) -> list[Result]:
    """Latency against a bare websocket client; peak memory under a 1k vs a large backlog."""
    count = 200 if quick else 1_000
    log(f"stream: latency over {count} messages")
    results = _latency(count)
    small, large = 1_000, (10_000 if quick else 100_000)
    log(f"stream: backlog of {small:,} messages")
    peak_small = _backlog_peak(small)
    log(f"stream: backlog of {large:,} messages")
    peak_large = _backlog_peak(large)
    for size, peak in ((small, peak_small), (large, peak_large)):
        results.append(
            Result(
                f"stream backlog {size:,}, peak memory",
                peak / MB,
                None,
                None,
                None,
                "MB",
                "tracemalloc",
                extra={"items": size},
            )
        )
    results.append(
        Result(
            f"stream peak growth {small:,} -> {large:,}",
            (peak_large - peak_small) / MB,
            None,
            None,
            GROWTH_TARGET_MB,
            "MB",
            "flat = the socket is read as fast as the consumer goes; the rest is paged from the transcript",
        )
    )
    return results
