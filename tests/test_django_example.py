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
def django_example() -> Iterator[None]:
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
    from django.core.cache import cache

    services.reset()
    cache.clear()  # sessions
    yield mock_chat
    services.reset()


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
    assert response["Location"] == "/chat/"
    _, html = browser.chat_page()
    assert "Hello there" in html
    assert len(_messages(backend, browser, "Hello there")) == 1


def test_transcript_is_oldest_first(browser: Browser) -> None:
    browser.start()
    browser.send("first")
    browser.send("second")
    _, html = browser.chat_page()
    assert html.index("joined the chat") < html.index("first") < html.index("second")


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
    assert b"errorlist" in response.content
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
    assert "errorlist" in html
    assert not backend.uploads  # refused before any call


def test_an_oversized_file_is_a_form_error(browser: Browser, backend: Any) -> None:
    browser.start()
    with override_settings(CONNECT_ATTACHMENT_MAX_BYTES=16):
        response = browser.upload("big.txt", b"x" * 17)
    assert response.status_code == 400
    assert "the attachment size limit is 16 bytes" in response.content.decode()
    assert not backend.uploads


def test_instance_limits_stricter_than_the_settings_are_a_form_error(browser: Browser, backend: Any) -> None:
    browser.start()
    backend.settings.max_attachment_size = 4
    response = browser.upload("notes.txt", b"too long")
    assert response.status_code == 400
    assert "does not accept this file" in response.content.decode()


# -- the end ----------------------------------------------------------------------------------


def test_end_disconnects_and_flushes_the_session(browser: Browser, backend: Any) -> None:
    browser.start()
    chat = _chat(backend, browser)
    response = browser.post("/chat/end/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert dict(browser.session.items()) == {}
    assert chat.ended
    assert any(i["ContentType"].endswith("participant.left") for i in chat.items)
    assert browser.get("/chat/")["Location"] == "/"
    page = browser.get("/")
    assert b"You left the chat." in page.content


def test_end_without_a_chat_is_harmless(browser: Browser) -> None:
    assert browser.post("/chat/end/")["Location"] == "/"


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
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cache"
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
    assert status.json() == {"id": attachment_id, "name": "notes.txt", "status": "APPROVED"}


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
