"""Shared fixtures. The chat backend's own fixtures (``mock_chat``, ``connect_client``,
``chat_contact``, ``chat``, ``participant``, ``connection``, ``agent``) come from the
package's pytest plugin, ``connectparticipant_ext.testing.plugin``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
from botocore.retries import standard
from hypothesis import settings

from _helpers import WAIT, Side

# CI runs the property tests on a fixed sequence of examples (a red CI run is reproducible);
# local runs explore new examples each time, which is how the year-999 timestamp bug was found.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries without their sleeps: the retry logic stays botocore's own."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def new_york_time() -> Iterator[None]:
    """The process's local time zone set to America/New_York (UTC-5 in winter), then restored."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset() is Unix only")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        try:
            assert time.localtime(0).tm_hour == 19  # 1970-01-01 00:00 UTC is 19:00 the day before there
            yield
        finally:
            patch.undo()
            time.tzset()


@pytest.fixture
def wire_calls(chat) -> Iterator[list[str]]:
    """The names of the connectparticipant operations the client is asked to make, in order."""
    calls: list[str] = []
    events = chat.meta.client.meta.events

    def record(model, **kwargs) -> None:
        calls.append(model.name)

    events.register("before-call.connectparticipant", record, unique_id="wire-calls-recorder")
    try:
        yield calls
    finally:
        events.unregister("before-call.connectparticipant", unique_id="wire-calls-recorder")


INTEROP = Path(__file__).parent / "interop"


@pytest.fixture
def connection_requests(chat) -> Iterator[list[dict[str, Any]]]:
    """The parameters of each CreateParticipantConnection call, in order."""
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        requests.append(dict(params))

    events = chat.meta.client.meta.events
    event = "before-parameter-build.connectparticipant.CreateParticipantConnection"
    events.register(event, record, unique_id="connection-requests")
    yield requests
    events.unregister(event, unique_id="connection-requests")


@pytest.fixture
def node() -> str:
    """The ``node`` executable for the interop clients in tests/interop.

    Skips when Node.js or the npm packages of tests/interop/package.json are missing, except
    under CI (``CI=true``), which installs them: there the test fails instead.
    """
    executable = shutil.which("node")
    packages = json.loads((INTEROP / "package.json").read_text())["dependencies"]
    if executable is None:
        reason = "Node.js (`node`) is not installed"
    elif not all((INTEROP / "node_modules" / package).is_dir() for package in packages):
        reason = "the interop clients are not installed: run `npm ci` in tests/interop"
    else:
        return executable
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI installs it; the interop tests must run there)")
    pytest.skip(reason)


@pytest.fixture
def local_server(aws_credentials: None) -> Iterator[Any]:
    """The chat backend's LocalServer on 127.0.0.1, reset afterwards."""
    from connectparticipant_ext.testing import get_chat_backend
    from connectparticipant_ext.testing.server import LocalServer

    with LocalServer() as running:
        yield running
        get_chat_backend().reset()


DOCS = Path(__file__).resolve().parent.parent / "docs"


class BuiltDocs(NamedTuple):
    html: Path  # the HTML pages
    returncode: int
    output: str  # what sphinx-build printed (with -q: its warnings and errors)


@pytest.fixture(scope="session")
def built_docs(tmp_path_factory: pytest.TempPathFactory) -> BuiltDocs:
    """The HTML docs, built once per run as a reader builds them: with only the ``docs``
    extra's packages importable (tests/_docs_only_sphinx.py), so a page that needs more shows."""
    pytest.importorskip("sphinx")
    root = tmp_path_factory.mktemp("docs")
    builder = str(Path(__file__).parent / "_docs_only_sphinx.py")
    command = [sys.executable, builder, "-q", "-b", "html", "-d", str(root / "doctrees"), str(DOCS), str(root / "html")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return BuiltDocs(root / "html", result.returncode, result.stdout + result.stderr)


@pytest.fixture(params=["mock_aws", "server"])
def side(request: pytest.FixtureRequest, aws_credentials: None) -> Iterator[Side]:
    """A chat with a customer and an agent, in-process (``mock_aws``) and over the local server."""
    from connectparticipant_ext import ChatService
    from connectparticipant_ext.testing import get_chat_backend
    from connectparticipant_ext.testing.server import LocalServer

    if request.param == "mock_aws":
        from moto import mock_aws

        with mock_aws():
            yield Side(ChatService(region_name="us-east-1"), boto3.client("connect", region_name="us-east-1"))
    else:
        with LocalServer() as server:
            url = server.endpoint_url
            yield Side(
                ChatService(region_name="us-east-1", endpoint_url=url),
                boto3.client("connect", region_name="us-east-1", endpoint_url=url),
            )
            get_chat_backend().reset()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own, for the asyncio stream beside the threaded one."""
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, name="test-event-loop", daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join(WAIT)
    running.close()
