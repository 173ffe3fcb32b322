"""AWS's own customer chat widget, unchanged, against the local backend, in headless Chromium.

What runs: a static file server on 127.0.0.1 serving tests/widget/ (AWS's local-testing page and
its prebuilt bundle, see tests/widget/vendor/README.md) and the chat backend's server, either
in-process (:class:`~connectparticipant_ext.testing.server.LocalServer`, with the test playing the
agent through ``join_as_agent``, so that every step is the test's to wait for) or as the suite
runs it for the Django example, ``connectparticipant-ext serve --agent echo`` (the command
docs/widget.rst gives). The page and the bundle are AWS's; only the settings a developer fills
in differ, which the first tests check line by line.

Nothing may reach the internet. A route handler refuses every request to a host that is not
loopback, and each test ends by asserting it saw none: everything the page loads is local.
Routes do not see what workers send, so each browser context also goes through a proxy that
refuses and records every connection reaching it (Chromium sends it everything but loopback),
in a Chromium of this module's own with its autofill queries to Google off. The one thing that
proxy sees is the bundle's usage metrics: its chatjs posts them to AWS's telemetry host from a
shared worker, and the widget has no setting to stop it (it creates its chat session without
chatjs's ``disableCSM``). The tests assert that nothing else tried, and the chat works with
those posts refused.

``UPDATE_DOCS_SCREENSHOTS=1 pytest tests/browser/test_widget.py`` rewrites
docs/_static/widget-desktop.png and widget-phone.png; otherwise the pictures go to a temporary
directory. Every wait is bounded (Playwright's expect, 15 s); nothing asserts how long anything took.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import http.server
import io
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from connectparticipant_ext._local import DEFAULT_PORT
from connectparticipant_ext.testing.state import CHAT_ENDED, MESSAGE_READ
from connectparticipant_ext.testing.state import TYPING as TYPING_EVENT

from .conftest import CHROMIUM_FLAGS, FAILURES_DIR, ROOT, require_playwright

expect = require_playwright()

WIDGET_DIR = ROOT / "tests" / "widget"
VENDOR_DIR = WIDGET_DIR / "vendor"
WAIT = 15_000  # ms
SIZES = {
    "desktop": {"width": 1100, "height": 760},
    "phone": {"width": 390, "height": 760},  # an iPhone-sized CSS viewport
}
SERVE_DEFAULT = f"http://127.0.0.1:{DEFAULT_PORT}"
"""Where backendEndpoints.js points (``serve``'s default address); the test's file server rewrites it."""

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
PROXY_BYPASS = "127.0.0.1,localhost,[::1]"
"""Playwright's proxy takes loopback too unless told: the page and the backend are reached directly."""

TELEMETRY = re.compile(r"CONNECT ieluqbvv\.telemetry\.connect\.us-east-1\.amazonaws\.com:443 HTTP/1\.1")
"""chatjs's usage metrics (``getLdasEndpointUrl`` in its src/config/csmConfig.js) for the page's region."""

QUIET_FLAGS = [*CHROMIUM_FLAGS, "--disable-features=AutofillServerCommunication"]
"""The suite's Chromium flags, and no autofill queries to Google (the browser's own, not the page's)."""

TYPING = '.transcript [direction="Incoming"]:not([data-testid="message-body"]) > span > span:nth-child(3)'
"""The bundle's typing bubble: a message body without text, holding react-spinners' three dots."""

RECEIPT_TXT = b"Order #1042, paid on 2 December.\n"


# -- the page's files are AWS's ---------------------------------------------------------------


def _changed_lines(original: Path, ours: Path) -> list[tuple[str, str]]:
    """Each run of lines that differs, as (AWS's lines, ours)."""
    old, new = original.read_text().splitlines(), ours.read_text().splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        ("\n".join(old[i1:i2]), "\n".join(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def test_the_host_page_is_aws_example_but_for_the_bundle_path_and_attachments() -> None:
    assert _changed_lines(VENDOR_DIR / "index.html", WIDGET_DIR / "index.html") == [
        (
            '    <script src="amazon-connect-chat-interface.js"></script>',
            '    <script src="vendor/amazon-connect-chat-interface.js"></script>',
        ),
        (
            '                            "ATTACHMENTS": false,  // this is the override flag from user for attachments',
            '                            "ATTACHMENTS": true,  // this is the override flag from user for attachments',
        ),
    ]


def test_the_settings_differ_from_aws_only_in_the_endpoints_and_region() -> None:
    changes = _changed_lines(VENDOR_DIR / "backendEndpoints.js", WIDGET_DIR / "backendEndpoints.js")
    assert len(changes) == 1
    theirs, ours = (lines.splitlines() for lines in changes[0])
    assert [line.split(" = ")[0] for line in theirs] == ["var apiGatewayEndpoint", "var region"]
    assert ours == [
        f'var apiGatewayEndpoint = "{SERVE_DEFAULT}/start-chat"; // connectparticipant-ext serve\'s start-chat API',
        'var region = "us-east-1";',
        "// the Participant Service: serve",
        f'connect.ChatSession.setGlobalConfig({{ region: region, endpoint: "{SERVE_DEFAULT}" }});',
    ]


def test_the_vendored_files_are_the_ones_the_readme_names() -> None:
    readme = (VENDOR_DIR / "README.md").read_text()
    for name in ("amazon-connect-chat-interface.js", "index.html", "backendEndpoints.js", "LICENSE"):
        recorded = re.search(r"\| `" + re.escape(name) + r"` .*git blob `([0-9a-f]{40})`", readme)
        assert recorded, f"the README records {name}'s git blob id"
        data = (VENDOR_DIR / name).read_bytes()
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id
        assert blob == recorded.group(1), f"{name} differs from the file at the commit the README names"


# -- serving the page and keeping the browser offline ------------------------------------------


class _WidgetFiles(http.server.SimpleHTTPRequestHandler):
    """tests/widget/ as a developer would serve it, backendEndpoints.js naming the test's backend."""

    backend = SERVE_DEFAULT

    def send_head(self) -> Any:
        if urlsplit(self.path).path != "/backendEndpoints.js":
            return super().send_head()
        body = (WIDGET_DIR / "backendEndpoints.js").read_text().replace(SERVE_DEFAULT, self.backend).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def widget_site() -> Iterator[Callable[[str], str]]:
    """``site(backend_url)``: the URL of a file server for tests/widget/ pointing the page at that backend."""
    assert SERVE_DEFAULT in (WIDGET_DIR / "backendEndpoints.js").read_text()
    running: dict[str, tuple[http.server.ThreadingHTTPServer, threading.Thread]] = {}

    def site(backend: str) -> str:
        if backend not in running:
            handler = type("Files", (_WidgetFiles,), {"backend": backend})
            httpd = http.server.ThreadingHTTPServer(
                ("127.0.0.1", 0), functools.partial(handler, directory=str(WIDGET_DIR))
            )
            thread = threading.Thread(target=httpd.serve_forever, name="widget-site", daemon=True)
            thread.start()
            running[backend] = (httpd, thread)
        return f"http://127.0.0.1:{running[backend][0].server_address[1]}"

    yield site
    for httpd, thread in running.values():
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


class RefusingProxy:
    """An HTTP proxy on 127.0.0.1 that answers everything with 403 and keeps each request's first line."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, name="refusing-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._socket.accept()
            except OSError:  # closed
                return
            with client:
                client.settimeout(5)
                try:
                    head = client.recv(4096)
                    self.attempts.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept() that close() alone may not
        except OSError:
            pass
        self._socket.close()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def refusing_proxy() -> Iterator[RefusingProxy]:
    proxy = RefusingProxy()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def quiet_browser(browser: Any, chromium_path: str) -> Iterator[Any]:
    """A second Chromium from the suite's Playwright, launched with :data:`QUIET_FLAGS`."""
    launched = browser.browser_type.launch(executable_path=chromium_path, args=QUIET_FLAGS, headless=True)
    try:
        yield launched
    finally:
        launched.close()


class Offline:
    """What one browser context asked for beyond loopback, and the backend's refusals."""

    def __init__(self, proxy: RefusingProxy) -> None:
        self.proxy = proxy
        self.proxy_seen_before = len(proxy.attempts)
        self.routed_away: list[str] = []
        self.refused: list[Any] = []
        """The Participant Service's answers with an error status (their bodies are read when checked)."""

    def route(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.routed_away.append(route.request.url)
            route.abort("blockedbyclient")

    def response(self, response: Any) -> None:
        if "/participant/" in response.url and response.status >= 400:
            self.refused.append(response)

    def assert_nothing_left_loopback(self) -> None:
        """The page loaded nothing from beyond loopback; only chatjs's metrics posts tried to."""
        assert self.routed_away == [], f"the page asked for {self.routed_away}"
        reached = [line for line in self.proxy.attempts[self.proxy_seen_before :] if not TELEMETRY.fullmatch(line)]
        assert reached == [], f"the browser tried to connect beyond loopback: {reached}"

    def assert_only_receipts_for_events_refused(self) -> None:
        """Every Participant Service call succeeded but read receipts for an item that is no message.

        The bundle sends a read receipt for the last incoming item when the customer writes after
        it, events included (its ChatSession.js, "Corner case: lastMessage is not read"): the
        agent's "joined" event. The backend refuses a receipt for an item that is not a message
        (docs/widget.rst), and the widget goes on.
        """
        for response in self.refused:
            sent = json.loads(response.request.post_data or "{}")
            found = (response.status, urlsplit(response.url).path, sent.get("ContentType"), response.text())
            assert found[:3] == (400, "/participant/event", MESSAGE_READ), found
            assert json.loads(found[3])["message"] == "messageId does not name a message of this chat", found


_RECORD_TYPING = """window.__typingSeen = false;
document.addEventListener("DOMContentLoaded", () => {
  const look = () => { if (document.querySelector(SELECTOR)) window.__typingSeen = true; };
  new MutationObserver(look).observe(document.body, {childList: true, subtree: true});
});""".replace("SELECTOR", json.dumps(TYPING))
"""An agent may type for well under a second: the page records whether the bubble ever showed."""


@pytest.fixture
def open_widget(
    quiet_browser: Any, widget_site: Callable[[str], str], refusing_proxy: RefusingProxy, request: pytest.FixtureRequest
) -> Iterator[Callable[..., tuple[Any, Offline]]]:
    """``open_widget(backend_url, viewport)``: AWS's page in a fresh, offline context; screenshots on failure."""
    contexts: list[Any] = []

    def open_page(backend: str, viewport: dict[str, int]) -> tuple[Any, Offline]:
        offline = Offline(refusing_proxy)
        context = quiet_browser.new_context(
            base_url=widget_site(backend),
            viewport=viewport,
            proxy={"server": refusing_proxy.url, "bypass": PROXY_BYPASS},
        )
        context.set_default_timeout(WAIT)
        context.route("**/*", offline.route)
        context.on("response", offline.response)
        context.add_init_script(_RECORD_TYPING)
        contexts.append(context)
        page = context.new_page()
        page.goto("/index.html")
        return page, offline

    yield open_page
    failed = any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))
    for n, context in enumerate(contexts):
        if failed:
            FAILURES_DIR.mkdir(parents=True, exist_ok=True)
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(FAILURES_DIR / f"{request.node.name}-{n}-{m}.png"), full_page=True)
        context.close()


# -- the customer's side: AWS's form and widget -----------------------------------------------


def start_chat(page: Any, name: str) -> dict[str, Any]:
    """Fill in AWS's form and start; returns the widget's start-chat request with the answer's result."""
    page.locator("#firstName").fill(name)
    with page.expect_response(lambda r: r.url.endswith("/start-chat") and r.request.method == "POST") as answer:
        page.locator("#startChat").click()
    assert answer.value.status == 200
    started: dict[str, Any] = json.loads(answer.value.request.post_data)
    started["result"] = answer.value.json()["data"]["startChatResult"]
    expect(page.get_by_text(f"{name} has joined the chat")).to_be_visible(timeout=WAIT)
    return started


def send(page: Any, text: str) -> str:
    """Type and send a message in the widget; returns the Id the service gave it."""
    editor = page.locator('[data-testid="rich-text-editor"]')
    editor.click()
    editor.press_sequentially(text)
    with page.expect_response(lambda r: r.url.endswith("/participant/message")) as answer:
        page.locator('[data-testid="chat-send-message-button"]').click()
    sent = message(page, "Outgoing", text)
    expect(sent).to_be_visible(timeout=WAIT)
    expect(sent).not_to_contain_text("Sending", timeout=WAIT)  # the widget has the message's Id
    return str(answer.value.json()["Id"])


def message(page: Any, direction: str, text: str) -> Any:
    """A message in the transcript (its header, body and receipt line), by direction and text."""
    body = page.locator(f'[data-testid="message-body"][direction="{direction}"]', has_text=text)
    return page.locator('[data-testid="main-message"]', has=body)


def ended_by_the_widget(page: Any) -> None:
    """AWS's page hides the widget when its session reports the chat disconnected (``onChatDisconnected``)."""
    expect(page.locator("#section-chat")).to_have_css("opacity", "0", timeout=WAIT)


def wait_until(condition: Callable[[], bool], failure: str) -> None:
    """Wait (bounded) for something the backend's side of the test sees."""
    deadline = time.monotonic() + WAIT / 1000
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def picture(page: Any, size: str, tmp_path: Path) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a {size} screen"
    target = ROOT / "docs" / "_static" if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"widget-{size}.png"), full_page=True)
    assert (target / f"widget-{size}.png").stat().st_size > 0


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_widget_chats_with_an_agent_sends_a_file_and_the_customer_ends(
    local_server: Any, open_widget: Any, size: str, tmp_path: Path
) -> None:
    from connectparticipant_ext.testing import get_chat_backend

    page, offline = open_widget(local_server.endpoint_url, SIZES[size])
    started = start_chat(page, "Ann")
    backend = get_chat_backend()
    agent = backend.join_as_agent(started["result"]["ContactId"], display_name="Kim")
    pushed: list[dict[str, Any]] = []  # typing is pushed to the chat's sockets, never kept in its transcript
    backend.get_chat(agent.contact_id).add_listener(pushed.append)
    expect(page.get_by_text("Kim has joined the chat")).to_be_visible(timeout=WAIT)

    question = "Hi! My order #1042 has not arrived yet."
    question_id = send(page, question)
    assert agent.messages("CUSTOMER") == [question]
    wait_until(
        lambda: any(i.get("ContentType") == TYPING_EVENT and i.get("ParticipantRole") == "CUSTOMER" for i in pushed),
        "the customer's typing never reached the chat",
    )
    agent.read(question_id)
    expect(message(page, "Outgoing", question)).to_contain_text("Read", timeout=WAIT)
    agent.typing()
    expect(page.locator(TYPING)).to_be_visible(timeout=WAIT)
    agent.send(f"Echo: {question}")
    expect(message(page, "Incoming", f"Echo: {question}")).to_be_visible(timeout=WAIT)
    expect(page.locator(TYPING)).to_have_count(0, timeout=WAIT)  # the reply ends the agent's typing

    page.locator('[data-testid="chat-file-select-attachments"]').set_input_files(
        files=[{"name": "receipt.txt", "mimeType": "text/plain", "buffer": RECEIPT_TXT}]
    )
    expect(page.get_by_text("receipt.txt")).to_be_visible(timeout=WAIT)  # staged in the composer
    page.locator('[data-testid="chat-send-message-button"]').click()
    link = page.locator('[data-testid="main-message"] a', has_text="receipt.txt")  # a link once APPROVED
    expect(link).to_be_visible(timeout=WAIT)
    [uploaded] = [item for item in agent.items if item["Type"] == "ATTACHMENT"]
    assert uploaded["Attachments"][0]["AttachmentName"] == "receipt.txt"
    assert uploaded["Attachments"][0]["Status"] == "APPROVED"
    with page.expect_download() as download:  # the widget's own GetAttachment and presigned GET
        link.click()
    assert Path(download.value.path()).read_bytes() == RECEIPT_TXT
    agent.read(uploaded["Id"])
    attachment = page.locator('[data-testid="main-message"]', has=page.locator("a", has_text="receipt.txt"))
    expect(attachment).to_contain_text("Read", timeout=WAIT)
    agent.send("Thanks, I got receipt.txt.")
    expect(message(page, "Incoming", "Thanks, I got receipt.txt.")).to_be_visible(timeout=WAIT)
    agent.typing()
    expect(page.locator(TYPING)).to_be_visible(timeout=WAIT)
    picture(page, size, tmp_path)  # the file with "Read" under it, the reply, the agent typing again

    with page.expect_response(lambda r: r.url.endswith("/participant/disconnect")) as disconnected:
        page.get_by_role("button", name="End chat").click()
    assert disconnected.value.status == 200
    ended_by_the_widget(page)
    assert any(item.get("ContentType") == CHAT_ENDED for item in agent.items)
    offline.assert_only_receipts_for_events_refused()
    offline.assert_nothing_left_loopback()


def test_the_widget_shows_the_chat_ended_when_the_agent_leaves(local_server: Any, open_widget: Any) -> None:
    from connectparticipant_ext.testing import get_chat_backend

    page, offline = open_widget(local_server.endpoint_url, SIZES["desktop"])
    started = start_chat(page, "Bo")
    agent = get_chat_backend().join_as_agent(started["result"]["ContactId"], display_name="Kim")
    send(page, "Is anyone there?")
    agent.send("Yes, but I have to go now.")
    expect(message(page, "Incoming", "Yes, but I have to go now.")).to_be_visible(timeout=WAIT)

    agent.leave()
    expect(page.get_by_text("Kim has left the chat")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Chat has ended!")).to_be_visible(timeout=WAIT)
    ended_by_the_widget(page)
    offline.assert_only_receipts_for_events_refused()
    offline.assert_nothing_left_loopback()


def test_the_widget_shows_the_chat_ended_when_the_contact_is_stopped(local_server: Any, open_widget: Any) -> None:
    import boto3

    page, offline = open_widget(local_server.endpoint_url, SIZES["desktop"])
    started = start_chat(page, "Cy")
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    connect.stop_contact(ContactId=started["result"]["ContactId"], InstanceId=started["InstanceId"])
    expect(page.get_by_text("Chat has ended!")).to_be_visible(timeout=WAIT)
    ended_by_the_widget(page)
    offline.assert_only_receipts_for_events_refused()
    offline.assert_nothing_left_loopback()


def test_the_widget_against_serve_with_the_echo_agent(servers: dict[str, str], open_widget: Any) -> None:
    page, offline = open_widget(servers["backend"], SIZES["desktop"])
    start_chat(page, "Di")
    expect(page.get_by_text("Echo agent has joined the chat")).to_be_visible(timeout=WAIT)
    send(page, "Where is my parcel?")
    expect(message(page, "Incoming", "Echo: Where is my parcel?")).to_be_visible(timeout=WAIT)
    assert page.evaluate("window.__typingSeen"), "the echo agent's typing never showed"
    expect(message(page, "Outgoing", "Where is my parcel?")).to_contain_text("Read", timeout=WAIT)
    page.locator('[data-testid="chat-file-select-attachments"]').set_input_files(
        files=[{"name": "receipt.txt", "mimeType": "text/plain", "buffer": RECEIPT_TXT}]
    )
    page.locator('[data-testid="chat-send-message-button"]').click()
    expect(message(page, "Incoming", "Thanks, I got receipt.txt.")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="End chat").click()
    ended_by_the_widget(page)
    offline.assert_only_receipts_for_events_refused()
    offline.assert_nothing_left_loopback()
