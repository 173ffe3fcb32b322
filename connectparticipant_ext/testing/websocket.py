"""A loopback websocket server that speaks the Participant Service's chat frames.

The backend hands out ``ws://127.0.0.1:<port>/connect/<id>?AuthToken=<secret>`` URLs from
CreateParticipantConnection; this hub serves them. A client subscribes to ``aws/chat`` and
then receives every item written to its chat, in order, as ``aws/chat`` frames (the sender
included), and the hub answers ``aws/heartbeat`` and ``aws/ping``. It enforces each URL's
``ConnectionExpiry``, closes sockets when the chat ends or the participant leaves, and has
switches for tests: drop sockets, stop answering heartbeats.

Each socket has a bounded outgoing queue served by its own thread, so a slow reader never
blocks the chat; a reader that falls too far behind is disconnected (close code 1013) and,
as AWS's clients do, reconnects and fills the gap from the transcript.

One hub serves the whole process (every account and region, in-process mocks and the local
server alike). It starts on first use, listens on 127.0.0.1 only, and stops on
:func:`shutdown_hub` (the backend calls it on moto's reset).
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
from collections.abc import Hashable
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.sync.server import Server, ServerConnection, serve

__all__ = ["WebsocketHub", "get_hub", "shutdown_hub"]

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
OUTGOING_QUEUE_SIZE = 1000
"""Frames queued for one socket before the hub gives up on that reader."""

EARLY_FRAMES_KEPT = 200
"""Items held for a websocket URL that no socket has opened yet (see :meth:`WebsocketHub.publish`)."""

_POLL = 0.2


class _Registration:
    """What a websocket URL grants: one participant of one chat, until an expiry."""

    def __init__(self, chat_key: Hashable, participant_id: str, expires_at: datetime, secret: str) -> None:
        self.chat_key = chat_key
        self.participant_id = participant_id
        self.expires_at = expires_at
        self.secret = secret
        self.early: Optional[list[str]] = []
        """Items published since the URL was issued, until its first socket opens (then None)."""


class _Close:
    """Queued after the last frame: the sender closes the socket once it gets here."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class _Socket:
    """One open client socket: its registration, subscription and outgoing queue."""

    def __init__(self, connection: ServerConnection, registration: _Registration, early: list[str]) -> None:
        self.connection = connection
        self.registration = registration
        self.subscribed = threading.Event()
        self.outgoing: queue.Queue[str | _Close | None] = queue.Queue(maxsize=OUTGOING_QUEUE_SIZE)
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._early: Optional[list[str]] = list(early)
        """Items published after the socket opened but before it subscribed; None once subscribed."""

    def publish(self, frame: str) -> None:
        """Send a chat item, holding it until the subscription if the client has not sent it yet.

        Clients such as amazon-connect-chatjs report the chat as connected when the socket
        opens and may send a message before their ``aws/subscribe`` is answered; its echo
        must not be lost in between.
        """
        with self._lock:
            if self._early is not None:
                if len(self._early) < OUTGOING_QUEUE_SIZE:
                    self._early.append(frame)
                return
        self.push(frame)

    def subscribe(self, confirmation: str) -> None:
        """Confirm the subscription, then send what was published before it, in order."""
        with self._lock:
            early, self._early = self._early or [], None
            self.push(confirmation)
            for frame in early:
                self.push(frame)
        self.subscribed.set()

    def close_after_queue(self, code: int, reason: str) -> None:
        """Close once the frames already queued have gone out."""
        try:
            self.outgoing.put_nowait(_Close(code, reason))
        except queue.Full:
            self.close(code, reason)

    def push(self, frame: str) -> None:
        try:
            self.outgoing.put_nowait(frame)
        except queue.Full:
            logger.info("a websocket reader fell %d frames behind; disconnecting it", OUTGOING_QUEUE_SIZE)
            self.close(1013, "reader too slow")

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            self.outgoing.put_nowait(None)
        except queue.Full:
            pass
        try:
            self.connection.close(code, reason)
        except Exception:  # the peer may already be gone
            logger.debug("closing a websocket failed", exc_info=True)


class WebsocketHub:
    """The loopback websocket server and its registry of URLs and open sockets."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._registrations: dict[str, _Registration] = {}
        self._sockets: set[_Socket] = set()
        self._accepted: dict[ServerConnection, _Socket] = {}
        """Sockets past the handshake whose handler has not started yet."""
        self.answer_heartbeats = True
        """Set False to make the hub ignore ``aws/heartbeat`` frames (tests of dead sockets)."""
        self._server: Server = serve(
            self._handle,
            HOST,
            0,
            process_request=self._check_request,
            process_response=self._accept,
            ping_interval=None,
            close_timeout=1,
            compression=None,
        )
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="chat-websocket-hub", daemon=True)
        self._thread.start()

    # -- registry ------------------------------------------------------------------------------

    def register(self, chat_key: Hashable, participant_id: str, expires_at: datetime) -> str:
        """A new websocket URL for a participant of a chat, valid until ``expires_at``."""
        websocket_id = secrets.token_hex(16)
        secret = secrets.token_urlsafe(24)
        with self._lock:
            self._prune()
            self._registrations[websocket_id] = _Registration(chat_key, participant_id, expires_at, secret)
        return f"ws://{HOST}:{self.port}/connect/{websocket_id}?AuthToken={secret}"

    def publish(self, chat_key: Hashable, item: dict[str, Any]) -> None:
        """Push an item to every socket of a chat, in the order of calls.

        Nothing written after a participant was handed its websocket URL is lost on the way
        to its first socket: clients such as amazon-connect-chatjs send their first message
        as soon as CreateParticipantConnection answers, before their socket is open, and
        expect its echo. Until a URL's first socket opens, its items are held (up to
        :data:`EARLY_FRAMES_KEPT`); a socket gets them, then live items, once it subscribes.
        """
        frame = json.dumps({"topic": "aws/chat", "contentType": "application/json", "content": json.dumps(item)})
        with self._lock:
            for registration in self._registrations.values():
                early = registration.early
                if registration.chat_key == chat_key and early is not None and len(early) < EARLY_FRAMES_KEPT:
                    early.append(frame)
            sockets = self._sockets_of(chat_key)  # the lock is re-entrant
        for socket in sockets:
            socket.publish(frame)

    def end_chat(self, chat_key: Hashable) -> None:
        """Close every socket of a chat (after what was already published) and forget its URLs."""
        with self._lock:
            for key in [k for k, r in self._registrations.items() if r.chat_key == chat_key]:
                del self._registrations[key]
        for socket in self._sockets_of(chat_key):
            socket.close_after_queue(1000, "chat ended")

    def disconnect_participant(self, chat_key: Hashable, participant_id: str) -> None:
        """Close a participant's sockets and forget its URLs (it left the chat)."""
        with self._lock:
            for key in [
                k
                for k, r in self._registrations.items()
                if r.chat_key == chat_key and r.participant_id == participant_id
            ]:
                del self._registrations[key]
        for socket in self._sockets_of(chat_key):
            if socket.registration.participant_id == participant_id:
                socket.close_after_queue(1000, "participant left")

    def drop_sockets(self, chat_key: Optional[Hashable] = None) -> int:
        """Fault switch: abruptly close open sockets (of one chat, or all). Returns how many."""
        with self._lock:
            victims = [s for s in self._sockets if chat_key is None or s.registration.chat_key == chat_key]
        for socket in victims:
            socket.close(1011, "dropped by test")
        return len(victims)

    def open_sockets(self, chat_key: Optional[Hashable] = None) -> int:
        """How many sockets are open (of one chat, or all)."""
        with self._lock:
            return sum(1 for s in self._sockets if chat_key is None or s.registration.chat_key == chat_key)

    def shutdown(self) -> None:
        """Close every socket and stop listening."""
        with self._lock:
            sockets = list(self._sockets)
            self._registrations.clear()
        for socket in sockets:
            socket.close(1001, "server shutting down")
        self._server.shutdown()
        self._thread.join(timeout=5)

    # -- the server side -----------------------------------------------------------------------

    def _sockets_of(self, chat_key: Hashable) -> list[_Socket]:
        with self._lock:
            return [s for s in self._sockets if s.registration.chat_key == chat_key]

    def _prune(self) -> None:
        now = datetime.now(timezone.utc)
        for key in [k for k, r in self._registrations.items() if r.expires_at <= now]:
            del self._registrations[key]

    def _lookup(self, path: str) -> Optional[_Registration]:
        parts = urlsplit(path)
        websocket_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
        secret = (parse_qs(parts.query).get("AuthToken") or [""])[0]
        with self._lock:
            registration = self._registrations.get(websocket_id)
        if registration is None or not secrets.compare_digest(registration.secret, secret):
            return None
        if registration.expires_at <= datetime.now(timezone.utc):
            return None
        return registration

    def _check_request(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        if self._lookup(request.path) is None:
            return connection.respond(403, "Forbidden: unknown or expired websocket URL\n")
        return None

    def _accept(self, connection: ServerConnection, request: Request, response: Response) -> Optional[Response]:
        """Join the chat's sockets before the client learns the socket is open.

        The socket takes over what was held for its URL (see :meth:`publish`); what comes
        next is pushed to it directly, held until it subscribes.
        """
        if response.status_code == 101:
            registration = self._lookup(request.path)
            if registration is None:
                return connection.respond(403, "Forbidden: unknown or expired websocket URL\n")
            with self._lock:
                self._prune_sockets()
                socket = _Socket(connection, registration, early=registration.early or [])
                registration.early = None  # later sockets on this URL start from their own opening
                self._sockets.add(socket)
                self._accepted[connection] = socket
        return None

    def _prune_sockets(self) -> None:
        """Forget sockets whose handshake never completed (their handler never ran)."""
        for connection in [c for c in self._accepted if c.state is State.CLOSED]:
            self._sockets.discard(self._accepted.pop(connection))

    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            socket = self._accepted.pop(connection, None)
        if socket is None:
            connection.close(1008, "unknown or expired websocket URL")
            return
        sender = threading.Thread(target=self._send_loop, args=(socket,), name="chat-websocket-sender", daemon=True)
        sender.start()
        try:
            self._receive_loop(socket)
        finally:
            socket.close()
            with self._lock:
                self._sockets.discard(socket)
            sender.join(timeout=2)

    def _receive_loop(self, socket: _Socket) -> None:
        connection = socket.connection
        while not socket.closed.is_set():
            if socket.registration.expires_at <= datetime.now(timezone.utc):
                socket.close(1000, "connection expired")
                return
            try:
                frame = connection.recv(timeout=_POLL)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            self._answer(socket, frame)

    def _answer(self, socket: _Socket, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        topic = message.get("topic")
        if topic == "aws/subscribe":
            topics = (message.get("content") or {}).get("topics") or []
            status = "success" if "aws/chat" in topics else "failure"
            confirmation = json.dumps({"topic": "aws/subscribe", "content": {"status": status, "topics": topics}})
            if status == "success":
                socket.subscribe(confirmation)
            else:
                socket.push(confirmation)
        elif topic == "aws/heartbeat":
            if self.answer_heartbeats:
                socket.push(json.dumps({"topic": "aws/heartbeat"}))
        elif topic == "aws/ping":
            socket.push(json.dumps({"topic": "aws/ping", "statusCode": 200}))

    def _send_loop(self, socket: _Socket) -> None:
        while True:
            try:
                frame = socket.outgoing.get(timeout=_POLL)
            except queue.Empty:
                if socket.closed.is_set():
                    return
                continue
            if frame is None:
                return
            if isinstance(frame, _Close):
                socket.close(frame.code, frame.reason)
                return
            try:
                socket.connection.send(frame)
            except ConnectionClosed:
                return


_hub: Optional[WebsocketHub] = None
_hub_lock = threading.Lock()


def get_hub() -> WebsocketHub:
    """The process's hub, started on first use."""
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = WebsocketHub()
        return _hub


def shutdown_hub() -> None:
    """Stop the hub if it runs (moto's reset calls this through the backend)."""
    global _hub
    with _hub_lock:
        hub, _hub = _hub, None
    if hub is not None:
        hub.shutdown()
