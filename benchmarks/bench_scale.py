"""Many idle streams in one process: idle CPU, memory per stream and delivery latency, each
against bare ``websockets`` clients in the same run (issue 17).

The local server runs in a child process (``benchmarks._common.local_server``), so this
process's CPU and memory are the clients' alone. N chats are started; phase one opens one
``conn.stream()`` per chat, each read by its own thread (``for item in stream``), phase two
one bare ``websockets`` sync client per chat (subscribed to ``aws/chat``, one thread each
blocked in ``recv()``). For each phase:

* memory per client: growth of the process's resident set (``/proc/self/statm``) while the
  N clients open, divided by N;
* idle CPU: this process's CPU time (``time.process_time``) over an idle window, as a share
  of one core. A stream sleeps until its next deadline (heartbeat every 10 s); the bare
  client does the least a correct client does: it reads, and sends ``aws/heartbeat`` every
  10 s as the protocol asks;
* latency: a customer message sent to a sample of the chats, from just before
  ``send_message`` to the moment the chat's client has its echo; median and p99.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import Any, Callable

from ._common import REGION, Result, local_server, log, median, server_chat

CPU_TARGET = 1.5
HEARTBEAT = 10.0
HEARTBEAT_FRAME = json.dumps({"topic": "aws/heartbeat"})
WAIT = 30.0


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


class _Phase:
    """N clients of one kind, each read by a thread that records when an item arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.closers: list[Callable[[], None]] = []
        self.streams: list[Any] = []

    def seen(self, item_id: str) -> None:
        with self.lock:
            self.arrived.setdefault(item_id, time.perf_counter())


def _open_streams(connections: list[Any], phase: _Phase) -> None:
    for conn in connections:
        stream = conn.stream()
        stream.__enter__()
        phase.streams.append(stream)

        def read(stream: Any = stream) -> None:
            for item in stream:
                phase.seen(item.id)

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        phase.threads.append(thread)
        phase.closers.append(stream.close)


def _open_bare(urls: list[str], phase: _Phase) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    for url in urls:
        socket = connect(url, ping_interval=None)
        socket.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))

        def read(socket: Any = socket) -> None:
            # The least a correct client does: read, and send aws/heartbeat every 10 s.
            next_heartbeat = time.monotonic() + HEARTBEAT
            try:
                while True:
                    try:
                        raw = socket.recv(timeout=max(0.0, next_heartbeat - time.monotonic()))
                    except TimeoutError:
                        socket.send(HEARTBEAT_FRAME)
                        next_heartbeat = time.monotonic() + HEARTBEAT
                        continue
                    frame = json.loads(raw)
                    if frame.get("topic") == "aws/chat":
                        phase.seen(json.loads(frame["content"])["Id"])
            except ConnectionClosed:
                return

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        phase.threads.append(thread)
        phase.closers.append(socket.close)


def _measure(
    label: str, opener: Callable[[_Phase], None], senders: list[Any], n: int, idle: float, samples: int
) -> dict[str, float]:
    phase = _Phase()
    before = _rss()
    opener(phase)
    time.sleep(1.0)  # let the opening settle (gap fills, subscriptions)
    memory = (_rss() - before) / n
    log(f"scale: {label}: {n} open, idle for {idle:.0f} s")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time.sleep(idle)
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    reconnects = sum(stream.reconnects for stream in phase.streams)
    latencies: list[float] = []
    for conn in random.Random(7).sample(senders, samples):
        started = time.perf_counter()
        sent = conn.send_message("ping")
        deadline = time.monotonic() + WAIT
        while sent.id not in phase.arrived:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{label}: a message did not arrive")
            time.sleep(0.0005)
        latencies.append(phase.arrived[sent.id] - started)
    for close in phase.closers:
        close()
    for thread in phase.threads:
        thread.join(10)
    return {
        "cpu": cpu,
        "memory": memory,
        "median": median(latencies),
        "p99": _p99(latencies),
        "reconnects": reconnects,
    }


def run(quick: bool = False) -> list[Result]:
    """Idle CPU, memory per client and latency of N streams against N bare clients."""
    from connectparticipant_ext import ChatService

    n = 50 if quick else 500
    idle = 5.0 if quick else 20.0
    samples = 20 if quick else 100
    with local_server() as server:
        chat = ChatService(region_name=REGION, endpoint_url=server.url)
        log(f"scale: starting {n} chats")
        connections = [
            chat.Participant(server_chat(server.url)["participant_token"]).create_connection() for _ in range(n)
        ]
        streams = _measure("streams", lambda p: _open_streams(connections, p), connections, n, idle, samples)
        urls = [
            c.participant.create_participant_connection(connect_participant=False, websocket=True, credentials=False)[
                "Websocket"
            ]["Url"]
            for c in connections
        ]
        bare = _measure("bare clients", lambda p: _open_bare(urls, p), connections, n, idle, samples)
    results = [
        Result(
            f"idle CPU of {n} streams / {n} bare websockets clients",
            streams["cpu"] * 100,
            bare["cpu"] * 100,
            streams["cpu"] / bare["cpu"] if bare["cpu"] else float("inf"),
            CPU_TARGET,
            "% core",
            f"process CPU over {idle:.0f} s idle; {streams['reconnects']:.0f} stream reconnects",
        ),
        Result(
            f"memory per stream ({n} open)",
            streams["memory"] / 1024,
            bare["memory"] / 1024,
            streams["memory"] / bare["memory"] if bare["memory"] > 0 else None,
            None,
            "KB",
            "RSS growth while opening / N",
        ),
    ]
    for key in ("median", "p99"):
        results.append(
            Result(
                f"delivery latency {key}, {n} streams",
                streams[key] * 1000,
                bare[key] * 1000,
                streams[key] / bare[key] if bare[key] else None,
                None,
                "ms",
                f"{samples} messages to sampled chats",
            )
        )
    return results
