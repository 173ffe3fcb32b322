"""A loopback websocket server that speaks the Participant Service's chat frames.

The backend hands out ``ws://127.0.0.1:<port>/connect/<id>?AuthToken=<secret>`` URLs from
CreateParticipantConnection; this hub serves them. A client subscribes to ``aws/chat`` and
then receives every item written to its chat, in order, as ``aws/chat`` frames (the sender
included), and the hub answers ``aws/heartbeat`` and ``aws/ping``.

How the service behaves, and so the hub:

* **Connect expiry.** "The response URL has a connect expiry timeout of 100s"
  (CreateParticipantConnection, API reference): a URL opens sockets until its
  ``connect_by`` moment (the response's ``ConnectionExpiry``) and is refused (HTTP 403)
  after it. An open socket does not end at that moment.
* **Maximum lifetime.** The server closes an open socket once it has been open for
  ``max_lifetime`` (close code 1001). AWS's clients re-open theirs before an hour is up
  (amazon-connect-chatjs ``TRANSPORT_LIFETIME_IN_SECONDS = 3540``); the service's own limit
  and close code are not documented, so the backend makes both a setting.
* **Idle timeout.** Optionally, a socket whose client has sent nothing (not even a heartbeat)
  for ``idle_timeout`` is closed (1001), as an API Gateway WebSocket is after 10 minutes;
  AWS's clients send ``aws/heartbeat`` every 10 s. Off unless the backend passes one.
* **Only after the subscription.** Items written before a socket has subscribed to
  ``aws/chat`` are not pushed to it: AWS's clients fetch the transcript when their
  connection is established (amazon-connect-chatjs README, ``onConnectionEstablished``;
  amazon-connect-chat-android ``ChatService.kt`` on ``ConnectionEstablished``). The evidence
  that the service drops them is indirect, so :attr:`WebsocketHub.deliver_before_subscribe`
  brings back the lenient behaviour: items are held for a URL no socket has opened yet and
  for a socket until it subscribes.
* **Deep heartbeat.** ``aws/ping`` is answered with ``statusCode: 200`` and
  ``statusContent: "OK"``; AWS's iOS and Android clients require both
  (amazon-connect-chat-ios ``Sources/Core/Network/WebSocketManager.swift``,
  amazon-connect-chat-android ``network/WebSocketManager.kt``).

Nothing a socket does can block whoever writes to a chat: :meth:`WebsocketHub.publish` only
appends to each socket's bounded outbox, which that socket's sender drains. A reader that falls
:attr:`WebsocketHub.max_queued_frames` behind is closed (code 1013) and, as AWS's clients do,
reconnects and fills the gap from the transcript; if it does not even take the close frame, its
TCP connection is cut shortly after.

Sockets cost no thread: each is two coroutines (a receiver and a sender) on the backend's one
asyncio loop (:mod:`._loop`, websockets' asyncio implementation), and the deadlines (maximum
lifetimes, idle timeouts, cut-offs) are the loop's timers. A thousand open sockets are a
thousand pairs of coroutines and one thread.

URLs are indexed by chat and by connect expiry (a heap), so issuing one costs the same with
ten or ten thousand outstanding, and a chat's events touch only that chat's sockets.

One hub serves the whole process (every account and region, in-process mocks and the local
server alike). It starts on first use and stops on :func:`shutdown_hub` (the backend calls it
on moto's reset). It listens on 127.0.0.1 on a port of its own, and also takes the websocket
upgrades that arrive on the local server's port (:meth:`WebsocketHub.adopt`); the URLs it
hands out point at the local server when one runs (:func:`set_url_base`), else at its own port.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Coroutine, Hashable
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, Union, cast
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

from .._logging import SecretRedactingFilter
from . import _loop
from .httpserver import HTTPListener, host_name, is_loopback_name

__all__ = ["WebsocketHub", "get_hub", "set_url_base", "shutdown_hub"]

logger = logging.getLogger(__name__)
_wire_logger = logging.getLogger(__name__ + ".wire")
"""websockets' own log of each adopted connection: its request lines carry the URL's AuthToken."""
_wire_logger.addFilter(SecretRedactingFilter())

HOST = "127.0.0.1"
OUTGOING_QUEUE_SIZE = 1000
"""Default for :attr:`WebsocketHub.max_queued_frames`."""

EARLY_FRAMES_KEPT = 200
"""Items held for a websocket URL that no socket has opened yet (lenient mode only)."""

CLOSE_GRACE = 2.0
"""Seconds a socket has to finish its closing handshake before its TCP connection is cut."""

OPEN_TIMEOUT = 10.0
"""Seconds a handed-over connection has to finish its opening handshake."""

MAX_FRAME = 2**20
"""The largest frame a client may send, in bytes (websockets' default; larger closes with 1009)."""

PING_ANSWER = json.dumps({"topic": "aws/ping", "statusCode": 200, "statusContent": "OK"})
HEARTBEAT_ANSWER = json.dumps({"topic": "aws/heartbeat"})

_url_base: Optional[str] = None


def set_url_base(base: Optional[str]) -> None:
    """Where the websocket URLs handed out point: ``ws(s)://host:port[/prefix]`` of the local
    server (its public URL behind a proxy), or None for the hub's own loopback port."""
    global _url_base
    _url_base = base.rstrip("/") if base else None


class _Registration:
    """What a websocket URL grants: one participant of one chat, opened before ``connect_by``."""

    __slots__ = (
        "chat_key",
        "connect_by",
        "early",
        "idle_timeout",
        "max_lifetime",
        "participant_id",
        "secret",
        "websocket_id",
    )

    def __init__(
        self,
        websocket_id: str,
        chat_key: Hashable,
        participant_id: str,
        connect_by: datetime,
        max_lifetime: Optional[timedelta],
        idle_timeout: Optional[timedelta],
        secret: str,
        *,
        hold_early: bool,
    ) -> None:
        self.websocket_id = websocket_id
        self.chat_key = chat_key
        self.participant_id = participant_id
        self.connect_by = connect_by
        self.max_lifetime = max_lifetime
        self.idle_timeout = idle_timeout
        self.secret = secret
        self.early: Optional[list[str]] = [] if hold_early else None
        """Lenient mode: items published since the URL was issued, until its first socket opens."""


class _Close:
    """The last thing a socket's sender handles: close with this code and reason."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class _Outbox:
    """A socket's outgoing frames. Putting (from any thread) never blocks; the sender awaits :meth:`get`."""

    def __init__(self, limit: int) -> None:
        self._frames: deque[str] = deque()
        self._limit = limit
        self._close: Optional[_Close] = None
        self._lock = threading.Lock()
        self._loop = _loop.backend_loop()
        self._ready = asyncio.Event()
        self._waiting = False
        """The sender waits for :attr:`_ready`: the next put or close must wake it."""

    def put(self, frame: str) -> bool:
        """Queue a frame; False when the outbox is full. Frames after a close are dropped."""
        with self._lock:
            if self._close is not None:
                return True
            if len(self._frames) >= self._limit:
                return False
            self._frames.append(frame)
            wake, self._waiting = self._waiting, False
        if wake:
            self._loop.call_soon_threadsafe(self._ready.set)
        return True

    def close(self, code: int, reason: str, *, flush: bool) -> bool:
        """Ask the sender to close, after the queued frames (``flush``) or at once. First ask wins."""
        with self._lock:
            if self._close is not None:
                return False
            if not flush:
                self._frames.clear()
            self._close = _Close(code, reason)
            wake, self._waiting = self._waiting, False
        if wake:
            self._loop.call_soon_threadsafe(self._ready.set)
        return True

    @property
    def closing(self) -> bool:
        return self._close is not None

    async def get(self) -> Union[str, _Close]:
        """The next frame, or the close request once the frames before it are out."""
        while True:
            with self._lock:
                if self._frames:
                    return self._frames.popleft()
                if self._close is not None:
                    return self._close
                self._ready.clear()
                self._waiting = True
            await self._ready.wait()


class _Socket:
    """One open client socket: its registration, subscription and outbox (made on the loop)."""

    def __init__(self, hub: WebsocketHub, connection: ServerConnection, registration: _Registration) -> None:
        self.hub = hub
        self.connection = connection
        self.registration = registration
        self.outbox = _Outbox(hub.max_queued_frames)
        self.subscribed = False
        self.early: list[str] = []
        """Lenient mode: items published after the socket opened, until it subscribes."""
        self.finished = threading.Event()
        """Set when the socket's handler has returned (the connection is closed)."""
        self.last_heard = time.monotonic()
        """When the client last sent a frame (for the idle timeout)."""

    def deliver(self, frame: str, *, hold_early: bool) -> None:
        """Queue a chat item (called under the hub's lock; never blocks)."""
        if not self.subscribed:
            if hold_early and len(self.early) < self.hub.max_queued_frames:
                self.early.append(frame)
            return
        if not self.outbox.put(frame):
            logger.info("a websocket reader fell %d frames behind; disconnecting it", self.hub.max_queued_frames)
            self.request_close(1013, "reader too slow", flush=False)

    def request_close(self, code: int, reason: str, *, flush: bool) -> None:
        """Have the sender close the socket; cut the TCP connection if that has not happened soon."""
        if self.outbox.close(code, reason, flush=flush):
            _call_later(CLOSE_GRACE, self.cut)

    def cut(self) -> None:
        """End the TCP connection at once (on the loop), waking a sender stuck on a reader that stopped reading."""
        if not self.finished.is_set():
            self.connection.transport.abort()


def _call_later(delay: float, callback: Callable[[], None]) -> None:
    """Run ``callback`` on the loop after ``delay`` seconds; safe from any thread."""
    loop = _loop.backend_loop()
    loop.call_soon_threadsafe(loop.call_later, delay, _guarded(callback))


def _guarded(callback: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            callback()
        except Exception:  # a callback's failure must not disturb the loop's other work
            logger.exception("a websocket hub timer callback failed")

    return run


def _lifetime_reached(socket: _Socket) -> Callable[[], None]:
    """The timer's callback for a socket's maximum lifetime (weak: a closed socket is not kept)."""
    ref = weakref.ref(socket)

    def close() -> None:
        alive = ref()
        if alive is not None:
            alive.request_close(1001, "connection lifetime reached", flush=False)

    return close


def _idle_check(socket: _Socket, idle: float) -> Callable[[], None]:
    """The timer's callback for a socket's idle timeout: close it, or look again when it could be due."""
    ref = weakref.ref(socket)

    def check() -> None:
        alive = ref()
        if alive is None or alive.outbox.closing:
            return
        due = alive.last_heard + idle
        now = time.monotonic()
        if now >= due:
            alive.request_close(1001, "idle timeout", flush=False)
        else:
            _call_later(due - now, check)

    return check


class _Accepting:
    """The one thing a websockets :class:`ServerConnection` asks of its server during the
    handshake: whether it still takes connections (the hub's stop only when it shuts down)."""

    def __init__(self) -> None:
        self.accepting = True

    def is_serving(self) -> bool:
        return self.accepting


class _AdoptedConnection(ServerConnection):
    """A websocket connection whose TCP connection a listener of ours accepted (see
    :meth:`WebsocketHub.adopt`): it runs the hub's handler instead of reporting to a
    websockets ``Server``, which would have accepted it itself."""

    def __init__(
        self,
        protocol: ServerProtocol,
        accepting: _Accepting,
        run: Callable[[ServerConnection], Coroutine[Any, Any, None]],
    ) -> None:
        super().__init__(protocol, cast(Server, accepting), ping_interval=None, close_timeout=1)
        self._run = run
        self.run_task: Optional[asyncio.Task[None]] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Connection.connection_made(self, transport)  # not ServerConnection's: see the class doc
        self.run_task = self.loop.create_task(self._run(self))


class _Chat:
    """The URLs issued for one chat and its open sockets."""

    __slots__ = ("registrations", "sockets")

    def __init__(self) -> None:
        self.registrations: dict[str, _Registration] = {}
        self.sockets: set[_Socket] = set()


class WebsocketHub:
    """The loopback websocket server and its registry of URLs and open sockets."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._registrations: dict[str, _Registration] = {}
        self._expiries: list[tuple[datetime, int, str]] = []
        """Heap of (connect_by, n, websocket id): pruned from the front as URLs expire."""
        self._counter = itertools.count()
        self._chats: dict[Hashable, _Chat] = {}
        self._accepted: dict[ServerConnection, _Socket] = {}
        """Sockets past the handshake whose handler has not started yet."""
        self.answer_heartbeats = True
        """Set False to make the hub ignore ``aws/heartbeat`` frames (tests of dead sockets)."""
        self.deliver_before_subscribe = False
        """Lenient mode: hold items for a URL until its first socket opens and for a socket
        until it subscribes, then send them. The service does not (see the module's notes)."""
        self.max_queued_frames = OUTGOING_QUEUE_SIZE
        """Frames queued for one socket before the hub gives up on that reader (new sockets)."""
        self._accepting = _Accepting()
        self._listener = HTTPListener(HOST, 0, upgrade=self.adopt, host_allowed=_loopback_host)
        self.port: int = self._listener.address[1]
        """The hub's own loopback port (its URLs use it when no local server runs)."""

    # -- registry ------------------------------------------------------------------------------

    def register(
        self,
        chat_key: Hashable,
        participant_id: str,
        connect_by: datetime,
        *,
        max_lifetime: Optional[timedelta] = None,
        idle_timeout: Optional[timedelta] = None,
    ) -> str:
        """A new websocket URL for a participant of a chat.

        The URL opens sockets until ``connect_by`` (an aware datetime, the response's
        ``ConnectionExpiry``) and is refused after it. Each socket it opens is closed by the
        server after ``max_lifetime`` (None: it stays open until the chat ends, the
        participant leaves, or the client closes it). With ``idle_timeout``, a socket whose
        client sends nothing for that long is closed too.
        """
        if not isinstance(connect_by, datetime) or connect_by.tzinfo is None:
            raise TypeError("connect_by must be an aware datetime")
        if max_lifetime is not None and (not isinstance(max_lifetime, timedelta) or max_lifetime <= timedelta(0)):
            raise ValueError("max_lifetime must be a positive timedelta or None")
        if idle_timeout is not None and (not isinstance(idle_timeout, timedelta) or idle_timeout <= timedelta(0)):
            raise ValueError("idle_timeout must be a positive timedelta or None")
        websocket_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(24)
        with self._lock:
            self._prune(datetime.now(timezone.utc))
            registration = _Registration(
                websocket_id,
                chat_key,
                participant_id,
                connect_by,
                max_lifetime,
                idle_timeout,
                secret,
                hold_early=self.deliver_before_subscribe,
            )
            self._registrations[websocket_id] = registration
            self._chat(chat_key).registrations[websocket_id] = registration
            heapq.heappush(self._expiries, (connect_by, next(self._counter), websocket_id))
        return f"{_url_base or f'ws://{HOST}:{self.port}'}/connect/{websocket_id}?AuthToken={secret}"

    def publish(self, chat_key: Hashable, item: dict[str, Any]) -> None:
        """Queue an item for every subscribed socket of a chat, in the order of calls.

        Never blocks on a socket. In lenient mode (:attr:`deliver_before_subscribe`) the
        item is also held for the chat's URLs that no socket has opened yet (up to
        :data:`EARLY_FRAMES_KEPT`) and for its sockets that have not subscribed yet.
        """
        frame = json.dumps({"topic": "aws/chat", "contentType": "application/json", "content": json.dumps(item)})
        with self._lock:
            chat = self._chats.get(chat_key)
            if chat is None:
                return
            hold_early = self.deliver_before_subscribe
            if hold_early:
                for registration in chat.registrations.values():
                    early = registration.early
                    if early is not None and len(early) < EARLY_FRAMES_KEPT:
                        early.append(frame)
            for socket in chat.sockets:
                socket.deliver(frame, hold_early=hold_early)

    def end_chat(self, chat_key: Hashable) -> None:
        """Close every socket of a chat (after what was already published) and forget its URLs."""
        with self._lock:
            chat = self._chats.get(chat_key)
            if chat is None:
                return
            for websocket_id in chat.registrations:
                self._registrations.pop(websocket_id, None)
            chat.registrations.clear()
            for socket in chat.sockets:
                socket.request_close(1000, "chat ended", flush=True)
            self._forget_if_empty(chat_key, chat)

    def disconnect_participant(self, chat_key: Hashable, participant_id: str) -> None:
        """Close a participant's sockets and forget its URLs (it left the chat)."""
        with self._lock:
            chat = self._chats.get(chat_key)
            if chat is None:
                return
            for websocket_id in [k for k, r in chat.registrations.items() if r.participant_id == participant_id]:
                del chat.registrations[websocket_id]
                self._registrations.pop(websocket_id, None)
            for socket in chat.sockets:
                if socket.registration.participant_id == participant_id:
                    socket.request_close(1000, "participant left", flush=True)
            self._forget_if_empty(chat_key, chat)

    def drop_sockets(self, chat_key: Optional[Hashable] = None) -> int:
        """Fault switch: abruptly close open sockets (of one chat, or all). Returns how many.

        Nothing published after this call reaches the dropped sockets.
        """
        with self._lock:
            victims = self._open_sockets(chat_key)
            for socket in victims:
                socket.request_close(1011, "dropped by test", flush=False)
        return len(victims)

    def open_sockets(self, chat_key: Optional[Hashable] = None) -> int:
        """How many sockets are open and not closing (of one chat, or all)."""
        with self._lock:
            return len(self._open_sockets(chat_key))

    def outstanding_urls(self) -> int:
        """How many issued URLs may still open a socket (expired ones may linger until the next prune)."""
        with self._lock:
            self._prune(datetime.now(timezone.utc))
            return len(self._registrations)

    def shutdown(self) -> None:
        """Close every socket and stop listening (from any thread but the loop's)."""
        with self._lock:
            sockets = [s for chat in self._chats.values() for s in chat.sockets]
            sockets += list(self._accepted.values())
            self._registrations.clear()
            self._expiries.clear()
            for socket in sockets:
                socket.request_close(1001, "server shutting down", flush=False)
        _loop.call_soon(self._stop_accepting)
        deadline = time.monotonic() + CLOSE_GRACE
        for socket in sockets if not _loop.on_loop() else ():  # the loop cannot wait for itself
            if not socket.finished.wait(max(0.0, deadline - time.monotonic())):
                _loop.call_soon(socket.cut)
        self._listener.stop()

    def _stop_accepting(self) -> None:
        self._accepting.accepting = False

    # -- bookkeeping (under the lock) ----------------------------------------------------------

    def _chat(self, chat_key: Hashable) -> _Chat:
        chat = self._chats.get(chat_key)
        if chat is None:
            chat = self._chats[chat_key] = _Chat()
        return chat

    def _forget_if_empty(self, chat_key: Hashable, chat: _Chat) -> None:
        if not chat.registrations and not chat.sockets and self._chats.get(chat_key) is chat:
            del self._chats[chat_key]

    def _open_sockets(self, chat_key: Optional[Hashable]) -> list[_Socket]:
        if chat_key is None:
            chats: list[_Chat] = list(self._chats.values())
        else:
            found = self._chats.get(chat_key)
            chats = [found] if found is not None else []
        return [s for chat in chats for s in chat.sockets if not s.outbox.closing]

    def _prune(self, now: datetime) -> None:
        """Forget URLs past their connect expiry: amortised O(log n) per URL issued."""
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            _, _, websocket_id = heapq.heappop(expiries)
            registration = self._registrations.pop(websocket_id, None)
            if registration is not None:
                chat = self._chats.get(registration.chat_key)
                if chat is not None:
                    chat.registrations.pop(websocket_id, None)
                    self._forget_if_empty(registration.chat_key, chat)

    # -- the server side -----------------------------------------------------------------------

    def _lookup(self, path: str) -> Optional[_Registration]:
        parts = urlsplit(path)
        websocket_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
        secret = (parse_qs(parts.query).get("AuthToken") or [""])[0]
        with self._lock:
            registration = self._registrations.get(websocket_id)
        if registration is None or not secrets.compare_digest(registration.secret, secret):
            return None
        if registration.connect_by <= datetime.now(timezone.utc):
            return None
        return registration

    def adopt(self, transport: asyncio.Transport, head: bytes) -> None:
        """Take over a connection whose request (``head``, as received) asks for a websocket.

        Called on the loop by an :class:`HTTPListener` (the hub's own, or the local server's,
        so websockets share its port); the opening handshake and the socket run from here.
        """
        protocol = ServerProtocol(max_size=MAX_FRAME, logger=_wire_logger)
        connection = _AdoptedConnection(protocol, self._accepting, self._run)
        transport.set_protocol(connection)
        connection.connection_made(transport)
        connection.data_received(head)

    async def _run(self, connection: ServerConnection) -> None:
        """An adopted connection's life, as websockets' own server runs one: the opening
        handshake (bounded), then the socket; the TCP connection is closed when it returns."""
        try:
            await asyncio.wait_for(connection.handshake(self._check_request, self._accept), OPEN_TIMEOUT)
            if connection.protocol.state is not State.OPEN:
                connection.transport.abort()
                return
            try:
                async with connection:
                    await self._handle(connection)
            except Exception:
                logger.exception("a websocket handler failed")
        except Exception:  # the handshake timed out or failed: do not leak the connection
            connection.transport.abort()
        finally:
            with self._lock:
                self._prune_accepted()

    def _check_request(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        if self._lookup(request.path) is None:
            return connection.respond(403, "Forbidden: unknown or expired websocket URL\n")
        return None

    def _accept(self, connection: ServerConnection, request: Request, response: Response) -> Optional[Response]:
        """Join the chat's sockets before the client learns the socket is open.

        In lenient mode the socket takes over what was held for its URL (see :meth:`publish`).
        """
        if response.status_code == 101:
            registration = self._lookup(request.path)
            if registration is None:
                return connection.respond(403, "Forbidden: unknown or expired websocket URL\n")
            with self._lock:
                self._prune_accepted()
                socket = _Socket(self, connection, registration)
                if registration.early is not None:
                    socket.early = registration.early
                    registration.early = None  # later sockets on this URL start from their own opening
                self._chat(registration.chat_key).sockets.add(socket)
                self._accepted[connection] = socket
            if registration.max_lifetime is not None:
                _call_later(registration.max_lifetime.total_seconds(), _lifetime_reached(socket))
            if registration.idle_timeout is not None:
                idle = registration.idle_timeout.total_seconds()
                _call_later(idle, _idle_check(socket, idle))
        return None

    def _prune_accepted(self) -> None:
        """Forget sockets whose handshake never completed (their handler never ran)."""
        for connection in [c for c in self._accepted if c.state is State.CLOSED]:
            self._discard(self._accepted.pop(connection))

    def _discard(self, socket: _Socket) -> None:
        socket.finished.set()
        key = socket.registration.chat_key
        chat = self._chats.get(key)
        if chat is not None:
            chat.sockets.discard(socket)
            self._forget_if_empty(key, chat)

    async def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            socket = self._accepted.pop(connection, None)
        if socket is None:
            await connection.close(1008, "unknown or expired websocket URL")
            return
        sender = asyncio.create_task(self._send_loop(socket))
        try:
            await self._receive_loop(socket)
        finally:
            socket.request_close(1000, "", flush=False)  # wakes the sender if the client left
            await asyncio.wait([sender], timeout=CLOSE_GRACE + 1)
            with self._lock:
                self._discard(socket)

    async def _receive_loop(self, socket: _Socket) -> None:
        connection = socket.connection
        while True:
            try:
                frame = await connection.recv()
            except ConnectionClosed:
                return
            socket.last_heard = time.monotonic()
            if not socket.outbox.closing:
                self._answer(socket, frame)

    def _answer(self, socket: _Socket, frame: Union[str, bytes]) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        topic = message.get("topic")
        if topic == "aws/subscribe":
            content = message.get("content")
            topics = content.get("topics") if isinstance(content, dict) else None
            if not isinstance(topics, list):
                topics = []
            status = "success" if "aws/chat" in topics else "failure"
            confirmation = json.dumps({"topic": "aws/subscribe", "content": {"status": status, "topics": topics}})
            if status == "success":
                self._subscribe(socket, confirmation)
            else:
                self._reply(socket, confirmation)
        elif topic == "aws/heartbeat":
            if self.answer_heartbeats:
                self._reply(socket, HEARTBEAT_ANSWER)
        elif topic == "aws/ping":
            self._reply(socket, PING_ANSWER)

    def _subscribe(self, socket: _Socket, confirmation: str) -> None:
        """Confirm the subscription; from now on (under the lock) published items reach the socket."""
        with self._lock:
            early, socket.early = socket.early, []
            socket.subscribed = True
            for frame in [confirmation, *early]:
                if not socket.outbox.put(frame):
                    socket.request_close(1013, "reader too slow", flush=False)
                    break

    def _reply(self, socket: _Socket, frame: str) -> None:
        if not socket.outbox.put(frame):
            socket.request_close(1013, "reader too slow", flush=False)

    async def _send_loop(self, socket: _Socket) -> None:
        connection = socket.connection
        while True:
            frame = await socket.outbox.get()
            if isinstance(frame, _Close):
                try:
                    await connection.close(frame.code, frame.reason)
                except Exception:  # the peer may already be gone
                    logger.debug("closing a websocket failed", exc_info=True)
                return
            try:
                await connection.send(frame)
            except ConnectionClosed:
                return
            except OSError:  # the connection was cut (see _Socket.cut)
                return


def _loopback_host(host: str) -> bool:
    """The hub's own port answers loopback names only (a page rebinding a name to 127.0.0.1 does not)."""
    return is_loopback_name(host_name(host))


_hub: Optional[WebsocketHub] = None
_hub_lock = threading.Lock()


def get_hub() -> WebsocketHub:
    """The process's hub, started on first use."""
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = WebsocketHub()
        return _hub


def _forget_hub_after_fork() -> None:
    """In a forked child, the parent's hub lives on the parent's loop: the child makes its own.

    The parent's hub is kept, not shut down: its sockets are the parent's to close.
    """
    global _hub, _hub_lock
    if _hub is not None:
        _orphaned_hubs.append(_hub)
    _hub, _hub_lock = None, threading.Lock()


_orphaned_hubs: list[WebsocketHub] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_hub_after_fork)


def shutdown_hub() -> None:
    """Stop the hub if it runs (moto's reset calls this through the backend)."""
    global _hub
    with _hub_lock:
        hub, _hub = _hub, None
    if hub is not None:
        hub.shutdown()
