"""The chat backend as a local HTTP server, for development against ``endpoint_url``.

One server answers everything a chat needs: the Participant Service (``/participant/...``,
unsigned), the Connect API's chat operations (signed, service ``connect``), and S3 for
attachment bytes (presigned URLs point back at this server). Websocket URLs point at the
loopback websocket hub. It listens on 127.0.0.1 unless told otherwise.

    with LocalServer() as server:
        chat = ChatService(region_name="us-east-1", endpoint_url=server.endpoint_url)

or from a shell: ``connectparticipant-ext serve --port 5000``.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Callable, Optional

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import storage
from ._registration import failed_upload_response, register, upload_failure_for
from .responses import handle_participant_request

__all__ = ["LocalServer", "chat_server_app", "serve"]

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Expose-Headers": "x-amzn-RequestId, x-amzn-ErrorType",
}


class ChatServerApp:
    """WSGI app: participant paths and the upload fault switch here, everything else to moto."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        register()
        self._moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/participant/"):
            cors = dict(_CORS)
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            if requested:  # "*" does not cover Authorization in browsers: name what was asked for
                cors["Access-Control-Allow-Headers"] = requested
            if method == "OPTIONS":
                return Response(status=200, headers=cors)(environ, start_response)
            request = Request(environ)
            status, headers, body = handle_participant_request(method, path, dict(request.headers), request.get_data())
            headers = {"x-amzn-RequestId": str(uuid.uuid4()), **headers, **cors}
            return Response(body, status=status, headers=headers)(environ, start_response)
        if method == "PUT" and path.lstrip("/").startswith(storage.BUCKET_PREFIX):
            failure = upload_failure_for(path)
            if failure is not None:
                status, headers, body = failed_upload_response(failure)
                return Response(body, status=status, headers=headers)(environ, start_response)
        return self._moto(environ, start_response)  # type: ignore[no-any-return]


def chat_server_app() -> ChatServerApp:
    """A new WSGI application serving the chat backend (for your own WSGI server)."""
    return ChatServerApp()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s", self.command, code)


def _check_host(host: str, allow_remote: bool) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ValueError(f"refusing to listen on {host!r}: pass allow_remote=True to serve beyond this machine")


class LocalServer:
    """The chat backend on a local port, in a background thread.

    Args:
        host: the address to listen on (loopback only unless ``allow_remote``).
        port: the port; 0 picks a free one (see :attr:`endpoint_url`).
        allow_remote: permit a non-loopback ``host``.
        quiet: log requests at DEBUG instead of werkzeug's access log.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False, quiet: bool = True
    ) -> None:
        _check_host(host, allow_remote)
        self.host = host
        self.port = port
        self._quiet = quiet
        self._server: Optional[BaseWSGIServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._server is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalServer:
        handler = _QuietHandler if self._quiet else WSGIRequestHandler
        self._server = make_server(self.host, self.port, chat_server_app(), threaded=True, request_handler=handler)
        storage.set_endpoint(self.endpoint_url)
        self._thread = threading.Thread(target=self._server.serve_forever, name="chat-local-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            storage.set_endpoint(None)
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 5000, *, allow_remote: bool = False) -> None:
    """Run the chat backend in the foreground until interrupted (``connectparticipant-ext serve``)."""
    _check_host(host, allow_remote)
    server = make_server(host, port, chat_server_app(), threaded=True)
    address = f"http://{server.server_address[0]!s}:{server.server_address[1]}"
    storage.set_endpoint(address)
    print(f"connectparticipant-ext: chat backend listening on {address} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        storage.set_endpoint(None)
