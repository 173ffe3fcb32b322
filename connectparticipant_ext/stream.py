"""The chat, live, over the websocket the service hands out: :class:`ChatStream`.

How it stays alive and gap-free, the way AWS's own chat client (amazon-connect-chatjs 5)
does it, and then some:

* After connecting it subscribes to ``aws/chat`` and sends ``aws/heartbeat`` every
  ``heartbeat_interval`` seconds (chatjs' websocket manager, ``src/lib/
  amazon-connect-websocket-manager.js``: a heartbeat every 10 s); a heartbeat unanswered
  within ``heartbeat_timeout`` or a dropped socket leads to a reconnect, with exponential
  backoff and jitter.
* A socket counts as working only once it has answered a heartbeat or delivered an item (a
  heartbeat is sent as soon as the subscription is confirmed). One that fails before that
  is a failed attempt: the next one waits (backoff), and after ``reconnect_attempts`` such
  failures in a row the stream raises :class:`~connectparticipant_ext.StreamError`. A
  server that confirms the subscription and drops the socket cannot cause a reconnect storm.
* The websocket URL's ``ConnectionExpiry`` is a deadline to *open* it (100 s in the real
  service), not the socket's lifetime: a URL within ``url_refresh_margin`` of it is replaced
  by a fresh one from ``CreateParticipantConnection`` (``Type=["WEBSOCKET"]``,
  ``ConnectParticipant=False``) before opening, and an open socket is re-opened after
  ``max_socket_age`` seconds (chatjs: ``TRANSPORT_LIFETIME_IN_SECONDS = 3540``, 59 minutes,
  in ``src/constants.js``, passed as ``transportLifeTimeInSeconds`` by
  ``src/core/connectionHelpers/LpcConnectionHelper.js``).
* After every (re)connect the gap is filled from GetTranscript, FORWARD from the last item
  yielded, and anything already yielded is dropped by ``Id``: each item comes exactly once,
  in order.
* Lex streamed replies (several ``MESSAGE`` items with one ``Id``, role ``SYSTEM``,
  ``MessageMetadata.MessageCompleted`` false and an increasing ``ChunkNumber``, then the
  whole text with ``MessageCompleted`` true) are stitched as chatjs'
  ``src/core/PartialMessageUtil.js`` does: a chunk is taken only when it is number 1 or the
  next number; any other chunk (out of order, duplicate) is ignored until the completed item
  replaces them all. By default only the completed message is yielded, once, with the
  first chunk's time; ``partial_messages=True`` also yields the growing text
  (``item.is_complete`` False).
* After ``conn.disconnect()`` the stream goes on reading its socket until ``chat.ended``
  (contact flows send messages after a customer leaves; chatjs 4.0+ does the same); it cannot
  reconnect then, since every call on the connection is refused.
* Receipts (``receipts=True`` and :meth:`ChatStream.mark_read`) are batched as chatjs'
  ``src/core/MessageReceiptsUtil.js`` does: over a throttle window (5 s,
  ``DEFAULT_MESSAGE_RECEIPTS_THROTTLE_MS`` in ``src/constants.js``) only the latest delivered
  and the latest read message get a SendEvent (a receipt covers the messages before it); a
  read receipt supersedes a delivered one for the same message; no message gets the same
  receipt twice; what is pending is sent when the stream closes.

Everything runs in the caller's thread, except opening a socket, which runs in a short-lived
helper thread so that ``get(timeout)`` holds while a socket opens and :meth:`ChatStream.close`
(from any thread) ends the loop at once. An idle stream sleeps until its next deadline (a
heartbeat due or unanswered, the socket's age, a receipts flush, the caller's timeout); it
does not poll.
"""

from __future__ import annotations

import collections
import enum
import itertools
import json
import logging
import math
import random
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from ._logging import SecretRedactingFilter
from ._redact import redact_url
from .events import ChatEvent
from .exceptions import (
    AccessDeniedError,
    ConflictError,
    ConnectionClosedError,
    ConnectParticipantError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ResourceNotFoundError,
    ServiceUnreachableError,
    StreamError,
    ValidationError,
)
from .models import TranscriptItem, Websocket

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["ChatStream", "StreamState", "MAX_SOCKET_AGE", "RECEIPT_THROTTLE"]

logger = logging.getLogger(__name__)

SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
HEARTBEAT = json.dumps({"topic": "aws/heartbeat"})

MAX_SOCKET_AGE = 3540.0
"""Seconds an open socket is kept before it is re-opened (chatjs' TRANSPORT_LIFETIME_IN_SECONDS)."""

RECEIPT_THROTTLE = 5.0
"""Seconds receipts are batched over (chatjs' DEFAULT_MESSAGE_RECEIPTS_THROTTLE_MS)."""

_SEEN_IDS_KEPT = 10_000


def _attachment_statuses(item: TranscriptItem) -> tuple[str, ...]:
    """The Status of each entry of an ATTACHMENT item, in order (junk entries count as "")."""
    entries = item.raw.get("Attachments")
    if not isinstance(entries, list):
        return ()
    return tuple(str(e.get("Status") or "") if isinstance(e, Mapping) else "" for e in entries)


_GAP_PAGE = 100  # GetTranscript's MaxResults limit

# websockets logs request lines at DEBUG; the URL's query string is a credential.
_wire_logger = logging.getLogger(__name__ + ".wire")
_wire_logger.addFilter(SecretRedactingFilter())


class StreamState(enum.Enum):
    """Where a :class:`ChatStream` is: opening its first socket, open, re-opening, or done."""

    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


class _SocketLostError(Exception):
    """The socket is gone or unhealthy; reconnect."""


def _seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number of seconds, checked at the call (NaN, inf, negatives, bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentTypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise InvalidArgumentError(f"{name} must be a finite, {'non-negative' if allow_zero else 'positive'} number")
    return number


class _Opening:
    """One attempt to open and subscribe a socket, run in a helper thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.socket: Optional[ClientConnection] = None
        self.websocket: Optional[Websocket] = None
        self.error: Optional[BaseException] = None
        self.abandoned = False
        self.lock = threading.Lock()


class _Receipts:
    """Delivered/read receipts, batched the way chatjs' MessageReceiptsUtil batches them."""

    def __init__(self, connection: Connection, window: float) -> None:
        self._connection = connection
        self.window = window
        self.enabled = True
        self._lock = threading.Lock()
        self._delivered: dict[str, int] = {}  # message id -> arrival order, waiting for a flush
        self._read: dict[str, int] = {}
        self._sent_delivered: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._sent_read: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.flush_at: Optional[float] = None
        self.calls = 0

    def _remember(self, sent: collections.OrderedDict[str, None], ids: Any) -> None:
        for message_id in ids:
            sent[message_id] = None
        while len(sent) > _SEEN_IDS_KEPT:
            sent.popitem(last=False)

    def delivered(self, message_id: str, order: int) -> None:
        with self._lock:
            if not self.enabled or message_id in self._sent_delivered or message_id in self._sent_read:
                return
            if message_id in self._read:
                return
            self._delivered[message_id] = order
            self._arm()

    def read(self, message_id: str, order: int) -> None:
        with self._lock:
            if not self.enabled or message_id in self._sent_read:
                return
            self._delivered.pop(message_id, None)  # read supersedes delivered
            self._read[message_id] = order
            self._arm()

    def _arm(self) -> None:
        if self.flush_at is None:
            self.flush_at = time.monotonic() + self.window

    def due(self) -> bool:
        return self.flush_at is not None and time.monotonic() >= self.flush_at

    def drop(self) -> None:
        with self._lock:
            self._delivered.clear()
            self._read.clear()
            self.flush_at = None

    def flush(self) -> None:
        """Send the latest read and the latest delivered receipt of the window; never raises."""
        with self._lock:
            self.flush_at = None
            if not self.enabled or self._connection.closed:
                self._delivered.clear()
                self._read.clear()
                return
            read = max(self._read.items(), key=lambda kv: kv[1]) if self._read else None
            delivered = max(self._delivered.items(), key=lambda kv: kv[1]) if self._delivered else None
            if read is not None and delivered is not None and read[1] >= delivered[1]:
                delivered = None  # a read receipt for a later message says delivered too
            self._remember(self._sent_read, self._read)
            self._remember(self._sent_delivered, self._delivered)
            self._read.clear()
            self._delivered.clear()
            try:
                if delivered is not None:
                    self.calls += 1
                    self._connection.send_delivered_receipt(delivered[0])
                if read is not None:
                    self.calls += 1
                    self._connection.send_read_receipt(read[0])
            except ConflictError:
                self.enabled = False
                logger.warning(
                    "message receipts are off for this chat: the service refused them (more than two participants)"
                )
            except ConnectionClosedError:
                pass
            except ConnectParticipantError as exc:
                logger.warning("sending message receipts failed (%s); they are dropped", type(exc).__name__)


class ChatStream:
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
        receipts: send delivered receipts for other participants' messages (not for the
            flow's or a Lex bot's ``SYSTEM`` messages, nor for this participant's own), batched.
        receipt_throttle: seconds receipts are batched over (chatjs: 5).
        on_state_change: called with the new :class:`StreamState` on every change, in the
            thread that caused it; an exception it raises is logged, not propagated.
        heartbeat_interval: seconds between ``aws/heartbeat`` frames (AWS's clients: 10).
        heartbeat_timeout: seconds to wait for a heartbeat's answer before reconnecting.
        reconnect_attempts: failed attempts in a row before giving up.
        backoff_base: first reconnect delay in seconds; doubles each attempt, with jitter.
        backoff_max: the longest reconnect delay.
        open_timeout: seconds to open the socket and get the subscription confirmed.
        url_refresh_margin: a websocket URL this close to its ``ConnectionExpiry`` (seconds
            or a timedelta) is replaced by a fresh one before opening.
        max_socket_age: seconds after which an open socket is re-opened (chatjs: 3540).
    """

    def __init__(
        self,
        connection: Connection,
        *,
        history: bool = False,
        since: Optional[str] = None,
        partial_messages: bool = False,
        receipts: bool = False,
        receipt_throttle: float = RECEIPT_THROTTLE,
        on_state_change: Optional[Callable[[StreamState], Any]] = None,
        heartbeat_interval: float = 10.0,
        heartbeat_timeout: float = 10.0,
        reconnect_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        open_timeout: float = 10.0,
        url_refresh_margin: Union[float, timedelta] = timedelta(seconds=60),
        max_socket_age: float = MAX_SOCKET_AGE,
    ) -> None:
        if since is not None and (not isinstance(since, str) or not since):
            raise InvalidArgumentError("since must be a non-empty item id")
        if history and since is not None:
            raise InvalidArgumentError("give history=True or since=, not both")
        for name, flag in (("history", history), ("partial_messages", partial_messages), ("receipts", receipts)):
            if not isinstance(flag, bool):
                raise InvalidArgumentTypeError(f"{name} must be True or False")
        if on_state_change is not None and not callable(on_state_change):
            raise InvalidArgumentTypeError("on_state_change must be callable")
        if isinstance(reconnect_attempts, bool) or not isinstance(reconnect_attempts, int):
            raise InvalidArgumentTypeError("reconnect_attempts must be an int")
        if reconnect_attempts < 0:
            raise InvalidArgumentError("reconnect_attempts must be 0 or more")
        if isinstance(url_refresh_margin, timedelta):
            if url_refresh_margin < timedelta(0):
                raise InvalidArgumentError("url_refresh_margin must not be negative")
            margin = url_refresh_margin
        else:
            margin = timedelta(seconds=_seconds("url_refresh_margin", url_refresh_margin, allow_zero=True))
        self._heartbeat_interval = _seconds("heartbeat_interval", heartbeat_interval)
        self._heartbeat_timeout = _seconds("heartbeat_timeout", heartbeat_timeout)
        self._open_timeout = _seconds("open_timeout", open_timeout)
        self._backoff_base = _seconds("backoff_base", backoff_base, allow_zero=True)
        self._backoff_max = _seconds("backoff_max", backoff_max, allow_zero=True)
        if self._backoff_max < self._backoff_base:
            raise InvalidArgumentError("backoff_max must not be less than backoff_base")
        self._max_socket_age = _seconds("max_socket_age", max_socket_age)
        receipt_window = _seconds("receipt_throttle", receipt_throttle, allow_zero=True)
        self._connection = connection
        self._history = history
        self._since = since
        self._partial_messages = partial_messages
        self._send_receipts = receipts
        self._on_state_change = on_state_change
        self._reconnect_attempts = reconnect_attempts
        self._url_refresh_margin = margin

        self._socket: Optional[ClientConnection] = None
        self._socket_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._ended = False
        self._started = False
        self._opening: Optional[_Opening] = None
        self._opened_once = False
        self._failures = 0
        self._retry_at: Optional[float] = None
        self._last_error = ""
        self._proven = False
        self._pending: collections.deque[TranscriptItem] = collections.deque()
        self._pending_ids: dict[str, int] = {}
        self._gap_fill: Optional[Iterator[TranscriptItem]] = None
        self._anchor: Optional[str] = since  # fill gaps after this item id
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        # ATTACHMENT items yielded, by id: their statuses. A scan verdict comes as the same item
        # again with a new Status (see testing.models ChatBackend._push_verdict); it is yielded.
        self._attachment_statuses: collections.OrderedDict[str, tuple[str, ...]] = collections.OrderedDict()
        if since is not None:
            self._seen[since] = None
        self._last_time: Optional[datetime] = None
        self._next_heartbeat = 0.0
        self._heartbeat_deadline: Optional[float] = None
        self._reopen_at: Optional[float] = None
        self._refresh_url = False
        # Lex streamed replies in progress: id -> (chunks taken, the anchor before the first chunk)
        self._partials: dict[str, tuple[list[Mapping[str, Any]], Optional[str]]] = {}
        self._order = 0
        self._arrival: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._own_message_ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._own_participant_id: Optional[str] = None
        self._receipts = _Receipts(connection, receipt_window)
        self._hooked = False
        self._state = StreamState.CONNECTING
        self.reconnects = 0
        """How many times the socket has been re-opened."""
        self.end_reason: Optional[str] = None
        """Why the stream ended (the chat ended, the connection was closed, or :meth:`close`)."""

    def __repr__(self) -> str:
        return f"ChatStream(state={self._state.value!r}, reconnects={self.reconnects})"

    # -- public surface ----------------------------------------------------------------------

    def __enter__(self) -> ChatStream:
        """Start the stream and wait (at most ``open_timeout``) for its first socket.

        Once in the ``with`` block, what the chat does next (typing, receipts, which are not
        kept in the transcript) reaches the stream. A first attempt that fails is retried by
        the iteration, with backoff.
        """
        try:
            self._start()
            deadline = time.monotonic() + self._open_timeout
            while self._socket is None and self._opening is not None and not self.ended:
                if time.monotonic() >= deadline:
                    break
                self._advance(deadline)
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
            timeout = _seconds("timeout", timeout, allow_zero=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._next(deadline=deadline)

    @property
    def state(self) -> StreamState:
        """:class:`StreamState`: CONNECTING, OPEN, RECONNECTING or CLOSED."""
        return self._state

    @property
    def ended(self) -> bool:
        """True once the stream has finished (chat ended, connection gone, or :meth:`close`)."""
        return self._ended or self._closed.is_set()

    @property
    def receipts_enabled(self) -> bool:
        """False once the service refused receipts for this chat (more than two participants)."""
        return self._receipts.enabled

    def mark_read(self, item: Union[TranscriptItem, str]) -> None:
        """Send a read receipt for a message (an item or its id), batched with the others.

        A read receipt supersedes a pending delivered one; a message is never marked twice.
        Safe from any thread; what is pending is sent at the end of the throttle window (when
        the stream next wakes) or when the stream closes. Never raises for a service error.
        """
        message_id = item.id if isinstance(item, TranscriptItem) else item
        if not isinstance(message_id, str) or not message_id:
            raise InvalidArgumentError("mark_read needs a message (an item or a non-empty id)")
        order = self._arrival.get(message_id)
        if order is None:
            self._order += 1
            order = self._order
        self._receipts.read(message_id, order)
        if self._receipts.window == 0:
            self._receipts.flush()

    def close(self) -> None:
        """End the stream; safe from any thread, and more than once. Returns at once.

        Receipts still pending are sent first.
        """
        if self._closed.is_set():
            return
        if self.end_reason is None and not self._ended:
            self.end_reason = "closed"
        self._closed.set()
        self._wake.set()
        opening = self._opening
        if opening is not None:
            with opening.lock:
                opening.abandoned = True  # the helper thread closes what it opens
        if not self._ended:
            self._receipts.flush()
        self._close_socket()
        self._set_state(StreamState.CLOSED)
        self._unhook()

    # -- the loop ----------------------------------------------------------------------------

    def _set_state(self, state: StreamState) -> None:
        if state is self._state:
            return
        self._state = state
        if self._on_state_change is not None:
            try:
                self._on_state_change(state)
            except Exception:
                logger.exception("on_state_change raised; the stream goes on")

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        if self._closed.is_set():
            return
        self._check_connection()
        if self._send_receipts:
            self._hook()
        if not self._history and self._since is None:
            # Only what comes after this moment: remember the newest item now, and fill from
            # it once the socket is open, so nothing written in between is lost.
            self._anchor = self._latest_item_id()
            if self._anchor is not None:
                self._seen[self._anchor] = None
        self._begin_opening()

    def _next(self, deadline: Optional[float]) -> Optional[TranscriptItem]:
        self._start()
        while not self.ended:
            item = self._take_pending()
            if item is not None:
                delivered = self._deliver(item)
                if delivered is not None:
                    return delivered
                continue
            if self._receipts.due():
                self._receipts.flush()
            if deadline is not None and time.monotonic() >= deadline:
                return None
            if self._socket is None:
                try:
                    self._advance(deadline)
                except (AccessDeniedError, ConnectionClosedError) as exc:
                    # The service no longer knows this participant: the chat ended (or the
                    # participant left) while the socket was down.
                    logger.info("the stream ends: %s", type(exc).__name__)
                    if self.end_reason is None:
                        self.end_reason = (
                            "the connection was closed"
                            if self._connection.closed
                            else "the service refused the participant (the chat has ended)"
                        )
                    self._finish()
                continue
            try:
                self._maintain()
                self._read_socket(deadline)
            except _SocketLostError as dropped:
                self._socket_lost(str(dropped))
        self._finish()
        return None

    def _take_pending(self) -> Optional[TranscriptItem]:
        """The next unseen item: what the transcript fills in comes before what the socket sent."""
        while self._gap_fill is not None or self._pending:
            if self._gap_fill is not None:
                self._drain_socket()
                try:
                    item = next(self._gap_fill)
                except StopIteration:
                    self._gap_fill = None
                    continue
                except ConnectionClosedError:
                    self._gap_fill = None  # disconnected: only the socket is left
                    continue
                if item.id and item.id in self._pending_ids:
                    # The socket has it (and everything after it): the gap is filled. What the
                    # socket got before it (typing, receipts) keeps its place in the order.
                    self._gap_fill = None
                    continue
            else:
                item = self._pending.popleft()
                count = self._pending_ids.get(item.id, 0)
                if count <= 1:
                    self._pending_ids.pop(item.id, None)
                else:
                    self._pending_ids[item.id] = count - 1
            if not self._already_seen(item):
                return item
        return None

    def _drain_socket(self) -> None:
        """Queue what the socket has already received, without waiting."""
        socket = self._socket
        while socket is not None:
            try:
                frame = socket.recv(timeout=0)
            except (TimeoutError, WebSocketException, OSError):
                return  # a lost socket is noticed by the next read
            self._handle_frame(frame)

    def _deliver(self, item: TranscriptItem) -> Optional[TranscriptItem]:
        """Record an item as yielded; stitch Lex chunks. None when nothing is to be yielded."""
        metadata = item.raw.get("MessageMetadata")
        if (
            item.type == "MESSAGE"
            and item.participant_role == "SYSTEM"
            and isinstance(metadata, Mapping)
            and isinstance(metadata.get("MessageCompleted"), bool)
        ):
            item_or_none = self._stitch(item, metadata)
            if item_or_none is None:
                return None
            item = item_or_none
            if not item.is_complete:
                return item
        if item.id:
            self._seen[item.id] = None
            if len(self._seen) > _SEEN_IDS_KEPT:
                self._seen.popitem(last=False)
            if item.type == "ATTACHMENT":
                self._attachment_statuses[item.id] = _attachment_statuses(item)
                if len(self._attachment_statuses) > _SEEN_IDS_KEPT:
                    self._attachment_statuses.popitem(last=False)
            if item.type != "MESSAGEMETADATA" and item.event is not ChatEvent.TYPING:
                self._anchor = item.id  # typing and receipts may not be kept in the transcript
        if item.absolute_time is not None and item.type != "MESSAGEMETADATA":
            self._last_time = max(self._last_time, item.absolute_time) if self._last_time else item.absolute_time
        self._order += 1
        if item.id and (item.is_message or item.is_attachment):
            self._arrival[item.id] = self._order
            if len(self._arrival) > _SEEN_IDS_KEPT:
                self._arrival.popitem(last=False)
        if (
            self._send_receipts
            and item.id
            and (item.is_message or item.is_attachment)
            and item.participant_role != "SYSTEM"  # flow and Lex messages: no participant to tell
            and not self._is_own(item)
        ):
            self._receipts.delivered(item.id, self._order)
            if self._receipts.window == 0:
                self._receipts.flush()
        if item.is_chat_ended:
            self.end_reason = "the chat ended"
            self._receipts.drop()
            self._finish()
        return item

    def _stitch(self, item: TranscriptItem, metadata: Mapping[str, Any]) -> Optional[TranscriptItem]:
        """chatjs' PartialMessageUtil: the item to yield for a streamed reply's piece, or None."""
        entry = self._partials.get(item.id)
        if metadata.get("MessageCompleted") is True:
            self._partials.pop(item.id, None)
            if entry is None or not entry[0]:
                return item
            first_time = entry[0][0].get("AbsoluteTime")
            raw = dict(item.raw)
            if first_time is not None:
                raw["AbsoluteTime"] = first_time
            return TranscriptItem.from_response(raw, connection=self._connection)
        chunk = metadata.get("ChunkNumber")
        if isinstance(chunk, bool) or not isinstance(chunk, int):
            return None
        if entry is None:
            if chunk != 1:
                return None  # out of order: wait for the completed message
            entry = ([], self._anchor)
            self._partials[item.id] = entry
        else:
            last = entry[0][-1].get("MessageMetadata", {}).get("ChunkNumber")
            if not isinstance(last, int) or chunk != last + 1:
                return None  # duplicate or out of order: ignored, as chatjs does
        entry[0].append(item.raw)
        if not self._partial_messages:
            return None
        raw = dict(item.raw)
        raw["Content"] = "".join(str(c.get("Content") or "") for c in entry[0])
        raw["AbsoluteTime"] = entry[0][0].get("AbsoluteTime")
        return TranscriptItem.from_response(raw, connection=self._connection)

    def _already_seen(self, item: TranscriptItem) -> bool:
        if item.type == "ATTACHMENT" and item.id in self._attachment_statuses:
            # The same attachment item again: new only when its status changed (a scan verdict).
            return self._attachment_statuses[item.id] == _attachment_statuses(item)
        if item.id and item.id in self._seen:
            return True
        if item.id in self._partials:
            return False  # a streamed reply's pieces and its completion share an id
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
        if not self._ended:
            self._receipts.flush()
        self._ended = True
        opening = self._opening
        if opening is not None:
            with opening.lock:
                opening.abandoned = True
        self._close_socket()
        self._set_state(StreamState.CLOSED)
        self._unhook()

    # -- which messages are our own (no receipts for those) ------------------------------------

    def _hook(self) -> None:
        events = self._connection.service.meta.client.meta.events
        events.register("before-parameter-build.connectparticipant.SendMessage", self._mark_own_call)
        events.register("after-call.connectparticipant.SendMessage", self._record_own_message)
        self._hooked = True

    def _unhook(self) -> None:
        if self._hooked:
            self._hooked = False
            events = self._connection.service.meta.client.meta.events
            events.unregister("before-parameter-build.connectparticipant.SendMessage", self._mark_own_call)
            events.unregister("after-call.connectparticipant.SendMessage", self._record_own_message)

    def _mark_own_call(self, params: Mapping[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        if params.get("ConnectionToken") == self._connection.token:
            context.setdefault("connectparticipant_ext_streams", []).append(self)

    def _record_own_message(self, parsed: Mapping[str, Any], context: Mapping[str, Any], **kwargs: Any) -> None:
        if self in context.get("connectparticipant_ext_streams", ()) and isinstance(parsed.get("Id"), str):
            self._own_message_ids[parsed["Id"]] = None
            while len(self._own_message_ids) > 1000:
                self._own_message_ids.popitem(last=False)

    def _is_own(self, item: TranscriptItem) -> bool:
        if item.id in self._own_message_ids:
            self._own_participant_id = item.participant_id or self._own_participant_id
            return True
        return self._own_participant_id is not None and item.participant_id == self._own_participant_id

    # -- the socket --------------------------------------------------------------------------

    def _maintain(self) -> None:
        """Send a due heartbeat, notice an unanswered one, re-open an old socket."""
        now = time.monotonic()
        if self._heartbeat_deadline is not None and now >= self._heartbeat_deadline:
            raise _SocketLostError("heartbeat unanswered")
        if self._reopen_at is not None and now >= self._reopen_at and not self._connection.closed:
            self._proven = True  # a planned re-open is no failure
            raise _SocketLostError("the socket reached its maximum age")
        if now >= self._next_heartbeat:
            self._heartbeat()

    def _heartbeat(self) -> None:
        now = time.monotonic()
        self._send(HEARTBEAT)
        self._next_heartbeat = now + self._heartbeat_interval
        if self._heartbeat_deadline is None:
            self._heartbeat_deadline = now + self._heartbeat_timeout

    def _read_socket(self, deadline: Optional[float]) -> None:
        socket = self._socket
        if socket is None:
            raise _SocketLostError("no socket")
        # Sleep until the next thing to do; close() wakes the read by closing the socket.
        wake = self._next_heartbeat
        for moment in (self._heartbeat_deadline, self._reopen_at, self._receipts.flush_at, deadline):
            if moment is not None:
                wake = min(wake, moment)
        wait = max(0.0, wake - time.monotonic())
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
            self._proven = True
        elif topic == "aws/chat":
            content = message.get("content")
            try:
                data = json.loads(content) if isinstance(content, str) else content
            except ValueError:
                logger.warning("ignoring an aws/chat frame whose content is not JSON")
                return
            if isinstance(data, dict):
                self._proven = True
                item = TranscriptItem.from_response(data, connection=self._connection)
                self._pending.append(item)
                self._pending_ids[item.id] = self._pending_ids.get(item.id, 0) + 1

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

    def _socket_lost(self, reason: str) -> None:
        """The socket went: count a failure unless it had proven itself, then re-open."""
        self._close_socket()
        if self.ended:
            return
        if self._connection.closed:
            # Disconnected: no call may be made any more, so no new socket.
            self.end_reason = self.end_reason or "the connection was closed (its socket went before the chat ended)"
            self._finish()
            return
        logger.info("websocket dropped (%s); reconnecting", reason)
        self._set_state(StreamState.RECONNECTING)
        if self._proven:
            self._failures = 0
            self._retry_at = None
        else:
            self._failed(f"the socket failed before it worked: {reason}")
        self._begin_opening()

    def _failed(self, reason: str) -> None:
        self._failures += 1
        self._last_error = reason
        if self._failures > self._reconnect_attempts:
            self._set_state(StreamState.CLOSED)
            self._ended = True
            self.end_reason = "the live stream could not be re-established"
            self._unhook()
            raise StreamError(f"the live stream could not be re-established after {self._failures} attempts: {reason}")
        delay = min(self._backoff_max, self._backoff_base * 2 ** (self._failures - 1))
        delay *= random.uniform(0.5, 1.0)
        logger.info("websocket attempt %d failed (%s); retrying in %.2f s", self._failures, reason, delay)
        self._retry_at = time.monotonic() + delay

    def _begin_opening(self) -> None:
        """Start an attempt now, or leave it to :meth:`_advance` after the backoff delay."""
        if self._opening is not None or self.ended:
            return
        if self._retry_at is not None and time.monotonic() < self._retry_at:
            return
        self._retry_at = None
        opening = _Opening()
        self._opening = opening
        self._wake.clear()
        thread = threading.Thread(
            target=self._open_in_thread, args=(opening,), name="connectparticipant-stream-open", daemon=True
        )
        thread.start()

    def _advance(self, deadline: Optional[float]) -> None:
        """Without a socket: wait (until the deadline) for the attempt in flight or the next one."""
        opening = self._opening
        if opening is None:
            self._begin_opening()
            opening = self._opening
            if opening is None:  # waiting out a backoff delay
                assert self._retry_at is not None
                wake = self._retry_at if deadline is None else min(self._retry_at, deadline)
                self._closed.wait(max(0.0, wake - time.monotonic()))
                return
        if not opening.done.is_set():
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            self._wake.wait(wait)
            self._wake.clear()
            if not opening.done.is_set():
                return
        self._opening = None
        if opening.error is not None:
            if isinstance(opening.error, (_SocketLostError, ServiceUnreachableError)):
                self._check_connection()
                self._failed(str(opening.error))
                self._begin_opening()
                return
            raise opening.error
        assert opening.socket is not None and opening.websocket is not None
        with self._socket_lock:
            if self._closed.is_set():
                opening.socket.close()
                return
            self._socket = opening.socket
        self._on_open()

    def _on_open(self) -> None:
        now = time.monotonic()
        self._proven = False
        self._heartbeat_deadline = None
        self._reopen_at = now + self._max_socket_age
        try:
            self._heartbeat()  # the first round trip tells a working socket from a broken one
        except _SocketLostError as exc:
            self._socket_lost(str(exc))
            return
        if self._opened_once:
            self.reconnects += 1
            # Whatever happened while the socket was down comes from the transcript, ahead of
            # what the new socket sends; duplicates are dropped by id. A streamed reply in
            # progress is re-read from before its first piece (the transcript has it whole).
            start = self._anchor
            for _chunks, anchor_before in self._partials.values():
                start = anchor_before
                break
            gap = self._items_after(start) if start else self._all_items()
        else:
            self._opened_once = True
            if self._history:
                gap = self._all_items()
            elif self._anchor is not None:
                gap = self._items_after(self._anchor)
            else:
                gap = self._all_items()
        self._gap_fill = self._primed(gap)
        self._set_state(StreamState.OPEN)

    def _primed(self, gap: Iterator[TranscriptItem]) -> Optional[Iterator[TranscriptItem]]:
        """Read the gap's first page now, while it holds only what came before the socket
        opened; what comes later arrives on the socket in its own order (typing, receipts
        and a streamed reply's pieces included)."""
        try:
            first = list(itertools.islice(gap, _GAP_PAGE))
        except ConnectionClosedError:
            return None
        return itertools.chain(first, gap)

    def _all_items(self) -> Iterator[TranscriptItem]:
        return iter(self._connection.transcript.page_size(_GAP_PAGE))

    def _open_in_thread(self, opening: _Opening) -> None:
        try:
            websocket = self._websocket()
            opening.websocket = websocket
            socket = self._open_socket(websocket)
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

    def _websocket(self) -> Websocket:
        """A websocket URL that can still be opened, fetching a fresh one when needed."""
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
        self._check_connection()
        response = participant.create_participant_connection(
            connect_participant=False, websocket=True, credentials=False
        )
        fresh = Websocket.from_response(response.get("Websocket") or {})
        self._connection._websocket = fresh
        self._refresh_url = False
        return fresh

    def _open_socket(self, websocket: Websocket) -> ClientConnection:
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
                if isinstance(message, dict) and message.get("topic") == "aws/subscribe":
                    content = message.get("content")
                    if not isinstance(content, dict) or content.get("status") != "success":
                        raise _SocketLostError("subscription refused")
                    return socket
                if self._closed.is_set():
                    raise _SocketLostError("closed while subscribing")
        except (WebSocketException, OSError, TimeoutError, ValueError) as exc:
            socket.close()
            raise _SocketLostError(f"subscribing failed: {type(exc).__name__}") from None
        except _SocketLostError:
            socket.close()
            raise

    def _check_connection(self) -> None:
        if self._connection.closed:
            raise ConnectionClosedError("the connection is closed; the stream cannot continue")

    # -- the transcript ----------------------------------------------------------------------

    def _items_after(self, item_id: str) -> Iterator[TranscriptItem]:
        """Transcript items after ``item_id``, oldest first (FORWARD from it)."""
        try:
            for item in self._connection.transcript.filter(start_id=item_id).page_size(_GAP_PAGE):
                if item.id != item_id:
                    yield item
                elif item.absolute_time is not None and self._last_time is None:
                    self._last_time = item.absolute_time  # what the socket replays from before is old
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
