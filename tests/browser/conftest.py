"""Browser tests of the Django example: headless Chromium (Debian's ``chromium``) driven by Playwright.

What runs, as a person would run it: ``connectparticipant-ext serve --agent echo`` (the chat
backend with an agent that types, then echoes) and the example under ``manage.py runserver``,
each in its own process on a free loopback port; Chromium opens the pages.

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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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


@pytest.fixture(scope="session")
def servers(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The chat backend with the echo agent, and the Django example, each in a process of its own."""
    pytest.importorskip("django")
    logs = tmp_path_factory.mktemp("servers")
    backend_port, site_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "CONNECT_ENDPOINT_URL": f"http://127.0.0.1:{backend_port}",
        "CHAT_EVENTS_MAX_SECONDS": str(EVENTS_MAX_SECONDS),
        "DJANGO_DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with open(logs / "backend.log", "wb") as backend_log, open(logs / "django.log", "wb") as django_log:
            backend = subprocess.Popen(
                [sys.executable, "-m", "connectparticipant_ext", "serve", "--port", str(backend_port)]
                + ["--agent", "echo", "--agent-delay", str(AGENT_DELAY)],
                env=env,
                stdout=backend_log,
                stderr=subprocess.STDOUT,
            )
            processes.append(backend)
            site = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{site_port}", "--noreload"],
                cwd=EXAMPLE_DIR,
                env=env,
                stdout=django_log,
                stderr=subprocess.STDOUT,
            )
            processes.append(site)
            _wait_for_port(backend_port, backend, "connectparticipant-ext serve")
            _wait_for_port(site_port, site, "manage.py runserver")
            yield {"site": f"http://127.0.0.1:{site_port}", "backend": f"http://127.0.0.1:{backend_port}"}
    finally:
        for process in reversed(processes):
            _stop(process)


@pytest.fixture(scope="session")
def asgi_site(servers: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same example under an ASGI server (uvicorn), on the same chat backend."""
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        _missing("uvicorn is not installed (pip install -e '.[browser]')")
    port = _free_port()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CONNECT_ENDPOINT_URL": servers["backend"],
        "CHAT_EVENTS_MAX_SECONDS": str(EVENTS_MAX_SECONDS),
    }
    log = tmp_path_factory.mktemp("asgi") / "uvicorn.log"
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
            _stop(process)


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

    def open_page(viewport: dict[str, int] | None = None, base_url: str | None = None) -> Any:
        context = browser.new_context(
            base_url=base_url or servers["site"], viewport=viewport or {"width": 1100, "height": 800}
        )
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
