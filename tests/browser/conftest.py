"""Browser tests of the Django example: headless Chromium (Debian's ``chromium``) driven by Playwright.

What runs, as a person would run it: ``connectparticipant-ext serve --agent echo`` (the chat
backend with an agent that types, then echoes) and the example under ``manage.py runserver``,
each in its own process on a free loopback port; Chromium opens the pages. A second pair
(``quiet_site``) has no echo agent, so that a test can take the other side of a chat itself
through the library, and reaches its backend through a relay the test can cut
(:class:`CuttableRelay`): the chat service becomes unreachable for the site, for real.

The tests skip when Playwright or Chromium is missing, except under CI (``CI=true``), which
installs both (see .ci/run): there they fail instead. Playwright's own browser download is
never used: the system Chromium is launched with ``executable_path``. A failed test leaves a
screenshot of each open page in ``tests/browser/failures/`` (or ``$BROWSER_FAILURES_DIR``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _helpers import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "docs" / "examples" / "django_chat"
FAILURES_DIR = Path(os.environ.get("BROWSER_FAILURES_DIR") or Path(__file__).parent / "failures")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EVENTS_MAX_SECONDS = 3.0  # the example's event streams end this often: every test crosses reconnects
AGENT_DELAY = 0.6  # the echo agent types this long before answering
# Screen sizes (CSS pixels): a laptop, a current phone, and the narrowest phone in use.
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 320, "height": 568}


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI installs it; the browser tests must run there)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_playwright() -> Any:
    """Playwright's ``expect``, for a test module's top level: skips the module without
    Playwright, except under CI, where the module fails to load (a red run, not a silent skip)."""
    try:
        from playwright.sync_api import expect
    except ImportError:
        _missing("Playwright is not installed (pip install playwright; the browser comes from Debian's chromium)")
    return expect


def _wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout} s")




@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Playwright is not installed (pip install playwright; the browser comes from Debian's chromium)")
    path = _chromium()
    if path is None:
        _missing("Chromium is not installed (apt-get install chromium)")
    assert path is not None
    return path


def _server_env(backend_url: str, logs: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "CONNECT_ENDPOINT_URL": backend_url,
        "CHAT_EVENTS_MAX_SECONDS": str(EVENTS_MAX_SECONDS),
        "DJANGO_DEBUG": "0",
        "DJANGO_SESSION_DIR": str(logs / "sessions"),
        "PYTHONUNBUFFERED": "1",
    }


def _start_backend(port: int, env: dict[str, str], log: Any, *agent: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", str(port), *agent],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _start_site(port: int, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=EXAMPLE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="session")
def servers(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The chat backend with the echo agent, and the Django example, each in a process of its own."""
    pytest.importorskip("django")
    logs = tmp_path_factory.mktemp("servers")
    backend_port, site_port = free_port(), free_port()
    env = _server_env(f"http://127.0.0.1:{backend_port}", logs)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with open(logs / "backend.log", "wb") as backend_log, open(logs / "django.log", "wb") as django_log:
            agent = ("--agent", "echo", "--agent-delay", str(AGENT_DELAY))
            backend = _start_backend(backend_port, env, backend_log, *agent)
            processes.append(backend)
            site = _start_site(site_port, env, django_log)
            processes.append(site)
            _wait_for_port(backend_port, backend, "connectparticipant-ext serve")
            _wait_for_port(site_port, site, "manage.py runserver")
            yield {"site": f"http://127.0.0.1:{site_port}", "backend": f"http://127.0.0.1:{backend_port}"}
    finally:
        for process in reversed(processes):
            stop_process(process, timeout=10)


class CuttableRelay:
    """A TCP relay from a free loopback port to ``target_port``, which a test can cut.

    ``cut()`` closes every relayed connection and resets each new one (as a backend that has
    gone away: connection refused or reset, after botocore's retries); ``restore()`` relays again.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name="cuttable-relay", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self._cut.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with self._lock:
                    self._open.discard(sock)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a refused or dropped connection looks."""
    import struct

    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


@pytest.fixture(scope="session")
def quiet_site(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The example on a backend without the echo agent, reached through a :class:`CuttableRelay`.

    Yields ``site`` (the example's URL), ``backend`` (the backend's own URL, for a test that
    takes the other side of a chat) and ``relay``.
    """
    pytest.importorskip("django")
    logs = tmp_path_factory.mktemp("quiet")
    backend_port, site_port = free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    relay: CuttableRelay | None = None
    try:
        with open(logs / "backend.log", "wb") as backend_log, open(logs / "django.log", "wb") as django_log:
            backend = _start_backend(backend_port, _server_env("", logs), backend_log)
            processes.append(backend)
            _wait_for_port(backend_port, backend, "connectparticipant-ext serve")
            relay = CuttableRelay(backend_port)
            site = _start_site(site_port, _server_env(f"http://127.0.0.1:{relay.port}", logs), django_log)
            processes.append(site)
            _wait_for_port(site_port, site, "manage.py runserver")
            yield {
                "site": f"http://127.0.0.1:{site_port}",
                "backend": f"http://127.0.0.1:{backend_port}",
                "relay": relay,
            }
    finally:
        for process in reversed(processes):
            stop_process(process, timeout=10)
        if relay is not None:
            relay.close()


@pytest.fixture(scope="session")
def asgi_site(servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same example under an ASGI server (uvicorn), on the same chat backend."""
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        _missing("uvicorn is not installed (pip install -e '.[browser]')")
    port = free_port()
    logs = tmp_path_factory.mktemp("asgi")
    env = _server_env(servers["backend"], logs)
    log = logs / "uvicorn.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "django_chat.asgi:application", "--port", str(port)],
            cwd=EXAMPLE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_port(port, process, "uvicorn")
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(process, timeout=10)


@pytest.fixture(scope="session")
def browser(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def new_page(browser: Any, servers: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Any]:
    """Open pages in fresh browser contexts (own cookies: a customer each); screenshots on failure."""
    contexts: list[Any] = []

    def open_page(viewport: dict[str, int] | None = None, base_url: str | None = None, **options: Any) -> Any:
        """A page in a new context; ``options`` go to ``browser.new_context`` (``timezone_id``,
        ``locale``, ``java_script_enabled``...)."""
        context = browser.new_context(base_url=base_url or servers["site"], viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    failed = any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))
    for n, context in enumerate(contexts):
        if failed:
            FAILURES_DIR.mkdir(parents=True, exist_ok=True)
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(FAILURES_DIR / f"{request.node.name}-{n}-{m}.png"), full_page=True)
        context.close()
