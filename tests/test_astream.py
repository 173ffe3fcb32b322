"""``conn.astream()``: the asyncio stream's own promises (the conversations themselves are in
test_live_parity.py, for both streams): options checked before any call, timeouts refused,
one event loop, close from another task, cancellation, the library's executor, and 200
streams on one loop with a bounded number of threads."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import boto3
import pytest
from websockets.protocol import State

from connectparticipant_ext import (
    AsyncChatStream,
    ChatService,
    Connection,
    InvalidArgumentError,
    StreamState,
)
from connectparticipant_ext.live.aio import EXECUTOR_WORKERS

from _helpers import FAST, WAIT, run

T = TypeVar("T")


async def first_message(stream: AsyncChatStream) -> str:
    async for item in stream:
        if item.is_message:
            return item.content or ""
    raise AssertionError(f"the stream ended: {stream.end_reason}")


# -- bad input, before any network call ---------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"since": ""},
        {"history": True, "since": "abc"},
        {"heartbeat_interval": 0},
        {"heartbeat_timeout": math.nan},
        {"receipt_throttle": -1},
        {"max_socket_age": 1e308},
        {"reconnect_attempts": 1.5},
        {"partial_messages": "yes"},
        {"url_refresh_margin": math.inf},
    ],
)
def test_astream_checks_its_options_as_stream_does(connection: Connection, wire_calls: list[str], options: Any):
    with pytest.raises((ValueError, TypeError)) as from_stream:
        connection.stream(**options)
    with pytest.raises(type(from_stream.value), match=str(from_stream.value).split(" ")[0]):
        connection.astream(**options)
    assert wire_calls == []


@pytest.mark.parametrize("timeout", [math.nan, -1, 1e308, math.inf])
def test_get_refuses_timeouts_no_wait_can_take(connection: Connection, wire_calls: list[str], timeout: float):
    with pytest.raises(InvalidArgumentError, match="timeout"):
        connection.stream().get(timeout=timeout)

    async def get() -> None:
        await connection.astream().get(timeout=timeout)

    with pytest.raises(InvalidArgumentError, match="timeout"):
        run(get)
    assert wire_calls == []


# -- the loop, closing, cancelling --------------------------------------------------------------


def test_a_second_event_loop_is_refused(connection: Connection, agent: Connection):
    async def get(stream: AsyncChatStream) -> None:
        await stream.get(timeout=0)

    async def aclose(stream: AsyncChatStream) -> None:
        await stream.aclose()

    async def main() -> list[BaseException]:
        errors: list[BaseException] = []
        async with connection.astream(**FAST) as stream:

            def from_another_loop() -> None:
                for use in (get, aclose):
                    errors.extend(_raised(use, stream))

            other = threading.Thread(target=from_another_loop)
            other.start()
            await asyncio.get_running_loop().run_in_executor(None, other.join, WAIT)
            assert not stream.ended
        return errors

    errors = run(main)
    assert len(errors) == 2 and all(isinstance(e, RuntimeError) and "another event loop" in str(e) for e in errors)


def _raised(function: Callable[[AsyncChatStream], Any], stream: AsyncChatStream) -> list[BaseException]:
    try:
        run(lambda: function(stream))  # on a loop in a thread of its own: Playwright's may run in this one
    except BaseException as exc:
        return [exc]
    return []


def test_items_state_and_a_second_aclose(connection: Connection, agent: Connection):
    async def main() -> tuple[str, StreamState, StreamState, bool, str | None]:
        stream = connection.astream(**FAST)
        before = stream.state
        async with stream:
            agent.send_message("hello")
            content = await first_message(stream)
            during = stream.state
        await stream.aclose()  # a second time: nothing happens
        return content, before, during, stream.ended, stream.end_reason

    assert run(main) == ("hello", StreamState.CONNECTING, StreamState.OPEN, True, "closed")


def test_get_returns_none_on_timeout(connection: Connection):
    async def main() -> tuple[Any, bool]:
        async with connection.astream(**FAST) as stream:
            return await stream.get(timeout=0.2), stream.ended

    assert run(main) == (None, False)


def test_aclose_from_another_task_ends_a_waiting_loop(connection: Connection):
    async def main() -> tuple[list[Any], str | None]:
        stream = connection.astream(**FAST)
        async with stream:
            seen: list[Any] = []

            async def consume() -> None:
                async for item in stream:
                    seen.append(item)

            consumer = asyncio.ensure_future(consume())
            await asyncio.sleep(0.2)  # the consumer waits for items
            await stream.aclose()
            await asyncio.wait_for(consumer, WAIT)
        return seen, stream.end_reason

    seen, reason = run(main)
    assert reason == "closed" and all(not item.is_message for item in seen)


def test_a_cancelled_consumer_closes_its_websocket(connection: Connection):
    async def main() -> tuple[State, bool]:
        stream = connection.astream(**FAST)
        entered = asyncio.Event()

        async def consume() -> None:
            async with stream:
                entered.set()
                async for _ in stream:
                    pass

        consumer = asyncio.ensure_future(consume())
        await asyncio.wait_for(entered.wait(), WAIT)
        socket = stream._socket  # noqa: SLF001 - the socket this test watches close
        assert socket is not None
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        # No waiting: leaving the block (cancelled) has closed the socket already.
        return socket.state, stream.ended

    assert run(main) == (State.CLOSED, True)


# -- the library's executor --------------------------------------------------------------------


class NoDefaultExecutor(ThreadPoolExecutor):
    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the loop's default executor was used")


def test_blocking_calls_run_on_the_librarys_executor(connection: Connection, agent: Connection, chat: ChatService):
    threads: list[str] = []

    def record(**kwargs: Any) -> None:
        threads.append(threading.current_thread().name)

    events = chat.meta.client.meta.events
    events.register("before-call.connectparticipant", record, unique_id="astream-threads")
    agent.send_message("before")

    async def main() -> str:
        asyncio.get_running_loop().set_default_executor(NoDefaultExecutor(1))
        connection.refresh_websocket()  # the stream then asks for a fresh URL: one more call
        async with connection.astream(history=True, url_refresh_margin=200, **FAST) as stream:
            return await first_message(stream)

    try:
        assert run(main) == "before"
    finally:
        events.unregister("before-call.connectparticipant", unique_id="astream-threads")
    stream_calls = threads[2:]  # after this test's own SendMessage and refresh_websocket()
    assert len(stream_calls) >= 2 and all(name.startswith("connectparticipant-live") for name in stream_calls), threads


# -- many streams, one loop ------------------------------------------------------------------------


@pytest.fixture
def serve_process(aws_credentials: None, tmp_path: Any) -> Iterator[str]:
    """``connectparticipant-ext serve`` in a process of its own: its sockets cost this one nothing."""
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", str(port)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not listen"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


STREAMS = 200


def test_200_streams_on_one_loop_with_a_bounded_number_of_threads(serve_process: str):
    chat = ChatService(region_name="us-east-1", endpoint_url=serve_process)
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=serve_process)
    connections = []
    for n in range(STREAMS):
        contact = connect.start_chat_contact(
            InstanceId="instance-1", ContactFlowId="flow-1", ParticipantDetails={"DisplayName": f"c{n}"}
        )
        connections.append(chat.Participant(contact["ParticipantToken"]).create_connection())
    counts: list[int] = []

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        baseline = threading.active_count()
        streams = [conn.astream(heartbeat_interval=5, heartbeat_timeout=30) for conn in connections]
        try:
            await asyncio.gather(*(stream.__aenter__() for stream in streams))
            counts.append(threading.active_count() - baseline)
            with ThreadPoolExecutor(1, thread_name_prefix="test-sender") as sender:
                for n, conn in enumerate(connections):  # each says something: its own stream hears it
                    await loop.run_in_executor(sender, conn.send_message, f"hello {n}")
            heard = await asyncio.gather(*(first_message(stream) for stream in streams))
            counts.append(threading.active_count() - baseline)
            return list(heard)
        finally:
            await asyncio.gather(*(stream.aclose() for stream in streams))

    try:
        heard = run(main)
    finally:
        for conn in connections:
            conn.disconnect()
    assert heard == [f"hello {n}" for n in range(STREAMS)]
    # The library's executor (made on first use), plus the one thread this test sends from:
    # the streams add no thread of their own.
    print(f"threads added by {STREAMS} open streams: {counts}")
    assert max(counts) <= EXECUTOR_WORKERS + 1, counts


_FORKED_CHILD = """
import os, sys
from concurrent.futures import wait
from connectparticipant_ext.live.aio import EXECUTOR_WORKERS, executor

# The parent fills its executor (as a pre-forking server's master that streamed would)...
gate = __import__("threading").Barrier(EXECUTOR_WORKERS)
wait([executor().submit(gate.wait, 10) for _ in range(EXECUTOR_WORKERS)], timeout=10)
pid = os.fork()
if pid == 0:  # ... and its forked worker's blocking calls still run
    done = executor().submit(lambda: 42)
    os._exit(0 if wait([done], timeout=10).done and done.result() == 42 else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_a_forked_child_gets_an_executor_of_its_own() -> None:
    """The parent's executor has no threads in a forked child, and would start none."""
    result = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", _FORKED_CHILD],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
