""":class:`AsyncChatStream`: the live chat for asyncio, a thin driver over the protocol core.

The same stream as :class:`~connectparticipant_ext.live.ChatStream` (the same options, items
and decisions, which are the core's), for ASGI apps and bots that hold many chats in one
process. Waiting for items never occupies a thread: the socket is ``websockets``' asyncio
client, read by one task per socket. The few blocking botocore calls (a fresh websocket URL,
a transcript page to fill a gap, receipts) run on a small executor owned by the library
(:data:`EXECUTOR_WORKERS` threads shared by every stream, made on first use), never on the
loop's default executor and never while the stream waits for items.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.protocol import State

from .._redact import redact_url
from .._validation import require_seconds
from ..exceptions import ConnectParticipantError
from . import calls
from .actions import (
    SUBSCRIBE,
    Deliver,
    Drain,
    DropSocket,
    Ended,
    FetchLatest,
    FlushReceipts,
    GapPlan,
    OpenSocket,
    ReadGap,
    SendFrame,
    SocketLostError,
    Wait,
    subscription_answer,
)
from .base import BaseStream, wire_logger

if TYPE_CHECKING:
    from ..connection import Connection
    from ..models import TranscriptItem

__all__ = ["EXECUTOR_WORKERS", "AsyncChatStream"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

EXECUTOR_WORKERS = 4
"""Threads of the library's executor for the asyncio stream's blocking calls (shared by all)."""

BACKLOG = 1000
"""Items a socket's reader queues before it stops reading (the server then holds, or drops, it)."""

QUIET_TURNS = 4
"""Turns of the event loop without a frame after which the reader has handed over all that has
arrived: bytes the kernel holds reach the reader within three (the selector's turn runs the
protocol, which wakes the reader's ``recv``, which runs on the next)."""

_SOCKET_ERRORS = (WebSocketException, OSError, asyncio.TimeoutError, TimeoutError)

_executor: Optional[ThreadPoolExecutor] = None
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The library's executor for blocking calls, made on first use."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(EXECUTOR_WORKERS, thread_name_prefix="connectparticipant-live")
        return _executor


def _forget_executor() -> None:
    """In a forked child (a pre-forking server's worker) the parent's executor has no threads,
    and would never start any: it holds as many as it may. The child makes its own."""
    global _executor, _executor_lock
    _executor = None
    _executor_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forget_executor)


class AsyncChatStream(BaseStream):
    """Items of a chat as they happen, for asyncio: ``async for``, or ``await get(timeout)``.

    Made by :meth:`Connection.astream` with the options of :meth:`Connection.stream`, checked
    at once. Use it in ``async with`` (or call :meth:`aclose`): leaving the block, or the task
    being cancelled, closes the socket. A stream belongs to the event loop it is first used
    on; another loop gets a :class:`RuntimeError`.
    """

    def __init__(self, connection: Connection, **options: Any) -> None:
        super().__init__(connection, **options)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._socket: Optional[ClientConnection] = None
        self._reader: Optional[asyncio.Task[None]] = None
        self._lost: Optional[str] = None  # why the reader stopped: the socket went
        self._frames = 0  # frames the reader has handed to the core
        self._opening: Optional[asyncio.Task[ClientConnection]] = None
        self._calls: dict[object, asyncio.Future[Any]] = {}  # blocking calls in flight
        self._wake: asyncio.Event  # wakes the consumer; made on the stream's loop (see _bind)
        self._room: asyncio.Event  # set when the consumer took items: the reader may read on

    # -- public surface ----------------------------------------------------------------------

    async def __aenter__(self) -> AsyncChatStream:
        """Start the stream and wait (at most ``open_timeout``) for its first socket."""
        try:
            await self._next(time.monotonic() + self._core.settings.open_timeout, until_open=True)
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> TranscriptItem:
        item = await self._next(None)
        if item is None:
            raise StopAsyncIteration
        return item

    async def get(self, timeout: Optional[float] = None) -> Optional[TranscriptItem]:
        """The next item, or None if none came within ``timeout`` seconds or the stream ended."""
        if timeout is not None:
            timeout = require_seconds("timeout", timeout, allow_zero=True)
        return await self._next(None if timeout is None else time.monotonic() + timeout)

    def mark_read(self, item: Union[TranscriptItem, str]) -> None:
        """Batch a read receipt for a message (an item or its id); never blocks, never raises
        for a service error. The stream sends it at the end of the throttle window."""
        if self._mark_read(item, time.monotonic()):
            self._poke()

    async def aclose(self) -> None:
        """End the stream and close its socket; safe from another task, and more than once."""
        self._bind()
        if self._core.close():
            self._poke()
            await self._release()

    # -- the loop: ask the core, do what it says -------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop, self._wake, self._room = loop, asyncio.Event(), asyncio.Event()
        elif self._loop is not loop:
            raise RuntimeError("this AsyncChatStream belongs to another event loop; use it from the loop it started on")
        return loop

    def _poke(self) -> None:
        """Wake the waiting consumer (from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _next(self, deadline: Optional[float], *, until_open: bool = False) -> Optional[TranscriptItem]:
        self._bind()
        self._start()
        core = self._core
        try:
            while not (until_open and self._settled(self._opening is not None)):
                if self._lost is not None:
                    await self._lose(self._lost)
                action = core.next_action(time.monotonic())
                if isinstance(action, Deliver):
                    self._room.set()
                    return action.item
                if isinstance(action, Ended):
                    return None
                if isinstance(action, FetchLatest):
                    core.latest_item(await self._call("latest", calls.latest_item, self._connection))
                elif isinstance(action, ReadGap):
                    await self._read_gap(action.plan)
                elif isinstance(action, FlushReceipts):
                    await self._call("receipts", core.items.receipts.flush)
                elif isinstance(action, Drain):
                    await self._drain()
                    core.drained()
                elif deadline is not None and time.monotonic() >= deadline:
                    return None
                elif isinstance(action, OpenSocket):
                    self._opening = asyncio.ensure_future(self._open(action.fresh_url))
                    self._opening.add_done_callback(lambda _: self._wake.set())
                elif isinstance(action, SendFrame):
                    await self._send(action.frame)
                elif isinstance(action, DropSocket):
                    await self._lose(action.reason)
                else:
                    await self._wait(action, deadline)
            return None
        finally:
            if core.ended:
                await self._release()

    async def _wait(self, action: Wait, deadline: Optional[float]) -> None:
        wake = action.until
        if deadline is not None:
            wake = deadline if wake is None else min(wake, deadline)
        try:
            timeout = None if wake is None else max(0.0, wake - time.monotonic())
            await asyncio.wait_for(self._wake.wait(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            pass
        finally:
            self._wake.clear()
        opening = self._opening
        if opening is not None and opening.done():
            await self._opened(opening)

    async def _call(self, key: object, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the library's executor. A call cut short by a cancelled wait
        goes on; the next step with the same ``key`` takes its result (no page is read twice)."""
        future = self._calls.get(key)
        if future is None:
            future = self._calls[key] = asyncio.get_running_loop().run_in_executor(executor(), function, *args)
        try:
            result: T = await asyncio.shield(future)
            return result
        finally:
            if future.done():
                self._calls.pop(key, None)

    async def _read_gap(self, plan: GapPlan) -> None:
        try:
            page = await self._call(plan, self._gap_reader(plan).read)
        except ConnectParticipantError as exc:
            self._core.gap_read_failed(plan, exc)
        else:
            self._core.gap_page(plan, page)

    # -- the socket ----------------------------------------------------------------------------

    async def _open(self, fresh_url: bool) -> ClientConnection:
        settings = self._core.settings
        now = datetime.now(timezone.utc)
        websocket = calls.usable_websocket(
            self._connection, margin=settings.url_refresh_margin, fresh=fresh_url, now=now
        )
        if websocket is None:
            websocket = await self._call("url", self._connection.refresh_websocket)
        logger.debug("opening the websocket %s", redact_url(websocket.url))
        try:
            socket = await connect(
                websocket.url,
                open_timeout=settings.open_timeout,
                ping_interval=None,
                close_timeout=1,
                logger=wire_logger,
            )
        except _SOCKET_ERRORS as exc:
            raise SocketLostError.on_open(exc) from None
        try:
            await socket.send(SUBSCRIBE)
            deadline = time.monotonic() + settings.open_timeout
            while True:
                answer = subscription_answer(await asyncio.wait_for(socket.recv(), deadline - time.monotonic()))
                if answer is not None:
                    if not answer:
                        raise SocketLostError("subscription refused")
                    return socket
        except (*_SOCKET_ERRORS, ValueError) as exc:
            await socket.close()
            raise SocketLostError(f"subscribing failed: {type(exc).__name__}") from None
        except BaseException:
            await socket.close()
            raise

    async def _opened(self, opening: asyncio.Task[ClientConnection]) -> None:
        """Hand the finished attempt's outcome to the core."""
        self._opening = None
        if opening.cancelled():  # the stream was closed meanwhile
            return
        error = opening.exception()
        if error is not None:
            self._core.open_failed(error, time.monotonic())
            return
        socket = opening.result()
        if self._core.ended:
            await _close(socket)
            return
        self._socket = socket
        self._reader = asyncio.ensure_future(self._read(socket))
        self._core.socket_opened(time.monotonic())

    async def _read(self, socket: ClientConnection) -> None:
        """Feed the socket's frames to the core as they come; stop reading while the backlog is
        full, unless the socket is going (then what it holds is read to the end)."""
        try:
            while True:
                while self._core.items.backlog >= BACKLOG and socket is self._socket:
                    self._room.clear()
                    await self._room.wait()
                self._core.frame_received(await socket.recv())
                self._frames += 1
                self._wake.set()
        except _SOCKET_ERRORS as exc:
            self._lost = type(exc).__name__
            self._wake.set()
        except asyncio.CancelledError:
            if socket is self._socket:  # not the stream's doing: the loop is shutting down
                await _close(socket)
            raise

    async def _drain(self) -> None:
        """Let the reader hand over what has arrived: turn the loop until it has been quiet."""
        quiet = 0
        while quiet < QUIET_TURNS and self._reader is not None and not self._reader.done():
            frames = self._frames
            await asyncio.sleep(0)
            quiet = quiet + 1 if frames == self._frames else 0

    async def _send(self, frame: str) -> None:
        socket = self._socket
        try:
            if socket is None:
                raise OSError("no socket")
            await socket.send(frame)
        except _SOCKET_ERRORS as exc:
            await self._lose(type(exc).__name__)

    async def _lose(self, reason: str) -> None:
        await self._close_socket(drain=True)
        self._lost = None
        self._core.socket_lost(reason, time.monotonic())

    async def _close_socket(self, *, drain: bool = False) -> None:
        socket, reader = self._socket, self._reader
        self._socket = self._reader = None
        self._room.set()  # a reader held by a full backlog reads what the socket holds
        if socket is not None:
            await _close(socket)
        if reader is not None and not reader.done():
            if drain:  # a closed socket still holds what was sent before: let the reader take it
                await asyncio.wait({reader}, timeout=1)
            reader.cancel()

    async def _release(self) -> None:
        """The stream is over: close the socket, send pending receipts, drop the hooks (once)."""
        if self._released:
            return
        self._released = True
        opening, self._opening = self._opening, None
        try:
            if opening is not None:  # an attempt in flight, or done and not taken: its socket goes too
                opening.cancel()
                await asyncio.wait({opening})
                if not opening.cancelled() and opening.exception() is None:
                    await _close(opening.result())
            await self._close_socket()
            await self._call("receipts", self._core.items.receipts.flush)
        finally:
            self._core.items.own.unhook()
            for future in self._calls.values():
                future.add_done_callback(_retrieve)


async def _close(socket: ClientConnection) -> None:
    """Close a socket with the closing handshake (which waits at most ``close_timeout``, 1 s)."""
    if socket.state is State.CLOSED:  # closing a closed socket still takes steps: none is needed
        return
    try:
        await socket.close()
    except asyncio.CancelledError:  # cut short (a loop shutting down cancels every task): drop it
        socket.transport.abort()
        raise
    except Exception:  # a loop shutting down refuses new async generators (websockets uses one)
        logger.debug("closing the websocket failed; dropping its connection", exc_info=True)
        socket.transport.abort()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a call left behind by a closed stream: its error is nobody's
