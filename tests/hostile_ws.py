"""A hostile websocket server on 127.0.0.1 for stream tests: each misbehaviour is one function.

>>> with HostileWebsocket(confirm_then_drop) as server:   # doctest: +SKIP
...     connection._websocket = server.websocket()
...     ...
...     server.connections                               # how many sockets the client opened

A case is a function taking the server side of one accepted socket
(``websockets.sync.server.ServerConnection``); it returns when it is done with it. The raw
``never_answer_handshake`` case accepts TCP connections and never speaks HTTP.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Optional

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from connectparticipant_ext import Websocket

Case = Callable[[ServerConnection], None]

CONFIRMED = json.dumps({"topic": "aws/subscribe", "content": {"status": "success", "topics": ["aws/chat"]}})


def _await_subscribe(ws: ServerConnection) -> None:
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message.get("topic") == "aws/subscribe":
            return


def confirm_then_drop(ws: ServerConnection) -> None:
    """Confirm the subscription, then close the socket at once (issue 15, point 5)."""
    _await_subscribe(ws)
    ws.send(CONFIRMED)
    ws.close(1011, "going away")


def oversize_frame(ws: ServerConnection) -> None:
    """Confirm the subscription, then send a frame over the client's 1 MiB limit."""
    _await_subscribe(ws)
    ws.send(CONFIRMED)
    ws.send("x" * (2**20 + 1))
    try:
        ws.recv(timeout=5)
    except (ConnectionClosed, TimeoutError):
        pass


def silent_after_subscribe(ws: ServerConnection) -> None:
    """Confirm the subscription, then answer nothing (no heartbeats) until the client leaves."""
    _await_subscribe(ws)
    ws.send(CONFIRMED)
    try:
        while True:
            ws.recv(timeout=30)
    except (ConnectionClosed, TimeoutError):
        pass


def subscribe_answered_with_a_list(ws: ServerConnection) -> None:
    """Answer the subscription with ``[]`` (and other non-objects), never confirming it."""
    _await_subscribe(ws)
    for frame in ("[]", "5", "null", '"aws/subscribe"'):
        ws.send(frame)
    try:
        while True:
            ws.recv(timeout=30)
    except (ConnectionClosed, TimeoutError):
        pass


JUNK_THEN_ITEM = "junk-then-item"
"""The Content of the one good message :func:`junk_frames_then_an_item` sends."""


def junk_frames_then_an_item(ws: ServerConnection) -> None:
    """Confirm, then send frames that are not objects and chat items of junk, then one good
    message, then answer heartbeats until the client leaves."""
    _await_subscribe(ws)
    ws.send(CONFIRMED)
    junk_items = [
        [1, 2],
        "just a string",
        {"Id": [], "Type": 5, "AbsoluteTime": "junk"},
        {"Id": "m-junk", "Type": "MESSAGEMETADATA", "MessageMetadata": {"MessageId": 5, "Receipts": "abc"}},
        {"Id": "m-junk2", "Type": "MESSAGEMETADATA", "MessageMetadata": {"Receipts": [5, {"ReadTimestamp": []}]}},
        {"Id": "a-junk", "Type": "ATTACHMENT", "Attachments": "x"},
    ]
    for frame in ("[]", "5", "null", b"\xff\xfe", '{"topic": "aws/chat", "content": 7}'):
        ws.send(frame)
    for item in junk_items:
        ws.send(json.dumps({"topic": "aws/chat", "contentType": "application/json", "content": json.dumps(item)}))
    good = {
        "Id": "good-1",
        "Type": "MESSAGE",
        "ContentType": "text/plain",
        "Content": JUNK_THEN_ITEM,
        "AbsoluteTime": "2030-01-01T00:00:00.000Z",
        "ParticipantRole": "AGENT",
    }
    ws.send(json.dumps({"topic": "aws/chat", "contentType": "application/json", "content": json.dumps(good)}))
    try:
        while True:
            message = json.loads(ws.recv(timeout=30))
            if message.get("topic") == "aws/heartbeat":
                ws.send(json.dumps({"topic": "aws/heartbeat"}))
    except (ConnectionClosed, TimeoutError):
        pass


def never_answer_handshake(conn: socket.socket) -> None:
    """Accept TCP, never answer the HTTP upgrade (a socket that hangs while opening)."""
    conn.settimeout(30)
    try:
        while conn.recv(1024):
            pass
    except OSError:
        pass


class HostileWebsocket:
    """A loopback server running one case per accepted connection, in its own threads."""

    def __init__(self, case: Callable[..., None]) -> None:
        self.case = case
        self.connections = 0
        self._lock = threading.Lock()
        self._raw = case is never_answer_handshake
        self._threads: list[threading.Thread] = []
        if self._raw:
            self._listener = socket.socket()
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen(16)
            self.port = self._listener.getsockname()[1]
            self._accepted: list[socket.socket] = []
        else:
            self._server = serve(self._handle, "127.0.0.1", 0)
            self.port = self._server.socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/connect/hostile?AuthToken=not-a-secret"

    def websocket(self) -> Websocket:
        """A Websocket a connection can hold (valid for an hour)."""
        return Websocket(url=self.url, expires_at=datetime.now(timezone.utc) + timedelta(hours=1))

    def _handle(self, ws: ServerConnection) -> None:
        with self._lock:
            self.connections += 1
        try:
            self.case(ws)
        except (ConnectionClosed, TimeoutError, ValueError):
            pass

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._accepted.append(conn)
            thread = threading.Thread(target=self.case, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def __enter__(self) -> HostileWebsocket:
        target = self._accept_loop if self._raw else self._server.serve_forever
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._raw:
            for sock in [self._listener, *self._accepted]:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked in accept/recv
                except OSError:
                    pass
                sock.close()
        else:
            self._server.shutdown()
        for thread in self._threads:
            thread.join(10)
