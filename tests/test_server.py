"""The local server (``connectparticipant-ext serve``, :class:`LocalServer`): bounded threads
with many open sockets, dropped half-sent requests, one port for HTTP and websockets, public
URLs, a taken port, and an echo agent that answers each chat on its own schedule.

``serve`` runs in a subprocess where a test counts its threads (Linux's ``/proc``); the others
run :class:`LocalServer` or the backend in-process.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from connectparticipant_ext import ChatService
from connectparticipant_ext._local import DEFAULT_PORT
from connectparticipant_ext.testing.echo import EchoAgents
from connectparticipant_ext.testing.httpserver import WORKERS
from connectparticipant_ext.testing.server import LocalServer

from _helpers import TIMEOUT, cli_env, run_cli, start_chat

WAIT = 30.0
SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
HEARTBEAT = json.dumps({"topic": "aws/heartbeat"})
SERVE_THREAD_BOUND = 40
"""The most threads ``serve`` may run however many sockets are open (the goal at 1,000 sockets)."""


def threads_of(pid: int) -> int:
    """How many threads a process runs (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"no thread count for process {pid}")


def _needs_proc() -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("counting another process's threads needs Linux's /proc")


class Serve:
    """``connectparticipant-ext serve --port 0`` in a subprocess, with its address."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", "0", *args],
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found, line
        self.port = int(found.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def threads(self) -> int:
        return threads_of(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def serve_process() -> Iterator[Serve]:
    _needs_proc()
    server = Serve()
    try:
        yield server
    finally:
        server.stop()


def _clients(endpoint: str) -> tuple[Any, Any]:
    options: dict[str, Any] = dict(region_name="us-east-1", endpoint_url=endpoint)
    keys = dict(aws_access_key_id="testing", aws_secret_access_key="testing")
    connect = boto3.client("connect", **options, **keys)
    participant = ChatService(**options).meta.client
    return connect, participant


# -- many open sockets, a bounded number of threads -------------------------------------------


async def _open_subscribed(urls: list[str]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(50)

    async def one(url: str) -> ClientConnection:
        async with gate:
            socket = await ws_connect(url, open_timeout=WAIT, ping_interval=None, max_size=None)
            await socket.send(SUBSCRIBE)
            answer = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
            assert answer["content"]["status"] == "success", answer
            return socket

    return list(await asyncio.gather(*(one(url) for url in urls)))


async def _next_chat_item(socket: ClientConnection) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), WAIT))
        if frame["topic"] == "aws/chat":
            return dict(json.loads(frame["content"]))


def test_serve_holds_hundreds_of_open_websockets_with_a_bounded_number_of_threads(serve_process: Serve):
    """300 sockets on 30 chats, all subscribed: heartbeats are answered, a message reaches
    every socket of its chat, and serve's thread count stays under the bound throughout."""
    connect, participant = _clients(serve_process.url)
    chats, per_chat = 30, 10
    urls: list[str] = []
    senders: list[tuple[str, str]] = []  # (contact id, connection token) of one participant per chat
    for _ in range(chats):
        contact = start_chat(connect)
        first = participant.create_participant_connection(
            ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"]
        )
        senders.append((contact["ContactId"], first["ConnectionCredentials"]["ConnectionToken"]))
        urls.append(first["Websocket"]["Url"])
        for _ in range(per_chat - 1):
            more = participant.create_participant_connection(
                ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET"], ConnectParticipant=False
            )
            urls.append(more["Websocket"]["Url"])
    assert all(url.startswith(f"ws://127.0.0.1:{serve_process.port}/connect/") for url in urls)  # one port

    async def exercise() -> list[int]:
        counts = []
        sockets = await _open_subscribed(urls)
        try:
            counts.append(serve_process.threads())
            for socket in sockets:
                await socket.send(HEARTBEAT)
            for socket in sockets:
                assert json.loads(await asyncio.wait_for(socket.recv(), WAIT)) == {"topic": "aws/heartbeat"}
            for contact_id, token in senders:
                await asyncio.to_thread(
                    participant.send_message, ConnectionToken=token, ContentType="text/plain", Content=contact_id
                )
            for n, socket in enumerate(sockets):
                item = await _next_chat_item(socket)
                assert item["Content"] == senders[n // per_chat][0]  # its own chat's message
            counts.append(serve_process.threads())
        finally:
            await asyncio.gather(*(socket.close() for socket in sockets))
        return counts

    with ThreadPoolExecutor(1) as own_thread:  # a fresh loop, whatever loop this thread may hold
        counts = own_thread.submit(asyncio.run, exercise()).result(timeout=WAIT * 10)
    assert max(counts) <= SERVE_THREAD_BOUND, f"serve ran {counts} threads with {len(urls)} sockets open"


# -- requests that never finish their head -----------------------------------------------------


def test_half_sent_requests_hold_no_thread_and_are_dropped(aws_credentials: None):
    """200 connections each send half a request head and stop: no thread is taken for them,
    the server answers others meanwhile, and each is dropped once its head is overdue."""
    slow = LocalServer(header_timeout=1.0).start()
    try:
        host, port = slow.endpoint_url.rsplit("/", 1)[1].split(":")
        before = threading.active_count()
        stalled = []
        for _ in range(200):
            conn = socket.create_connection((host, int(port)), timeout=WAIT)
            conn.sendall(b"POST /participant/message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app")
            stalled.append(conn)
        answer = requests.options(slow.endpoint_url + "/participant/message", timeout=WAIT)
        assert answer.status_code == 200  # the server is not waiting on the stalled ones
        assert threading.active_count() - before <= WORKERS, "half-sent requests took threads"
        for conn in stalled:  # each one ends by itself (an answer, 408, then the end)
            received = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                received += chunk
            assert received == b"" or received.startswith(b"HTTP/1.1 408"), received[:80]
            conn.close()
    finally:
        slow.stop()


def test_a_header_timeout_must_be_a_positive_number_of_seconds():
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="header_timeout"):
            LocalServer(header_timeout=bad).start()


# -- one port, and the URLs handed out ----------------------------------------------------------


def test_websocket_urls_point_at_the_servers_own_port(local_server: LocalServer):
    connect, participant = _clients(local_server.endpoint_url)
    contact = start_chat(connect, "A")
    conn = (
        ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
        .Participant(contact["ParticipantToken"])
        .create_connection()
    )
    assert conn.websocket is not None
    port = local_server.endpoint_url.rsplit(":", 1)[1]
    assert conn.websocket.url.startswith(f"ws://127.0.0.1:{port}/connect/")
    with conn.stream() as stream:
        conn.send_message("over the shared port")
        deadline = time.monotonic() + WAIT
        while True:
            assert time.monotonic() < deadline
            item = stream.get(timeout=1)
            if item is not None and item.content == "over the shared port":
                break


def test_a_public_url_is_the_base_of_every_url_handed_out(aws_credentials: None, tmp_path: Path):
    """Behind an https proxy under a path: websocket URLs are wss:// there, presigned S3 URLs
    and the start-chat URL start with it; the server itself still listens on loopback."""
    public = "https://chat.example.test:8443/team-a"
    with LocalServer(public_url=public) as server:
        assert server.endpoint_url.startswith("http://127.0.0.1:")
        assert server.start_chat_url == public + "/start-chat"
        connect, participant = _clients(server.endpoint_url)
        contact = start_chat(connect, "A")
        answer = participant.create_participant_connection(
            ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"]
        )
        assert answer["Websocket"]["Url"].startswith("wss://chat.example.test:8443/team-a/connect/")
        token = answer["ConnectionCredentials"]["ConnectionToken"]
        upload = participant.start_attachment_upload(
            ConnectionToken=token,
            ContentType="text/plain",
            AttachmentSizeInBytes=3,
            AttachmentName="a.txt",
            ClientToken="upload-1",
        )
        assert upload["UploadMetadata"]["Url"].startswith("https://chat.example.test:8443/team-a/cp-ext-attachments-")
    with LocalServer(public_url="http://grid-host:9000") as server:
        connect, participant = _clients(server.endpoint_url)
        contact = start_chat(connect, "A")
        answer = participant.create_participant_connection(
            ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET"]
        )
        assert answer["Websocket"]["Url"].startswith("ws://grid-host:9000/connect/")


def test_the_public_url_must_be_an_http_url(aws_credentials: None):
    for bad in ("ftp://example.test", "chat.example.test", "https://"):
        with pytest.raises(ValueError):
            LocalServer(public_url=bad)
    result = run_cli("serve", "--port", "0", "--public-url", "chat.example.test")
    assert result.returncode == 2 and "--public-url" in result.stderr and "Traceback" not in result.stderr


# -- the port -------------------------------------------------------------------------------------


def test_a_taken_port_is_one_line_naming_the_port_option():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--port" in lines[0] and str(port) in lines[0] and "Traceback" not in result.stderr


def test_the_default_port_is_documented_and_is_not_airplays():
    assert DEFAULT_PORT != 5000
    root = Path(__file__).resolve().parents[1]
    for document in ("README.md", "docs/cli.rst"):
        text = (root / document).read_text(encoding="utf-8")
        assert str(DEFAULT_PORT) in text, document
        assert "127.0.0.1:5000" not in text and "--port 5000" not in text, document


# -- the echo agent -------------------------------------------------------------------------------


def test_the_echo_agent_answers_each_chat_on_its_own_schedule(mock_chat: Any, connect_client: Any):
    """Thirty messages in chat A, then one in chat B: B's answer comes while A's backlog is
    still being answered (A has fewer than thirty answers when B's arrives)."""
    chat = ChatService(region_name="us-east-1")
    with EchoAgents(delay=0.2, poll_interval=0.01) as agents:
        contacts = [
            connect_client.start_chat_contact(
                InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": name}
            )
            for name in ("A", "B")
        ]
        deadline = time.monotonic() + WAIT
        while agents.joined < 2:
            assert time.monotonic() < deadline, "the agents never joined"
            time.sleep(0.01)
        a, b = (chat.Participant(c["ParticipantToken"]).create_connection(websocket=False) for c in contacts)

        def answers(contact: dict[str, Any]) -> list[str]:
            items = mock_chat.get_chat(contact["ContactId"]).items
            return [i["Content"] for i in list(items) if i["Type"] == "MESSAGE" and i["ParticipantRole"] == "AGENT"]

        for n in range(30):
            a.send_message(f"a{n}")
        b.send_message("b")
        while "Echo: b" not in answers(contacts[1]):
            assert time.monotonic() < deadline, "chat B was never answered"
            time.sleep(0.01)
        assert len(answers(contacts[0])) < 30, "chat B waited for chat A's backlog"
        while len(answers(contacts[0])) < 30:  # and A's are all answered, in order
            assert time.monotonic() < deadline + WAIT, "chat A's backlog was not answered"
            time.sleep(0.05)
        assert answers(contacts[0]) == [f"Echo: a{n}" for n in range(30)]
