"""The chat, live, over the websocket the service hands out: :class:`ChatStream`.

How it stays alive and gap-free (the way AWS's own chat clients do it, and then some):

* After connecting it subscribes to ``aws/chat`` and sends ``aws/heartbeat`` every
  ``heartbeat_interval`` seconds; a heartbeat unanswered within ``heartbeat_timeout`` or a
  dropped socket leads to a reconnect, with exponential backoff and jitter.
* A reconnect uses a fresh websocket URL from ``CreateParticipantConnection``
  (``Type=["WEBSOCKET"]``, ``ConnectParticipant=False``) when the old one is about to expire
  or was refused, and the socket is re-opened before the URL's ``ConnectionExpiry``.
* After every (re)connect the gap is filled from GetTranscript, FORWARD from the last item
  yielded, and anything already yielded is dropped by ``Id``: each item comes exactly once,
  in order.
* The socket is read only as fast as the caller consumes (websockets' bounded queue pushes
  back), so a slow consumer never makes memory grow; if the server gives up on a slow
  reader, the reconnect fetches what was missed from the transcript.

Everything runs in the caller's thread; :meth:`ChatStream.close` may be called from any
thread and ends the loop promptly.
"""

from __future__ import annotations

import collections
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Optional

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from ._logging import SecretRedactingFilter
from ._redact import redact_url
from .exceptions import (
    AccessDeniedError,
    ConnectionClosedError,
    InvalidArgumentError,
    ResourceNotFoundError,
    StreamError,
    ValidationError,
)
from .models import TranscriptItem, Websocket

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["ChatStream"]

logger = logging.getLogger(__name__)

SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
HEARTBEAT = json.dumps({"topic": "aws/heartbeat"})

_SEEN_IDS_KEPT = 10_000
_POLL = 0.25  # how often a blocked read looks up to check for close() and deadlines


# websockets logs request lines at DEBUG; the URL's query string is a credential.
_wire_logger = logging.getLogger(__name__ + ".wire")
_wire_logger.addFilter(SecretRedactingFilter())


class _SocketLostError(Exception):
    """The socket is gone or unhealthy; reconnect."""


class ChatStream:
    """Items of a chat as they happen: iterate it, or call :meth:`get` with a timeout.

    Made by :meth:`Connection.stream`. Yields :class:`~connectparticipant_ext.TranscriptItem`
    objects (the same class the transcript yields) and ends by itself after the chat-ended
    event, when the connection is disconnected, or when :meth:`close` is called. If the
    socket cannot be brought back after ``reconnect_attempts`` tries, iteration raises
    :class:`~connectparticipant_ext.StreamError` with the cause.

    Args:
        connection: the connection to stream.
        history: first yield the transcript so far, then live items.
        since: first yield what came after this item id (resuming), then live items.
        heartbeat_interval: seconds between ``aws/heartbeat`` frames (AWS's clients: 10).
        heartbeat_timeout: seconds to wait for a heartbeat's answer before reconnecting.
        reconnect_attempts: consecutive failed reconnects before giving up.
        backoff_base: first reconnect delay in seconds; doubles each attempt, with jitter.
        backoff_max: the longest reconnect delay.
        open_timeout: seconds to open the socket and get the subscription confirmed.
        url_refresh_margin: re-open the socket with a fresh URL this long before the
            websocket's ``ConnectionExpiry``.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        history: bool = False,
        since: Optional[str] = None,
        heartbeat_interval: float = 10.0,
        heartbeat_timeout: float = 10.0,
        reconnect_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        open_timeout: float = 10.0,
        url_refresh_margin: timedelta = timedelta(seconds=60),
    ) -> None:
        if since is not None and (not isinstance(since, str) or not since):
            raise InvalidArgumentError("since must be a non-empty item id")
        if history and since is not None:
            raise InvalidArgumentError("give history=True or since=, not both")
        for name, value in (
            ("heartbeat_interval", heartbeat_interval),
            ("heartbeat_timeout", heartbeat_timeout),
            ("open_timeout", open_timeout),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidArgumentError(f"{name} must be a positive number of seconds")
        if isinstance(reconnect_attempts, bool) or not isinstance(reconnect_attempts, int) or reconnect_attempts < 0:
            raise InvalidArgumentError("reconnect_attempts must be an int, 0 or more")
        self._connection = connection
        self._history = history
        self._since = since
        self._heartbeat_interval = float(heartbeat_interval)
        self._heartbeat_timeout = float(heartbeat_timeout)
        self._reconnect_attempts = reconnect_attempts
        self._backoff_base = float(backoff_base)
        self._backoff_max = float(backoff_max)
        self._open_timeout = float(open_timeout)
        self._url_refresh_margin = url_refresh_margin

        self._socket: Optional[ClientConnection] = None
        self._socket_lock = threading.Lock()
        self._closed = threading.Event()
        self._ended = False
        self._started = False
        self._pending: collections.deque[TranscriptItem] = collections.deque()
        self._gap_fill: Optional[Iterator[TranscriptItem]] = None
        self._anchor: Optional[str] = since  # fill gaps after this item id
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._last_time: Optional[datetime] = None
        self._next_heartbeat = 0.0
        self._heartbeat_deadline: Optional[float] = None
        self._reopen_at: Optional[datetime] = None
        self._refresh_url = False
        self.reconnects = 0
        """How many times the socket has been re-opened."""
        self.end_reason: Optional[str] = None
        """Why the stream ended (the chat ended, the connection was closed, or :meth:`close`)."""

    def __repr__(self) -> str:
        state = "ended" if self._ended else ("closed" if self._closed.is_set() else "open")
        return f"ChatStream(state={state!r}, reconnects={self.reconnects})"

    # -- public surface ----------------------------------------------------------------------

    def __enter__(self) -> ChatStream:
        self._start()
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

        Use :attr:`ended` to tell the two apart.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        return self._next(deadline=deadline)

    @property
    def ended(self) -> bool:
        """True once the stream has finished (chat ended, connection closed, or :meth:`close`)."""
        return self._ended or self._closed.is_set()

    def close(self) -> None:
        """End the stream; safe from any thread, and more than once."""
        self._closed.set()
        with self._socket_lock:
            socket, self._socket = self._socket, None
        if socket is not None:
            try:
                socket.close()
            except Exception:  # closing is best effort; the reader sees the closed flag
                logger.debug("closing the websocket failed", exc_info=True)

    # -- the loop ----------------------------------------------------------------------------

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._check_connection()
        self._open_socket_with_retries()
        if self._history:
            self._gap_fill = iter(self._connection.transcript)
        elif self._since is not None:
            self._gap_fill = self._items_after(self._since)
        else:
            self._anchor = self._latest_item_id()
            if self._anchor is not None:  # already there: the socket may still replay it
                self._seen[self._anchor] = None

    def _next(self, deadline: Optional[float]) -> Optional[TranscriptItem]:
        self._start()
        while not self.ended:
            if self._connection.closed:
                self._finish()
                break
            item = self._take_pending()
            if item is not None:
                return self._deliver(item)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            try:
                self._maintain()
                self._read_socket(deadline)
            except _SocketLostError as dropped:
                if self.ended or self._connection.closed:
                    continue
                logger.info("websocket dropped (%s); reconnecting", dropped)
                try:
                    self._reconnect()
                except (AccessDeniedError, ConnectionClosedError) as exc:
                    # The service no longer knows this participant: the chat ended (or the
                    # participant left) while the socket was down.
                    logger.info("the stream ends: %s", type(exc).__name__)
                    self.end_reason = "the service refused the participant (the chat has ended)"
                    self._finish()
        self._finish()
        return None

    def _take_pending(self) -> Optional[TranscriptItem]:
        """The next unseen item: what the transcript fills in comes before what the socket sent."""
        while self._gap_fill is not None or self._pending:
            if self._gap_fill is not None:
                try:
                    item = next(self._gap_fill)
                except StopIteration:
                    self._gap_fill = None
                    continue
            else:
                item = self._pending.popleft()
            if not self._already_seen(item):
                return item
        return None

    def _deliver(self, item: TranscriptItem) -> TranscriptItem:
        if item.id:
            self._seen[item.id] = None
            if len(self._seen) > _SEEN_IDS_KEPT:
                self._seen.popitem(last=False)
            if item.type != "MESSAGEMETADATA" and item.event != "typing":
                self._anchor = item.id  # typing and receipts may not be kept in the transcript
        if item.absolute_time is not None and item.type != "MESSAGEMETADATA":
            self._last_time = max(self._last_time, item.absolute_time) if self._last_time else item.absolute_time
        if item.is_chat_ended:
            self.end_reason = "the chat ended"
            self._finish()
        return item

    def _already_seen(self, item: TranscriptItem) -> bool:
        if item.id and item.id in self._seen:
            return True
        # Older than what was already yielded: a replay beyond the remembered ids.
        return bool(
            item.type != "MESSAGEMETADATA"
            and self._last_time is not None
            and item.absolute_time is not None
            and item.absolute_time < self._last_time
        )

    def _finish(self) -> None:
        if self.end_reason is None:
            if self._closed.is_set():
                self.end_reason = "closed"
            elif self._connection.closed:
                self.end_reason = "the connection was closed"
        self._ended = True
        self._close_socket()

    # -- the socket --------------------------------------------------------------------------

    def _maintain(self) -> None:
        """Send a due heartbeat, notice an unanswered one, re-open before the URL expires."""
        now = time.monotonic()
        if self._heartbeat_deadline is not None and now >= self._heartbeat_deadline:
            raise _SocketLostError("heartbeat unanswered")
        if self._reopen_at is not None and datetime.now(timezone.utc) >= self._reopen_at:
            self._refresh_url = True
            raise _SocketLostError("websocket connection about to expire")
        if now >= self._next_heartbeat:
            self._send(HEARTBEAT)
            self._next_heartbeat = now + self._heartbeat_interval
            if self._heartbeat_deadline is None:
                self._heartbeat_deadline = now + self._heartbeat_timeout

    def _read_socket(self, deadline: Optional[float]) -> None:
        socket = self._socket
        if socket is None:
            raise _SocketLostError("no socket")
        wait = min(_POLL, max(0.0, self._next_heartbeat - time.monotonic()) + 0.001)
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        try:
            frame = socket.recv(timeout=wait)
        except TimeoutError:
            return
        except (WebSocketException, OSError) as exc:
            raise _SocketLostError(type(exc).__name__) from None
        self._handle_frame(frame)

    def _handle_frame(self, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            logger.warning("ignoring a websocket frame that is not JSON")
            return
        if not isinstance(message, dict):
            return
        topic = message.get("topic")
        if topic == "aws/heartbeat":
            self._heartbeat_deadline = None
        elif topic == "aws/chat":
            content = message.get("content")
            try:
                data = json.loads(content) if isinstance(content, str) else content
            except ValueError:
                logger.warning("ignoring an aws/chat frame whose content is not JSON")
                return
            if isinstance(data, dict):
                self._pending.append(TranscriptItem.from_response(data, connection=self._connection))

    def _send(self, frame: str) -> None:
        socket = self._socket
        if socket is None:
            raise _SocketLostError("no socket")
        try:
            socket.send(frame)
        except (WebSocketException, OSError) as exc:
            raise _SocketLostError(type(exc).__name__) from None

    def _close_socket(self) -> None:
        with self._socket_lock:
            socket, self._socket = self._socket, None
        if socket is not None:
            try:
                socket.close()
            except Exception:  # best effort
                logger.debug("closing the websocket failed", exc_info=True)

    def _websocket(self) -> Websocket:
        """A websocket URL that is not about to expire, fetching a fresh one when needed."""
        current = self._connection.websocket
        stale = (
            current is None
            or self._refresh_url
            or (
                current.expires_at is not None
                and datetime.now(timezone.utc) >= current.expires_at - self._url_refresh_margin
            )
        )
        if not stale:
            assert current is not None
            return current
        participant = self._connection.participant
        if participant is None:
            if current is not None and not self._refresh_url:
                return current
            raise StreamError("no usable websocket URL, and no participant to ask for a fresh one")
        response = participant.create_participant_connection(
            connect_participant=False, websocket=True, credentials=False
        )
        fresh = Websocket.from_response(response["Websocket"])
        self._connection._websocket = fresh
        self._refresh_url = False
        return fresh

    def _open_socket(self) -> None:
        websocket = self._websocket()
        logger.debug("opening the websocket %s", redact_url(websocket.url))
        try:
            # Entered by hand: the socket outlives this frame and _close_socket closes it
            # (websockets 17 warns about a connection that is neither entered nor "legacy").
            socket = connect(
                websocket.url,
                open_timeout=self._open_timeout,
                ping_interval=None,
                close_timeout=1,
                logger=_wire_logger,
            ).__enter__()
        except (WebSocketException, OSError, TimeoutError) as exc:
            if getattr(getattr(exc, "response", None), "status_code", None) in (401, 403):
                self._refresh_url = True
            raise _SocketLostError(f"could not open the websocket: {type(exc).__name__}") from None
        try:
            socket.send(SUBSCRIBE)
            deadline = time.monotonic() + self._open_timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _SocketLostError("subscription not confirmed")
                message = json.loads(socket.recv(timeout=remaining))
                if message.get("topic") == "aws/subscribe":
                    if (message.get("content") or {}).get("status") != "success":
                        raise _SocketLostError("subscription refused")
                    break
        except (WebSocketException, OSError, TimeoutError, ValueError) as exc:
            socket.close()
            raise _SocketLostError(f"subscribing failed: {type(exc).__name__}") from None
        except _SocketLostError:
            socket.close()
            raise
        with self._socket_lock:
            if self._closed.is_set():
                socket.close()
                return
            self._socket = socket
        now = time.monotonic()
        self._next_heartbeat = now + self._heartbeat_interval
        self._heartbeat_deadline = None
        self._reopen_at = websocket.expires_at - self._url_refresh_margin if websocket.expires_at else None

    def _open_socket_with_retries(self) -> None:
        failures = 0
        while not self.ended:
            try:
                self._open_socket()
                return
            except _SocketLostError as exc:
                failures += 1
                self._check_connection()
                if failures > self._reconnect_attempts:
                    raise StreamError(
                        f"the live stream could not be re-established after {failures} attempts: {exc}"
                    ) from None
                delay = min(self._backoff_max, self._backoff_base * 2 ** (failures - 1))
                delay *= random.uniform(0.5, 1.0)
                logger.info("websocket attempt %d failed (%s); retrying in %.2f s", failures, exc, delay)
                if self._closed.wait(delay):
                    return

    def _reconnect(self) -> None:
        self._close_socket()
        self._check_connection()
        self._open_socket_with_retries()
        if self.ended:
            return
        self.reconnects += 1
        # Whatever happened while the socket was down comes from the transcript, ahead of
        # what the new socket sends; duplicates are dropped by id.
        self._gap_fill = self._items_after(self._anchor) if self._anchor else iter(self._connection.transcript)

    def _check_connection(self) -> None:
        if self._connection.closed:
            raise ConnectionClosedError("the connection is closed; the stream cannot continue")

    # -- the transcript ----------------------------------------------------------------------

    def _items_after(self, item_id: str) -> Iterator[TranscriptItem]:
        """Transcript items after ``item_id``, oldest first (FORWARD from it)."""
        try:
            for item in self._connection.transcript.filter(start_id=item_id):
                if item.id != item_id:
                    yield item
        except (ValidationError, ResourceNotFoundError):
            if self._last_time is None:
                raise
            # The service does not know that id as a start position: go by time instead.
            logger.info("resuming by time: the transcript refused the start item")
            for item in self._connection.transcript.filter(start_time=self._last_time):
                if item.id != item_id:
                    yield item

    def _latest_item_id(self) -> Optional[str]:
        for item in self._connection.transcript.filter(direction="BACKWARD").limit(1):
            if item.absolute_time is not None:
                self._last_time = item.absolute_time
            return item.id
        return None
