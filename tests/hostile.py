"""A hostile HTTP endpoint on 127.0.0.1: each misbehaviour is one small function.

    def stall(request: HostileRequest) -> None:      # never answers (until the test ends)
        request.wait()

    with HostileHTTP(stall) as endpoint:
        ...  # point a client at endpoint.url

A handler gets a :class:`HostileRequest` (method, path, headers, body reader, raw socket
writer) and may answer properly (:meth:`HostileRequest.reply`), lie about sizes, send bytes
forever, or wait. Every wait is bounded by :data:`MAX_STALL` and released when the server
stops, so a test can never leave a thread behind. :func:`redirecting_session` sends a
library's presigned-URL traffic there, with a fake signature in the URL, so a test can also
check that the URL never leaks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Optional

import requests

MAX_STALL = 30.0
"""The longest any handler waits, in seconds, whatever it asks for."""

FAKE_SIGNATURE = "X-Amz-Signature=hostile-signature-0123456789"


class HostileRequest:
    """One request as a handler sees it."""

    def __init__(self, handler: BaseHTTPRequestHandler, released: threading.Event) -> None:
        self._handler = handler
        self._released = released
        self.method = handler.command
        self.path = handler.path
        self.headers = handler.headers

    def read_body(self, limit: int = 64 * 1024 * 1024) -> bytes:
        """The request body, as announced by Content-Length (at most ``limit`` bytes)."""
        length = min(int(self.headers.get("Content-Length") or 0), limit)
        return self._handler.rfile.read(length) if length else b""

    def reply(self, status: int = 200, body: bytes = b"", headers: Optional[dict[str, str]] = None) -> None:
        """A well-formed answer (Content-Length set from ``body`` unless given)."""
        self._handler.send_response(status)
        sent = {"Content-Length": str(len(body)), **(headers or {})}
        for name, value in sent.items():
            self._handler.send_header(name, value)
        self._handler.end_headers()
        self.write(body)

    def start(self, status: int = 200, headers: Optional[dict[str, str]] = None) -> None:
        """Send the status line and headers only; the body is the handler's to write."""
        self._handler.send_response(status)
        for name, value in (headers or {}).items():
            self._handler.send_header(name, value)
        self._handler.end_headers()

    def write(self, data: bytes) -> bool:
        """Write raw bytes; False once the client has gone away."""
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except OSError:
            return False
        return True

    def wait(self, seconds: float = MAX_STALL) -> None:
        """Do nothing for ``seconds`` (bounded), or until the server stops."""
        self._released.wait(min(seconds, MAX_STALL))


Handler = Callable[[HostileRequest], None]


class HostileHTTP:
    """A threaded HTTP server on a free loopback port whose every request goes to ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[str, str]] = []  # (method, path) of each request, in order
        self.released = threading.Event()
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                owner.requests.append((self.command, self.path))
                owner.handler(HostileRequest(self, owner.released))
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HostileHTTP:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def redirecting_session(endpoint: HostileHTTP) -> requests.Session:
    """A requests session that sends every request to ``endpoint``, with a fake signature in the URL."""

    class Redirecting(requests.Session):
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            return super().request(method, f"{endpoint.url}/bucket/key?{FAKE_SIGNATURE}", *args, **kwargs)

    return Redirecting()
