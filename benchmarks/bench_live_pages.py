"""Many live pages in one web process: the Django example under runserver (WSGI) and uvicorn
(ASGI), against bare ``websockets`` clients on the same local server (issue 22).

Every process is its own: ``connectparticipant-ext serve`` (a fresh one per measurement), the
example ``docs/examples/django_chat`` under ``manage.py runserver --noreload`` or
``uvicorn django_chat.asgi:application``, and this driver, which runs N simulated browsers (or N
bare clients) on one asyncio loop with aiohttp and ``websockets``' asyncio client.

A simulated browser does what a person with the page open does, through the example's HTTP
surface only (its forms and the events URL its page script opens), with its own cookies:

1. ``GET /``: the start form, its CSRF token and cookie; posts the form with a name, follows
   the redirect to the chat page;
2. reads the chat page: the events URL (``data-events-url``), the last item it shows
   (``data-last-id``) and the send form with its hidden fields;
3. opens the event stream as ``live.js``'s ``EventSource`` does (``?since=`` the last item,
   ``Last-Event-ID`` on reconnects, a reconnect after ``retry`` ms when the response ends or
   fails, none after ``event: end``/``failed``, a 204 or another status);
4. once every page's stream has answered (or ``open_timeout`` has passed), sends one message
   through the send form as the script's ``fetch`` does (``Accept: application/json``,
   ``X-CSRFToken``), the pages one after another in a shuffled (seeded) order at ``rate`` per
   second, and times from just before that request to the moment the message arrives on its
   own event stream;
5. while every stream is still open, ``GET``\\ s the chat page again. A browser that was sent
   back to the start page at any step (a redirect to ``/``, or a 204 from the events URL: its
   chat was no longer in its session) counts as a *session lost*.

The baseline, in the same run and at the same N, is the service's protocol by hand: a chat
started with boto3's ``connect`` client, ``CreateParticipantConnection`` for the websocket URL,
a ``websockets`` asyncio client subscribed to ``aws/chat`` (sending ``aws/heartbeat`` every 10 s
as the protocol asks), and the message sent with the Participant Service's ``SendMessage``
(the request botocore's own serializer makes, sent with aiohttp so that no thread is involved),
timed to its arrival on the socket.

Printed per server and N: messages seen out of N, p50/p99 delivery latency, p99 as a ratio to
the baseline's, the peak threads and resident set (``/proc/<pid>/status``) of the web process
and of ``serve`` during the run, the web process's RSS growth per open page (for the baseline:
``serve``'s per socket) and sessions lost. The rows are also written as JSON (default
``benchmarks/results/live_pages.json``) for plotting.

The driver holds up to 2 sockets per page; it raises its soft limit of open files
(``RLIMIT_NOFILE``) up to the hard limit when N needs it, and the child processes inherit it.

    python -m benchmarks live_pages                      # N = 100 and 1,000
    python -m benchmarks live_pages --pages 300          # other sizes
    python -m benchmarks.bench_live_pages --help         # every knob (servers, rate, timeouts)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode, urljoin, urlsplit

from ._common import REGION, Result, fmt, log

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "docs" / "examples" / "django_chat"
RESULTS = ROOT / "benchmarks" / "results" / "live_pages.json"

SERVERS = ("websockets", "wsgi", "asgi")
"""The baseline first: every page row's p99 is compared with it."""
PAGES = (100, 1000)
QUICK_PAGES = (10, 50)

# The goals of issue 22, as targets of the table (lower is better in every row).
P99_RATIO_TARGET = 2.0
WEB_THREADS_TARGET = 40
RSS_PER_PAGE_TARGET_KB = 64
SERVE_THREADS_TARGET = 40

SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
HEARTBEAT = 10.0
HEARTBEAT_FRAME = json.dumps({"topic": "aws/heartbeat"})
SAMPLE_EVERY = 0.25
WARM_UP_STREAMS = 1
"""Event streams the warm-up opens before the pages (see ``_warm_up``)."""
CHILD_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Settings:
    """How hard the driver pushes, and how long it waits before it gives up on a page."""

    concurrency: int = 16
    """Browsers (or bare clients) setting up at once: start form, start, chat page."""
    rate: float = 50.0
    """Messages sent per second, all pages together (one page after another)."""
    setup_timeout: float = 300.0
    """Seconds for every page to be set up; pages not ready by then count as not seen."""
    open_timeout: float = 60.0
    """Seconds after the last page is set up for every event stream to answer."""
    timeout: float = 30.0
    """Seconds after the last send for every message to arrive."""
    request_timeout: float = 120.0
    """Seconds for one page request (start, chat page, send)."""
    seed: int = 22
    """Seeds the order in which the pages send (a shuffle: the same order every run)."""
    agent: bool = False
    """Run ``serve --agent echo``: every chat also gets typing and an echo (more traffic)."""


@dataclass
class Row:
    """One measurement: one server (or the baseline) at one N. The first ten fields are the JSON contract."""

    server: str
    pages: int
    seen: int
    p50: Optional[float]
    p99: Optional[float]
    p99_ratio: Optional[float]
    web_threads: Optional[int]
    web_rss_kb: Optional[int]
    serve_threads: int
    serve_rss_kb: int
    opened: int = 0
    """Pages (sockets) whose event stream answered before the sends began."""
    open_seconds: float = 0.0
    """From the last page set up until every stream answered (or ``open_timeout``)."""
    sessions_lost: Optional[int] = None
    web_rss_idle_kb: Optional[int] = None
    serve_rss_idle_kb: int = 0
    rss_per_page_kb: Optional[float] = None
    """Web RSS growth (peak minus idle) per page; for the baseline, ``serve``'s per socket."""
    seconds: float = 0.0
    driver_lag: float = 0.0
    """The longest the driver's loop was late (seconds): large means its own figures are suspect."""
    driver_cpu: float = 0.0
    """CPU seconds the driver used during the measurement."""
    load: float = 0.0
    """The machine's 1-minute load average when the measurement began."""
    errors: dict[str, int] = field(default_factory=dict)


# -- child processes ---------------------------------------------------------------------------


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_env(**extra: str) -> dict[str, str]:
    # _common has set fake credentials and the region in os.environ: nothing reaches AWS.
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}


@contextlib.contextmanager
def _child(name: str, argv: list[str], *, cwd: Path, env: dict[str, str], logdir: Path) -> Iterator[_Child]:
    """A process with its output in ``logdir/name.log``; terminated (then killed) on exit."""
    log_path = logdir / f"{name}.log"
    with open(log_path, "wb") as output:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield _Child(name, process, log_path)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=15)


def _wait_for(child: _Child, ready: Any, what: str) -> Any:
    """Poll ``ready()`` until it returns something, the child exits, or the start timeout passes."""
    deadline = time.monotonic() + CHILD_START_TIMEOUT
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}: {child.log_tail()}")
        found = ready()
        if found:
            return found
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not {what} within {CHILD_START_TIMEOUT:g} s: {child.log_tail()}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _serve(logdir: Path, agent: bool) -> Iterator[_Child]:
    """``connectparticipant-ext serve --port 0``; its URL is read from the line it prints."""
    argv = [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", "0"]
    if agent:
        argv += ["--agent", "echo"]
    with _child("serve", argv, cwd=ROOT, env=_child_env(), logdir=logdir) as child:

        def address() -> Optional[str]:
            match = re.search(r"http://127\.0\.0\.1:\d+", child.log_path.read_text(errors="replace"))
            return match.group(0) if match else None

        child.url = _wait_for(child, address, "print its address")
        yield child


def _web_argv(server: str, port: int) -> list[str]:
    if server == "wsgi":
        return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "django_chat.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    ]


@contextlib.contextmanager
def _web(server: str, serve_url: str, logdir: Path, pages: int) -> Iterator[_Child]:
    """The Django example under runserver (``wsgi``) or uvicorn (``asgi``), one process, on a free port.

    Its cap on open event streams is set above ``pages``: the warm-up page's stream stays
    counted until the server notices that page gone, which a WSGI server does only at the
    stream's next write (its keepalive, 15 s), and at N = the example's default cap (1,000) it
    would take the last page's place (a 503, as the cap is meant to answer).
    """
    env = _child_env(
        CHAT_EVENT_STREAMS_MAX=str(pages + WARM_UP_STREAMS),
        CONNECT_ENDPOINT_URL=serve_url,
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Where the example keeps sessions when it keeps them in files: this run's own folder,
        # so that each measurement starts empty and nothing is left beside manage.py.
        DJANGO_SESSION_DIR=str(logdir / "sessions"),
    )
    for attempt in range(3):  # a free port can be taken by someone else before the child binds it
        port = _free_port()
        name = "runserver" if server == "wsgi" else "uvicorn"
        with _child(name, _web_argv(server, port), cwd=EXAMPLE_DIR, env=env, logdir=logdir) as child:
            try:
                _wait_for(child, functools.partial(_listening, port), f"listen on port {port}")
            except RuntimeError:
                if attempt == 2 or child.process.poll() is None:
                    raise
                continue
            child.url = f"http://127.0.0.1:{port}"
            yield child
            return


# -- process figures ---------------------------------------------------------------------------


def proc_status(pid: int) -> tuple[int, int]:
    """Threads and resident set (KB) of a process, from ``/proc/<pid>/status`` (Linux)."""
    threads = rss = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return threads, rss


class _Sampler:
    """Peaks of threads and RSS of some processes, sampled on the loop every ``SAMPLE_EVERY`` s.

    Also how late its own wake-ups were (``lag``): the driver's loop stalling (no CPU for this
    process on a loaded machine, or a blocking call) delays sends and arrivals alike, so a
    large lag says the latencies of that run measure the driver, not the servers.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak: dict[str, tuple[int, int]] = {name: (0, 0) for name in pids}
        self.lag = 0.0
        self._task: Optional[asyncio.Task[None]] = None

    def sample(self) -> None:
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError, ValueError):
                threads, rss = proc_status(pid)
                peak_threads, peak_rss = self.peak[name]
                self.peak[name] = (max(threads, peak_threads), max(rss, peak_rss))

    async def _run(self) -> None:
        while True:
            self.sample()
            before = time.monotonic()
            await asyncio.sleep(SAMPLE_EVERY)
            self.lag = max(self.lag, time.monotonic() - before - SAMPLE_EVERY)

    def start(self) -> None:
        self.peak = {name: (0, 0) for name in self.pids}
        self.lag = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sample()


# -- the clients ---------------------------------------------------------------------------------


class _Client:
    """One simulated customer: set up, listen, send one message, note when it came back."""

    def __init__(self, n: int, run_id: str) -> None:
        self.n = n
        self.text = f"live-pages {run_id} #{n}"
        self.opened = asyncio.Event()
        self.ready = False
        self.sent_at: Optional[float] = None
        self.seen_at: Optional[float] = None
        self.lost = False
        self.notes: list[str] = []
        self.listener: Optional[asyncio.Task[None]] = None

    @property
    def latency(self) -> Optional[float]:
        if self.sent_at is None or self.seen_at is None:
            return None
        return self.seen_at - self.sent_at

    def note(self, text: str) -> None:
        self.notes.append(text)

    def arrived(self, content: Any) -> None:
        if content == self.text and self.seen_at is None:
            self.seen_at = time.perf_counter()

    async def setup(self) -> None:
        raise NotImplementedError

    async def listen(self) -> None:
        raise NotImplementedError

    async def send(self) -> None:
        raise NotImplementedError

    async def check(self) -> None:
        """After the messages: anything to verify while the stream is still open."""

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.listener


@dataclass
class _Form:
    id: str
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    text_fields: list[str] = field(default_factory=list)
    """Fields a person types into (text inputs and textareas), in page order."""
    has_file: bool = False


class _PageParser(HTMLParser):
    """The forms of a page (with their fields' values) and its ``data-*`` attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.data: dict[str, str] = {}
        self._form: Optional[_Form] = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        a = {name: value or "" for name, value in attrs}
        for key, value in a.items():
            if key.startswith("data-"):
                self.data.setdefault(key, value)
        if tag == "form":
            self._form = _Form(a.get("id", ""), a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        form, name = self._form, a.get("name")
        if form is None or not name:
            return
        if tag == "textarea":
            form.text_fields.append(name)
            form.fields[name] = ""
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "file":
                form.has_file = True
            elif kind in ("text", "email", "search", "tel", "url"):
                form.text_fields.append(name)
                form.fields[name] = a.get("value", "")
            elif kind == "hidden" or (kind in ("checkbox", "radio") and "checked" in a):
                form.fields[name] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _parse_page(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser


def _posting_form(page: _PageParser, form_id: str) -> Optional[_Form]:
    """The form with this id, else the first POST form with a text field and no file input."""
    for form in page.forms:
        if form.id == form_id:
            return form
    for form in page.forms:
        if form.method == "post" and form.text_fields and not form.has_file:
            return form
    return None


class _Browser(_Client):
    """A customer with the example's chat page open, through its HTTP surface only."""

    def __init__(self, n: int, run_id: str, site: str, connector: Any, settings: Settings) -> None:
        import aiohttp

        super().__init__(n, run_id)
        self.site = site
        self.start_url = urljoin(site, "/")
        self.settings = settings
        self.session = aiohttp.ClientSession(
            connector=connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: keep cookies of an IP address host
            timeout=aiohttp.ClientTimeout(total=settings.request_timeout),
        )
        self.chat_url = ""
        self.events_url = ""
        self.send_url = ""
        self.send_fields: dict[str, str] = {}
        self.text_field = ""

    def _to_start(self, response: Any) -> bool:
        """A redirect to the start page: this browser's chat is no longer in its session."""
        location: Optional[str] = response.headers.get("Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return False
        return urlsplit(urljoin(str(response.url), location)).path == urlsplit(self.start_url).path

    async def setup(self) -> None:
        async with self.session.get(self.start_url) as response:
            start_page = _parse_page(await response.text())
            start_page_url = str(response.url)
        form = _posting_form(start_page, "")
        if form is None or not form.text_fields:
            self.note("start: no start form on the start page")
            return
        fields = dict(form.fields)
        fields[form.text_fields[0]] = f"Page {self.n}"
        async with self.session.post(urljoin(start_page_url, form.action), data=fields) as response:
            html = await response.text()
            self.chat_url = str(response.url)
            status = response.status
        if status != 200 or urlsplit(self.chat_url).path == urlsplit(self.start_url).path:
            self.note(f"start: answered {status} at {urlsplit(self.chat_url).path}")
            return
        self._read_chat_page(html)

    def _read_chat_page(self, html: str) -> None:
        page = _parse_page(html)
        events = page.data.get("data-events-url")
        form = _posting_form(page, "message-form")
        if not events or form is None:
            self.note("chat page: no data-events-url or no send form")
            return
        last_id = page.data.get("data-last-id")
        self.events_url = urljoin(self.chat_url, events)
        if last_id:  # as live.js: the stream starts after the last item the page shows
            self.events_url += ("&" if "?" in self.events_url else "?") + urlencode({"since": last_id})
        self.send_url = urljoin(self.chat_url, form.action)
        self.send_fields = dict(form.fields)
        self.text_field = form.text_fields[-1]
        self.ready = True

    async def listen(self) -> None:
        """The page's ``EventSource``: reconnects after ``retry`` until an end, a 204 or another status."""
        import aiohttp

        retry, last_event_id = 2.0, ""
        no_limit = aiohttp.ClientTimeout(total=None, connect=self.settings.request_timeout)
        while True:
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
            if last_event_id:
                headers["Last-Event-ID"] = last_event_id
            try:
                async with self.session.get(
                    self.events_url, headers=headers, timeout=no_limit, allow_redirects=False
                ) as response:
                    if response.status == 204:  # the view's "no chat in this session"
                        self.lost = True
                        self.note("events: 204 (no chat in the session)")
                        return
                    if response.status != 200:
                        self.lost = self.lost or self._to_start(response)
                        self.note(f"events: answered {response.status}")
                        return
                    data: list[str] = []
                    event = ""
                    async for raw in response.content:
                        self.opened.set()
                        line = raw.decode("utf-8", "replace").rstrip("\r\n")
                        if not line:
                            if event in ("end", "failed"):
                                self.note(f"events: {event} {''.join(data)}")
                                return
                            if data:
                                self._dispatch("\n".join(data))
                            data, event = [], ""
                        elif not line.startswith(":"):
                            name, _, value = line.partition(":")
                            value = value[1:] if value.startswith(" ") else value
                            if name == "data":
                                data.append(value)
                            elif name == "event":
                                event = value
                            elif name == "id":
                                last_event_id = value
                            elif name == "retry" and value.isdigit():
                                retry = int(value) / 1000
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                self.note(f"events: {type(exc).__name__}")  # EventSource reconnects after a network error
            await asyncio.sleep(retry)

    def _dispatch(self, data: str) -> None:
        try:
            payload = json.loads(data)
        except ValueError:
            return
        if isinstance(payload, dict):
            self.arrived(payload.get("content"))

    async def send(self) -> None:
        fields = {**self.send_fields, self.text_field: self.text}
        headers = {"Accept": "application/json"}
        if "csrfmiddlewaretoken" in fields:
            headers["X-CSRFToken"] = fields["csrfmiddlewaretoken"]
        self.sent_at = time.perf_counter()
        async with self.session.post(self.send_url, data=fields, headers=headers, allow_redirects=False) as response:
            await response.read()
            if self._to_start(response):
                self.lost = True
                self.note("send: sent back to the start page")
            elif response.status != 200:
                self.note(f"send: answered {response.status}")

    async def check(self) -> None:
        async with self.session.get(self.chat_url, allow_redirects=False) as response:
            await response.read()
            if self._to_start(response):
                self.lost = True
                self.note("chat page: sent back to the start page")

    async def close(self) -> None:
        await super().close()
        await self.session.close()


class _Bare:
    """What the bare clients share: boto3 clients for setup, SendMessage's serializer, an HTTP session."""

    def __init__(self, serve_url: str) -> None:
        import aiohttp
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        from botocore.serialize import create_serializer

        self.url = serve_url
        self.connect = boto3.client("connect", region_name=REGION, endpoint_url=serve_url)
        self.participant = boto3.client(
            "connectparticipant", region_name=REGION, endpoint_url=serve_url, config=Config(signature_version=UNSIGNED)
        )
        model = self.participant.meta.service_model
        self.send_model = model.operation_model("SendMessage")
        self.serializer = create_serializer(model.metadata["protocol"])
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bare-setup")
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
        )
        self.sockets: list[_Socket] = []

    def new_chat(self) -> tuple[str, str]:
        """Start a chat and connect its customer: the websocket URL and the connection token."""
        contact = self.connect.start_chat_contact(
            InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": "Bare"}
        )
        answer = self.participant.create_participant_connection(
            ParticipantToken=contact["ParticipantToken"], Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"]
        )
        return answer["Websocket"]["Url"], answer["ConnectionCredentials"]["ConnectionToken"]

    def send_request(self, token: str, text: str) -> dict[str, Any]:
        params = {
            "ConnectionToken": token,
            "ContentType": "text/plain",
            "Content": text,
            "ClientToken": str(uuid.uuid4()),
        }
        request: dict[str, Any] = self.serializer.serialize_to_request(params, self.send_model)
        return request

    async def heartbeats(self) -> None:
        """``aws/heartbeat`` on every socket every ``HEARTBEAT`` seconds, spread over the interval.

        Real pages open at different moments, so their heartbeats do not come in one burst.
        """
        while True:
            sockets = [sock for sock in self.sockets if sock.ws is not None and not sock.closing]
            if not sockets:
                await asyncio.sleep(HEARTBEAT)
            for sock in sockets:
                await asyncio.sleep(HEARTBEAT / len(sockets))
                with contextlib.suppress(Exception):
                    await sock.ws.send(HEARTBEAT_FRAME)

    async def close(self) -> None:
        await self.session.close()
        self.executor.shutdown(wait=False)


class _Socket(_Client):
    """A bare ``websockets`` client on one chat, speaking the service's protocol by hand."""

    def __init__(self, n: int, run_id: str, bare: _Bare) -> None:
        super().__init__(n, run_id)
        self.bare = bare
        self.ws: Any = None
        self.token = ""
        self.closing = False

    async def setup(self) -> None:
        from websockets.asyncio.client import connect

        loop = asyncio.get_running_loop()
        url, self.token = await loop.run_in_executor(self.bare.executor, self.bare.new_chat)
        self.ws = await connect(url, ping_interval=None, open_timeout=60, max_size=None)
        await self.ws.send(SUBSCRIBE)
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 60))
            if frame.get("topic") == "aws/subscribe":
                break
        self.bare.sockets.append(self)
        self.opened.set()
        self.ready = True

    async def listen(self) -> None:
        try:
            async for message in self.ws:
                frame = json.loads(message)
                if frame.get("topic") == "aws/chat":
                    item = json.loads(frame.get("content") or "{}")
                    if item.get("Type") == "MESSAGE":
                        self.arrived(item.get("Content"))
        except Exception as exc:  # the socket dropped: a bare client does not reconnect
            if not self.closing:
                self.note(f"socket: {type(exc).__name__}")

    async def send(self) -> None:
        request = self.bare.send_request(self.token, self.text)
        url = self.bare.url + request["url_path"]
        self.sent_at = time.perf_counter()
        async with self.bare.session.request(
            request["method"], url, headers=request["headers"], data=request["body"]
        ) as response:
            await response.read()
            if response.status != 200:
                self.note(f"SendMessage: answered {response.status}")

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        await super().close()


# -- one measurement --------------------------------------------------------------------------------


async def _guarded(client: _Client, step: str, coroutine: Any) -> None:
    """Run one step of a client; an error is a note on the client, never the end of the run."""
    try:
        await coroutine
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        client.note(f"{step}: {type(exc).__name__} {str(exc)[:80]}".rstrip())


async def _set_up(clients: Sequence[_Client], settings: Settings) -> None:
    """Set every client up (``concurrency`` at a time) and start its listener; bounded by ``setup_timeout``."""
    gate = asyncio.Semaphore(settings.concurrency)

    async def one(client: _Client) -> None:
        async with gate:
            await _guarded(client, "setup", client.setup())
        if client.ready:
            client.listener = asyncio.get_running_loop().create_task(client.listen())

    tasks = [asyncio.ensure_future(one(client)) for client in clients]
    _, pending = await asyncio.wait(tasks, timeout=settings.setup_timeout)
    for task in pending:
        task.cancel()
    for client in clients:
        if not client.ready and not client.notes:
            client.note("setup: timed out")


async def _until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _exchange(clients: Sequence[_Client], settings: Settings) -> tuple[int, float]:
    """Wait for the streams, send one message per client at ``rate``, wait for them to arrive.

    Returns how many streams had answered before the sends, and how long they took.
    """
    ready = [c for c in clients if c.ready]
    started = time.monotonic()
    await _until(lambda: all(c.opened.is_set() for c in ready), settings.open_timeout)
    opened, open_seconds = sum(c.opened.is_set() for c in ready), time.monotonic() - started
    log(f"live_pages:   {opened} of {len(ready)} streams open after {open_seconds:.1f} s; sending")
    sends = []
    order = list(ready)
    # Customers write when they like, not in the order their pages opened: a server that
    # serves open streams in turn must not be flattered by sends that follow its turns.
    random.Random(settings.seed).shuffle(order)
    started = time.monotonic()
    for i, client in enumerate(order):
        await asyncio.sleep(max(0.0, started + i / settings.rate - time.monotonic()))
        sends.append(asyncio.ensure_future(_guarded(client, "send", client.send())))
    await asyncio.gather(*sends)
    log(f"live_pages:   {len(sends)} sent in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    await _until(lambda: all(c.seen_at is not None for c in ready), settings.timeout)
    seen = sum(c.seen_at is not None for c in ready)
    log(f"live_pages:   {seen} of {len(ready)} seen {time.monotonic() - started:.1f} s after the last send")
    return opened, open_seconds


async def _check_and_close(clients: Sequence[_Client], settings: Settings) -> None:
    gate = asyncio.Semaphore(settings.concurrency)

    async def check(client: _Client) -> None:
        async with gate:
            await _guarded(client, "check", client.check())

    checks = [asyncio.ensure_future(check(c)) for c in clients if c.ready]
    if checks:
        _, pending = await asyncio.wait(checks, timeout=settings.request_timeout * 2)
        for task in pending:
            task.cancel()
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def _warm_up(client: _Client, settings: Settings) -> None:
    """One client's whole flow before measuring: imports, clients and caches of every process are made."""
    await client.setup()
    if not client.ready:
        raise RuntimeError(f"the warm-up client could not start a chat: {client.notes}")
    client.listener = asyncio.get_running_loop().create_task(client.listen())
    await _until(client.opened.is_set, settings.open_timeout)
    await client.send()
    await _until(lambda: client.seen_at is not None, settings.timeout)
    await client.close()
    if client.seen_at is None:
        raise RuntimeError(f"the warm-up client never saw its message: {client.notes}")


@dataclass
class _Outcome:
    clients: list[_Client]
    idle: dict[str, tuple[int, int]]
    peak: dict[str, tuple[int, int]]
    lag: float
    cpu: float
    load: float
    seconds: float
    opened: int
    open_seconds: float


async def _drive(make_client: Any, pages: int, pids: dict[str, int], settings: Settings) -> _Outcome:
    run_id = uuid.uuid4().hex[:8]
    await _warm_up(make_client(-1, run_id), settings)
    await asyncio.sleep(1.0)
    sampler = _Sampler(pids)
    sampler.sample()
    idle = dict(sampler.peak)
    load = os.getloadavg()[0]
    sampler.start()
    started, cpu = time.monotonic(), time.process_time()
    clients = [make_client(n, run_id) for n in range(pages)]
    opened, open_seconds = 0, 0.0
    try:
        await _set_up(clients, settings)
        log(f"live_pages:   {sum(c.ready for c in clients)} of {pages} set up in {time.monotonic() - started:.1f} s")
        opened, open_seconds = await _exchange(clients, settings)
        await _check_and_close(clients, settings)
    finally:
        await sampler.stop()
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return _Outcome(
        clients,
        idle,
        sampler.peak,
        sampler.lag,
        time.process_time() - cpu,
        load,
        time.monotonic() - started,
        opened,
        open_seconds,
    )


async def _drive_pages(site: str, pages: int, pids: dict[str, int], settings: Settings) -> _Outcome:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    try:
        return await _drive(lambda n, run_id: _Browser(n, run_id, site, connector, settings), pages, pids, settings)
    finally:
        await connector.close()


async def _drive_sockets(serve_url: str, pages: int, pids: dict[str, int], settings: Settings) -> _Outcome:
    bare = _Bare(serve_url)
    heartbeats = asyncio.ensure_future(bare.heartbeats())
    try:
        return await _drive(lambda n, run_id: _Socket(n, run_id, bare), pages, pids, settings)
    finally:
        heartbeats.cancel()
        await bare.close()


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _row(server: str, pages: int, outcome: _Outcome) -> Row:
    latencies = [c.latency for c in outcome.clients if c.latency is not None]
    serve_threads, serve_rss = outcome.peak["serve"]
    errors = Counter(re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", note) for c in outcome.clients for note in c.notes)
    row = Row(
        server=server,
        pages=pages,
        seen=len(latencies),
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        p99_ratio=None,
        web_threads=None,
        web_rss_kb=None,
        serve_threads=serve_threads,
        serve_rss_kb=serve_rss,
        opened=outcome.opened,
        open_seconds=round(outcome.open_seconds, 1),
        serve_rss_idle_kb=outcome.idle["serve"][1],
        seconds=round(outcome.seconds, 1),
        driver_lag=round(outcome.lag, 3),
        driver_cpu=round(outcome.cpu, 1),
        load=round(outcome.load, 1),
        errors=dict(errors.most_common(10)),
    )
    if "web" in outcome.peak:
        row.web_threads, row.web_rss_kb = outcome.peak["web"]
        row.web_rss_idle_kb = outcome.idle["web"][1]
        row.rss_per_page_kb = (row.web_rss_kb - row.web_rss_idle_kb) / pages
        row.sessions_lost = sum(c.lost for c in outcome.clients)
    else:
        row.rss_per_page_kb = (serve_rss - row.serve_rss_idle_kb) / pages
    return row


def measure(server: str, pages: int, settings: Settings = Settings(), logdir: Optional[Path] = None) -> Row:
    """One server (``websockets``, ``wsgi`` or ``asgi``) at ``pages`` clients, each process fresh."""
    if server not in SERVERS:
        raise ValueError(f"server must be one of {', '.join(SERVERS)}")
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop running in this thread, as it should be
        pass
    else:
        raise RuntimeError("measure() runs an event loop of its own: call it from a thread without one")
    with contextlib.ExitStack() as stack:
        if logdir is None:
            logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="live_pages-")))
        serve = stack.enter_context(_serve(logdir, settings.agent))
        if server == "websockets":
            outcome = asyncio.run(_drive_sockets(serve.url, pages, {"serve": serve.pid}, settings))
        else:
            web = stack.enter_context(_web(server, serve.url, logdir, pages))
            outcome = asyncio.run(_drive_pages(web.url, pages, {"web": web.pid, "serve": serve.pid}, settings))
    return _row(server, pages, outcome)


def with_ratios(rows: Sequence[Row]) -> list[Row]:
    """Each row's p99 as a ratio to the baseline's (``websockets``) at the same N.

    None where either has no p99 (no message seen), so the JSON stays plain JSON.
    """
    baseline = {r.pages: r.p99 for r in rows if r.server == "websockets"}
    result = []
    for r in rows:
        base = baseline.get(r.pages)
        ratio = r.p99 / base if base and r.p99 is not None else None
        result.append(replace(r, p99_ratio=ratio))
    return result


# -- reporting ----------------------------------------------------------------------------------------


def _kb(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value / 1024:.0f} MB" if value >= 10_240 else f"{value:.0f} KB"


def format_rows(rows: Sequence[Row]) -> str:
    """The per-server table: one line per server and N."""
    header = (
        "server", "pages", "seen", "p50", "p99", "p99/ws", "web threads", "web RSS",
        "RSS/page", "serve threads", "serve RSS", "sessions lost",
    )  # fmt: skip
    lines = [header]
    for r in rows:
        lines.append(
            (
                {"wsgi": "runserver (WSGI)", "asgi": "uvicorn (ASGI)"}.get(r.server, "bare websockets"),
                f"{r.pages:,}",
                f"{r.seen:,}",
                fmt(r.p50, "s"),
                fmt(r.p99, "s"),
                "-" if r.p99_ratio is None else f"{r.p99_ratio:.2f}",
                "-" if r.web_threads is None else str(r.web_threads),
                _kb(r.web_rss_kb),
                _kb(r.rss_per_page_kb),
                str(r.serve_threads),
                _kb(r.serve_rss_kb),
                "-" if r.sessions_lost is None else str(r.sessions_lost),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [" | ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(text)


def _summary(r: Row) -> str:
    parts = [
        f"seen {r.seen:,} of {r.pages:,}",
        f"p50 {fmt(r.p50, 's')}",
        f"{r.opened:,} streams open in {r.open_seconds:.1f} s",
    ]
    if r.web_threads is not None:
        parts.append(f"web {r.web_threads} threads {_kb(r.web_rss_kb)} ({_kb(r.rss_per_page_kb)}/page)")
        parts.append(f"sessions lost {r.sessions_lost}")
    parts.append(f"serve {r.serve_threads} threads {_kb(r.serve_rss_kb)}")
    parts.append(f"driver: {r.driver_cpu:.0f} s CPU, loop late by up to {fmt(r.driver_lag, 's')}; load {r.load:g}")
    if r.errors:
        parts.append("first errors: " + "; ".join(f"{n}x {e}" for e, n in list(r.errors.items())[:3]))
    return ", ".join(parts)


def results(rows: Sequence[Row]) -> list[Result]:
    """The table rows: p99 against the baseline per server, then the issue's goals."""
    out: list[Result] = []
    baseline = {r.pages: r.p99 for r in rows if r.server == "websockets"}
    for r in rows:
        label = {"wsgi": "WSGI", "asgi": "ASGI"}.get(r.server, "websockets")
        base = None if r.server == "websockets" else baseline.get(r.pages)
        ratio = None if base is None else (float("inf") if r.p99 is None else r.p99_ratio)
        out.append(
            Result(
                f"live_pages {label} {r.pages:,}: p99 delivery",
                float("inf") if r.p99 is None else r.p99,
                base,
                ratio,
                P99_RATIO_TARGET if r.server == "asgi" else None,
                "s",
                _summary(r),
            )
        )
    for r in rows:
        n = f"{r.pages:,}"
        if r.server == "asgi":
            out.append(
                Result(f"live_pages ASGI {n}: pages without their message", r.pages - r.seen, target=0, unit="pages")
            )
            out.append(Result(f"live_pages ASGI {n}: web threads", r.web_threads or 0, target=WEB_THREADS_TARGET))
            out.append(
                Result(
                    f"live_pages ASGI {n}: web RSS per page",
                    r.rss_per_page_kb or 0,
                    target=RSS_PER_PAGE_TARGET_KB,
                    unit="KB",
                )
            )
        if r.server == "wsgi":
            out.append(Result(f"live_pages WSGI {n}: sessions lost", r.sessions_lost or 0, target=0, unit="pages"))
    for pages in sorted({r.pages for r in rows}):
        threads = max(r.serve_threads for r in rows if r.pages == pages)
        out.append(
            Result(
                f"live_pages serve threads at {pages:,} sockets",
                threads,
                target=SERVE_THREADS_TARGET,
                note="the most of any server's run at this N",
            )
        )
    return out


def write_rows(rows: Sequence[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2, allow_nan=False) + "\n", encoding="utf-8")


def raise_open_files_limit(pages: int) -> None:
    """Raise the soft limit of open files for N pages (2 sockets each, plus the children's), up to the hard limit."""
    wanted = 4 * pages + 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        log(f"live_pages: raised the open-files limit from {soft} to {new} (wanted {wanted})")


def run(
    quick: bool = False,
    pages: Optional[Sequence[int]] = None,
    servers: Sequence[str] = SERVERS,
    settings: Settings = Settings(),
    out: Optional[Path] = RESULTS,
) -> list[Result]:
    """Measure every server at every N; write the rows as JSON to ``out``; return the table rows."""
    sizes = list(pages or (QUICK_PAGES if quick else PAGES))
    raise_open_files_limit(max(sizes))
    rows: list[Row] = []
    for n in sizes:
        for server in servers:
            log(f"live_pages: {server} with {n:,} pages")
            row = measure(server, n, settings)
            log(f"live_pages:   {_summary(row)} ({row.seconds:.0f} s)")
            rows.append(row)
    rows = with_ratios(rows)
    log(format_rows(rows))
    if out is not None:
        write_rows(rows, out)
        log(f"live_pages: rows written to {out}")
    return results(rows)


def page_counts(text: str) -> list[int]:
    """``--pages`` on the command line: comma-separated positive counts."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of page counts: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("page counts must be positive")
    return sizes


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m benchmarks.bench_live_pages``: this benchmark alone, with every knob."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_live_pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=page_counts, help="comma-separated N (default 100,1000; --quick 10,50)")
    parser.add_argument("--quick", action="store_true", help="smaller N")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated: websockets,wsgi,asgi")
    parser.add_argument("--rate", type=float, default=Settings.rate, help="messages per second (all pages)")
    parser.add_argument("--concurrency", type=int, default=Settings.concurrency, help="pages setting up at once")
    parser.add_argument("--open-timeout", type=float, default=Settings.open_timeout, help="seconds for streams to open")
    parser.add_argument("--timeout", type=float, default=Settings.timeout, help="seconds after the last send")
    parser.add_argument("--agent", action="store_true", help="serve --agent echo (typing and an echo in every chat)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON rows go (default: %(default)s)")
    args = parser.parse_args(argv)
    servers = [s for s in args.servers.split(",") if s]
    unknown = sorted(set(servers) - set(SERVERS))
    if unknown:
        parser.error(f"unknown server(s): {', '.join(unknown)}")
    settings = Settings(
        concurrency=args.concurrency,
        rate=args.rate,
        open_timeout=args.open_timeout,
        timeout=args.timeout,
        agent=args.agent,
    )
    from .run import format_table

    table = run(quick=args.quick, pages=args.pages, servers=servers, settings=settings, out=args.out)
    print(format_table(table))
    for r in table:
        if r.note:
            print(f"  {r.name}: {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
