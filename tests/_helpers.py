"""Helpers shared by the test files: import them (``from _helpers import take``), don't copy them.

The wire strings here are the tests' own spelling of the service's, on purpose: a test that
imported the library's constants would follow a wrong one instead of catching it. Fixtures
live in ``conftest.py`` and in the package's pytest plugin; this module holds plain functions
and values.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, settings

from connectparticipant_ext import ChatService, InvalidArgumentError, InvalidArgumentTypeError, TranscriptItem, _json
from connectparticipant_ext.testing import get_chat_backend

EVENT = "application/vnd.amazonaws.connect.event."
"""The prefix of every event's content type."""
TYPING = EVENT + "typing"
DELIVERED = EVENT + "message.delivered"
READ = EVENT + "message.read"
METADATA = EVENT + "message.metadata"

CREDENTIALS, WEBSOCKET, WEBRTC = "CONNECTION_CREDENTIALS", "WEBSOCKET", "WEBRTC_CONNECTION"
"""CreateParticipantConnection's connection types."""

WAIT = 10.0
"""Seconds a test waits for something that comes at once on an idle machine (a bound, not a sleep)."""

FAST = {"heartbeat_interval": 0.2, "heartbeat_timeout": 2.0, "backoff_base": 0.01, "backoff_max": 0.1}
"""Live-stream options that make heartbeats and retries quick in tests. The heartbeat's timeout is
what a healthy socket's answer must meet on a loaded machine (the backend answers from a thread of
the test's own process): a shorter one makes a healthy socket look dead, and a test counting
reconnects or states fails."""

INSTANCE_ID = "instance-1"
CONTACT_FLOW_ID = "flow-1"


def start_chat(connect: Any, name: str = "Ann", **extra: Any) -> dict[str, Any]:
    """A chat started with ``connect.start_chat_contact`` (for the plugin's default chat, use the
    ``chat_contact`` fixture)."""
    response: dict[str, Any] = connect.start_chat_contact(
        InstanceId=INSTANCE_ID, ContactFlowId=CONTACT_FLOW_ID, ParticipantDetails={"DisplayName": name}, **extra
    )
    return response


def take(
    stream: Any, wanted: int, *, kind: str = "MESSAGE", timeout: float = WAIT, what: str = ""
) -> list[TranscriptItem]:
    """Items from ``stream`` until ``wanted`` items of ``kind`` have come.

    Fails when ``timeout`` seconds pass without a new one: a stream that stalls fails at once,
    while a long run (thousands of messages on a loaded machine) is not cut short by a total that
    depends on the machine's speed. Bounded: each item of ``kind`` restarts the wait, and
    ``wanted`` of them end it.
    """
    items: list[TranscriptItem] = []
    count = 0
    deadline = time.monotonic() + timeout
    while count < wanted:
        remaining = deadline - time.monotonic()
        assert remaining > 0, (
            f"only {count} of {wanted} {what or kind.lower()}s arrived (none in the last {timeout} s):"
            f" {[i.type for i in items][-20:]}"
        )
        item = stream.get(timeout=remaining)
        if item is None:
            assert not stream.ended, f"the stream ended early: {stream.end_reason}"
            continue
        items.append(item)
        if item.type == kind:
            count += 1
            deadline = time.monotonic() + timeout
    return items


def drain_until_end(stream: Any, timeout: float = WAIT) -> list[TranscriptItem]:
    """Every item ``stream`` gives until it ends (bounded by ``timeout``)."""
    items: list[TranscriptItem] = []
    deadline = time.monotonic() + timeout
    while not stream.ended:
        assert time.monotonic() < deadline, "the stream did not end"
        item = stream.get(timeout=0.5)
        if item is not None:
            items.append(item)
    return items


def messages(items: list[TranscriptItem]) -> list[str]:
    """The contents of the messages among ``items`` ("" for none), in order."""
    return [i.content or "" for i in items if i.is_message]


def contents(items: Any) -> list[str]:
    """The contents of the messages among ``items``, in order."""
    return [i.content for i in items if i.type == "MESSAGE"]


def client_error(code: str, message: str = "m", operation: str = "SendMessage") -> ClientError:
    """The ``ClientError`` botocore raises for an HTTP 400 answer with ``code``."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


@contextmanager
def call_takes(seconds: float) -> Iterator[None]:
    """Inside the block ``time.perf_counter`` reads 5.0 once, then ``5.0 + seconds``: a call
    timed inside it takes exactly ``seconds``."""
    import pytest

    readings = [5.0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "perf_counter", lambda: readings.pop() if readings else 5.0 + seconds)
        yield


def unreachable(**kwargs: Any) -> Any:
    """A botocore client method that cannot reach the service (what botocore raises after its retries)."""
    from botocore.exceptions import EndpointConnectionError

    raise EndpointConnectionError(endpoint_url="https://participant.connect.us-east-1.amazonaws.com")


def without_websocket(create: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``CreateParticipantConnection`` whose answers carry no ``Websocket``, though one was asked for."""

    def create_without(**kwargs: Any) -> dict[str, Any]:
        response = create(**kwargs)
        response.pop("Websocket", None)
        return response

    return create_without


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (free when asked: bind it soon)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- server-sent events -------------------------------------------------------------------------


def parse_events(chunks: list[bytes]) -> list[dict[str, Any]]:
    """The events of an SSE byte stream, as {"id", "event", "data"} dicts (comments dropped)."""
    events = []
    for block in b"".join(chunks).decode().split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = fields[name] + "\n" + value if name == "data" and name in fields else value
        if "data" in fields:
            events.append(fields)
    return events


class Reader:
    """Reads an event stream in a thread, like a server writing it to a browser."""

    def __init__(self, events: Any) -> None:
        self.events = events
        self.chunks: list[bytes] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for chunk in self.events:
            with self.lock:
                self.chunks.append(chunk)

    def parsed(self) -> list[dict[str, Any]]:
        with self.lock:
            return parse_events(list(self.chunks))

    def wait_for(self, predicate: Any, timeout: float = WAIT) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.parsed()
            if predicate(events):
                return events
            time.sleep(0.02)
        raise AssertionError(f"not seen within {timeout} s: {self.parsed()}")

    def close(self) -> None:
        self.events.close()
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive()


# -- property-based tests: the documented limits, restated as the oracle ------------------------
#
# Each property test decides on its own whether an input is valid, then checks both ways: a valid
# input reaches the service, an invalid one raises a documented error without a call.

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DOCUMENTED = (InvalidArgumentError, InvalidArgumentTypeError)
MAX_CONTENT_BYTES = 16384


def utf8_size(text: str) -> float:
    """The size of ``text`` in UTF-8, or infinity when it cannot be sent (a lone surrogate)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return float("inf")


def valid_text(value: Any, *, max_bytes: int) -> bool:
    """A str of 1 to ``max_bytes`` bytes of UTF-8."""
    return isinstance(value, str) and 1 <= utf8_size(value) <= max_bytes


def valid_json(text: str) -> bool:
    try:
        _json.loads(text)
    except ValueError:
        return False
    return True


def valid_interactive_response(text: str) -> bool:
    """A JSON object whose ``action``, when present, is a non-empty string."""
    try:
        data = _json.loads(text)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    return "action" not in data or (isinstance(data["action"], str) and bool(data["action"]))


def run(coroutine_function: Callable[[], Any]) -> Any:
    """Run a coroutine on a fresh event loop in a thread of its own (another test's driver may
    have a loop running in this one), bounded in time."""
    results: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(asyncio.wait_for(coroutine_function(), WAIT * 6)))
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="test-asyncio", daemon=True)
    thread.start()
    thread.join(WAIT * 7)
    assert not thread.is_alive(), "the event loop did not finish"
    if errors:
        raise errors[0]
    return results[0]


class Side:
    """A chat with a customer and an agent, through one ChatService."""

    def __init__(self, chat: ChatService, connect: Any) -> None:
        self.connect = connect
        self.contact = connect.start_chat_contact(
            InstanceId="instance-1", ContactFlowId="flow-1", ParticipantDetails={"DisplayName": "Ann"}
        )
        self.customer = chat.Participant(self.contact["ParticipantToken"]).create_connection()
        # Connect's create_participant adds only CUSTOM_BOT; an agent comes through routing.
        token = get_chat_backend().add_participant(self.contact["ContactId"], "AGENT", "Bob")["ParticipantCredentials"][
            "ParticipantToken"
        ]
        self.agent = chat.Participant(token).create_connection()


def stop_process(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """Terminate ``process`` if it still runs, then kill it if it has not gone in ``timeout`` s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)

# -- the command line, run as a user runs it ----------------------------------------------------

SCRIPT = Path(sys.executable).with_name("connectparticipant-ext")
"""The console script pip installed beside this interpreter."""
TIMEOUT = 60
"""Seconds a CLI subprocess may take (a bound, not an expectation)."""


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no CONNECT_/AWS_ settings of the caller, moto's test
    credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECT_", "AWS_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, cwd: Path | None = None) -> Any:
    """``connectparticipant-ext ARGS`` in a subprocess, as a user runs it; its CompletedProcess."""
    command = [str(SCRIPT), *args] if SCRIPT.exists() else [sys.executable, "-m", "connectparticipant_ext", *args]
    return subprocess.run(
        command, env=env or cli_env(), input=input, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd
    )


@contextmanager
def running_server(*extra: str) -> Iterator[str]:
    """``connectparticipant-ext serve`` in a subprocess, as a user would run it; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", str(port), *extra],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"127.0.0.1:{port}" in line, line
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


class Chat:
    """A chat started on the local server ``endpoint_url``, and the CLI run with its participant token."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.connect = boto3.client(
            "connect",
            region_name="us-east-1",
            endpoint_url=endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.contact = start_chat(
            self.connect, SupportedMessagingContentTypes=["text/plain", "text/markdown", "application/json"]
        )
        self.participant_token: str = self.contact["ParticipantToken"]
        self.env = cli_env(CONNECT_PARTICIPANT_TOKEN=self.participant_token)

    def run(self, *args: str, **kwargs: Any) -> Any:
        kwargs.setdefault("env", self.env)
        result = run_cli(*args, "--endpoint-url", self.endpoint_url, **kwargs)
        assert self.participant_token not in result.stdout + result.stderr
        return result

    def transcript(self) -> list[dict[str, Any]]:
        result = self.run("transcript", "--format", "jsonl")
        assert result.returncode == 0, result.stderr
        return [json.loads(line) for line in result.stdout.splitlines()]
