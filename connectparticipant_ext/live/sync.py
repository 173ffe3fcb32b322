""":class:`ChatStream`: the live chat for threaded code, a thin driver over the protocol core.

It does the I/O :class:`~connectparticipant_ext.live.core.StreamCore` asks for, in the caller's
thread, with ``websockets``' sync client; the decisions (what an item is, when to heartbeat,
reconnect or fill a gap) are the core's. Opening a socket runs in a short-lived helper thread,
so that ``get(timeout)`` holds while a socket opens and :meth:`ChatStream.close` (from any
thread) ends the loop at once. An idle stream sleeps until its next deadline; it does not poll.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional, Union

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from .._redact import redact_url
from .._validation import require_seconds
from ..exceptions import ConnectParticipantError
from ..models import TranscriptItem, Websocket
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
    from collections.abc import Iterator

    from ..connection import Connection

__all__ = ["ChatStream"]

logger = logging.getLogger(__name__)


class _Opening:
    """One attempt to open and subscribe a socket, run in a helper thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.socket: Optional[ClientConnection] = None
        self.error: Optional[BaseException] = None
        self.abandoned = False
        self.lock = threading.Lock()


class ChatStream(BaseStream):
    """Items of a chat as they happen: iterate it, or call :meth:`get` with a timeout.

    Made by :meth:`Connection.stream`. Yields :class:`~connectparticipant_ext.TranscriptItem`
    objects (the same class the transcript yields) and ends by itself after the chat-ended
    event or when :meth:`close` is called. After ``conn.disconnect()`` it goes on until the
    chat ends (or its socket goes). If the socket cannot be brought back after
    ``reconnect_attempts`` failed attempts in a row, iteration raises
    :class:`~connectparticipant_ext.StreamError` with the cause.

    Args:
        connection: the connection to stream.
        history: first yield the transcript so far, then live items.
        since: first yield what came after this item id (resuming), then live items.
        partial_messages: also yield a Lex streamed reply as it grows (``item.is_complete``
            False), before the complete message.
        receipts: send delivered receipts for other participants' messages, batched.
        settings: heartbeats, reconnects, receipts' window, ``on_state_change``: see
            :class:`~connectparticipant_ext.live.StreamSettings`.
    """

    def __init__(self, connection: Connection, **options: Any) -> None:
        super().__init__(connection, **options)
        self._socket: Optional[ClientConnection] = None
        self._socket_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._opening: Optional[_Opening] = None

    # -- public surface ----------------------------------------------------------------------

    def __enter__(self) -> ChatStream:
        """Start the stream and wait (at most ``open_timeout``) for its first socket.

        Once in the ``with`` block, what the chat does next (typing, receipts, which are not
        kept in the transcript) reaches the stream. A first attempt that fails is retried by
        the iteration, with backoff.
        """
        try:
            self._next(time.monotonic() + self._core.settings.open_timeout, until_open=True)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[TranscriptItem]:
        while True:
            item = self._next(deadline=None)
            if item is None:
                return
            yield item

    def get(self, timeout: Optional[float] = None) -> Optional[TranscriptItem]:
        """The next item, or None if none came within ``timeout`` seconds or the stream ended.

        ``timeout`` holds in every state: while the first socket opens, while it reconnects
        and while it waits between attempts. Use :attr:`ended` to tell the two apart.
        """
        if timeout is not None:
            timeout = require_seconds("timeout", timeout, allow_zero=True)
        return self._next(deadline=None if timeout is None else time.monotonic() + timeout)

    def mark_read(self, item: Union[TranscriptItem, str]) -> None:
        """Send a read receipt for a message (an item or its id), batched with the others.

        A read receipt supersedes a pending delivered one; a message is never marked twice.
        Safe from any thread; what is pending is sent at the end of the throttle window (when
        the stream next wakes) or when the stream closes. Never raises for a service error.
        """
        if self._mark_read(item, time.monotonic()):
            self._core.items.receipts.flush()

    def close(self) -> None:
        """End the stream; safe from any thread, and more than once. Returns at once.

        Receipts still pending are sent first.
        """
        if not self._core.close():
            return
        self._closed.set()
        self._wake.set()
        self._release()

    # -- the loop: ask the core, do what it says -------------------------------------------------

    def _next(self, deadline: Optional[float], *, until_open: bool = False) -> Optional[TranscriptItem]:
        core = self._core
        self._start()
        try:
            while not (until_open and self._settled(self._opening is not None)):
                if core.filling_gap:
                    self._drain()
                action = core.next_action(time.monotonic())
                if isinstance(action, Deliver):
                    return action.item
                if isinstance(action, Ended):
                    return None
                if isinstance(action, FetchLatest):
                    core.latest_item(calls.latest_item(self._connection))
                elif isinstance(action, ReadGap):
                    self._read_gap(action.plan)
                elif isinstance(action, FlushReceipts):
                    core.items.receipts.flush()
                elif isinstance(action, Drain):
                    self._drain()
                    core.drained()
                elif deadline is not None and time.monotonic() >= deadline:
                    return None
                elif isinstance(action, OpenSocket):
                    self._begin_opening(action.fresh_url)
                elif isinstance(action, SendFrame):
                    self._send(action.frame)
                elif isinstance(action, DropSocket):
                    self._lose(action.reason)
                else:
                    self._wait(action, deadline)
            return None
        finally:
            if core.ended:
                self._release()

    def _wait(self, action: Wait, deadline: Optional[float]) -> None:
        wake = action.until
        if deadline is not None:
            wake = deadline if wake is None else min(wake, deadline)
        timeout = None if wake is None else max(0.0, wake - time.monotonic())
        opening = self._opening
        if action.read:
            socket = self._socket
            if socket is None:  # closed from another thread meanwhile
                return
            try:
                frame = socket.recv(timeout=timeout)
            except TimeoutError:
                return
            except (WebSocketException, OSError) as exc:
                self._lose(type(exc).__name__)
                return
            self._core.frame_received(frame)
        elif opening is not None:
            if not opening.done.is_set():
                self._wake.wait(timeout)
                self._wake.clear()
            if opening.done.is_set():
                self._opened(opening)
        else:
            self._closed.wait(timeout)  # a backoff delay

    def _read_gap(self, plan: GapPlan) -> None:
        try:
            page = self._gap_reader(plan).read()
        except ConnectParticipantError as exc:
            self._core.gap_read_failed(plan, exc)
        else:
            self._core.gap_page(plan, page)

    def _drain(self) -> None:
        """Queue what the socket has already received, without waiting: what websockets' own
        reader thread has taken off the wire, so that a decision (a heartbeat unanswered, a
        socket gone, the end) is made on everything that arrived before it."""
        socket = self._socket
        while socket is not None:
            try:
                frame = socket.recv(timeout=0)
            except (TimeoutError, WebSocketException, OSError):
                return  # a lost socket is noticed by the next read
            self._core.frame_received(frame)

    def _send(self, frame: str) -> None:
        socket = self._socket
        try:
            if socket is None:
                raise OSError("no socket")
            socket.send(frame)
        except (WebSocketException, OSError) as exc:
            self._lose(type(exc).__name__)

    def _lose(self, reason: str) -> None:
        self._drain()  # a socket the server closed may still hold frames sent before
        self._close_socket()
        self._core.socket_lost(reason, time.monotonic())

    def _close_socket(self) -> None:
        with self._socket_lock:
            socket, self._socket = self._socket, None
        if socket is not None:
            try:
                socket.close()
            except Exception:  # best effort
                logger.debug("closing the websocket failed", exc_info=True)

    def _release(self) -> None:
        """The stream is over: send pending receipts, close the socket, drop the hooks (once)."""
        if self._released:
            return
        self._released = True
        opening = self._opening
        if opening is not None:
            with opening.lock:
                opening.abandoned = True  # the helper thread closes what it opens from now on
                leftover, opening.socket = opening.socket, None
            if leftover is not None:  # opened before, and never taken (the stream ended first)
                leftover.close()
        self._core.items.receipts.flush()
        self._close_socket()
        self._core.items.own.unhook()

    # -- opening a socket, in a helper thread ------------------------------------------------------

    def _begin_opening(self, fresh_url: bool) -> None:
        opening = self._opening = _Opening()
        self._wake.clear()
        thread = threading.Thread(
            target=self._open_in_thread,
            args=(opening, fresh_url),
            name="connectparticipant-stream-open",
            daemon=True,
        )
        thread.start()

    def _opened(self, opening: _Opening) -> None:
        """Hand the finished attempt's outcome to the core."""
        self._opening = None
        if opening.error is not None:
            self._core.open_failed(opening.error, time.monotonic())
            return
        with opening.lock:
            socket, opening.socket = opening.socket, None
        if socket is None:  # the stream ended meanwhile, and its release closed the socket
            return
        with self._socket_lock:
            if self._closed.is_set():
                socket.close()
                return
            self._socket = socket
        self._core.socket_opened(time.monotonic())

    def _open_in_thread(self, opening: _Opening, fresh_url: bool) -> None:
        try:
            margin, now = self._core.settings.url_refresh_margin, datetime.now(timezone.utc)
            websocket = calls.usable_websocket(self._connection, margin=margin, fresh=fresh_url, now=now)
            socket = self._open_socket(websocket or self._connection.refresh_websocket())
            with opening.lock:
                if opening.abandoned:
                    socket.close()
                else:
                    opening.socket = socket
        except BaseException as exc:  # handed to the stream's thread
            opening.error = exc
        finally:
            opening.done.set()
            self._wake.set()

    def _open_socket(self, websocket: Websocket) -> ClientConnection:
        logger.debug("opening the websocket %s", redact_url(websocket.url))
        timeout = self._core.settings.open_timeout
        try:
            # Entered by hand: the socket outlives this frame and _close_socket closes it
            # (websockets 17 warns about a connection that is neither entered nor "legacy").
            socket = connect(
                websocket.url, open_timeout=timeout, ping_interval=None, close_timeout=1, logger=wire_logger
            ).__enter__()
        except (WebSocketException, OSError, TimeoutError) as exc:
            raise SocketLostError.on_open(exc) from None
        try:
            socket.send(SUBSCRIBE)
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SocketLostError("subscription not confirmed")
                answer = subscription_answer(socket.recv(timeout=remaining))
                if answer is not None:
                    if not answer:
                        raise SocketLostError("subscription refused")
                    return socket
                if self._closed.is_set():
                    raise SocketLostError("closed while subscribing")
        except (WebSocketException, OSError, TimeoutError, ValueError) as exc:
            socket.close()
            raise SocketLostError(f"subscribing failed: {type(exc).__name__}") from None
        except SocketLostError:
            socket.close()
            raise
