"""The chat backend as a local HTTP server, for development against ``endpoint_url``.

One server, on one port, answers everything a chat needs: the Participant Service
(``/participant/...``, unsigned), the Connect API's chat operations (signed, service
``connect``), S3 for attachment bytes (presigned URLs point back at this server), the chats'
websockets (``/connect/...``, upgraded on the same port), AWS's start-chat API for its chat
widget (``POST /start-chat``, see :mod:`.startchat`), and the moto services message streaming
uses (SNS, SQS, DynamoDB). It listens on 127.0.0.1 unless told otherwise.

    with LocalServer() as server:
        chat = ChatService(region_name="us-east-1", endpoint_url=server.endpoint_url)

or from a shell: ``connectparticipant-ext serve`` (port :data:`DEFAULT_PORT`).

Connections live on the backend's asyncio loop (:mod:`.httpserver`): an open websocket or an
idle connection holds no thread, and a request whose head does not arrive within a few seconds
is dropped. Who may use the server is an :class:`AccessPolicy`: requests must name the server
by a loopback name or its public URL's host (DNS rebinding is refused with 421); browsers may
call it from loopback pages, the public URL's and the origins named (403 for others, and
never an ``Access-Control-Allow-Origin`` that echoes just any origin); moto's own API
(``/moto-api/``: state dumps and reset) is off unless asked for. Behind a proxy, a port map or
on a Selenium grid, ``public_url`` is the base of every URL handed out: websocket URLs
(``wss://`` for an https base), presigned S3 URLs and the start-chat URL.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from .._local import DEFAULT_CONTACT_FLOW_ID, DEFAULT_INSTANCE_ID, DEFAULT_PORT
from . import storage, websocket
from ._registration import failed_upload_response, register, upload_failure_for
from .httpserver import HEADER_TIMEOUT, UNDERSCORE_HEADERS, WORKERS, HTTPListener, host_name, is_loopback_name
from .responses import handle_participant_request
from .startchat import PATH as START_CHAT_PATH
from .startchat import StartChatDefaults, no_such_method, preflight, start_chat

__all__ = ["DEFAULT_PORT", "AccessPolicy", "LocalServer", "chat_server_app", "serve"]

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

_CORS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Expose-Headers": "x-amzn-RequestId, x-amzn-ErrorType",
}
"""What an allowed origin may do (besides being named in ``Access-Control-Allow-Origin``)."""

MOTO_API_PREFIX = "/moto-api"

MAX_API_BODY = 1024 * 1024
"""Largest Participant Service request body read, in bytes (the largest real one is ~17 KB)."""

MAX_UPLOAD_BODY = 64 * 1024 * 1024
"""Default largest body of any other request (attachment PUTs), in bytes; LocalServer(max_body=)."""


def _error_response(status: int, code: str, message: str, headers: Mapping[str, str]) -> Response:
    body = json.dumps({"message": message})
    return Response(
        body, status=status, headers={"Content-Type": "application/json", "x-amzn-ErrorType": code, **headers}
    )


def _origin_of(url: str) -> str:
    """The web origin (``scheme://host[:port]``) of a URL, lower-cased, default ports dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{parts.port}" if parts.port not in (None, default) else "")


class AccessPolicy:
    """Who may use the local server: the names it answers to, the web origins, moto's API.

    Args:
        public_url: the base URL clients reach the server by (behind a proxy, a port map, on a
            grid); its host is served besides the loopback names, its origin is allowed, its
            path (a prefix the proxy may or may not strip) is ignored in requests.
        cors_origins: web origins allowed besides loopback pages and the public URL's
            (``https://app.example:8443``).
        moto_api: serve moto's own ``/moto-api/`` (state dumps, reset), off by default.
        listen_host: the address listened on; served as a name too when it is one address.
    """

    def __init__(
        self,
        *,
        public_url: Optional[str] = None,
        cors_origins: Iterable[str] = (),
        moto_api: bool = False,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.public_url = public_url.rstrip("/") if public_url else None
        self.prefix = urlsplit(self.public_url).path.rstrip("/") if self.public_url else ""
        self.cors_origins = frozenset(_origin_of(origin) for origin in cors_origins)
        self.moto_api = moto_api
        hosts = set()
        if self.public_url is not None:
            hosts.add(host_name(urlsplit(_origin_of(self.public_url)).netloc))
        if listen_host not in ("", "0.0.0.0", "::"):  # noqa: S104 - a wildcard names no host
            hosts.add(host_name(listen_host))
        self.hosts = frozenset(hosts)

    def host_allowed(self, host_header: str) -> bool:
        """Whether a request's ``Host`` names this server (else it was sent to another name)."""
        name = host_name(host_header)
        return is_loopback_name(name) or name in self.hosts

    def origin_allowed(self, origin: str) -> bool:
        """Whether a page of ``origin`` may call the server."""
        try:
            named = _origin_of(origin)
        except ValueError:  # "null" (a sandboxed frame, a file), or junk
            return False
        if named in self.cors_origins:
            return True
        if self.public_url is not None and named == _origin_of(self.public_url):
            return True
        return is_loopback_name(host_name(urlsplit(named).netloc))

    def strip_prefix(self, path: str) -> str:
        """``path`` without the public URL's path, for a proxy that forwards it unchanged."""
        if self.prefix and (path == self.prefix or path.startswith(self.prefix + "/")):
            return path[len(self.prefix) :] or "/"
        return path


def _without_cors(start_response: StartResponse, cors: Mapping[str, str]) -> StartResponse:
    """moto answers with CORS headers of its own (flask-cors: any origin); ours replace them."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        return start_response(status, kept + list(cors.items()), exc_info)

    return start


class ChatServerApp:
    """WSGI app: participant paths, start-chat and the upload checks here, the rest to moto.

    Request bodies are limited (:data:`MAX_API_BODY` for the Participant Service and
    start-chat, ``max_body`` for the rest); a body over the limit is refused before it is read.
    """

    def __init__(
        self,
        max_body: int = MAX_UPLOAD_BODY,
        *,
        policy: Optional[AccessPolicy] = None,
        start_chat_defaults: Optional[StartChatDefaults] = None,
    ) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        register()
        self._moto = DomainDispatcherApplication(create_backend_app)
        self.max_body = max_body
        self.policy = policy or AccessPolicy()
        self.start_chat_defaults = start_chat_defaults or StartChatDefaults(
            instance_id=DEFAULT_INSTANCE_ID, contact_flow_id=DEFAULT_CONTACT_FLOW_ID
        )

    def body_limit(self, path: str) -> int:
        """The largest request body read for a (raw) path, in bytes."""
        path = self.policy.strip_prefix(path)
        return MAX_API_BODY if path.startswith(("/participant/", START_CHAT_PATH)) else self.max_body

    def _cors(self, environ: dict[str, Any]) -> Optional[dict[str, str]]:
        """CORS headers for the request's origin; None when a page of that origin is refused."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return {}
        if not self.policy.origin_allowed(origin):
            return None
        cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin", **_CORS}
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if requested:  # "*" does not cover Authorization in browsers: name what was asked for
            cors["Access-Control-Allow-Headers"] = requested
        return cors

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if host is not None and not self.policy.host_allowed(host):
            message = f"this server does not answer to {host_name(host)!r}: start it with --public-url naming that host"
            return _error_response(421, "MisdirectedRequest", message, {})(environ, start_response)
        path = self.policy.strip_prefix(environ.get("PATH_INFO", ""))
        environ["PATH_INFO"] = path
        if "RAW_URI" in environ:
            environ["RAW_URI"] = self.policy.strip_prefix(environ["RAW_URI"])
        method = environ.get("REQUEST_METHOD", "GET")
        cors = self._cors(environ)
        if cors is None:
            message = f"pages of {environ['HTTP_ORIGIN']!r} may not call this server: start it with --cors-origin"
            return _error_response(403, "ForbiddenOrigin", message, {})(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        limit = self.body_limit(path)
        if length < 0 or length > limit:
            message = f"the request body is over the local server's limit of {limit} bytes"
            return _error_response(413, "RequestEntityTooLargeException", message, cors)(environ, start_response)
        if length == 0 and environ.get("wsgi.input_terminated") and method in ("PUT", "POST"):
            # A body without Content-Length (chunked) could be any size: S3 refuses it too.
            message = "a request body needs a Content-Length header"
            return _error_response(411, "MissingContentLength", message, cors)(environ, start_response)
        if path.rstrip("/") == START_CHAT_PATH:
            return self._start_chat(environ, method, cors)(environ, start_response)
        if method == "OPTIONS":
            return Response(status=200, headers=cors)(environ, start_response)
        if path.startswith("/participant/"):
            return self._participant(environ, method, path, cors)(environ, start_response)
        if path.startswith(MOTO_API_PREFIX) and not self.policy.moto_api:
            message = "moto's own API (state dumps, reset) is off: start the server with --moto-api"
            return _error_response(404, "NotFound", message, cors)(environ, start_response)
        if path.lstrip("/").startswith(storage.BUCKET_PREFIX):
            if method == "PUT":
                refused = self._check_upload(environ, path)
                if refused is not None:
                    return refused(environ, start_response)
            if host is not None and not is_loopback_name(host_name(host)):
                # through a public URL: moto's S3 would read a dotted Host as a bucket's name
                environ["HTTP_HOST"] = "localhost"
        return self._moto(environ, _without_cors(start_response, cors))  # type: ignore[no-any-return]

    def _participant(self, environ: dict[str, Any], method: str, path: str, cors: dict[str, str]) -> Response:
        request = Request(environ)
        data = request.get_data()
        status, headers, body = handle_participant_request(method, path, dict(request.headers), data)
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), **headers, **cors}
        return Response(body, status=status, headers=headers)

    def _start_chat(self, environ: dict[str, Any], method: str, cors: dict[str, str]) -> Response:
        origin = {k: v for k, v in cors.items() if k in ("Access-Control-Allow-Origin", "Vary")}
        if method == "OPTIONS":
            status, headers, body = preflight()
        elif method == "POST":
            status, headers, body = start_chat(Request(environ).get_data(), self.start_chat_defaults)
        else:
            status, headers, body = no_such_method()
        if status == 502:  # API Gateway's own answer to a failed function: no CORS headers
            origin = {}
        return Response(body, status=status, headers={**headers, **origin})

    def _check_upload(self, environ: dict[str, Any], path: str) -> Optional[Response]:
        """The upload fault switch and S3's signature check of a presigned attachment PUT."""
        failure = upload_failure_for(path)
        if failure is not None:
            status, headers, body = failed_upload_response(failure)
            return Response(body, status=status, headers=headers)
        extra = environ.get(UNDERSCORE_HEADERS)
        if extra is None:  # a WSGI server other than ours drops them: no check there
            return None
        request = Request(environ)
        headers = {**dict(request.headers.items()), **extra}
        url = request.url
        if self.policy.public_url is not None:
            # the URL was signed for the public address: check it as the client sent it there
            base = self.policy.public_url
            url = base + request.full_path.rstrip("?") if request.query_string else base + path
            headers = {k: v for k, v in headers.items() if k.lower() != "host"}
            headers["Host"] = urlsplit(_origin_of(base)).netloc  # as signed: no default port
        refused = storage.check_presigned_put(url, headers)
        if refused is not None:
            status, answer_headers, body = refused
            return Response(body, status=status, headers=answer_headers)
        for name, value in extra.items():  # for moto, which reads headers from the environ
            environ.setdefault("HTTP_" + name.upper().replace("-", "_"), value)
        return None


def chat_server_app(
    max_body: int = MAX_UPLOAD_BODY,
    *,
    policy: Optional[AccessPolicy] = None,
    start_chat_defaults: Optional[StartChatDefaults] = None,
) -> ChatServerApp:
    """A new WSGI application serving the chat backend (for your own WSGI server)."""
    return ChatServerApp(max_body, policy=policy, start_chat_defaults=start_chat_defaults)


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse (``ValueError``) to listen on a host beyond this machine unless ``allow_remote``; the CLI checks first."""
    if not is_loopback_name(host_name(host)) and not allow_remote:
        raise ValueError(f"refusing to listen on {host!r}: pass allow_remote=True to serve beyond this machine")


def _websocket_base(http_base: str) -> str:
    """The websocket URL base for an http(s) base: ``ws://`` for http, ``wss://`` for https."""
    parts = urlsplit(http_base)
    return parts._replace(scheme="wss" if parts.scheme == "https" else "ws").geturl().rstrip("/")


def _print_access(method: str, path: str, status: int) -> None:
    print(f"{method} {path} {status}", file=sys.stderr, flush=True)


class LocalServer:
    """The chat backend on a local port, served from the backend's loop thread.

    Args:
        host: the address to listen on (loopback only unless ``allow_remote``).
        port: the port; 0 picks a free one (see :attr:`endpoint_url`).
        allow_remote: permit a non-loopback ``host``.
        quiet: log requests at DEBUG instead of printing an access line (no query strings) to stderr.
        max_body: the largest request body accepted besides API calls (attachment PUTs), bytes.
        public_url: the base URL clients reach the server by (a proxy, a port map, a grid):
            every URL handed out starts with it (see :class:`AccessPolicy`).
        cors_origins: web origins allowed besides loopback pages and the public URL's.
        moto_api: serve moto's own ``/moto-api/`` (state dumps and reset).
        start_chat_defaults: the instance and flow ``POST /start-chat`` uses when its body names none.
        header_timeout: seconds a request's head may take to arrive before the connection is dropped.
        workers: threads that compute answers (connections themselves hold none).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_remote: bool = False,
        quiet: bool = True,
        max_body: int = MAX_UPLOAD_BODY,
        public_url: Optional[str] = None,
        cors_origins: Iterable[str] = (),
        moto_api: bool = False,
        start_chat_defaults: Optional[StartChatDefaults] = None,
        header_timeout: float = HEADER_TIMEOUT,
        workers: int = WORKERS,
    ) -> None:
        check_host(host, allow_remote)
        if public_url is not None:
            _origin_of(public_url)  # an http(s) URL with a host, or ValueError now
        self.max_body = max_body
        self.host = host
        self.port = port
        self._quiet = quiet
        self.policy = AccessPolicy(
            public_url=public_url, cors_origins=cors_origins, moto_api=moto_api, listen_host=host
        )
        self.start_chat_defaults = start_chat_defaults
        self.header_timeout = header_timeout
        self.workers = workers
        self._listener: Optional[HTTPListener] = None

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` of the running server, as it listens."""
        if self._listener is None:
            raise RuntimeError("the server is not running; call start() or use it as a context manager")
        host, port = self._listener.address
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    @property
    def public_url(self) -> str:
        """The base of the URLs the server hands out: ``public_url`` if given, else :attr:`endpoint_url`."""
        return self.policy.public_url or self.endpoint_url

    @property
    def start_chat_url(self) -> str:
        """Where AWS's chat widget starts chats (its ``apiGatewayEndpoint``)."""
        return self.public_url + START_CHAT_PATH

    def start(self) -> LocalServer:
        """Listen (an ``OSError`` when the port is taken) and serve in the background."""
        app = chat_server_app(self.max_body, policy=self.policy, start_chat_defaults=self.start_chat_defaults)
        self._listener = HTTPListener(
            self.host,
            self.port,
            app=app,
            upgrade=_adopt_websocket,
            host_allowed=self.policy.host_allowed,
            body_limit=app.body_limit,
            header_timeout=self.header_timeout,
            workers=self.workers,
            access_log=None if self._quiet else _print_access,
        )
        storage.set_endpoint(self.public_url)
        websocket.set_url_base(_websocket_base(self.public_url))
        return self

    def stop(self) -> None:
        if self._listener is not None:
            storage.set_endpoint(None)
            websocket.set_url_base(None)
            self._listener.stop()
            self._listener = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.stop()


def _adopt_websocket(transport: Any, head: bytes) -> None:
    """A websocket upgrade on the server's port: the process's hub takes it (on the loop)."""
    websocket.get_hub().adopt(transport, head)


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    allow_remote: bool = False,
    public_url: Optional[str] = None,
    cors_origins: Iterable[str] = (),
    moto_api: bool = False,
    start_chat_defaults: Optional[StartChatDefaults] = None,
) -> None:
    """Run the chat backend in the foreground until interrupted (``connectparticipant-ext serve``).

    Raises:
        OSError: the address cannot be listened on (the port is taken, say).
    """
    server = LocalServer(
        host,
        port,
        allow_remote=allow_remote,
        quiet=False,
        public_url=public_url,
        cors_origins=cors_origins,
        moto_api=moto_api,
        start_chat_defaults=start_chat_defaults,
    ).start()
    where = server.endpoint_url
    if server.public_url != where:
        where += f", reached as {server.public_url}"
    print(f"connectparticipant-ext: chat backend listening on {where} (Ctrl+C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
