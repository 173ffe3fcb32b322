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
import json
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
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


MAX_API_BODY = 1024 * 1024
"""Largest Participant Service request body read, in bytes (the largest real one is ~17 KB)."""

MAX_UPLOAD_BODY = 64 * 1024 * 1024
"""Default largest body of any other request (attachment PUTs), in bytes; LocalServer(max_body=)."""


def _error_response(status: int, code: str, message: str, headers: Mapping[str, str]) -> Response:
    body = json.dumps({"message": message})
    return Response(
        body, status=status, headers={"Content-Type": "application/json", "x-amzn-ErrorType": code, **headers}
    )


class ChatServerApp:
    """WSGI app: participant paths and the upload fault switch here, everything else to moto.

    Request bodies are limited (:data:`MAX_API_BODY` for the Participant Service,
    ``max_body`` for the rest); a body over the limit is refused before it is read.
    """

    def __init__(self, max_body: int = MAX_UPLOAD_BODY) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        register()
        self._moto = DomainDispatcherApplication(create_backend_app)
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        limit = MAX_API_BODY if path.startswith("/participant/") else self.max_body
        if length < 0 or length > limit:
            message = f"the request body is over the local server's limit of {limit} bytes"
            return _error_response(413, "RequestEntityTooLargeException", message, _CORS)(environ, start_response)
        if length == 0 and environ.get("wsgi.input_terminated") and method in ("PUT", "POST"):
            # A body without Content-Length (chunked) could be any size: S3 refuses it too.
            message = "a request body needs a Content-Length header"
            return _error_response(411, "MissingContentLength", message, _CORS)(environ, start_response)
        if path.startswith("/participant/"):
            cors = dict(_CORS)
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            if requested:  # "*" does not cover Authorization in browsers: name what was asked for
                cors["Access-Control-Allow-Headers"] = requested
            if method == "OPTIONS":
                return Response(status=200, headers=cors)(environ, start_response)
            request = Request(environ)
            data = request.get_data()
            status, headers, body = handle_participant_request(method, path, dict(request.headers), data)
            headers = {"x-amzn-RequestId": str(uuid.uuid4()), **headers, **cors}
            return Response(body, status=status, headers=headers)(environ, start_response)
        if method == "PUT" and path.lstrip("/").startswith(storage.BUCKET_PREFIX):
            failure = upload_failure_for(path)
            if failure is not None:
                status, headers, body = failed_upload_response(failure)
                return Response(body, status=status, headers=headers)(environ, start_response)
            extra = environ.get(UNDERSCORE_HEADERS)
            if extra is not None:  # a WSGI server other than ours drops them: no check there
                request = Request(environ)
                refused = storage.check_presigned_put(request.url, {**dict(request.headers.items()), **extra})
                if refused is not None:
                    status, headers, body = refused
                    return Response(body, status=status, headers=headers)(environ, start_response)
                for name, value in extra.items():  # for moto, which reads headers from the environ
                    environ.setdefault("HTTP_" + name.upper().replace("-", "_"), value)
        return self._moto(environ, start_response)  # type: ignore[no-any-return]


def chat_server_app(max_body: int = MAX_UPLOAD_BODY) -> ChatServerApp:
    """A new WSGI application serving the chat backend (for your own WSGI server)."""
    return ChatServerApp(max_body)


UNDERSCORE_HEADERS = "connectparticipant_ext.underscore_headers"
"""WSGI environ key: the request headers whose names hold ``_``, which WSGI cannot carry."""


class _Handler(WSGIRequestHandler):
    """Keeps the headers werkzeug drops (names with ``_``, such as the service's
    ``x-amz-meta-contact_id``) under :data:`UNDERSCORE_HEADERS`, for the upload check."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[UNDERSCORE_HEADERS] = {k: v for k, v in self.headers.items() if "_" in k}
        return environ


class _QuietHandler(_Handler):
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
        max_body: the largest request body accepted besides API calls (attachment PUTs), bytes.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_remote: bool = False,
        quiet: bool = True,
        max_body: int = MAX_UPLOAD_BODY,
    ) -> None:
        _check_host(host, allow_remote)
        self.max_body = max_body
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
        handler = _QuietHandler if self._quiet else _Handler
        self._server = make_server(
            self.host, self.port, chat_server_app(self.max_body), threaded=True, request_handler=handler
        )
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
    server = make_server(host, port, chat_server_app(), threaded=True, request_handler=_Handler)
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
