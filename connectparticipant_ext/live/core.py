"""The live chat's protocol, without I/O: frames and transcript pages in, items and next steps out.

In the manner of h11 and wsproto, :class:`StreamCore` never opens a socket, calls the service,
sleeps, reads the clock or starts a thread. A driver (:class:`~connectparticipant_ext.live.ChatStream`
with threads, :class:`~connectparticipant_ext.live.AsyncChatStream` with asyncio) feeds it what
happened (:meth:`~StreamCore.frame_received`, :meth:`~StreamCore.socket_opened`,
:meth:`~StreamCore.gap_page`, ...) and asks :meth:`~StreamCore.next_action` what to do next
(:mod:`.actions`): hand an item over, read a transcript page, open a socket, send a frame,
flush receipts, or wait until a given moment. The clock is an argument (``now``, in
:func:`time.monotonic` seconds). The decisions, the way AWS's chat client (amazon-connect-chatjs
5) makes them, and then some:

* Heartbeats every ``heartbeat_interval`` (chatjs' websocket manager: 10 s); one unanswered
  within ``heartbeat_timeout``, a dropped socket, or a socket older than ``max_socket_age``
  (chatjs' ``TRANSPORT_LIFETIME_IN_SECONDS``, 3540 s) leads to a reconnect, with exponential
  backoff and jitter. A socket counts as working once it answered a heartbeat or delivered an
  item; one that fails before is a failed attempt, and after ``reconnect_attempts`` failures in
  a row the stream raises :class:`~connectparticipant_ext.StreamError`. A server that confirms
  the subscription and then drops the socket cannot cause a reconnect storm.
* After every (re)connect the gap is filled from the transcript, and each item comes once, in
  order (:mod:`.items`); Lex streamed replies are stitched (:mod:`.stitching`); receipts are
  batched (:mod:`.receipts`).
* After ``conn.disconnect()`` the stream goes on reading its socket until ``chat.ended`` (flows
  send messages after a customer leaves); it cannot reconnect then.
* What has arrived is handled first. Items received come before any socket work; a heartbeat
  counts as unanswered only once the driver has drained what the socket already received
  (:class:`~.actions.Drain`: the answer may be there, unread); and a stream that cannot go on
  (its socket went after ``disconnect()``, or the participant was refused) hands over every
  item it received, and what an open socket holds, before it ends, so a close right after
  ``chat.ended`` still delivers it.
"""

from __future__ import annotations

import enum
import json
import logging
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable, Optional, Union

from .._wire import CHAT_TOPIC, HEARTBEAT_TOPIC
from ..exceptions import AccessDeniedError, ConnectionClosedError, ServiceUnreachableError, StreamError
from ..models import TranscriptItem
from .actions import (
    HEARTBEAT,
    Action,
    Deliver,
    Drain,
    DropSocket,
    Ended,
    FetchLatest,
    FlushReceipts,
    GapPlan,
    OpenSocket,
    SendFrame,
    SocketLostError,
    Wait,
)
from .items import ItemFlow
from .settings import STATE_CHANGES, StreamSettings, StreamState

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = ["StreamCore"]

logger = logging.getLogger(__name__)

"""The public state's allowed changes."""


class _Socket(enum.Enum):
    NONE = "none"  # no socket, none opening: about to open one, or waiting out a backoff delay
    OPENING = "opening"
    OPEN = "open"
    DONE = "done"


_SOCKET: Mapping[tuple[_Socket, str], _Socket] = {
    (_Socket.NONE, "open"): _Socket.OPENING,
    (_Socket.OPENING, "opened"): _Socket.OPEN,
    (_Socket.OPENING, "failed"): _Socket.NONE,
    (_Socket.OPEN, "lost"): _Socket.NONE,
}
"""The socket's life as the core sees it: (where, what happened) -> where next; any -> DONE at the end."""


class StreamCore:
    """One live stream's protocol state. One driver loop feeds it; only :meth:`close`,
    :meth:`mark_read` and the read-only attributes may come from another thread.

    Args:
        settings: the checked options.
        connection: the connection items are bound to and whose ``closed`` flag is read; the
            core makes no call on it (the driver sends receipts with ``items.receipts.flush()``).
        jitter: numbers in [0, 1) for the backoff's jitter.
    """

    def __init__(
        self, settings: StreamSettings, connection: Connection, *, jitter: Callable[[], float] = random.random
    ) -> None:
        self.settings = settings
        self._connection = connection
        self._jitter = jitter
        self.items = ItemFlow(settings, connection)
        self.state = StreamState.CONNECTING
        self._socket = _Socket.NONE
        self._ended = False
        self._ending: Optional[str] = None  # why the stream ends once what it received is handed over
        self._unread = False  # the stream ends with its socket open: drain it before the end
        self._closed = False
        self.end_reason: Optional[str] = None
        self.reconnects = 0
        self.proven = False  # the current socket answered a heartbeat or delivered an item
        self.failures = 0
        self.retry_at: Optional[float] = None
        self._fresh_url = False  # the last URL was refused: ask for a fresh one
        self._needs_latest = not settings.history and settings.since is None
        self._opened_once = False
        self._ready: Optional[Deliver] = None
        self._greet = False  # a fresh socket's first heartbeat is due at once
        self._next_heartbeat = 0.0
        self._heartbeat_deadline: Optional[float] = None
        self._drained = False  # the driver drained the socket since the last action
        self._reopen_at: Optional[float] = None

    @property
    def ended(self) -> bool:
        return self._ended or self._closed

    @property
    def socket_open(self) -> bool:
        return self._socket is _Socket.OPEN

    @property
    def filling_gap(self) -> bool:
        """True while transcript pages are handed over: read what the socket already has first."""
        return self.items.filling and self._socket is _Socket.OPEN

    @property
    def settling(self) -> bool:
        """True from :meth:`socket_opened` until its first heartbeat is sent and the gap's first
        page read (what came before the socket opened; what comes later arrives on it)."""
        return self._socket is _Socket.OPEN and (self._greet or not self.items.first_page_read)

    def next_action(self, now: float) -> Action:
        """What the driver should do next; items already received come before socket work, and
        before the stream ends (unless closed)."""
        ready, self._ready = self._ready, None
        drained, self._drained = self._drained, False
        if ready is not None and not self._closed:
            return ready
        if self.ended:
            return Ended()
        if self._needs_latest:
            return FetchLatest()
        if self._greet:
            self._greet = False  # the first round trip tells a working socket from a broken one
            return self._heartbeat(now)
        step = self.items.take(now)
        if isinstance(step, Deliver):
            if step.item.is_chat_ended:
                self._finish("the chat ended")
            if self.items.receipts.due(now):
                self._ready = step  # a window of 0: the receipt goes out before the item
                return FlushReceipts()
        if step is not None:
            return step
        if self.items.receipts.due(now):
            return FlushReceipts()
        if self._ending is not None:
            if self._unread:
                self._unread = False
                return Drain()  # the socket may hold what came before the refusal (chat.ended)
            self._finish(self._ending)  # every item received is handed over
            return Ended()
        if self._socket is _Socket.OPENING:
            return Wait(self.items.receipts.flush_at, read=False)
        if self._socket is _Socket.NONE:
            if self.retry_at is not None and now < self.retry_at:
                return Wait(self.retry_at, read=False)
            self.retry_at = None
            self._move("open")
            fresh, self._fresh_url = self._fresh_url, False
            return OpenSocket(fresh_url=fresh)
        if self._heartbeat_deadline is not None and now >= self._heartbeat_deadline:
            if not drained:
                return Drain()  # the answer may have arrived and not been read yet
            return DropSocket("heartbeat unanswered")
        if self._reopen_at is not None and now >= self._reopen_at and not self._connection.closed:
            self.proven = True  # a planned re-open is no failure
            return DropSocket("the socket reached its maximum age")
        if now >= self._next_heartbeat:
            return self._heartbeat(now)
        wake = self._next_heartbeat
        for moment in (self._heartbeat_deadline, self._reopen_at, self.items.receipts.flush_at):
            if moment is not None:
                wake = min(wake, moment)
        return Wait(wake, read=True)

    # -- what the driver feeds in --------------------------------------------------------------

    def latest_item(self, item: Optional[TranscriptItem]) -> None:
        """The newest transcript item when a live-only stream starts (None: an empty transcript)."""
        self._needs_latest = False
        self.items.latest(item)

    def socket_opened(self, now: float) -> None:
        """A socket is open and subscribed: heartbeat at once, then fill the gap."""
        self._move("opened")
        self.proven = False
        self._greet = True
        self._heartbeat_deadline = None
        self._reopen_at = now + self.settings.max_socket_age
        if self._opened_once:
            self.reconnects += 1
        self.items.reconnected(first=not self._opened_once)
        self._opened_once = True
        self._set_state(StreamState.OPEN)

    def open_failed(self, error: BaseException, now: float) -> None:
        """An attempt to open failed with ``error`` (from the socket, the URL or the service).

        A socket that could not be opened or subscribed, or an unreachable service, is a failed
        attempt (retried with backoff); a refused participant or a closed connection ends the
        stream; anything else is the caller's to see.

        Raises:
            StreamError: that was one failed attempt too many.
            BaseException: ``error`` itself, when it is none of the above.
        """
        self._move("failed")
        if isinstance(error, (AccessDeniedError, ConnectionClosedError)):
            self._refused()
        elif not isinstance(error, (SocketLostError, ServiceUnreachableError)):
            raise error
        elif self._connection.closed:
            self._end_after_items("the connection was closed")
        else:
            self._fresh_url = self._fresh_url or (isinstance(error, SocketLostError) and error.url_refused)
            self._failed(str(error), now)

    def socket_lost(self, reason: str, now: float) -> None:
        """The open socket went (dropped, failed to send, or closed on the core's word).

        Raises:
            StreamError: it had not worked yet, and that was one failed attempt too many.
        """
        if self._socket is _Socket.OPEN:
            self._move("lost")
        self._greet = False
        if self.ended or self._ending is not None:
            return
        if self._connection.closed:
            # Disconnected: no call may be made any more, so no new socket.
            self._end_after_items("the connection was closed (its socket went before the chat ended)")
            return
        logger.info("websocket dropped (%s); reconnecting", reason)
        self._set_state(StreamState.RECONNECTING)
        if self.proven:
            self.failures = 0
            self.retry_at = None
        else:
            self._failed(f"the socket failed before it worked: {reason}", now)

    def frame_received(self, frame: Union[str, bytes]) -> None:
        """A frame from the socket: a heartbeat's answer, or a chat item to queue."""
        try:
            message = json.loads(frame)
        except (ValueError, RecursionError):
            logger.warning("ignoring a websocket frame that is not JSON")
            return
        if not isinstance(message, dict):
            return
        topic = message.get("topic")
        if topic == HEARTBEAT_TOPIC:
            self._heartbeat_deadline = None
            self.proven = True
        elif topic == CHAT_TOPIC:
            content = message.get("content")
            try:
                data = json.loads(content) if isinstance(content, str) else content
            except (ValueError, RecursionError):
                logger.warning("ignoring an aws/chat frame whose content is not JSON")
                return
            if isinstance(data, dict):
                self.proven = True
                self.items.received(data)

    def drained(self) -> None:
        """The driver handed every frame the socket had received to :meth:`frame_received`."""
        self._drained = True

    def gap_page(self, plan: GapPlan, items: Optional[list[TranscriptItem]]) -> None:
        """The next transcript page of ``plan`` (None: there are no more)."""
        self.items.gap_page(plan, items)

    def gap_read_failed(self, plan: GapPlan, error: BaseException) -> None:
        """Reading ``plan`` failed: after ``disconnect()`` only the socket is left; a refused
        participant ends the stream.

        Raises:
            BaseException: ``error`` itself, for any other error (the caller sees it).
        """
        if isinstance(error, AccessDeniedError):
            self._refused()
        elif isinstance(error, ConnectionClosedError):
            self.items.gap_dropped(plan)
        else:
            raise error

    def mark_read(self, message_id: str, now: float) -> None:
        """The caller read a message: batch a read receipt (any thread)."""
        self.items.mark_read(message_id, now)

    def close(self) -> bool:
        """The caller closed the stream (any thread); False if it already was."""
        if self._closed:
            return False
        if self.end_reason is None and not self._ended:
            self.end_reason = "closed"
        self._closed = True
        self._socket = _Socket.DONE
        self._set_state(StreamState.CLOSED)
        return True

    # -- inside ------------------------------------------------------------------------------

    def _heartbeat(self, now: float) -> SendFrame:
        self._next_heartbeat = now + self.settings.heartbeat_interval
        if self._heartbeat_deadline is None:
            self._heartbeat_deadline = now + self.settings.heartbeat_timeout
        return SendFrame(HEARTBEAT)

    def _move(self, event: str) -> None:
        if self._socket is _Socket.DONE:
            return
        try:
            self._socket = _SOCKET[(self._socket, event)]
        except KeyError:
            raise AssertionError(f"a driver reported {event!r} while the socket was {self._socket.value}") from None

    def _set_state(self, state: StreamState) -> None:
        if state is self.state or self.state is StreamState.CLOSED:
            return
        assert state in STATE_CHANGES[self.state], f"{self.state} -> {state}"
        self.state = state
        callback = self.settings.on_state_change
        if callback is not None:
            try:
                callback(state)
            except Exception:
                logger.exception("on_state_change raised; the stream goes on")

    def _refused(self) -> None:
        logger.info("the stream ends: the participant was refused or the connection closed")
        self._end_after_items(
            "the connection was closed"
            if self._connection.closed
            else "the service refused the participant (the chat has ended)"
        )

    def _failed(self, reason: str, now: float) -> None:
        self.failures += 1
        if self.failures > self.settings.reconnect_attempts:
            self._finish("the live stream could not be re-established")
            raise StreamError(f"the live stream could not be re-established after {self.failures} attempts: {reason}")
        delay = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (self.failures - 1))
        delay *= 0.5 + self._jitter() / 2
        logger.info("websocket attempt %d failed (%s); retrying in %.2f s", self.failures, reason, delay)
        self.retry_at = now + delay

    def _end_after_items(self, reason: str) -> None:
        """No socket any more and none to come: end once the items received are handed over.

        A drop after ``disconnect()`` or a refusal can come right after ``chat.ended`` arrived
        (the service closes the chat's sockets and refuses its tokens as the chat ends), so
        ending at once would lose the one item that says why. No more transcript pages are
        read; what was read of a gap comes first, and a socket still open (a refused gap read)
        is drained before the end.
        """
        if self._ending is None:
            self._ending = reason
            self._unread = self._socket is _Socket.OPEN
        self._socket = _Socket.DONE
        self._greet = False
        self.items.stop_reading()

    def _finish(self, reason: str) -> None:
        if self.end_reason is None:
            self.end_reason = "closed" if self._closed else reason
        self._ended = True
        self._socket = _Socket.DONE
        self._set_state(StreamState.CLOSED)
