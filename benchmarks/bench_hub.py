"""The test backend's websocket hub at scale: issuing URLs, and idle sockets on ``serve``.

URL issue cost: CreateParticipantConnection (with a websocket) through the raw boto3 client
under ``mock_aws``, timed when 100, 300, 1,000, 3,000 and 10,000 URLs have been issued (issued
round robin over 100 chats, all still within their connect expiry; the curve goes to the
plot), in CPU time (the backend runs in this process; wall time on a shared machine mostly
measures waiting for a CPU). The hub keeps its URLs in a dict per chat and a heap by connect
expiry, so the ratio of 10,000 to 100 should be at most 1.5.

Idle CPU: the local server (the code of ``connectparticipant-ext serve``) runs in a child
process; this process opens 500 websockets to it (one per chat, each subscribed to
``aws/chat``), then nothing happens for a while. The server's CPU time over that window (from
``/proc/<pid>/stat``) as a percentage of one core should be under 2%: its socket threads block
on their socket or outbox, and one timer thread keeps the deadlines. The same window with no
socket open is printed beside it.
"""

from __future__ import annotations

import os
import socket as socketlib
import time
from typing import Any

from ._common import REGION, Result, cpu_clock, local_server, log, median, mock_chat

ISSUE_TARGET = 1.5
IDLE_CPU_TARGET = 2.0
SUBSCRIBE = b'{"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}'


ISSUE_SIZES = (100, 300, 1_000, 3_000, 10_000)
"""The issued-URL counts at which CreateParticipantConnection is timed (the curve of the plot)."""


def _issue_cost(rounds: int) -> list[Result]:
    import boto3

    from connectparticipant_ext import ChatService

    chats = 100
    with mock_chat():
        connect = boto3.client("connect", region_name=REGION)
        client = ChatService(region_name=REGION).meta.client
        tokens = [
            connect.start_chat_contact(InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "Ann"})[
                "ParticipantToken"
            ]
            for _ in range(chats)
        ]

        def create(token: str) -> Any:
            return client.create_participant_connection(
                ParticipantToken=token, Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"], ConnectParticipant=False
            )

        issued = 0

        def issue_until(total: int) -> None:
            nonlocal issued
            while issued < total:
                create(tokens[issued % chats])
                issued += 1

        def timed() -> float:
            nonlocal issued
            samples = []
            for n in range(rounds):
                started = cpu_clock()
                create(tokens[n % chats])
                samples.append(cpu_clock() - started)
            issued += rounds
            return median(samples)

        curve: dict[int, float] = {}
        for size in ISSUE_SIZES:  # the timed calls straddle each size: half before it, half after
            issue_until(size - rounds // 2)
            log(f"hub: timing CreateParticipantConnection at {size:,} issued URLs")
            curve[size] = timed()
    small, large = ISSUE_SIZES[0], ISSUE_SIZES[-1]
    return [
        Result(
            f"hub CreateParticipantConnection at {large:,} URLs vs {small:,}",
            curve[large],
            curve[small],
            curve[large] / curve[small],
            ISSUE_TARGET,
            "s",
            f"raw client under mock_aws, WEBSOCKET+CONNECTION_CREDENTIALS, CPU time, median of {rounds} calls at each size",
            extra={"issue_curve": [{"urls": size, "seconds": seconds} for size, seconds in curve.items()]},
        )
    ]


class _IdleSocket:
    """A subscribed websocket without a thread (websockets' sans-I/O protocol on a plain socket)."""

    def __init__(self, url: str) -> None:
        from websockets.client import ClientProtocol
        from websockets.frames import Frame
        from websockets.http11 import Response
        from websockets.uri import parse_uri

        uri = parse_uri(url)
        self.protocol = ClientProtocol(uri)
        self.sock = socketlib.create_connection((uri.host, uri.port), timeout=10)
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        self._read_until(lambda event: isinstance(event, Response))
        self.protocol.send_text(SUBSCRIBE)
        self._flush()
        self._read_until(lambda event: isinstance(event, Frame) and b"aws/subscribe" in event.data)

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def _read_until(self, wanted: Any) -> None:
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("the server closed a benchmark socket")
            self.protocol.receive_data(data)
            if any(wanted(event) for event in self.protocol.events_received()):
                return

    def close(self) -> None:
        self.sock.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _idle_percent(pid: int, window: float) -> float:
    before, started = _cpu_seconds(pid), time.monotonic()
    time.sleep(window)
    return 100.0 * (_cpu_seconds(pid) - before) / (time.monotonic() - started)


def _idle_cpu(sockets: int, window: float) -> list[Result]:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    with local_server() as server:
        pid = server.process.pid
        connect = boto3.client("connect", region_name=REGION, endpoint_url=server.url)
        participant = boto3.client(
            "connectparticipant",
            region_name=REGION,
            endpoint_url=server.url,
            config=Config(signature_version=UNSIGNED),
        )
        time.sleep(1.0)  # let the server settle after start-up
        log(f"hub: server idle CPU with no socket, {window:.0f} s")
        empty = _idle_percent(pid, window)
        log(f"hub: opening {sockets} websockets to the local server")
        opened: list[_IdleSocket] = []
        try:
            for _ in range(sockets):
                token = connect.start_chat_contact(
                    InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "Ann"}
                )["ParticipantToken"]
                url = participant.create_participant_connection(ParticipantToken=token, Type=["WEBSOCKET"])[
                    "Websocket"
                ]["Url"]
                opened.append(_IdleSocket(url))
            time.sleep(1.0)
            log(f"hub: server idle CPU with {sockets} open sockets, {window:.0f} s")
            busy = _idle_percent(pid, window)
        finally:
            for socket in opened:
                socket.close()
    return [
        Result(
            f"hub serve idle CPU, {sockets} open sockets",
            busy,
            None,
            None,
            IDLE_CPU_TARGET,
            "%",
            f"{busy:.2f}% of one core over {window:.0f} s of silence (with no socket open: {empty:.2f}%)",
        )
    ]


def run(quick: bool = False) -> list[Result]:
    """URL issue cost at 10,000 vs 100 issued URLs; ``serve`` idle CPU with 500 open sockets."""
    results = _issue_cost(rounds=50 if quick else 100)  # at most twice the gap between ISSUE_SIZES
    results += _idle_cpu(sockets=500, window=5.0 if quick else 15.0)
    return results
