"""The Django example in docs/examples/django_chat, driven through Django's test client.

The example runs against the package's moto backend (``mock_chat``); Django is set up once for
this module with the example's own settings module, without touching any other test module's
configuration (pytest-django is installed, but no DJANGO_SETTINGS_MODULE is configured for
the suite).
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django")

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from connectparticipant_ext.sessions import DEFAULT_SESSION_KEY  # noqa: E402

EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "docs" / "examples" / "django_chat"
SETTINGS_MODULE = "django_chat.settings"
INSTANCE_ID = "instance-1"
CONTACT_FLOW_ID = "flow-1"


@pytest.fixture(scope="module")
def django_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Django configured with the example's settings, for this module only."""
    import django
    from django.conf import settings
    from django.test.utils import setup_test_environment, teardown_test_environment

    if settings.configured and getattr(settings, "SETTINGS_MODULE", None) != SETTINGS_MODULE:
        pytest.skip("Django is already configured with other settings in this process")
    patch = pytest.MonkeyPatch()
    patch.syspath_prepend(str(EXAMPLE_DIR))
    patch.setenv("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    # Read once, when the settings module is first imported.
    patch.setenv("CONNECT_REGION", "us-east-1")
    patch.setenv("CONNECT_INSTANCE_ID", INSTANCE_ID)
    patch.setenv("CONNECT_CONTACT_FLOW_ID", CONTACT_FLOW_ID)
    patch.delenv("CONNECT_ENDPOINT_URL", raising=False)
    patch.delenv("CONNECT_ATTACHMENT_MAX_BYTES", raising=False)
    patch.setenv("DJANGO_SESSION_DIR", str(tmp_path_factory.mktemp("sessions")))
    django.setup()
    setup_test_environment()  # "testserver" in ALLOWED_HOSTS, response.context, locmem email
    try:
        yield
    finally:
        teardown_test_environment()
        patch.undo()


@pytest.fixture
def backend(django_example: None, mock_chat: Any) -> Iterator[Any]:
    """The chat backend, with the example's shared clients rebuilt inside this mock."""
    from chat import services

    services.reset()
    _clear_sessions()
    yield mock_chat
    services.reset()


def _clear_sessions() -> None:
    from django.conf import settings

    for path in Path(settings.SESSION_FILE_PATH).iterdir():
        path.unlink()


class Browser:
    """Django's test client, checking that no response ever carries a connection token."""

    def __init__(self, backend: Any, **kwargs: Any) -> None:
        self.client = Client(**kwargs)
        self.backend = backend
        self.responses: list[Any] = []

    def _seen(self, response: Any) -> Any:
        self.responses.append(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._seen(self.client.get(path, **kwargs))

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Any:
        return self._seen(self.client.post(path, data or {}, **kwargs))

    @property
    def session(self) -> Any:
        return self.client.session

    def secrets(self) -> set[str]:
        tokens = set(self.backend.connection_tokens)
        tokens.update(self.backend.participant_tokens)
        return tokens

    def assert_no_secret_leaked(self) -> None:
        secrets = self.secrets()
        for response in self.responses:
            text = response.content.decode("utf-8", "replace")
            headers = " ".join(f"{k}: {v}" for k, v in response.items())
            cookies = " ".join(morsel.OutputString() for morsel in response.cookies.values())
            for secret in secrets:
                assert secret not in text
                assert secret not in headers
                assert secret not in cookies

    def start(self, name: str = "Ann") -> Any:
        response = self.post("/start/", {"display_name": name})
        assert response.status_code == 302, response.content
        assert response["Location"] == "/chat/"
        return response

    def json_post(self, path: str, data: Any = None) -> Any:
        return self.post(path, data, HTTP_ACCEPT="application/json")

    def chat_page(self) -> tuple[Any, str]:
        response = self.get("/chat/")
        assert response.status_code == 200
        return response, response.content.decode()

    def form_token(self, prefix: str) -> str:
        _, html = self.chat_page()
        match = re.search(rf'name="{prefix}-client_token" value="([0-9a-f-]{{36}})"', html)
        assert match, html
        return match.group(1)

    def send(self, text: str, token: str | None = None) -> Any:
        token = token or self.form_token("message")
        return self.post("/chat/send/", {"message-text": text, "message-client_token": token})

    def upload(self, name: str, data: bytes, content_type: str = "text/plain") -> Any:
        token = self.form_token("upload")
        upload = SimpleUploadedFile(name, data, content_type=content_type)
        return self.post("/chat/upload/", {"upload-file": upload, "upload-client_token": token})


@pytest.fixture
def browser(backend: Any) -> Iterator[Browser]:
    browser = Browser(backend)
    yield browser
    browser.assert_no_secret_leaked()


def _transcript(html: str) -> str:
    """The transcript part of a chat page (the page also inlines its style sheet and script)."""
    match = re.search(r'<ol class="transcript">.*?</ol>', html, re.S)
    assert match, html
    return match.group(0)


def _chat(backend: Any, browser: Browser) -> Any:
    return backend.get_chat(browser.session["contact_id"])


def _messages(backend: Any, browser: Browser, text: str) -> list[dict[str, Any]]:
    return [i for i in _chat(backend, browser).items if i["Type"] == "MESSAGE" and i.get("Content") == text]


# -- starting ---------------------------------------------------------------------------------


def test_start_page_has_a_csrf_protected_form(browser: Browser) -> None:
    response = browser.get("/")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert b'action="/start/"' in response.content


def test_posts_without_a_csrf_token_are_refused(backend: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/start/", {"display_name": "Ann"}).status_code == 403
    assert client.post("/chat/send/", {"message-text": "hi"}).status_code == 403
    assert not backend.chats


def test_start_joins_the_chat_and_shows_it(browser: Browser, backend: Any) -> None:
    browser.start("Ann")
    chat = _chat(backend, browser)
    assert chat.instance_id == INSTANCE_ID
    _, html = browser.chat_page()
    assert "Ann" in html
    assert "joined the chat" in html
    assert any(i["ContentType"].endswith("participant.joined") for i in chat.items)
    # Start while in a chat: the start page sends the customer back to it.
    assert browser.get("/")["Location"] == "/chat/"


def test_start_needs_a_name(browser: Browser, backend: Any) -> None:
    response = browser.post("/start/", {"display_name": ""})
    assert response.status_code == 400
    assert not backend.chats


def test_session_keeps_both_tokens_server_side(browser: Browser, backend: Any) -> None:
    from connectparticipant_ext.sessions import DEFAULT_SESSION_KEY

    browser.start()
    stored = browser.session[DEFAULT_SESSION_KEY]
    assert stored["connection_token"] in backend.connection_tokens
    assert stored["participant_token"] in backend.participant_tokens  # to renew, and to open streams
    assert datetime.fromisoformat(stored["expires_at"]).tzinfo is not None
    # The cookie carries only the session key.
    cookie = browser.client.cookies["sessionid"].value
    assert stored["connection_token"] not in cookie
    assert stored["participant_token"] not in cookie


def test_chat_page_without_a_chat_goes_to_start(browser: Browser) -> None:
    assert browser.get("/chat/")["Location"] == "/"
    assert browser.post("/chat/send/", {"message-text": "hi"})["Location"] == "/"


# -- messages ---------------------------------------------------------------------------------


def test_a_sent_message_appears_in_the_transcript(browser: Browser, backend: Any) -> None:
    browser.start()
    response = browser.send("Hello there")
    assert response.status_code == 302
    assert response["Location"] == "/chat/#latest"  # the newest line in view, also without JavaScript
    _, html = browser.chat_page()
    assert "Hello there" in html
    assert len(_messages(backend, browser, "Hello there")) == 1


def test_transcript_is_oldest_first(browser: Browser) -> None:
    browser.start()
    browser.send("first")
    browser.send("second")
    _, html = browser.chat_page()
    shown = _transcript(html)
    assert shown.index("joined the chat") < shown.index("first") < shown.index("second")


def test_a_double_submitted_form_sends_once(browser: Browser, backend: Any) -> None:
    browser.start()
    token = browser.form_token("message")
    assert browser.send("only once", token).status_code == 302
    assert browser.send("only once", token).status_code == 302
    assert len(_messages(backend, browser, "only once")) == 1
    # A freshly rendered form has a new token: the same text sent again is a new message.
    browser.send("only once")
    assert len(_messages(backend, browser, "only once")) == 2


def test_two_concurrent_users_each_see_only_their_own_chat(backend: Any) -> None:
    ann, zoe = Browser(backend), Browser(backend)
    ann.start("Ann")
    zoe.start("Zoe")
    assert ann.session["contact_id"] != zoe.session["contact_id"]
    errors: list[BaseException] = []

    def talk(browser: Browser, name: str) -> None:
        try:
            for n in range(8):  # each request restores the connection from that user's session
                assert browser.send(f"{name} says {n}").status_code == 302
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(b, n)) for b, n in ((ann, "Ann"), (zoe, "Zoe"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    for browser, me, other in ((ann, "Ann", "Zoe"), (zoe, "Zoe", "Ann")):
        said = [i["Content"] for i in _chat(backend, browser).items if i["Type"] == "MESSAGE"]
        assert said == [f"{me} says {n}" for n in range(8)]
        _, html = browser.chat_page()
        assert f"{me} says 7" in html and f"{other} says" not in html
        browser.assert_no_secret_leaked()


def test_each_render_has_a_new_form_token(browser: Browser) -> None:
    browser.start()
    assert browser.form_token("message") != browser.form_token("message")


def test_an_empty_message_is_a_form_error(browser: Browser, backend: Any) -> None:
    browser.start()
    response = browser.send("   ")
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="message-error" role="alert">[^<]*required', html), html
    assert 'aria-invalid="true"' in html
    assert not [i for i in _chat(backend, browser).items if i["Type"] == "MESSAGE"]


def test_a_message_over_the_byte_limit_is_a_form_error(browser: Browser, backend: Any) -> None:
    browser.start()
    response = browser.send("é" * 8193)  # 8,193 characters, 16,386 bytes of UTF-8
    assert response.status_code == 400
    assert "at most 16384 bytes" in response.content.decode()
    assert not [i for i in _chat(backend, browser).items if i["Type"] == "MESSAGE"]


def test_message_content_is_escaped(browser: Browser) -> None:
    browser.start()
    browser.send("<script>alert('x')</script>")
    _, html = browser.chat_page()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_display_name_is_escaped(browser: Browser) -> None:
    browser.start("<b>Eve</b>")
    _, html = browser.chat_page()
    assert "<b>Eve</b>" not in html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html


# -- attachments ------------------------------------------------------------------------------


def _attachment_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="attachment" href="/chat/attachments/([^/"]+)/">([^<]*)</a>', html)


def test_an_uploaded_file_appears_as_an_attachment(browser: Browser, backend: Any) -> None:
    browser.start()
    response = browser.upload("notes.txt", b"hello attachment")
    assert response.status_code == 302, response.content
    _, html = browser.chat_page()
    links = _attachment_links(html)
    assert [name for _, name in links] == ["notes.txt"]
    items = [i for i in _chat(backend, browser).items if i["Type"] == "ATTACHMENT"]
    assert items[0]["Attachments"][0]["AttachmentId"] == links[0][0]
    assert items[0]["Attachments"][0]["ContentType"] == "text/plain"


def test_attachment_link_redirects_to_a_presigned_url(browser: Browser) -> None:
    import requests

    browser.start()
    browser.upload("notes.txt", b"hello attachment")
    _, html = browser.chat_page()
    ((attachment_id, _),) = _attachment_links(html)
    response = browser.get(f"/chat/attachments/{attachment_id}/")
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith("https://")
    assert "X-Amz-Signature=" in url or "Signature=" in url
    assert "no-store" in response["Cache-Control"]
    # The URL serves the bytes (moto's S3, under mock_aws).
    assert requests.get(url, timeout=10).content == b"hello attachment"


def test_unknown_attachment_is_404(browser: Browser) -> None:
    browser.start()
    assert browser.get("/chat/attachments/no-such-attachment/").status_code == 404


def test_a_double_submitted_upload_creates_one_attachment(browser: Browser, backend: Any) -> None:
    browser.start()
    token = browser.form_token("upload")
    for _ in range(2):
        upload = SimpleUploadedFile("notes.txt", b"twice", content_type="text/plain")
        response = browser.post("/chat/upload/", {"upload-file": upload, "upload-client_token": token})
        assert response.status_code == 302, response.content
    assert len([i for i in _chat(backend, browser).items if i["Type"] == "ATTACHMENT"]) == 1


def test_an_unsupported_file_type_is_a_form_error(browser: Browser, backend: Any) -> None:
    browser.start()
    response = browser.upload("tool.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    assert response.status_code == 400
    html = response.content.decode()
    assert "allowed attachment types are" in html
    assert re.search(r'id="upload-error" role="alert">[^<]*allowed attachment types', html), html
    assert not backend.uploads  # refused before any call


def test_a_file_over_the_limit_is_refused_while_it_is_read(browser: Browser, backend: Any) -> None:
    browser.start()
    with override_settings(CONNECT_ATTACHMENT_MAX_BYTES=16):
        response = browser.upload("big.txt", b"x" * 17)
    assert response.status_code == 413
    assert "The file is too large: the limit is 16 bytes." in response.content.decode()
    assert not backend.uploads


def test_instance_limits_stricter_than_the_settings_are_a_form_error(browser: Browser, backend: Any) -> None:
    browser.start()
    backend.settings.max_attachment_size = 4
    response = browser.upload("notes.txt", b"too long")
    assert response.status_code == 400
    assert "does not accept this file" in response.content.decode()


# -- the end ----------------------------------------------------------------------------------


def test_end_asks_first_without_javascript(browser: Browser, backend: Any) -> None:
    browser.start()
    response = browser.get("/chat/end/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "End this chat?" in html
    assert 'action="/chat/end/"' in html and 'method="post"' in html
    assert not _chat(backend, browser).ended  # asking ends nothing


def test_end_disconnects_clears_the_session_and_keeps_the_transcript_to_read(browser: Browser, backend: Any) -> None:
    browser.start("Ann")
    browser.send("before the end")
    chat = _chat(backend, browser)
    response = browser.post("/chat/end/")
    assert response.status_code == 302
    assert response["Location"] == "/chat/ended/#latest"
    session = dict(browser.session.items())
    for key in (DEFAULT_SESSION_KEY, "contact_id", "participant_id"):
        assert key not in session
    assert chat.ended
    assert any(i["ContentType"].endswith("participant.left") for i in chat.items)
    assert browser.get("/chat/")["Location"] == "/"
    page = browser.get("/chat/ended/")
    html = page.content.decode()
    assert "before the end" in html and "You left the chat." in html
    assert 'id="message-form"' not in html  # nothing to send any more
    assert re.search(r'<input type="hidden" name="display_name" value="Ann">', html)
    assert "Start a new chat" in html
    # The next chat starts from the start page with the name filled in.
    assert 'value="Ann"' in browser.get("/").content.decode()


def test_a_new_chat_after_the_end_forgets_the_old_one(browser: Browser, backend: Any) -> None:
    browser.start("Ann")
    first = browser.session["contact_id"]
    browser.post("/chat/end/")
    browser.start("Ann")
    assert browser.session["contact_id"] != first
    assert "ended_chat" not in browser.session
    _, html = browser.chat_page()
    assert 'id="message-form"' in html


def test_the_script_ends_a_chat_with_json_and_keeps_its_page(browser: Browser, backend: Any) -> None:
    browser.start()
    chat = _chat(backend, browser)
    response = browser.json_post("/chat/end/")
    assert response.status_code == 200
    assert response.json() == {"ended": True}
    assert chat.ended
    assert DEFAULT_SESSION_KEY not in browser.session


def test_end_without_a_chat_is_harmless(browser: Browser) -> None:
    assert browser.post("/chat/end/")["Location"] == "/chat/ended/#latest"
    assert browser.get("/chat/end/")["Location"] == "/"


def test_a_chat_ended_elsewhere_sends_the_customer_to_start(browser: Browser, backend: Any) -> None:
    import boto3

    browser.start()
    contact_id = browser.session["contact_id"]
    boto3.client("connect", region_name="us-east-1").stop_contact(ContactId=contact_id, InstanceId=INSTANCE_ID)
    response = browser.get("/chat/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert DEFAULT_SESSION_KEY not in browser.session
    assert b"The chat has ended." in browser.get("/").content
    # Sending after the end does not raise either.
    assert browser.post("/chat/send/", {"message-text": "hi"})["Location"] == "/"


def test_an_expiring_connection_renews_itself_and_the_session_keeps_the_new_token(
    browser: Browser, backend: Any
) -> None:
    browser.start()
    session = browser.session
    old = dict(session[DEFAULT_SESSION_KEY])
    session[DEFAULT_SESSION_KEY] = {
        **old,
        "expires_at": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
    }
    session.save()
    response = browser.get("/chat/")
    assert response.status_code == 200
    renewed = browser.session[DEFAULT_SESSION_KEY]
    assert renewed["connection_token"] != old["connection_token"]
    assert renewed["connection_token"] in backend.connection_tokens
    assert datetime.fromisoformat(renewed["expires_at"]) > datetime.now(timezone.utc)


def test_a_chat_without_its_participant_token_ends_when_the_connection_token_expires(browser: Browser) -> None:
    browser.start()
    session = browser.session
    session[DEFAULT_SESSION_KEY] = {
        **session[DEFAULT_SESSION_KEY],
        "participant_token": None,
        "expires_at": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
    }
    session.save()
    response = browser.get("/chat/")
    assert response["Location"] == "/"
    assert DEFAULT_SESSION_KEY not in browser.session


def test_service_errors_are_a_503_page(browser: Browser, backend: Any, no_backoff: None) -> None:
    browser.start()
    backend.inject_faults(throttling=1.0, seed=1)
    try:
        response = browser.get("/chat/")
    finally:
        backend.clear_faults()
    assert response.status_code == 503
    assert b"unavailable" in response.content


def test_start_reports_a_connect_failure(browser: Browser) -> None:
    with override_settings(CONNECT_INSTANCE_ID="", CONNECT_CONTACT_FLOW_ID=""):
        response = browser.post("/start/", {"display_name": "Ann"})
    assert response.status_code == 503
    assert b"not configured" in response.content


def test_the_shared_chat_service_is_built_once(backend: Any) -> None:
    from chat import services

    assert services.get_chat_service() is services.get_chat_service()
    assert services.get_connect_client() is services.get_connect_client()


def test_settings_come_from_the_environment(django_example: None) -> None:
    from django.conf import settings

    assert settings.CONNECT_REGION == "us-east-1"
    assert settings.CONNECT_INSTANCE_ID == INSTANCE_ID
    assert settings.CONNECT_ENDPOINT_URL is None
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.file"
    assert os.environ["DJANGO_SETTINGS_MODULE"] == SETTINGS_MODULE
    assert str(EXAMPLE_DIR) in sys.path


# -- the live page: JSON sends, typing, the event stream --------------------------------------


def test_the_chat_page_carries_what_the_script_needs(browser: Browser, backend: Any) -> None:
    browser.start()
    _, html = browser.chat_page()
    last = _chat(backend, browser).items[-1]["Id"]
    assert f'data-last-id="{last}"' in html
    assert 'data-events-url="/chat/events/"' in html
    assert "new EventSource" in html  # the script, inline
    assert f'data-contact-id="{browser.session["contact_id"]}"' in html


def test_a_json_send_answers_the_id_and_a_fresh_token(browser: Browser, backend: Any) -> None:
    browser.start()
    token = browser.form_token("message")
    data = {"message-text": "by fetch", "message-client_token": token}
    first = browser.post("/chat/send/", data, HTTP_ACCEPT="application/json")
    again = browser.post("/chat/send/", data, HTTP_ACCEPT="application/json")
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]  # the same token: sent once
    assert first.json()["client_token"] != token
    assert len(_messages(backend, browser, "by fetch")) == 1


def test_a_json_send_with_errors_answers_them(browser: Browser) -> None:
    browser.start()
    response = browser.post(
        "/chat/send/",
        {"message-text": "", "message-client_token": browser.form_token("message")},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert "text" in response.json()["errors"]


def test_a_json_send_after_the_chat_ended_says_so(browser: Browser, backend: Any) -> None:
    import boto3

    browser.start()
    token = browser.form_token("message")
    boto3.client("connect", region_name="us-east-1").stop_contact(
        ContactId=browser.session["contact_id"], InstanceId=INSTANCE_ID
    )
    response = browser.post(
        "/chat/send/", {"message-text": "late", "message-client_token": token}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 410
    assert response.json()["ended"] is True


def test_typing_sends_a_typing_event(browser: Browser, backend: Any) -> None:
    browser.start()
    pushed: list[dict[str, Any]] = []
    _chat(backend, browser).add_listener(pushed.append)  # typing is pushed live, kept or not
    assert browser.post("/chat/typing/").status_code == 204
    assert [i["ContentType"] for i in pushed] == ["application/vnd.amazonaws.connect.event.typing"]


def test_a_json_upload_and_its_status(browser: Browser, backend: Any) -> None:
    browser.start()
    token = browser.form_token("upload")
    upload = SimpleUploadedFile("notes.txt", b"notes", content_type="text/plain")
    response = browser.post(
        "/chat/upload/", {"upload-file": upload, "upload-client_token": token}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200, response.content
    attachment_id = response.json()["id"]
    status = browser.get(f"/chat/attachments/{attachment_id}/status/")
    assert status.json() == {"id": attachment_id, "name": "notes.txt", "status": "APPROVED", "size": 5}


def _read_events(response: Any, until: bytes) -> bytes:
    """Read a streaming response in a thread until ``until`` shows up (bounded), then close it."""
    seen: list[bytes] = []
    done = threading.Event()

    def read() -> None:
        for chunk in response.streaming_content:
            seen.append(chunk)
            if until in b"".join(seen):
                break
        done.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    assert done.wait(10), b"".join(seen)
    response.close()
    return b"".join(seen)


def test_the_event_stream_relays_the_chat(browser: Browser, backend: Any) -> None:
    browser.start()
    agent = backend.join_as_agent(browser.session["contact_id"], display_name="Bob")
    response = browser.client.get("/chat/events/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert "no-cache" in response["Cache-Control"]
    agent.send("live from Bob")
    body = _read_events(response, b"live from Bob")
    assert b"id: " in body
    for secret in browser.secrets():
        assert secret.encode() not in body


def test_the_event_stream_resumes_after_last_event_id(browser: Browser, backend: Any) -> None:
    browser.start()
    agent = backend.join_as_agent(browser.session["contact_id"], display_name="Bob")
    first = agent.send("seen already")
    agent.send("missed")
    response = browser.client.get("/chat/events/?since=nonsense", HTTP_LAST_EVENT_ID=first)
    body = _read_events(response, b"missed")
    assert b"seen already" not in body


def test_the_event_stream_without_a_chat_is_204(browser: Browser) -> None:
    assert browser.get("/chat/events/").status_code == 204


def test_the_event_stream_under_asgi_is_asynchronous(browser: Browser, backend: Any) -> None:
    import asyncio

    from django.test import AsyncClient

    browser.start()
    agent = backend.join_as_agent(browser.session["contact_id"], display_name="Bob")
    agent.send("over asgi")
    client = AsyncClient()
    client.cookies = browser.client.cookies

    async def read() -> bytes:
        response = await client.get("/chat/events/")
        assert response.is_async
        seen = b""
        async for chunk in response.streaming_content:
            seen += chunk
            if b"over asgi" in seen:
                break
        await response.streaming_content.aclose()
        return seen

    # In a thread of its own: another test's driver (Playwright's sync API) may have an event
    # loop running in this one.
    found: list[bytes] = []
    thread = threading.Thread(target=lambda: found.append(asyncio.run(asyncio.wait_for(read(), 10))))
    thread.start()
    thread.join(timeout=15)
    assert found and b"over asgi" in found[0]


# -- when the service cannot be reached -------------------------------------------------------

SERVICE_URL = "https://participant.connect.us-east-1.amazonaws.com"


class _ProxyPage:
    """The raw body of an answer that is not the service's (a proxy's error page)."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def _transport_failure(error: type[Exception]) -> Any:
    def handler(**kwargs: Any) -> None:
        raise error(endpoint_url=SERVICE_URL)

    return handler


def _proxy_page(**kwargs: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    return AWSResponse(SERVICE_URL, 502, {"Content-Type": "text/html"}, _ProxyPage())


def _failure_handlers() -> dict[str, Any]:
    from botocore.exceptions import ConnectionClosedError as DroppedError
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    return {
        "connection refused": _transport_failure(EndpointConnectionError),
        "connect timeout": _transport_failure(ConnectTimeoutError),
        "read timeout": _transport_failure(ReadTimeoutError),
        "connection dropped": _transport_failure(DroppedError),
        "a proxy's error page": _proxy_page,
    }


OUTAGES = ["connection refused", "connect timeout", "read timeout", "connection dropped", "a proxy's error page"]


@contextmanager
def service_down(backend: Any, how: str, *, participant: bool = True, connect: bool = True) -> Iterator[None]:
    """Make the example's clients fail ``how``: a transport failure or a proxy's page (at
    botocore's ``before-send``, so botocore's retries and the library's translation run as they
    would), or throttling and internal errors from the backend itself."""
    from chat import services

    if how == "throttled":
        backend.inject_faults(throttling=1.0, seed=1)
    elif how == "internal errors":
        backend.inject_faults(internal=1.0, seed=1)
    handler = _failure_handlers().get(how)
    clients = []
    if handler is not None:
        if participant:
            clients.append(services.get_chat_service().meta.client)
        if connect:
            clients.append(services.get_connect_client())
    for client in clients:
        client.meta.events.register_first("before-send", handler, unique_id="service-down")
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister("before-send", unique_id="service-down")
        backend.clear_faults()


def _assert_try_again_page(response: Any, retry_url: str) -> None:
    assert response.status_code == 503, response.content[:300]
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "cannot be reached right now" in html
    assert f'href="{retry_url}"' in html and "Try again" in html
    assert "<style>" in html  # the example's styled page, not Django's bare one


def _assert_unavailable_json(response: Any) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response.json()["unavailable"] is True
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("how", [*OUTAGES, "throttled", "internal errors"])
def test_every_view_answers_503_and_keeps_the_chat_when_the_service_cannot_be_reached(
    browser: Browser, backend: Any, no_backoff: None, how: str
) -> None:
    browser.start()
    uploaded = browser.upload("notes.txt", b"hello")
    assert uploaded.status_code == 302
    ((attachment_id, _),) = _attachment_links(browser.chat_page()[1])
    message_token, upload_token = browser.form_token("message"), browser.form_token("upload")
    contact_id = browser.session["contact_id"]
    with service_down(backend, how):
        _assert_try_again_page(browser.get("/chat/"), "/chat/")
        _assert_try_again_page(browser.send("hi", message_token), "/chat/")
        _assert_unavailable_json(
            browser.json_post("/chat/send/", {"message-text": "hi", "message-client_token": message_token})
        )
        _assert_unavailable_json(browser.json_post("/chat/typing/"))
        for accept in ("text/html", "application/json"):
            upload = SimpleUploadedFile("more.txt", b"more", content_type="text/plain")
            response = browser.post(
                "/chat/upload/", {"upload-file": upload, "upload-client_token": upload_token}, HTTP_ACCEPT=accept
            )
            assert response.status_code == 503, response.content[:300]
        status_url = f"/chat/attachments/{attachment_id}/status/"
        _assert_unavailable_json(browser.get(status_url, HTTP_ACCEPT="application/json"))
        download_url = f"/chat/attachments/{attachment_id}/"
        _assert_try_again_page(browser.get(download_url), download_url)
        assert browser.session["contact_id"] == contact_id  # nothing was lost: try again later
        # Leaving always leaves, even when the service cannot be told.
        response = browser.post("/chat/end/")
    assert response.status_code == 302
    assert DEFAULT_SESSION_KEY not in browser.session
    assert browser.get("/chat/")["Location"] == "/"
    assert not any(r.status_code >= 500 and r.status_code != 503 for r in browser.responses)


@pytest.mark.parametrize("side", ["connect", "participant"])
@pytest.mark.parametrize("how", OUTAGES)
def test_start_answers_503_when_the_service_cannot_be_reached(
    browser: Browser, backend: Any, no_backoff: None, how: str, side: str
) -> None:
    with service_down(backend, how, participant=side == "participant", connect=side == "connect"):
        response = browser.post("/start/", {"display_name": "Ann"})
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert 'role="alert"' in html and "try again in a moment" in html
    assert 'value="Ann"' in html  # the name stays filled in
    assert DEFAULT_SESSION_KEY not in browser.session


def test_the_event_stream_says_failed_when_the_service_cannot_be_reached(
    browser: Browser, backend: Any, no_backoff: None
) -> None:
    browser.start()
    with service_down(backend, "connection refused"):
        response = browser.client.get("/chat/events/")
        assert response.status_code == 200
        body = _read_events(response, b"event: failed")  # in seconds: the page then says so and retries
    assert b"event: end" not in body


def test_the_health_check_says_whether_the_chat_can_be_reached(
    browser: Browser, backend: Any, no_backoff: None
) -> None:
    import boto3

    browser.start()
    assert browser.get("/chat/health/", HTTP_ACCEPT="application/json").json() == {"ok": True}
    with service_down(backend, "connection refused"):
        _assert_unavailable_json(browser.get("/chat/health/", HTTP_ACCEPT="application/json"))
    boto3.client("connect", region_name="us-east-1").stop_contact(
        ContactId=browser.session["contact_id"], InstanceId=INSTANCE_ID
    )
    ended = browser.get("/chat/health/", HTTP_ACCEPT="application/json")
    assert ended.status_code == 410 and ended.json()["ended"] is True


def test_a_session_that_does_not_hold_a_connection_is_no_chat(browser: Browser) -> None:
    browser.start()
    session = browser.session
    session[DEFAULT_SESSION_KEY] = {"connection_token": 42}  # not what save_connection writes
    session.save()
    assert browser.get("/chat/")["Location"] == "/"
    assert DEFAULT_SESSION_KEY not in browser.session


# -- ids that are not this chat's -------------------------------------------------------------


@pytest.mark.parametrize("attachment_id", ["x" * 300, "no-such-attachment"])
def test_an_attachment_id_that_is_not_this_chats_is_404(browser: Browser, attachment_id: str) -> None:
    browser.start()
    assert browser.get(f"/chat/attachments/{attachment_id}/status/").status_code == 404
    page = browser.get(f"/chat/attachments/{attachment_id}/")
    assert page.status_code == 404
    assert b"<h1>Not found</h1>" in page.content and b"<style>" in page.content  # the example's own page


def test_another_chats_attachment_is_404(backend: Any) -> None:
    ann, zoe = Browser(backend), Browser(backend)
    ann.start("Ann")
    zoe.start("Zoe")
    ann.upload("notes.txt", b"Ann's notes")
    ((attachment_id, _),) = _attachment_links(ann.chat_page()[1])
    assert zoe.get(f"/chat/attachments/{attachment_id}/status/").status_code == 404
    assert zoe.get(f"/chat/attachments/{attachment_id}/").status_code == 404


# -- uploads: refused while they are read, never stored for a session without a chat ---------

BOUNDARY = "BoUnDaRyStRiNg"


class CountingPayload:
    """A request body (``wsgi.input``) that counts the bytes Django reads from it."""

    def __init__(self, body: bytes) -> None:
        from django.test.client import FakePayload

        self._payload = FakePayload(body)
        self.read_bytes = 0

    def __len__(self) -> int:
        return len(self._payload)

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._payload.read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data: bytes = self._payload.readline(size)
        self.read_bytes += len(data)
        return data


def _multipart(fields: dict[str, Any]) -> bytes:
    from django.test.client import encode_multipart

    return encode_multipart(BOUNDARY, fields)


def _post_counted(browser: Browser, path: str, body: bytes, **extra: Any) -> tuple[Any, CountingPayload]:
    payload = CountingPayload(body)
    response = browser.client.generic(
        "POST",
        path,
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **{"wsgi.input": payload},
        **extra,
    )
    browser.responses.append(response)
    return response, payload


@pytest.fixture
def disk_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the uploaded files Django writes to a temporary file (every upload would,
    with FILE_UPLOAD_MAX_MEMORY_SIZE at 0)."""
    from django.core.files import uploadedfile

    written: list[str] = []
    original = uploadedfile.TemporaryUploadedFile.__init__

    def spy(self: Any, name: str, *args: Any, **kwargs: Any) -> None:
        written.append(name)
        original(self, name, *args, **kwargs)

    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", spy)
    with override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=0):
        yield written


def test_an_upload_without_a_chat_is_neither_read_nor_stored(
    browser: Browser, backend: Any, disk_files: list[str]
) -> None:
    body = _multipart({"upload-file": SimpleUploadedFile("big.bin", b"x" * 300_000)})
    response, payload = _post_counted(browser, "/chat/upload/", body)
    assert response.status_code == 302 and response["Location"] == "/"
    assert payload.read_bytes == 0
    assert disk_files == []
    # The same upload in a chat is stored (the check above can see it).
    browser.start()
    token = browser.form_token("upload")
    body = _multipart({"upload-file": SimpleUploadedFile("notes.txt", b"x" * 1000), "upload-client_token": token})
    response, payload = _post_counted(browser, "/chat/upload/", body)
    assert response.status_code == 302, response.content[:300]
    assert disk_files == ["notes.txt"] and payload.read_bytes == len(body)


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_an_upload_declared_larger_than_the_limit_is_refused_unread(
    browser: Browser, backend: Any, accept: str
) -> None:
    browser.start()
    with override_settings(CONNECT_ATTACHMENT_MAX_BYTES=1000):
        body = _multipart({"upload-file": SimpleUploadedFile("big.bin", b"x" * 200_000)})
        response, payload = _post_counted(browser, "/chat/upload/", body, HTTP_ACCEPT=accept)
    assert response.status_code == 413
    assert payload.read_bytes == 0
    assert "The file is too large: the limit is 1,000 bytes." in response.content.decode()
    assert not backend.uploads


def test_a_file_that_grows_past_the_limit_is_dropped_as_it_is_read(
    browser: Browser, backend: Any, disk_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    stored: list[int] = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def spy(self: Any, raw_data: bytes, start: int) -> Any:
        stored.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    browser.start()
    token = browser.form_token("upload")
    with override_settings(CONNECT_ATTACHMENT_MAX_BYTES=1000):
        # Within the size a body may declare (the limit plus room for the form), but the file
        # itself is over the limit: it is dropped at the chunk that crosses it.
        body = _multipart({"upload-file": SimpleUploadedFile("big.txt", b"x" * 50_000), "upload-client_token": token})
        response, _ = _post_counted(browser, "/chat/upload/", body)
    assert response.status_code == 413
    assert "The file is too large: the limit is 1,000 bytes." in response.content.decode()
    assert sum(stored) <= 1000
    assert not backend.uploads


def test_a_file_sent_to_any_other_url_is_never_stored(browser: Browser, backend: Any, disk_files: list[str]) -> None:
    browser.start()
    token = browser.form_token("message")
    body = _multipart(
        {
            "message-text": "with a stowaway",
            "message-client_token": token,
            "stowaway": SimpleUploadedFile("big.bin", b"x" * 50_000),
        }
    )
    response, _ = _post_counted(browser, "/chat/send/", body)
    assert response.status_code == 302
    assert len(_messages(backend, browser, "with a stowaway")) == 1
    assert disk_files == []


def test_a_form_larger_than_any_message_is_refused_unread(browser: Browser, backend: Any) -> None:
    browser.start()
    body = _multipart({"message-text": "x" * 200_000, "message-client_token": browser.form_token("message")})
    response, payload = _post_counted(browser, "/chat/send/", body)
    assert response.status_code == 413
    assert payload.read_bytes == 0


def test_the_longest_message_fits_the_form_size_limit(browser: Browser, backend: Any) -> None:
    browser.start()
    longest = "\U0001f600" * 4096  # 16,384 bytes of UTF-8, 49,152 characters once URL-encoded
    assert browser.send(longest).status_code == 302
    assert len(_messages(backend, browser, longest)) == 1


def _asgi_call(scope: dict[str, Any], chunks: list[bytes], app: Any = None) -> tuple[list[dict[str, Any]], int]:
    """Run one ASGI request through the example's application; returns what it sent and how
    many body messages it asked for."""
    import asyncio

    if app is None:
        from django_chat.asgi import application as app
    sent: list[dict[str, Any]] = []
    asked = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        if asked <= len(chunks):
            return {"type": "http.request", "body": chunks[asked - 1], "more_body": asked < len(chunks)}
        await asyncio.sleep(30)  # a client that has nothing more to send
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http",
        "query_string": b"",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
        **scope,
    }
    scope["headers"] = [(b"host", b"testserver"), *scope.get("headers", [])]
    # In a thread of its own: another test's driver (Playwright's sync API) may have an event
    # loop running in this one.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=15)
    assert not errors, errors
    return sent, asked


def _status(sent: list[dict[str, Any]]) -> int:
    return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))


def test_under_asgi_a_body_declared_too_large_is_refused_unread(django_example: None) -> None:
    scope = {"method": "POST", "path": "/chat/send/", "headers": [(b"content-length", b"10000000")]}
    sent, asked = _asgi_call(scope, [b"x" * 1000])
    assert _status(sent) == 413
    assert asked == 0


def test_under_asgi_a_body_that_grows_too_large_is_cut_off(django_example: None) -> None:
    chunks = [b"x" * 64 * 1024] * 10  # no Content-Length (chunked), 640 KiB in all
    sent, asked = _asgi_call({"method": "POST", "path": "/chat/send/"}, chunks)
    assert _status(sent) == 413
    assert asked < len(chunks)


def test_under_asgi_an_upload_without_a_chat_is_sent_away_unread(browser: Browser) -> None:
    browser.get("/")  # a session cookie, but no chat
    scope = {"method": "POST", "path": "/chat/upload/", "headers": [(b"content-length", b"3000000")]}
    sent, asked = _asgi_call(scope, [b"x" * 3_000_000])
    assert _status(sent) == 303
    assert asked == 0


def test_under_asgi_an_upload_in_a_chat_reaches_django(browser: Browser) -> None:
    from chat.limits import RequestBodyLimit

    browser.start()
    reached: list[bytes] = []

    async def django_app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        reached.append(message["body"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    cookie = f"sessionid={browser.client.cookies['sessionid'].value}".encode()
    scope = {"method": "POST", "path": "/chat/upload/", "headers": [(b"cookie", cookie), (b"content-length", b"5")]}
    sent, _ = _asgi_call(scope, [b"hello"], app=RequestBodyLimit(django_app))
    assert _status(sent) == 204
    assert reached == [b"hello"]


# -- sessions that last as long as the chat ---------------------------------------------------


def test_a_thousand_chats_keep_their_sessions(django_example: None) -> None:
    from importlib import import_module

    from django.conf import settings

    _clear_sessions()
    engine = import_module(settings.SESSION_ENGINE)
    keys = []
    for n in range(1000):
        session = engine.SessionStore()
        session[DEFAULT_SESSION_KEY] = {"connection_token": f"token-{n}", "expires_at": None, "participant_token": None}
        session["contact_id"] = f"contact-{n}"
        session.save()
        keys.append(session.session_key)
    lost = [n for n, key in enumerate(keys) if engine.SessionStore(key).get("contact_id") != f"contact-{n}"]
    assert lost == []
    _clear_sessions()


def test_session_files_are_private(browser: Browser) -> None:
    import stat

    from django.conf import settings

    browser.start()
    directory = Path(settings.SESSION_FILE_PATH)
    files = list(directory.iterdir())
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
