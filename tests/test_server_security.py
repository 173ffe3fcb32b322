"""The local server under attack from the web: another site's page, DNS rebinding, moto's API.

Each attack is one small function (as in ``hostile.py``): what a hostile page in the
developer's browser can make that browser send. Browsers add an ``Origin`` header to every
cross-origin request and to same-origin POST/PUT; a page that rebinds its own name to
127.0.0.1 sends ``Host: <its name>``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any, Optional

import boto3
import pytest
import requests

from connectparticipant_ext import ChatService
from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.server import LocalServer
from connectparticipant_ext.testing.websocket import get_hub

from _helpers import start_chat

TIMEOUT = 10
EVIL = "https://evil.example"


@pytest.fixture
def server(aws_credentials: None) -> Iterator[LocalServer]:
    with LocalServer(cors_origins=["https://app.example:8443"]) as running:
        yield running
        get_chat_backend().reset()


@pytest.fixture
def contact(server: LocalServer) -> dict[str, Any]:
    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=server.endpoint_url)
    return dict(start_chat(connect))


# -- the attacks --------------------------------------------------------------------------------


def page_reads(server: LocalServer, path: str, origin: str = EVIL, **headers: str) -> requests.Response:
    """A page of ``origin`` fetches ``path`` (a GET with its Origin)."""
    return requests.get(server.endpoint_url + path, headers={"Origin": origin, **headers}, timeout=TIMEOUT)


def page_posts(
    server: LocalServer, path: str, body: bytes = b"", origin: str = EVIL, **headers: str
) -> requests.Response:
    """A page of ``origin`` POSTs a "simple" request (text/plain: no preflight, it just goes)."""
    headers = {"Origin": origin, "Content-Type": "text/plain", **headers}
    return requests.post(server.endpoint_url + path, data=body, headers=headers, timeout=TIMEOUT)


def page_preflights(server: LocalServer, path: str, origin: str = EVIL) -> requests.Response:
    """A page of ``origin`` asks whether it may send a JSON POST with a bearer header."""
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-bearer",
    }
    return requests.options(server.endpoint_url + path, headers=headers, timeout=TIMEOUT)


def rebound(server: LocalServer, method: str, path: str, name: str = "rebind.evil.example") -> requests.Response:
    """A page whose own name now resolves to 127.0.0.1: same origin to the browser, its Host."""
    port = server.endpoint_url.rsplit(":", 1)[1]
    return requests.request(method, server.endpoint_url + path, headers={"Host": f"{name}:{port}"}, timeout=TIMEOUT)


def raw_upgrade(port: int, path: str, host: str) -> bytes:
    """A websocket opening handshake with the given Host; the first bytes of the answer."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(request.encode())
        return conn.recv(4096)


def allow_origin(answer: requests.Response) -> Optional[str]:
    return answer.headers.get("Access-Control-Allow-Origin")


# -- moto's own API -----------------------------------------------------------------------------


def test_moto_api_is_off_so_no_page_reads_every_token(server: LocalServer, contact: dict[str, Any]):
    for answer in (
        page_reads(server, "/moto-api/data.json"),
        requests.get(server.endpoint_url + "/moto-api/data.json", timeout=TIMEOUT),  # not even without a page
    ):
        assert answer.status_code in (403, 404)
        assert contact["ParticipantToken"] not in answer.text
    assert requests.get(server.endpoint_url + "/moto-api/data.json", timeout=TIMEOUT).status_code == 404
    assert "--moto-api" in requests.get(server.endpoint_url + "/moto-api/", timeout=TIMEOUT).json()["message"]


def test_a_foreign_page_cannot_reset_the_backend(server: LocalServer, contact: dict[str, Any]):
    assert page_posts(server, "/moto-api/reset").status_code in (403, 404)
    assert requests.post(server.endpoint_url + "/moto-api/reset", timeout=TIMEOUT).status_code == 404
    assert get_chat_backend().get_chat(contact["ContactId"]) is not None  # every chat still there


def test_moto_api_when_asked_for(aws_credentials: None):
    with LocalServer(moto_api=True) as server:
        assert requests.get(server.endpoint_url + "/moto-api/data.json", timeout=TIMEOUT).status_code == 200
        assert page_reads(server, "/moto-api/data.json").status_code == 403  # still not for other sites


# -- browser origins ----------------------------------------------------------------------------


def test_a_foreign_page_is_refused_and_no_origin_is_echoed(server: LocalServer, contact: dict[str, Any]):
    chat = ChatService(region_name="us-east-1", endpoint_url=server.endpoint_url)
    token = chat.Participant(contact["ParticipantToken"]).create_connection(websocket=False).token
    body = json.dumps({"MaxResults": 10}).encode()
    for answer in (
        page_posts(server, "/participant/transcript", body, **{"X-Amz-Bearer": token}),
        page_preflights(server, "/participant/transcript"),
        page_reads(server, "/"),
        page_reads(server, "/cp-ext-attachments-123456789012-us-east-1/any"),
        page_preflights(server, "/participant/transcript", origin="null"),  # a sandboxed frame
        page_preflights(server, "/participant/transcript", origin="https://app.example"),  # another port
        page_preflights(server, "/participant/transcript", origin="http://localhost.evil.example"),
    ):
        assert answer.status_code == 403, answer.request.headers
        assert allow_origin(answer) is None
        assert "Ann" not in answer.text and token not in answer.text


def test_the_send_of_a_foreign_page_does_not_happen(server: LocalServer, contact: dict[str, Any]):
    chat = ChatService(region_name="us-east-1", endpoint_url=server.endpoint_url)
    conn = chat.Participant(contact["ParticipantToken"]).create_connection(websocket=False)
    body = json.dumps({"ContentType": "text/plain", "Content": "sent by evil.example"}).encode()
    assert page_posts(server, "/participant/message", body, **{"X-Amz-Bearer": conn.token}).status_code == 403
    assert "sent by evil.example" not in [item.content for item in conn.transcript]


@pytest.mark.parametrize(
    "origin", ["http://localhost:8000", "http://127.0.0.1:5173", "http://[::1]:3000", "https://app.example:8443"]
)
def test_loopback_pages_and_named_origins_may_call_and_are_named(server: LocalServer, origin: str):
    preflight = page_preflights(server, "/participant/transcript", origin=origin)
    assert preflight.status_code == 200
    assert allow_origin(preflight) == origin
    assert "x-amz-bearer" in preflight.headers["Access-Control-Allow-Headers"].lower()
    answer = page_posts(server, "/participant/transcript", b"{}", origin=origin, **{"X-Amz-Bearer": "not-a-token"})
    assert answer.status_code == 403 and answer.headers["x-amzn-ErrorType"].startswith("AccessDenied")
    assert allow_origin(answer) == origin  # the service's own refusal, readable by the page


def test_moto_answers_carry_only_the_servers_cors_headers(server: LocalServer):
    """moto's flask-cors answers any Origin with itself; the server's policy replaces it."""
    answer = page_reads(server, "/cp-ext-attachments-none/key", origin="http://localhost:8000")
    assert answer.headers.get("Access-Control-Allow-Origin") == "http://localhost:8000"
    assert "," not in answer.headers["Access-Control-Allow-Origin"]  # one header, not moto's and ours


def test_the_public_urls_origin_is_allowed(aws_credentials: None):
    with LocalServer(public_url="https://chat.example.test/prefix") as server:
        answer = page_preflights(server, "/prefix/participant/transcript", origin="https://chat.example.test")
        assert answer.status_code == 200 and allow_origin(answer) == "https://chat.example.test"
        assert page_preflights(server, "/participant/transcript", origin=EVIL).status_code == 403


# -- DNS rebinding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/moto-api/data.json"),
        ("POST", "/participant/transcript"),
        ("GET", "/cp-ext-attachments-123456789012-us-east-1/any"),
        ("POST", "/start-chat"),
        ("POST", "/"),
    ],
)
def test_a_rebound_name_is_refused(server: LocalServer, method: str, path: str):
    answer = rebound(server, method, path)
    assert answer.status_code == 421
    assert "--public-url" in answer.json()["message"]


def test_a_rebound_name_cannot_open_a_websocket(server: LocalServer, contact: dict[str, Any]):
    chat = ChatService(region_name="us-east-1", endpoint_url=server.endpoint_url)
    conn = chat.Participant(contact["ParticipantToken"]).create_connection()
    assert conn.websocket is not None
    path = conn.websocket.url.split("/", 3)[3]
    port = int(server.endpoint_url.rsplit(":", 1)[1])
    assert raw_upgrade(port, "/" + path, f"rebind.evil.example:{port}").startswith(b"HTTP/1.1 421")
    assert raw_upgrade(get_hub().port, "/" + path, "rebind.evil.example").startswith(b"HTTP/1.1 421")
    assert raw_upgrade(port, "/" + path, f"localhost:{port}").startswith(b"HTTP/1.1 101")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "LOCALHOST"])
def test_loopback_names_are_served(server: LocalServer, host: str):
    port = server.endpoint_url.rsplit(":", 1)[1]
    answer = requests.options(
        server.endpoint_url + "/participant/transcript", headers={"Host": f"{host}:{port}"}, timeout=TIMEOUT
    )
    assert answer.status_code == 200


def test_the_public_urls_host_is_served(aws_credentials: None):
    with LocalServer(public_url="http://selenium-node:8080") as server:
        assert rebound(server, "OPTIONS", "/participant/transcript", name="selenium-node").status_code == 200
        assert rebound(server, "OPTIONS", "/participant/transcript").status_code == 421
