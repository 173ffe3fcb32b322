"""Django glue: a live chat as a streaming response, and the connection in the session.

Django is optional: importing this module needs it, the rest of the package does not.

``sse_response(request, conn)`` serves the chat as server-sent events the way Django serves
long responses: under WSGI (and ``runserver``) from :func:`connectparticipant_ext.sse.sse_events`,
a thread per open response; under ASGI from :func:`connectparticipant_ext.sse.async_sse_events`,
on the event loop with no thread per response. It resumes from the ``Last-Event-ID`` header
the browser sends on reconnect, else from the ``since`` query parameter::

    from connectparticipant_ext.django import load_connection, sse_response

    def events(request):
        conn = load_connection(request, get_chat_service())
        if conn is None:
            return HttpResponse(status=204)  # no chat: EventSource stops on 204
        return sse_response(request, conn)

Two caps keep the open responses bounded (see :class:`connectparticipant_ext.sse.EventStreams`),
each a Django setting:

* ``CONNECTPARTICIPANT_EXT_EVENT_STREAMS_PER_SESSION`` (default 3): event streams one session
  keeps open; past it the oldest ends with ``event: end``, reason ``replaced``;
* ``CONNECTPARTICIPANT_EXT_EVENT_STREAMS_MAX`` (default 1000; ``None`` for no cap): event
  streams the process keeps open; past it the answer is 503 with ``Retry-After``.

Under ASGI, Django runs each request in its own ``ThreadSensitiveContext``: the request's
first synchronous step (a synchronous middleware, ``MiddlewareMixin`` hooks, a synchronous
view, the session read) starts a one-thread executor that lives until the response is over,
for an event stream as long as the page is open. :class:`SharedSyncThread` wraps the ASGI
application so that the event stream's URL runs those short steps on one shared thread
instead; with ``request_threads`` every other request's steps run on a bounded pool of
threads, as a threaded WSGI server runs them, so that the process's threads stay bounded
however many requests are in flight::

    application = SharedSyncThread(get_asgi_application(), paths=["/chat/events/"], request_threads=8)

``save_connection`` / ``load_connection`` are :mod:`connectparticipant_ext.sessions` on
``request.session``; keep sessions server-side (cache or database engine), since they hold
bearer tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import itertools
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from ._validation import require_int
from .exceptions import InvalidArgumentTypeError
from .sessions import DEFAULT_SESSION_KEY, restore_connection, store_connection, update_connection
from .sse import SSE_HEADERS, async_sse_events, event_streams, last_event_id, sse_events

if TYPE_CHECKING:
    from .connection import Connection
    from .service import ChatService

__all__ = [
    "EVENT_STREAMS_MAX",
    "EVENT_STREAMS_PER_SESSION",
    "RETRY_AFTER",
    "SHARED_THREADS_MAX",
    "SharedSyncThread",
    "is_asgi",
    "load_connection",
    "save_connection",
    "sse_response",
    "update_saved_connection",
]

EVENT_STREAMS_PER_SESSION = 3
"""Default of the ``CONNECTPARTICIPANT_EXT_EVENT_STREAMS_PER_SESSION`` setting (a few tabs)."""

EVENT_STREAMS_MAX = 1000
"""Default of the ``CONNECTPARTICIPANT_EXT_EVENT_STREAMS_MAX`` setting."""

RETRY_AFTER = 10
"""Seconds a 503 for a process at its cap asks the client to wait (``Retry-After``)."""


def is_asgi(request: HttpRequest) -> bool:
    """True when the request came through Django's ASGI handler."""
    from django.core.handlers.asgi import ASGIRequest

    return isinstance(request, ASGIRequest)


_PER_SESSION = "CONNECTPARTICIPANT_EXT_EVENT_STREAMS_PER_SESSION"
_MAX = "CONNECTPARTICIPANT_EXT_EVENT_STREAMS_MAX"


def _cap(name: str, default: int) -> int:
    """A cap from the settings: a positive int."""
    value = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a positive int; got {value!r}")
    return value


def _session_key(request: HttpRequest) -> str:
    """The session, as the per-session cap sees it (hashed: the key itself is a credential)."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if not key:
        return f"request-{id(request)}"  # no session: a cap of its own
    return hashlib.sha256(key.encode()).hexdigest()


def sse_response(
    request: HttpRequest,
    connection: Connection,
    *,
    since_param: str = "since",
    **options: Any,
) -> Union[StreamingHttpResponse, HttpResponse]:
    """A ``text/event-stream`` response relaying the chat live, or a 503 past the process's cap.

    See :func:`~connectparticipant_ext.sse.sse_events`. A session that already holds
    ``CONNECTPARTICIPANT_EXT_EVENT_STREAMS_PER_SESSION`` event streams gets this one, and its
    oldest ends (``event: end``, reason ``replaced``); a process that holds
    ``CONNECTPARTICIPANT_EXT_EVENT_STREAMS_MAX`` answers 503 with ``Retry-After``.

    Args:
        request: the request (its ``Last-Event-ID`` header or ``since_param`` query value).
        connection: the participant's connection.
        since_param: the query parameter with the last item id the page already shows.
        options: passed to :func:`~connectparticipant_ext.sse.sse_events` (``keepalive``,
            ``max_seconds``, ``retry``, stream settings).
    """
    per_session = _cap(_PER_SESSION, EVENT_STREAMS_PER_SESSION)
    total = None if getattr(settings, _MAX, EVENT_STREAMS_MAX) is None else _cap(_MAX, EVENT_STREAMS_MAX)
    since = last_event_id(request.headers.get("Last-Event-ID"), request.GET.get(since_param))
    events = (async_sse_events if is_asgi(request) else sse_events)(connection, since=since, **options)
    if not event_streams.admit(_session_key(request), events, per_session=per_session, total=total):
        events.close()
        busy = HttpResponse("Too many live chats are open; try again shortly.", status=503, content_type="text/plain")
        busy["Retry-After"] = str(RETRY_AFTER)
        return busy
    response = StreamingHttpResponse(events, content_type=SSE_HEADERS["Content-Type"])
    for name, value in SSE_HEADERS.items():
        if name != "Content-Type":
            response[name] = value
    # Django closes ``events`` with the response (it has ``close()``), under WSGI also when the
    # browser went away mid-stream; under ASGI the iterator is cancelled and closes as it unwinds.
    return response


def save_connection(
    request: HttpRequest, connection: Connection, *, key: str = DEFAULT_SESSION_KEY, participant_token: bool = True
) -> None:
    """Store the connection in ``request.session`` (see :func:`connectparticipant_ext.sessions.store_connection`)."""
    store_connection(request.session, connection, key=key, participant_token=participant_token)


def load_connection(request: HttpRequest, chat: ChatService, *, key: str = DEFAULT_SESSION_KEY) -> Optional[Connection]:
    """The connection stored in ``request.session``, or None."""
    return restore_connection(request.session, chat, key=key)


def update_saved_connection(request: HttpRequest, connection: Connection, *, key: str = DEFAULT_SESSION_KEY) -> bool:
    """Write a renewed connection token back to the session; True if it had changed."""
    return update_connection(request.session, connection, key=key)


# -- ASGI: the event stream without a thread per open response ------------------------------

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SHARED_THREADS_MAX = 64
"""The most threads a :class:`SharedSyncThread` takes for ``threads``, and for ``request_threads``."""

# asgiref 3.13 takes the executor a ThreadSensitiveContext uses; older ones make their own.
_CONTEXT_TAKES_EXECUTOR = "executor" in inspect.signature(ThreadSensitiveContext).parameters


@contextlib.asynccontextmanager
async def _thread_sensitive_context(executor: Executor) -> AsyncIterator[None]:
    """Run the block's thread-sensitive calls on ``executor`` (a one-thread executor, not shut down).

    Django's own ``ThreadSensitiveContext`` inside it then does nothing: only the outermost
    one chooses the thread.
    """
    if _CONTEXT_TAKES_EXECUTOR:
        async with ThreadSensitiveContext(executor=executor):  # type: ignore[call-arg,unused-ignore]
            yield
        return
    context = ThreadSensitiveContext()
    async with context:
        if context.token is None:  # already inside one: it chooses the thread
            yield
            return
        SyncToAsync.context_to_thread_executor[context] = executor
        try:
            yield
        finally:
            # Taken back before the context exits, which would shut down an executor it holds.
            SyncToAsync.context_to_thread_executor.pop(context, None)


class _RequestThreads:
    """``size`` one-thread executors; a request holds one for its whole life (its synchronous
    steps then all run on one thread, as Django's per-request context has it), and waits for
    one, in turn, when all are held. Usable from several event loops (e.g. one per test)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._free: deque[Executor] = deque(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-request-sync") for _ in range(size)
        )
        self._waiters: deque[asyncio.Future[Executor]] = deque()
        self.held = 0
        """Executors held by requests (or on their way to one) now."""

    @property
    def size(self) -> int:
        return len(self._free) + self.held

    @contextlib.asynccontextmanager
    async def held_by_request(self) -> AsyncIterator[Executor]:
        executor = await self._take()
        try:
            yield executor
        finally:
            self._give_back(executor)

    async def _take(self) -> Executor:
        with self._lock:
            if self._free:
                self.held += 1
                return self._free.popleft()
            waiter: asyncio.Future[Executor] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:  # the request went while it waited (the client left)
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                    raise
            if waiter.done() and not waiter.cancelled():  # handed one just before: pass it on
                self._give_back(waiter.result())
            raise  # else the hand-over, still on its way, finds the waiter cancelled and passes it on

    def _give_back(self, executor: Executor) -> None:
        with self._lock:
            if not self._waiters:
                self.held -= 1
                self._free.append(executor)
                return
            waiter = self._waiters.popleft()
        try:
            waiter.get_loop().call_soon_threadsafe(self._hand, waiter, executor)
        except RuntimeError:  # the waiter's loop is closed: nobody is waiting there any more
            self._give_back(executor)

    def _hand(self, waiter: asyncio.Future[Executor], executor: Executor) -> None:
        if waiter.done():  # cancelled meanwhile
            self._give_back(executor)
        else:
            waiter.set_result(executor)


class SharedSyncThread:
    """ASGI middleware: requests to ``paths`` run their synchronous steps on shared threads.

    Django's ASGI handler serves each request inside its own asgiref ``ThreadSensitiveContext``,
    so the first synchronous step of a request (a synchronous middleware, the ``process_request``
    and ``process_response`` of ``MiddlewareMixin`` middleware, a synchronous view, the session
    read) starts a one-thread executor that lives until the response is over. For an event
    stream that is as long as the page is open: a thread per open page, started from the event
    loop. Around the requests to ``paths`` this wrapper enters a ``ThreadSensitiveContext`` of
    its own first, with one of ``threads`` long-lived one-thread executors (in turn), and
    Django's inner context then uses it: the request's short synchronous steps run one after
    the other on that thread, and while the stream waits no thread is held.

    The steps of all requests on one thread run one at a time, as everything Django runs
    outside a request context does (asgiref's single shared thread): a step that blocks (a
    slow session store, a network call in a synchronous view) delays the other requests on the
    same thread. Django's database connections are per thread, so those requests share that
    thread's connection in turns; Django closes it at the end of each request as usual
    (``CONN_MAX_AGE``). Use it for URLs whose synchronous steps are short, such as the event
    stream of :func:`sse_response`; every other request keeps Django's behaviour. Make the
    project's own middleware async-capable (``async_capable = True`` with an async path, as the
    example's ``RequestSizeLimitMiddleware``): Django runs everything below a synchronous-only
    middleware from its thread, blocked in ``async_to_sync`` until the response is made, so on
    a shared thread those requests would be served strictly one after the other.

    Every other request gets Django's own behaviour: a thread of its own, started for it, for
    as long as it lasts, so that the process's threads grow with the requests in flight (a
    burst of page loads, or slow calls to the service, can start hundreds). With
    ``request_threads`` they take one of that many threads instead, each request holding one
    for its whole life as a threaded WSGI server's workers do, and wait in turn when all are
    held; the process's threads stay bounded. A request that takes long (a large upload, a
    slow call in a synchronous view) then holds its thread that long, and the requests behind
    it wait: size the pool for the slow requests the site serves at once.

    Args:
        app: the ASGI application, e.g. ``django.core.asgi.get_asgi_application()``.
        paths: the request paths, as ``request.path_info`` (without ``SCRIPT_NAME`` or the ASGI
            ``root_path``), e.g. ``[reverse("chat:events")]``.
        threads: how many shared threads, 1 to :data:`SHARED_THREADS_MAX` (each request stays
            on one of them).
        request_threads: how many threads every other HTTP request may use, 1 to
            :data:`SHARED_THREADS_MAX`; None (the default) keeps Django's thread per request.

    Raises:
        InvalidArgumentTypeError: ``paths`` is a string or holds something else than strings,
            or ``threads`` or ``request_threads`` is not an int.
        InvalidArgumentError: ``threads`` or ``request_threads`` is out of range.
    """

    def __init__(
        self, app: ASGIApp, *, paths: Iterable[str], threads: int = 1, request_threads: Optional[int] = None
    ) -> None:
        if isinstance(paths, (str, bytes)):
            raise InvalidArgumentTypeError(f"paths must be a collection of paths, not one {type(paths).__name__}")
        self.paths = frozenset(paths)
        if not all(isinstance(path, str) for path in self.paths):
            raise InvalidArgumentTypeError("paths must hold str paths")
        require_int("threads", threads, minimum=1, maximum=SHARED_THREADS_MAX)
        if request_threads is not None:
            require_int("request_threads", request_threads, minimum=1, maximum=SHARED_THREADS_MAX)
        self.app = app
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-shared-sync") for _ in range(threads)
        ]
        self._turns = itertools.cycle(self._executors)
        self._request_threads = None if request_threads is None else _RequestThreads(request_threads)

    def __repr__(self) -> str:
        request_threads = None if self._request_threads is None else self._request_threads.size
        return (
            f"SharedSyncThread({self.app!r}, paths={sorted(self.paths)!r}, threads={len(self._executors)}, "
            f"request_threads={request_threads!r})"
        )

    def _path_info(self, scope: Scope) -> str:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", "") or "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: on a shared thread for ``paths``, on one of the request
        threads (if any) for other HTTP requests, else as ``app`` does."""
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
        elif self._path_info(scope) in self.paths:
            async with _thread_sensitive_context(next(self._turns)):
                await self.app(scope, receive, send)
        elif self._request_threads is None:
            await self.app(scope, receive, send)
        else:
            async with self._request_threads.held_by_request() as executor, _thread_sensitive_context(executor):
                await self.app(scope, receive, send)
