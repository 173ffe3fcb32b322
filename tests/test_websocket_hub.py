"""The loopback websocket hub: connect expiry, maximum lifetime, the deep-heartbeat answer,
delivery only after the subscription (and the lenient switch), publishers that never wait on a
socket, and a registry indexed by chat and pruned by expiry.

Most tests drive a private :class:`WebsocketHub` with raw websocket clients; the ones that
need a chat go through ``mock_aws`` and the library.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket as socketlib
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.uri import parse_uri

from connectparticipant_ext import ChatService
from connectparticipant_ext.testing._loop import run as backend_loop_run
from connectparticipant_ext.testing.websocket import WebsocketHub, get_hub, shutdown_hub

from _helpers import WAIT

SUBSCRIBE = json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
CHAT = ("123456789012", "us-east-1", "chat-a")
OTHER_CHAT = ("123456789012", "us-east-1", "chat-b")


@pytest.fixture
def hub() -> Iterator[WebsocketHub]:
    running = WebsocketHub()
    try:
        yield running
    finally:
        running.shutdown()


def later(seconds: float = 3600) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def item(content: str, n: int = 0) -> dict[str, Any]:
    return {"Id": f"id-{content}-{n}", "Type": "MESSAGE", "ContentType": "text/plain", "Content": content}


def subscribe(socket: ClientConnection) -> None:
    socket.send(SUBSCRIBE)
    frame = json.loads(socket.recv(timeout=WAIT))
    assert frame == {"topic": "aws/subscribe", "content": {"status": "success", "topics": ["aws/chat"]}}


def next_item(socket: ClientConnection, timeout: float = WAIT) -> dict[str, Any]:
    frame = json.loads(socket.recv(timeout=timeout))
    assert frame["topic"] == "aws/chat", frame
    return dict(json.loads(frame["content"]))


def nothing_within(socket: ClientConnection, seconds: float) -> bool:
    try:
        socket.recv(timeout=seconds)
    except TimeoutError:
        return True
    return False


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class StalledReader:
    """A websocket client that subscribes and then never reads again, with a tiny receive
    buffer so the server's writes back up at once (built on websockets' sans-I/O protocol:
    no background thread reads for it)."""

    def __init__(self, url: str) -> None:
        uri = parse_uri(url)
        self.protocol = ClientProtocol(uri)
        self.sock = socketlib.socket(socketlib.AF_INET, socketlib.SOCK_STREAM)
        self.sock.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_RCVBUF, 4096)
        self.sock.settimeout(WAIT)
        self.sock.connect((uri.host, uri.port))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        self._read_until(lambda event: isinstance(event, Response))
        self.protocol.send_text(SUBSCRIBE.encode())
        self._flush()
        self._read_until(lambda event: isinstance(event, Frame) and b"aws/subscribe" in event.data)

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def _read_until(self, wanted: Callable[[Any], bool]) -> None:
        while True:
            data = self.sock.recv(65536)
            assert data, "the server closed the connection"
            self.protocol.receive_data(data)
            if any(wanted(event) for event in self.protocol.events_received()):
                return

    def wait_until_cut(self, timeout: float = WAIT) -> Optional[int]:
        """Read what is left until the server ends the connection; its close code, if one came."""
        deadline = time.monotonic() + timeout
        code: Optional[int] = None
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(1 << 20)
            except (ConnectionResetError, BrokenPipeError):
                return code
            if not data:
                return code
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                    code = int.from_bytes(event.data[:2], "big")
        raise AssertionError("the server never ended the stalled connection")

    def close(self) -> None:
        self.sock.close()


# -- 1. connect expiry and maximum lifetime (issue 13 pt 3) --------------------------------------


def test_a_url_opens_sockets_before_its_connect_expiry_and_is_refused_after(hub: WebsocketHub):
    url = hub.register(CHAT, "ann", later(0.5))  # the positional third argument is connect_by
    with ws_connect(url) as early:
        subscribe(early)
        time.sleep(0.7)  # past connect_by: the open socket is not affected
        hub.publish(CHAT, item("after the connect expiry"))
        assert next_item(early)["Content"] == "after the connect expiry"
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(url, open_timeout=WAIT)
        assert refused.value.response.status_code == 403


def test_the_server_closes_a_socket_at_its_maximum_lifetime(hub: WebsocketHub):
    url = hub.register(CHAT, "ann", later(), max_lifetime=timedelta(milliseconds=300))
    with ws_connect(url) as socket:
        with pytest.raises(ConnectionClosed):  # under load the lifetime may end while subscribing
            subscribe(socket)
            socket.recv(timeout=WAIT)
        assert socket.close_code == 1001
    deadline = time.monotonic() + WAIT
    while hub.open_sockets(CHAT) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hub.open_sockets(CHAT) == 0


def test_without_a_maximum_lifetime_a_socket_stays_open(hub: WebsocketHub):
    url = hub.register(CHAT, "ann", later(0.2))
    with ws_connect(url) as socket:
        subscribe(socket)
        assert nothing_within(socket, 0.5)
        hub.publish(CHAT, item("still here"))
        assert next_item(socket)["Content"] == "still here"


def test_register_refuses_a_naive_connect_by_and_a_bad_lifetime(hub: WebsocketHub):
    with pytest.raises(TypeError, match="connect_by"):
        hub.register(CHAT, "ann", datetime.now())
    with pytest.raises(ValueError, match="max_lifetime"):
        hub.register(CHAT, "ann", later(), max_lifetime=timedelta(0))


def test_unknown_ids_and_wrong_secrets_are_refused(hub: WebsocketHub):
    url = hub.register(CHAT, "ann", later())
    for bad in (url.replace("AuthToken=", "AuthToken=x"), url.replace("/connect/", "/connect/0")):
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(bad, open_timeout=WAIT)
        assert refused.value.response.status_code == 403


# -- 2. the deep heartbeat (issue 13 pt 12) ----------------------------------------------------


def test_ping_is_answered_with_status_code_and_status_content(hub: WebsocketHub):
    with ws_connect(hub.register(CHAT, "ann", later())) as socket:
        socket.send(json.dumps({"topic": "aws/ping"}))
        assert json.loads(socket.recv(timeout=WAIT)) == {"topic": "aws/ping", "statusCode": 200, "statusContent": "OK"}
        socket.send(json.dumps({"topic": "aws/heartbeat"}))
        assert json.loads(socket.recv(timeout=WAIT)) == {"topic": "aws/heartbeat"}


def test_a_subscription_without_aws_chat_fails_and_delivers_nothing(hub: WebsocketHub):
    with ws_connect(hub.register(CHAT, "ann", later())) as socket:
        socket.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/other"]}}))
        answer = json.loads(socket.recv(timeout=WAIT))
        assert answer["content"]["status"] == "failure"
        hub.publish(CHAT, item("not for you"))
        assert nothing_within(socket, 0.3)


# -- 3. delivery only after the subscription (issue 13 pt 18) ----------------------------------


def test_items_written_before_the_subscription_are_not_pushed(hub: WebsocketHub):
    url = hub.register(CHAT, "ann", later())
    hub.publish(CHAT, item("before the socket opened"))
    with ws_connect(url) as socket:
        hub.publish(CHAT, item("before the subscription"))
        subscribe(socket)
        hub.publish(CHAT, item("after the subscription"))
        assert next_item(socket)["Content"] == "after the subscription"
        assert nothing_within(socket, 0.3)


def test_the_lenient_switch_holds_items_until_the_subscription(hub: WebsocketHub):
    hub.deliver_before_subscribe = True
    url = hub.register(CHAT, "ann", later())
    hub.publish(CHAT, item("before the socket opened"))
    with ws_connect(url) as socket:
        hub.publish(CHAT, item("before the subscription"))
        subscribe(socket)
        hub.publish(CHAT, item("after the subscription"))
        got = [next_item(socket)["Content"] for _ in range(3)]
    assert got == ["before the socket opened", "before the subscription", "after the subscription"]
    # a second socket on the same URL starts from its own opening
    with ws_connect(url) as again:
        subscribe(again)
        assert nothing_within(again, 0.3)


def test_the_stream_gets_what_came_before_its_socket_from_the_transcript(mock_chat, connection, chat_contact):
    """Under the strict default the library's stream fills what its socket was not sent
    (written between CreateParticipantConnection and the subscription) from GetTranscript."""
    assert get_hub().deliver_before_subscribe is False
    agent = mock_chat.join_as_agent(chat_contact["ContactId"])
    early = agent.send("before the stream's socket")
    with connection.stream(history=True) as stream:
        agent.send("live")
        got: list[str] = []
        deadline = time.monotonic() + WAIT
        while "live" not in got:
            assert time.monotonic() < deadline, got
            received = stream.get(timeout=1)
            if received is not None and received.is_message:
                got.append(received.content or "")
    assert got == ["before the stream's socket", "live"]
    assert early in [i.id for i in connection.transcript]


# -- 4. a reader that stops reading never blocks a publisher (issue 15 pt 9) -------------------


def _publish_in_thread(publish: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=publish, name="test-publisher", daemon=True)
    thread.start()
    return thread


def test_a_stalled_reader_never_blocks_publish_and_others_get_everything(hub: WebsocketHub):
    hub.max_queued_frames = 20
    stalled = StalledReader(hub.register(CHAT, "ann", later()))
    hub.max_queued_frames = 10_000  # for the sockets opened from now on: the reader keeps up
    count = 800  # 16 KB each: far beyond the kernel buffers and the outbox of the stalled socket
    body = "x" * 16_000
    try:
        with ws_connect(hub.register(CHAT, "bob", later()), max_size=None) as reader:
            subscribe(reader)
            publisher = _publish_in_thread(lambda: [hub.publish(CHAT, item(body, n)) for n in range(count)])
            got = [next_item(reader)["Id"] for _ in range(count)]
            publisher.join(timeout=WAIT)
            assert not publisher.is_alive(), "publish blocked on the stalled reader"
            assert got == [f"id-{body}-{n}" for n in range(count)]
            # the stalled socket was given up on; the reader's is untouched
            assert hub.open_sockets(CHAT) == 1
            assert stalled.wait_until_cut() in (None, 1013)
            hub.publish(CHAT, item("still flowing"))
            assert next_item(reader)["Content"] == "still flowing"
    finally:
        stalled.close()


def test_ending_the_chat_and_shutting_down_do_not_wait_on_a_stalled_reader(hub: WebsocketHub):
    hub.max_queued_frames = 10_000  # nothing overflows: the kernel buffers are full, the outbox is not
    stalled = StalledReader(hub.register(CHAT, "ann", later()))
    try:
        body = "y" * 16_000
        publisher = _publish_in_thread(lambda: [hub.publish(CHAT, item(body, n)) for n in range(600)])
        publisher.join(timeout=WAIT)
        assert not publisher.is_alive()
        ender = _publish_in_thread(lambda: (hub.end_chat(CHAT), hub.disconnect_participant(CHAT, "ann")))
        ender.join(timeout=WAIT)
        assert not ender.is_alive(), "end_chat blocked on the stalled reader"
        assert hub.drop_sockets() == 0  # already closing
        stalled.wait_until_cut()  # the hub cut the connection it could not close cleanly
    finally:
        stalled.close()


def test_a_stalled_customer_does_not_stall_the_bot(mock_chat, connect_client, connection, chat_contact):
    """Issue 15 pt 9 end to end: the customer's socket stops reading; the bot's sends return
    and its own stream still delivers every message, then the agent's."""
    get_hub().max_queued_frames = 20
    assert connection.websocket is not None
    stalled = StalledReader(connection.websocket.url)
    get_hub().max_queued_frames = 10_000  # the bot's socket
    bot_token = connect_client.create_participant(
        InstanceId="instance-1",
        ContactId=chat_contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
    )["ParticipantCredentials"]["ParticipantToken"]
    bot = ChatService(region_name="us-east-1").Participant(bot_token).create_connection()
    count = 400
    body = "z" * 16_000
    try:
        with bot.stream() as stream:
            sender = _publish_in_thread(lambda: [bot.send_message(f"{n} {body}") for n in range(count)])
            got: list[str] = []
            deadline = time.monotonic() + 60
            while len(got) < count:
                assert time.monotonic() < deadline, f"only {len(got)} of {count} arrived"
                received = stream.get(timeout=1)
                if received is not None and received.is_message:
                    got.append((received.content or "").split(" ", 1)[0])
            sender.join(timeout=WAIT)
            assert not sender.is_alive(), "the bot's sends blocked on the stalled customer"
            assert got == [str(n) for n in range(count)]
            mock_chat.join_as_agent(chat_contact["ContactId"]).send("and the agent")
            while True:
                assert time.monotonic() < deadline
                received = stream.get(timeout=1)
                if received is not None and received.is_message:
                    assert received.content == "and the agent"
                    break
        stalled.wait_until_cut()
    finally:
        stalled.close()


# -- 5. the registry: indexed by chat, pruned by expiry (issue 17) -----------------------------


def test_publish_end_and_disconnect_touch_only_their_chat(hub: WebsocketHub):
    with (
        ws_connect(hub.register(CHAT, "ann", later())) as ann,
        ws_connect(hub.register(CHAT, "bob", later())) as bob,
        ws_connect(hub.register(OTHER_CHAT, "ann", later())) as other,
    ):
        for socket in (ann, bob, other):
            subscribe(socket)
        hub.publish(CHAT, item("for chat a"))
        assert next_item(ann)["Content"] == next_item(bob)["Content"] == "for chat a"
        assert nothing_within(other, 0.2)

        hub.disconnect_participant(CHAT, "ann")  # ann of chat a only
        with pytest.raises(ConnectionClosed):
            ann.recv(timeout=WAIT)
        hub.publish(CHAT, item("bob is still here"))
        assert next_item(bob)["Content"] == "bob is still here"

        hub.publish(CHAT, item("the last item"))
        hub.end_chat(CHAT)
        assert next_item(bob)["Content"] == "the last item"  # what was published goes out first
        with pytest.raises(ConnectionClosed):
            bob.recv(timeout=WAIT)
        assert bob.close_code == 1000

        hub.publish(OTHER_CHAT, item("chat b goes on"))
        assert next_item(other)["Content"] == "chat b goes on"
        assert hub.open_sockets(OTHER_CHAT) == 1 and hub.open_sockets(CHAT) == 0


def test_urls_of_an_ended_chat_or_a_departed_participant_are_refused(hub: WebsocketHub):
    ann = hub.register(CHAT, "ann", later())
    bob = hub.register(CHAT, "bob", later())
    other = hub.register(OTHER_CHAT, "bob", later())
    hub.disconnect_participant(CHAT, "ann")
    with pytest.raises(InvalidStatus):
        ws_connect(ann, open_timeout=WAIT)
    with ws_connect(bob):
        pass
    hub.end_chat(CHAT)
    with pytest.raises(InvalidStatus):
        ws_connect(bob, open_timeout=WAIT)
    with ws_connect(other):
        pass


def test_expired_urls_are_pruned(hub: WebsocketHub):
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    for n in range(50):
        hub.register(("account", "region", f"chat-{n}"), "ann", past)
    for _ in range(3):
        hub.register(CHAT, "ann", later())
    assert hub.outstanding_urls() == 3  # the 50 expired ones were dropped
    hub.end_chat(CHAT)
    assert hub.outstanding_urls() == 0  # and these went with their chat


def test_drop_sockets_closes_abruptly_and_nothing_more_arrives(hub: WebsocketHub):
    with ws_connect(hub.register(CHAT, "ann", later())) as socket:
        subscribe(socket)
        assert hub.drop_sockets(CHAT) == 1
        hub.publish(CHAT, item("after the drop"))
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=WAIT)
        assert socket.close_code == 1011


def test_an_idle_socket_is_closed_and_heartbeats_keep_one_open(hub: WebsocketHub):
    idle = timedelta(milliseconds=400)
    with (
        ws_connect(hub.register(CHAT, "ann", later(), idle_timeout=idle)) as quiet,
        ws_connect(hub.register(CHAT, "bob", later(), idle_timeout=idle)) as chatty,
    ):
        subscribe(quiet)
        subscribe(chatty)
        deadline = time.monotonic() + WAIT
        while hub.open_sockets(CHAT) == 2:  # bob heartbeats faster than the timeout
            assert time.monotonic() < deadline, "the quiet socket was never closed"
            chatty.send(json.dumps({"topic": "aws/heartbeat"}))
            assert json.loads(chatty.recv(timeout=WAIT)) == {"topic": "aws/heartbeat"}
            time.sleep(0.1)
        with pytest.raises(ConnectionClosed):
            quiet.recv(timeout=WAIT)
        assert quiet.close_code == 1001
        for _ in range(6):  # 0.6 s more: well past the timeout, yet heard from all along
            chatty.send(json.dumps({"topic": "aws/heartbeat"}))
            assert json.loads(chatty.recv(timeout=WAIT)) == {"topic": "aws/heartbeat"}
            time.sleep(0.1)
        assert hub.open_sockets(CHAT) == 1


# -- hostile clients on the hub's port ----------------------------------------------------------


def test_half_sent_upgrades_are_dropped_without_holding_a_thread(hub: WebsocketHub):
    """Connections that start an opening handshake and stop take no thread and are dropped once
    their head is overdue (the listener's header timeout); a real client opens meanwhile."""
    before = threading.active_count()
    stalled = []
    for _ in range(100):
        conn = socketlib.create_connection(("127.0.0.1", hub.port), timeout=WAIT * 3)
        conn.sendall(b"GET /connect/x?AuthToken=y HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webso")
        stalled.append(conn)
    with ws_connect(hub.register(CHAT, "ann", later())) as socket:
        subscribe(socket)
    assert threading.active_count() <= before + 1  # the test's own client thread at most
    for conn in stalled:
        while conn.recv(4096):  # a 408, then the end of the connection
            pass
        conn.close()


def test_a_frame_over_the_limit_closes_only_that_socket(hub: WebsocketHub):
    with ws_connect(hub.register(CHAT, "ann", later())) as big, ws_connect(hub.register(CHAT, "bob", later())) as ok:
        subscribe(big)
        subscribe(ok)
        big.send("x" * (2**20 + 1))
        with pytest.raises(ConnectionClosed):
            big.recv(timeout=WAIT)
        assert big.close_code == 1009
        hub.publish(CHAT, item("still here"))
        assert next_item(ok)["Content"] == "still here"


# -- a forked process -----------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_runs_a_backend_of_its_own(chat, chat_contact, connection):
    """The backend's loop thread stays in the parent: a child made by fork() (multiprocessing's
    default on Linux, mutmut's runner) starts its own loop and hub, rather than handing work to a
    loop nobody runs and waiting RUN_TIMEOUT for each answer (each chat's teardown failed)."""
    parent_hub = get_hub()  # the connection's websocket is registered on it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "fork() of a multi-threaded process" (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report through the exit code only, never return into pytest
        code = 1
        try:
            hub = get_hub()
            answered = backend_loop_run(asyncio.sleep(0, result=42), timeout=WAIT)
            child = chat.Participant(chat_contact["ParticipantToken"]).create_connection()
            registered = child.websocket.url.startswith(f"ws://127.0.0.1:{hub.port}/")
            shutdown_hub()  # what moto's reset does after each test: stops the child's listener
            code = 0 if hub is not parent_hub and answered == 42 and registered else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert get_hub() is parent_hub  # the parent's backend is untouched
    connection.send_message("still served")
