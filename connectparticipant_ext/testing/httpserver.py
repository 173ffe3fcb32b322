"""The local server's listener: HTTP/1.1 on the backend's asyncio loop, a WSGI app on a small
bounded pool of threads, and websocket upgrades handed over to the hub on the same port.

Werkzeug's development server, which ``serve`` used before, takes a thread per connection for
as long as the connection lasts: every open page (a websocket and keep-alive connections) and
every client that sent half a request held one. Here a connection is an asyncio protocol on the
backend's one loop (:mod:`._loop`), parsed by h11 (python-hyper's HTTP/1.1 protocol without
I/O); a thread is taken only while the app computes an answer, once the whole request (head
and body) has arrived.

Deadlines, each a setting of :class:`HTTPListener`:

* ``header_timeout``: a request's head must be complete this long after the connection opens
  (or after the first byte of a later request on it). Past it the connection is dropped (with
  408 if part of a head had arrived), so a half-sent request holds nothing for long.
* ``keepalive_timeout``: how long a kept-alive connection may sit idle between requests.
* ``body_timeout``: the longest pause while a request body arrives.

A body is read into memory only up to ``body_limit(path)`` bytes (the app answers 413 from the
``Content-Length`` without it being read); a chunked body is never read (the app answers 411,
as S3 does). Each response is sent with a ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import logging
import socket
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any, Callable, Optional, Union, cast
from urllib.parse import unquote_to_bytes, urlsplit

import h11

from . import _loop

__all__ = [
    "HTTPListener",
    "UNDERSCORE_HEADERS",
    "host_name",
    "is_loopback_name",
]

logger = logging.getLogger(__name__)

HEADER_TIMEOUT = 5.0
"""Default seconds a request's head may take to arrive (:class:`HTTPListener`)."""

KEEPALIVE_TIMEOUT = 30.0
"""Default seconds a kept-alive connection may wait idle for its next request."""

BODY_TIMEOUT = 30.0
"""Default longest pause, in seconds, while a request body arrives."""

WORKERS = 16
"""Default number of threads that run the WSGI app (requests beyond it wait their turn)."""

MAX_HEAD = 64 * 1024
"""The largest request head (request line and headers) accepted, in bytes (431 past it)."""

LINGER = 2.0
"""Seconds a connection whose request body was not read keeps draining it after the answer, so
the client reads the answer before the connection is reset (nginx's lingering close)."""

BACKLOG = 1024

UNDERSCORE_HEADERS = "connectparticipant_ext.underscore_headers"
"""WSGI environ key: the request headers whose names hold ``_``, which WSGI cannot carry."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Upgrade = Callable[[asyncio.Transport, bytes], None]
"""Takes over a connection whose head asked for a websocket: its transport and the raw head."""
AccessLog = Callable[[str, str, int], None]

_LOOPBACK_NAMES = frozenset({"localhost"})


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without its port or IPv6 brackets, lower-cased."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_name(name: str) -> bool:
    """Whether a host name (as :func:`host_name` gives it) is this machine's loopback."""
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class _Answer:
    """What the WSGI app answered: status, headers and the whole body."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


def _call_app(app: WSGIApp, environ: dict[str, Any], access_log: Optional[AccessLog]) -> _Answer:
    """Run the app to completion and log the answer (on a worker thread: a log that blocks, a
    full stderr pipe say, holds that worker, never the loop)."""
    method, path = environ["REQUEST_METHOD"], environ["RAW_URI"].split("?", 1)[0]
    answer = _run_app(app, environ)
    if access_log is not None:
        access_log(method, path, answer.status)
    return answer


def _run_app(app: WSGIApp, environ: dict[str, Any]) -> _Answer:
    started: list[tuple[str, list[tuple[str, str]]]] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [(status, headers)]
        return chunks.append

    try:
        result = app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:
        logger.exception("the local server's app failed on %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
        return _Answer(500, "Internal Server Error", [("Content-Type", "text/plain")], b"Internal Server Error\n")
    if not started:
        return _Answer(500, "Internal Server Error", [("Content-Type", "text/plain")], b"no response\n")
    status, headers = started[0]
    code, _, reason = status.partition(" ")
    return _Answer(int(code), reason, list(headers), b"".join(chunks))


def _plain(status: int, text: str) -> _Answer:
    return _Answer(status, HTTPStatus(status).phrase, [("Content-Type", "text/plain; charset=utf-8")], text.encode())


def _is_websocket_upgrade(request: h11.Request) -> bool:
    return any(name == b"upgrade" and value.strip().lower() == b"websocket" for name, value in request.headers)


class _Connection(asyncio.Protocol):
    """One client connection: reads requests with h11, answers them one at a time."""

    def __init__(self, listener: HTTPListener) -> None:
        self.listener = listener
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.transport: Optional[asyncio.Transport] = None
        self.timer: Optional[asyncio.TimerHandle] = None
        self.phase = "head"
        """head (waiting for a request head), body, app (an answer is being computed), linger
        (the answer is out, an unread body is drained), done."""
        self.begun = False
        """Whether any byte of the current request has arrived (for the 408)."""
        self.request: Optional[h11.Request] = None
        self.body = bytearray()
        self.unread_body = False
        """The body is not read (over the limit, or chunked): the connection closes after the answer."""

    # -- asyncio callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.listener._connections.add(self)
        self._deadline(self.listener.header_timeout)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.phase = "done"
        self._cancel_deadline()
        self.listener._connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.phase == "linger":
            return  # an unread body: dropped
        if self.phase == "head" and not self.begun:
            self.begun = True
            self._deadline(self.listener.header_timeout)
        elif self.phase == "body":
            self._deadline(self.listener.body_timeout)
        self.h11.receive_data(data)
        self._process()

    def eof_received(self) -> Optional[bool]:
        if self.phase == "linger":
            return None
        self.h11.receive_data(b"")
        self._process()
        # A client that half-closes after its request still gets the answer being computed;
        # otherwise the transport closes itself.
        return True if self.phase == "app" else None

    # -- requests ------------------------------------------------------------------------------

    def _process(self) -> None:
        while self.phase in ("head", "body"):
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                self._answer_and_close(_plain(error.error_status_hint, f"Bad request: {error}\n"))
                return
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                if isinstance(event, h11.ConnectionClosed):
                    self.close()
                return
            if isinstance(event, h11.Request):
                self._on_request(event)
            elif isinstance(event, h11.Data):
                self.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._on_complete()

    def _on_request(self, request: h11.Request) -> None:
        self.request = request
        self.phase = "body"
        self._deadline(self.listener.body_timeout)
        headers = {name: value for name, value in request.headers}
        length = headers.get(b"content-length")
        path = self._path(request)
        if b"transfer-encoding" in headers or (length is not None and int(length) > self.listener.body_limit(path)):
            self.unread_body = True
            self._dispatch()
        elif self.h11.they_are_waiting_for_100_continue:
            self._write(self.h11.send(h11.InformationalResponse(status_code=100, headers=[])))

    def _on_complete(self) -> None:
        request = self.request
        assert request is not None
        if _is_websocket_upgrade(request) and self.listener.upgrade is not None:
            self._hand_over(request)
        else:
            self._dispatch()

    def _hand_over(self, request: h11.Request) -> None:
        """Give the connection to the websocket server: the head, as it came, then what followed."""
        assert self.transport is not None and self.listener.upgrade is not None
        host = dict(request.headers).get(b"host", b"").decode("latin-1")
        if self.listener.host_allowed is not None and host and not self.listener.host_allowed(host):
            self._answer_and_close(_plain(421, f"Misdirected request: this server does not serve {host!r}\n"))
            return
        lines = [b"%s %s HTTP/%s\r\n" % (request.method, request.target, request.http_version)]
        lines += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw_items()]
        head = b"".join(lines) + b"\r\n" + self.h11.trailing_data[0]
        self.phase = "done"
        self._cancel_deadline()
        self.listener._connections.discard(self)
        self.listener.upgrade(self.transport, head)

    def _dispatch(self) -> None:
        """Compute the answer on a worker thread (reading paused meanwhile), then send it."""
        request = self.request
        assert request is not None and self.transport is not None
        self.phase = "app"
        self._cancel_deadline()
        self.transport.pause_reading()
        if self.listener.app is None:
            self._send(_plain(426, "This port serves websocket URLs only.\n"))
            return
        environ = self._environ(request)
        future = self.listener._loop.run_in_executor(
            self.listener._executor, _call_app, self.listener.app, environ, self.listener.access_log
        )
        future.add_done_callback(self._answered)

    def _answered(self, future: asyncio.Future[_Answer]) -> None:
        if self.phase != "app":  # the connection went away meanwhile
            return
        if future.cancelled():
            self.close()
            return
        error = future.exception()
        self._send(_plain(500, "Internal Server Error\n") if error is not None else future.result())

    # -- answers -------------------------------------------------------------------------------

    def _send(self, answer: _Answer) -> None:
        request = self.request
        assert request is not None and self.transport is not None
        method = request.method.upper()
        bodiless = method == b"HEAD" or answer.status in (204, 304)
        headers = [
            (n, v) for n, v in answer.headers if bodiless or n.lower() not in ("content-length", "transfer-encoding")
        ]
        if not bodiless:
            headers.append(("Content-Length", str(len(answer.body))))
        if self.unread_body:
            headers.append(("Connection", "close"))
        try:
            data = self.h11.send(h11.Response(status_code=answer.status, headers=headers, reason=answer.reason))
            if not bodiless and answer.body:
                data += self.h11.send(h11.Data(data=answer.body))
            data += self.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            logger.exception("the local server could not send its answer to %s", request.method.decode())
            self.close()
            return
        self._write(data)
        self._next_cycle()

    def _answer_and_close(self, answer: _Answer) -> None:
        """An error answer when the request cannot go on (a bad head, a refused upgrade), then close."""
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            headers = [*answer.headers, ("Content-Length", str(len(answer.body))), ("Connection", "close")]
            try:
                data = self.h11.send(h11.Response(status_code=answer.status, headers=headers, reason=answer.reason))
                data += self.h11.send(h11.Data(data=answer.body)) + self.h11.send(h11.EndOfMessage())
            except h11.LocalProtocolError:
                data = b""
            self._write(data)
        self.close()

    def _next_cycle(self) -> None:
        assert self.transport is not None
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE and not self.unread_body:
            self.h11.start_next_cycle()
            self.phase = "head"
            self.begun = False
            self.request = None
            self.body = bytearray()
            self._deadline(self.listener.keepalive_timeout)
            self.transport.resume_reading()
            self._process()  # a pipelined request may be waiting already
        elif self.unread_body and self.h11.their_state is not h11.DONE:
            self.phase = "linger"
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.transport.resume_reading()
            self.timer = self.listener._loop.call_later(LINGER, self.close)
        else:
            self.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self.transport is not None and data and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        self.phase = "done"
        self._cancel_deadline()
        if self.transport is not None:
            self.transport.close()

    def _deadline(self, seconds: float) -> None:
        self._cancel_deadline()
        self.timer = self.listener._loop.call_later(seconds, self._expired)

    def _cancel_deadline(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self) -> None:
        self.timer = None
        if self.phase == "head" and self.begun and self.request is None:
            self._answer_and_close(_plain(408, "Request Timeout: the request's head took too long\n"))
        elif self.phase in ("head", "body"):
            self.close()

    @staticmethod
    def _path(request: h11.Request) -> str:
        """The target's path (an absolute-form target's too), still percent-encoded."""
        target = request.target.decode("latin-1")
        if target.startswith(("http://", "https://")):
            target = urlsplit(target)._replace(scheme="", netloc="").geturl() or "/"
        return target.split("?", 1)[0]

    def _environ(self, request: h11.Request) -> dict[str, Any]:
        """The request as a WSGI environ (PEP 3333), with werkzeug's treatment of ``_`` headers."""
        assert self.transport is not None
        target = request.target.decode("latin-1")
        path = self._path(request)
        query = target.split("?", 1)[1] if "?" in target else ""
        peer = self.transport.get_extra_info("peername") or ("", 0)
        host, port = self.listener.address
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method.decode("ascii"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": f"{path}?{query}" if query else path,
            "REQUEST_URI": target,
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("ascii"),
            "REMOTE_ADDR": str(peer[0]),
            "REMOTE_PORT": str(peer[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(bytes(self.body)),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        underscored: dict[str, str] = {}
        for raw_name, raw_value in request.headers.raw_items():
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            if "_" in name:  # WSGI cannot tell x_a from x-a: kept aside, as werkzeug does
                underscored[name] = value
                continue
            key = name.upper().replace("-", "_")
            if key == "TRANSFER_ENCODING":
                environ["wsgi.input_terminated"] = True
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        environ[UNDERSCORE_HEADERS] = underscored
        return environ


class HTTPListener:
    """One listening socket on the backend's loop; see the module's notes.

    Args:
        host, port: where to listen (port 0: a free one; see :attr:`address`).
        app: the WSGI app for plain requests (None: only websocket upgrades, 426 otherwise).
        upgrade: takes over connections that ask for a websocket (None: they go to ``app``).
        host_allowed: whether an upgrade's ``Host`` header names this server (421 otherwise).
        body_limit: the largest body read for a path, in bytes.
        header_timeout, keepalive_timeout, body_timeout: the deadlines, in seconds.
        workers: threads that run ``app``.
        access_log: called with method, path (no query string) and status of each answer the
            app gives, on the worker thread that ran it.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        app: Optional[WSGIApp] = None,
        upgrade: Optional[Upgrade] = None,
        host_allowed: Optional[Callable[[str], bool]] = None,
        body_limit: Callable[[str], int] = lambda path: 0,
        header_timeout: float = HEADER_TIMEOUT,
        keepalive_timeout: float = KEEPALIVE_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        workers: int = WORKERS,
        access_log: Optional[AccessLog] = None,
    ) -> None:
        for name, value in (
            ("header_timeout", header_timeout),
            ("keepalive_timeout", keepalive_timeout),
            ("body_timeout", body_timeout),
        ):
            if not 0 < value < threading.TIMEOUT_MAX:
                raise ValueError(f"{name} must be a positive number of seconds")
        self.app = app
        self.upgrade = upgrade
        self.host_allowed = host_allowed
        self.body_limit = body_limit
        self.header_timeout = header_timeout
        self.keepalive_timeout = keepalive_timeout
        self.body_timeout = body_timeout
        self.access_log = access_log
        self._loop = _loop.backend_loop()
        self._connections: set[_Connection] = set()
        self._executor: Optional[ThreadPoolExecutor] = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chat-local-server") if app is not None else None
        )
        self._socket = self._bind(host, port)
        self.address: tuple[str, int] = self._socket.getsockname()[:2]
        """The address and port it listens on."""
        self._server: Optional[asyncio.AbstractServer] = None
        self._serving = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        """Bind now, in the caller's thread, so a taken port is an OSError here."""
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        return socket.create_server(cast(Union[tuple[str, int], str], address[:2]), family=family, backlog=BACKLOG)

    async def _serve(self) -> None:
        self._server = await self._loop.create_server(lambda: _Connection(self), sock=self._socket, backlog=BACKLOG)

    def stop(self) -> None:
        """Stop listening and close every connection; waits for answers being computed."""
        if _loop.on_loop():
            self._stop_now()
        else:
            _loop.run(self._stop())
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def _stop(self) -> None:
        await asyncio.wrap_future(self._serving)
        self._stop_now()
        assert self._server is not None
        await self._server.wait_closed()

    def _stop_now(self) -> None:
        if self._server is not None:
            self._server.close()
        else:  # not serving yet: nothing will be
            self._serving.cancel()
            self._socket.close()
        for connection in list(self._connections):
            connection.close()
