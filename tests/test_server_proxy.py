"""``serve --public-url`` behind a reverse proxy on another port and under a path prefix, driven
by the CLI (``start``, ``send``, ``chat``, ``upload``, ``transcript`` in subprocesses) and by AWS's
amazon-connect-chatjs (Node): every request and websocket goes through the proxy.

The proxy is the smallest one that behaves like nginx's ``location /team-a/ { proxy_pass
http://127.0.0.1:PORT/; }``: it strips the prefix, sends the upstream's own ``Host`` (nginx's
default ``$proxy_host``), forwards websocket upgrades and pipes the bytes both ways; it takes
one request per connection (it asks for ``Connection: close``), which clients handle.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import boto3
import pytest

from connectparticipant_ext import ChatService

from _helpers import TIMEOUT, cli_env, run_cli, start_chat

PREFIX = "/team-a"
INTEROP = Path(__file__).parent / "interop"
WAIT = 30.0


class PrefixProxy:
    """A reverse proxy on 127.0.0.1 for ``PREFIX/...`` to ``http://127.0.0.1:<upstream>/...``."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{PREFIX}"
        self.upstream: Optional[int] = None
        self.requests: list[tuple[str, str]] = []  # (method, path as forwarded)
        self.upgrades = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-proxy", daemon=True)

    def start(self, upstream: int) -> None:
        self.upstream = upstream
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(WAIT)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, sock=self._socket)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line, *fields = head.decode("latin-1").split("\r\n")[:-2]
        method, target, version = request_line.split(" ")
        if not target.startswith(PREFIX + "/"):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        target = target[len(PREFIX) :]
        upgrade = any(f.lower().startswith("upgrade:") and "websocket" in f.lower() for f in fields)
        dropped = ("host:",) if upgrade else ("host:", "connection:", "keep-alive:")
        kept = [f for f in fields if not f.lower().startswith(dropped)]
        kept.append(f"Host: 127.0.0.1:{self.upstream}")
        kept.append(f"X-Forwarded-Host: 127.0.0.1:{self.port}")
        if not upgrade:
            kept.append("Connection: close")
        self.requests.append((method, target))
        self.upgrades += upgrade
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        up_writer.write(("\r\n".join([f"{method} {target} {version}", *kept]) + "\r\n\r\n").encode("latin-1"))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(WAIT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT)
        self._loop.close()


@pytest.fixture(scope="module")
def proxied() -> Iterator[PrefixProxy]:
    """``serve --public-url <the proxy's URL> --agent echo`` behind the proxy."""
    proxy = PrefixProxy()
    process = subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", "0", "--public-url", proxy.url]
        + ["--agent", "echo", "--agent-delay", "0.1"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found and proxy.url in line, line
        proxy.start(int(found.group(1)))
        yield proxy
        proxy.stop()
    finally:
        process.terminate()
        process.communicate(timeout=TIMEOUT)


def _connect(url: str) -> Any:
    return boto3.client(
        "connect", region_name="us-east-1", endpoint_url=url, aws_access_key_id="t", aws_secret_access_key="t"
    )


def _exports(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        found[name] = value.strip("'\"")
    return found


def test_the_cli_holds_a_chat_through_the_proxy(proxied: PrefixProxy, tmp_path: Path):
    started = run_cli("start", "--endpoint-url", proxied.url, "--display-name", "Ann", "--print-token")
    assert started.returncode == 0, started.stderr
    values = _exports(started.stdout)
    env = cli_env(CONNECT_PARTICIPANT_TOKEN=values["CONNECT_PARTICIPANT_TOKEN"])

    sent = run_cli("send", "first, through the proxy", "--endpoint-url", proxied.url, env=env)
    assert sent.returncode == 0, sent.stderr

    # chat: its websocket comes through the proxy too, and the agent's answer arrives on it
    before = proxied.upgrades
    command = [sys.executable, "-m", "connectparticipant_ext", "chat", "--stay", "--endpoint-url", proxied.url]
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("second, live\n")
        process.stdin.flush()
        shown: list[str] = []
        deadline = time.monotonic() + WAIT
        while not any("Echo: second, live" in line for line in shown):
            assert time.monotonic() < deadline, shown
            line = process.stdout.readline()
            assert line, "chat ended before the answer came"
            shown.append(line)
        process.stdin.write("/quit\n")
        process.stdin.flush()
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=TIMEOUT)
    assert proxied.upgrades > before, "the chat's websocket did not go through the proxy"

    attachment = tmp_path / "notes.txt"
    attachment.write_text("attached through the proxy")
    uploaded = run_cli("upload", str(attachment), "--endpoint-url", proxied.url, env=env)
    assert uploaded.returncode == 0, uploaded.stderr
    assert any(m == "PUT" and p.startswith("/cp-ext-attachments-") for m, p in proxied.requests)  # the bytes too

    transcript = run_cli("transcript", "--format", "jsonl", "--endpoint-url", proxied.url, env=env)
    assert transcript.returncode == 0, transcript.stderr
    items = [json.loads(line) for line in transcript.stdout.splitlines()]
    contents = [item.get("Content") for item in items]
    for text in ("first, through the proxy", "Echo: first, through the proxy", "second, live", "Echo: second, live"):
        assert text in contents, contents
    assert any(item.get("Type") == "ATTACHMENT" for item in items)
    assert values["CONNECT_PARTICIPANT_TOKEN"] not in transcript.stdout + transcript.stderr


def test_urls_handed_out_point_at_the_proxy(proxied: PrefixProxy):
    contact = start_chat(_connect(proxied.url))
    client = ChatService(region_name="us-east-1", endpoint_url=proxied.url).meta.client
    answer = client.create_participant_connection(
        ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET"], ConnectParticipant=False
    )
    assert answer["Websocket"]["Url"].startswith(f"ws://127.0.0.1:{proxied.port}{PREFIX}/connect/")


def test_chatjs_holds_a_session_through_the_proxy(node: str, proxied: PrefixProxy):
    connect = _connect(proxied.url)
    contact = connect.start_chat_contact(InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "Ann"})
    before = proxied.upgrades
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "ENDPOINT": proxied.url,
        "CONTACT_ID": contact["ContactId"],
        "PARTICIPANT_ID": contact["ParticipantId"],
        "PARTICIPANT_TOKEN": contact["ParticipantToken"],
        "CUSTOMER_MESSAGE": "hello from chatjs, through the proxy",
        "TIMEOUT_MS": "30000",
    }
    customer = subprocess.Popen(
        [node, str(INTEROP / "customer.js")],
        cwd=INTEROP,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the echo agent answers; once it has, the chat is ended (through the proxy too)
        reader = ChatService(region_name="us-east-1", endpoint_url=proxied.url).Participant(contact["ParticipantToken"])
        conn = reader.create_connection(websocket=False)
        deadline = time.monotonic() + WAIT
        while "Echo: hello from chatjs, through the proxy" not in [item.content for item in conn.transcript]:
            assert time.monotonic() < deadline and customer.poll() is None, "the echo never came"
            time.sleep(0.2)
        connect.stop_contact(InstanceId="i", ContactId=contact["ContactId"])
        out, err = customer.communicate(timeout=WAIT + 30)
    finally:
        if customer.poll() is None:
            customer.kill()
            customer.communicate(timeout=TIMEOUT)
    assert customer.returncode == 0, err[-3000:]
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    kinds = [event["event"] for event in events]
    assert "connected" in kinds and "subscribed" in kinds and "ended" in kinds
    live = [e for e in events if e["event"] == "message" and e.get("source") == "websocket"]
    assert any(e.get("content") == "Echo: hello from chatjs, through the proxy" for e in live), events
    assert proxied.upgrades > before, "chatjs's websocket did not go through the proxy"
    assert contact["ParticipantToken"] not in out + err
