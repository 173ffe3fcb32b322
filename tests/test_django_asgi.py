"""Under ASGI an open event stream holds no thread in the web process.

Django's ASGI handler serves each request in its own asgiref ``ThreadSensitiveContext``, whose
one-thread executor lives until the response is over: for an event stream, as long as the page
is open. :class:`connectparticipant_ext.django.SharedSyncThread` gives the event stream's URL
shared threads instead. Tested on a fake ASGI application shaped like Django's handler, then on
the example under uvicorn (a subprocess) with many streams open at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

pytest.importorskip("django")
pytest.importorskip("uvicorn")

import test_django_example as example  # noqa: E402
from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction, sync_to_async  # noqa: E402

from connectparticipant_ext import InvalidArgumentError, InvalidArgumentTypeError  # noqa: E402
from connectparticipant_ext import django as django_glue  # noqa: E402
from connectparticipant_ext.django import SharedSyncThread  # noqa: E402

from _helpers import run, stop_process  # noqa: E402

EXAMPLE_DIR = example.EXAMPLE_DIR
django_example = example.django_example  # the fixture: Django set up with the example's settings
EVENTS = "/chat/events/"
STREAMS = 50  # event streams open at once
THREADS_BOUND = 20  # the web process's threads with all of them open (6 here): not a function of STREAMS
PER_SESSION = 3  # the example's cap on one session's event streams
READ_TIMEOUT = 60.0  # a socket read that gets nothing this long fails the test (a bound, not a measure)
START_TIMEOUT = 60.0


# -- the wrapper, on an application shaped like Django's ASGI handler --------------------------


async def _receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _send(message: dict[str, Any]) -> None:
    pass


async def _django_like(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What Django's handler does: a ``ThreadSensitiveContext`` per request, then sync steps."""
    async with ThreadSensitiveContext():
        first = await sync_to_async(threading.get_ident)()  # a middleware
        await asyncio.sleep(0.01)  # the response streams; other requests run meanwhile
        second = await sync_to_async(threading.get_ident)()  # the response's close()
        scope["threads"] = (first, second)


def _serve_all(app: SharedSyncThread, paths: list[str]) -> list[tuple[int, int]]:
    async def main() -> list[tuple[int, int]]:
        scopes: list[dict[str, Any]] = [{"type": "http", "path": path} for path in paths]
        await asyncio.gather(*(app(scope, _receive, _send) for scope in scopes))
        return [scope["threads"] for scope in scopes]

    return run(main)


@pytest.fixture(params=[True, False], ids=["asgiref-executor", "older-asgiref"])
def asgiref_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways the wrapper sets the executor: asgiref's ``executor=`` and its own for older asgiref."""
    if request.param and not django_glue._CONTEXT_TAKES_EXECUTOR:
        pytest.skip("this asgiref's ThreadSensitiveContext takes no executor")
    monkeypatch.setattr(django_glue, "_CONTEXT_TAKES_EXECUTOR", request.param)
    return bool(request.param)


def test_requests_to_the_paths_share_one_thread_and_the_others_get_one_each(asgiref_kind: bool) -> None:
    app = SharedSyncThread(_django_like, paths=[EVENTS])
    shared = _serve_all(app, [EVENTS] * 5)
    assert len({thread for pair in shared for thread in pair}) == 1
    # The shared executor is not shut down with a request: the next ones use the same thread.
    assert _serve_all(app, [EVENTS] * 2)[0][0] == shared[0][0]
    others = _serve_all(app, ["/chat/", "/chat/send/", "/chat/"])
    assert all(first == second for first, second in others)  # one thread per request, as Django has it
    assert len({first for first, _ in others}) == 3
    assert shared[0][0] not in {first for first, _ in others}


def test_each_request_stays_on_one_of_several_shared_threads(asgiref_kind: bool) -> None:
    app = SharedSyncThread(_django_like, paths=[EVENTS, "/other/events/"], threads=2)
    pairs = _serve_all(app, [EVENTS, "/other/events/"] * 3)
    assert all(first == second for first, second in pairs)
    assert len({first for first, _ in pairs}) == 2


def test_other_requests_share_a_bounded_pool_each_on_one_thread(asgiref_kind: bool) -> None:
    app = SharedSyncThread(_django_like, paths=[EVENTS], request_threads=2)
    others = _serve_all(app, ["/chat/", "/chat/send/"] * 4)  # 8 at once, 2 threads
    assert all(first == second for first, second in others)  # a request never changes thread
    pool = {first for first, _ in others}
    assert len(pool) == 2
    assert _serve_all(app, [EVENTS])[0][0] not in pool
    # Another event loop (another test, another server) uses the same pool.
    assert {first for first, _ in _serve_all(app, ["/chat/"] * 3)} <= pool
    assert repr(app).endswith("threads=1, request_threads=2)")


def test_a_request_that_leaves_while_it_waits_for_a_thread_takes_none() -> None:
    release = threading.Event()

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/slow/":  # holds the one thread until released
            await sync_to_async(release.wait)()
        scope["thread"] = await sync_to_async(threading.get_ident)()

    app = SharedSyncThread(slow, paths=[EVENTS], request_threads=1)

    async def main() -> list[Any]:
        holder = {"type": "http", "path": "/slow/"}
        waiting: list[dict[str, Any]] = [{"type": "http", "path": "/chat/"} for _ in range(3)]
        first = asyncio.ensure_future(app(holder, _receive, _send))
        await asyncio.sleep(0.05)
        tasks = [asyncio.ensure_future(app(scope, _receive, _send)) for scope in waiting]
        await asyncio.sleep(0.05)
        tasks[0].cancel()  # its client went while it waited
        release.set()
        await asyncio.gather(first, *tasks[1:])
        assert tasks[0].cancelled() and "thread" not in waiting[0]
        after = {"type": "http", "path": "/chat/"}  # the thread is free again: none was lost
        await asyncio.wait_for(app(after, _receive, _send), READ_TIMEOUT)
        return [holder["thread"], *(scope["thread"] for scope in [*waiting[1:], after])]

    assert len(set(run(main))) == 1  # the others ran, in turn, on the one thread


def test_the_path_is_matched_without_the_root_path() -> None:
    app = SharedSyncThread(_django_like, paths=[EVENTS])

    async def main() -> list[tuple[int, int]]:
        scopes: list[dict[str, Any]] = [
            {"type": "http", "path": "/shop" + EVENTS, "root_path": "/shop"} for _ in range(3)
        ]
        await asyncio.gather(*(app(scope, _receive, _send) for scope in scopes))
        return [scope["threads"] for scope in scopes]

    assert len({first for first, _ in run(main)}) == 1


def test_other_kinds_of_connection_pass_through() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)

    run(lambda: SharedSyncThread(app, paths=[EVENTS])({"type": "lifespan"}, _receive, _send))
    assert seen == [{"type": "lifespan"}]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"paths": EVENTS}, InvalidArgumentTypeError),
        ({"paths": [b"/chat/events/"]}, InvalidArgumentTypeError),
        ({"paths": [EVENTS], "threads": 0}, InvalidArgumentError),
        ({"paths": [EVENTS], "threads": 65}, InvalidArgumentError),
        ({"paths": [EVENTS], "threads": True}, InvalidArgumentTypeError),
        ({"paths": [EVENTS], "threads": 1.5}, InvalidArgumentTypeError),
        ({"paths": [EVENTS], "request_threads": 0}, InvalidArgumentError),
        ({"paths": [EVENTS], "request_threads": 65}, InvalidArgumentError),
        ({"paths": [EVENTS], "request_threads": True}, InvalidArgumentTypeError),
        ({"paths": [EVENTS], "request_threads": "8"}, InvalidArgumentTypeError),
    ],
)
def test_the_wrapper_checks_its_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        SharedSyncThread(_django_like, **kwargs)


# -- the example's own middleware is asynchronous under ASGI ------------------------------------


def test_the_size_limit_middleware_is_asynchronous_under_asgi_and_synchronous_under_wsgi(
    django_example: None,
) -> None:
    """A synchronous-only middleware first in the chain would run the whole request below it
    from a thread blocked in ``async_to_sync``: under ASGI it is a coroutine, and still refuses."""
    from chat.limits import RequestSizeLimitMiddleware
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    def sync_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    under_asgi = RequestSizeLimitMiddleware(async_view)
    under_wsgi = RequestSizeLimitMiddleware(sync_view)
    assert iscoroutinefunction(under_asgi) and not iscoroutinefunction(under_wsgi)
    small = RequestFactory().post("/chat/send/", data={"message-text": "hi"})
    large = RequestFactory().post("/chat/send/", data="x", content_type="text/plain", CONTENT_LENGTH="10000000")
    assert run(lambda: under_asgi(small)).status_code == 200
    assert run(lambda: under_asgi(large)).status_code == 413
    assert under_wsgi(small).status_code == 200
    assert under_wsgi(large).status_code == 413


def test_under_djangos_own_asgi_handler_a_body_declared_too_large_is_refused(django_example: None) -> None:
    """Without the ``RequestBodyLimit`` wrapper in front, the middleware refuses, on its async path."""
    from django_chat.asgi import django_application

    scope = {"method": "POST", "path": "/chat/send/", "headers": [(b"content-length", b"10000000")]}
    sent, _ = example._asgi_call(scope, [b"x" * 1000], app=django_application)
    assert example._status(sent) == 413


# -- the example under uvicorn, many streams open ----------------------------------------------


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^Threads:\s+(\d+)", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))


def _wait_for_line(process: subprocess.Popen[bytes], log: Path, pattern: str) -> re.Match[str]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            return match
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in {log}: {log.read_text(errors='replace')[-2000:]}")




@pytest.fixture(scope="module")
def uvicorn_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``serve`` and the example under uvicorn, each on a port of its own choosing: (URL, uvicorn's pid)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("counts threads from /proc")
    logs = tmp_path_factory.mktemp("asgi-threads")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DJANGO_DEBUG": "0",
        "DJANGO_SESSION_DIR": str(logs / "sessions"),
        "CHAT_EVENT_STREAMS_PER_SESSION": str(PER_SESSION),
        "CHAT_EVENT_STREAMS_MAX": str(STREAMS + PER_SESSION),
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        serve_log = logs / "serve.log"
        with open(serve_log, "wb") as output:
            serve = subprocess.Popen(
                [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", "0"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        processes.append(serve)
        backend = _wait_for_line(serve, serve_log, r"http://127\.0\.0\.1:\d+").group(0)
        site_log = logs / "uvicorn.log"
        with open(site_log, "wb") as output:
            site = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "django_chat.asgi:application", "--host", "127.0.0.1"]
                + ["--port", "0", "--no-access-log"],
                cwd=EXAMPLE_DIR,
                env={**env, "CONNECT_ENDPOINT_URL": backend},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        processes.append(site)
        port = _wait_for_line(site, site_log, r"Uvicorn running on http://127\.0\.0\.1:(\d+)").group(1)
        yield f"http://127.0.0.1:{port}", site.pid
    finally:
        for process in reversed(processes):
            stop_process(process)


class Page:
    """One simulated browser: its session cookie, and its event stream on a plain socket."""

    def __init__(self, site: str) -> None:
        import requests

        self.site = site
        self.http = requests.Session()
        self.sock: Optional[socket.socket] = None
        self.received = b""

    def start_chat(self) -> None:
        self.http.get(self.site + "/", timeout=READ_TIMEOUT).raise_for_status()
        answer = self.http.post(
            self.site + "/start/",
            data={"display_name": "Ann"},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]},
            timeout=READ_TIMEOUT,
        )
        answer.raise_for_status()
        assert answer.url.endswith("/chat/"), answer.url

    def tab(self) -> Page:
        """Another tab of this browser: the same session."""
        other = Page(self.site)
        other.http.cookies.update(self.http.cookies)
        return other

    def open_events(self) -> None:
        """Send the event stream's request as the page's EventSource does."""
        host, port = self.site.removeprefix("http://").split(":")
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.sock = socket.create_connection((host, int(port)), timeout=READ_TIMEOUT)
        self.sock.sendall(
            f"GET {EVENTS} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {cookies}\r\n\r\n".encode()
        )

    def read_until(self, needle: bytes) -> bytes:
        assert self.sock is not None
        while needle not in self.received:
            chunk = self.sock.recv(65536)
            assert chunk, self.received
            self.received += chunk
        return self.received

    def send(self, text: str) -> None:
        answer = self.http.post(
            self.site + "/chat/send/",
            data={"message-text": text, "message-client_token": str(uuid.uuid4())},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"], "Accept": "application/json"},
            timeout=READ_TIMEOUT,
        )
        assert answer.status_code == 200, answer.text

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.http.close()


def test_open_event_streams_hold_no_thread_each_in_the_asgi_web_process(uvicorn_site: tuple[str, int]) -> None:
    site, pid = uvicorn_site
    pages = [Page(site) for _ in range(STREAMS)]
    try:
        for page in pages:
            page.start_chat()
        for page in pages:
            page.open_events()
        for page in pages:
            head = page.read_until(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            page.read_until(b"\ndata: ")  # the stream is live: the chat's first item has arrived
        threads = _threads(pid)
        assert threads <= THREADS_BOUND, f"{threads} threads with {STREAMS} event streams open"
        # The streams still carry the chat: a message sent now arrives on its own page's stream.
        text = f"hello {uuid.uuid4()}"
        pages[-1].send(text)
        pages[-1].read_until(json.dumps(text).encode())
        assert _threads(pid) <= THREADS_BOUND

        # The caps hold on the shared thread. One session past its few: the oldest ends, replaced.
        tabs = [pages[0].tab() for _ in range(PER_SESSION)]
        for tab in tabs:
            tab.open_events()
            assert tab.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 200")
        pages[0].read_until(b"event: end")
        assert b'"reason": "replaced"' in pages[0].read_until(b"\r\n0\r\n\r\n")  # over: it left the count
        # The process at its cap (STREAMS + PER_SESSION): 503 with Retry-After.
        late = [Page(site) for _ in range(2)]
        pages.extend([*tabs, *late])
        for page in late:
            page.start_chat()
            page.open_events()
        assert late[0].read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 200")
        refused = late[1].read_until(b"\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 503"), refused
        assert re.search(rb"\r\nretry-after: [1-9]", refused, re.IGNORECASE), refused
        assert _threads(pid) <= THREADS_BOUND
    finally:
        for page in pages:
            page.close()


def test_the_session_cookie_is_what_the_stream_is_for(uvicorn_site: tuple[str, int]) -> None:
    """Without a chat in its session the event stream answers 204, as under WSGI."""
    site, _ = uvicorn_site
    page = Page(site)
    try:
        page.http.get(site + "/", timeout=READ_TIMEOUT).raise_for_status()
        page.open_events()
        head = page.read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 204"), head
    finally:
        page.close()
