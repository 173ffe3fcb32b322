"""The live stream's protocol core, without sockets or a service: frames and pages in, actions out.

Each test plays a driver by hand: it feeds the core what "happened" with a made-up clock and
checks what the core asks for next.
"""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from connectparticipant_ext import (
    AccessDeniedError,
    ServiceUnreachableError,
    StreamError,
    StreamState,
    TranscriptItem,
)
from connectparticipant_ext.live.actions import (
    HEARTBEAT,
    Deliver,
    Drain,
    DropSocket,
    Ended,
    FetchLatest,
    FlushReceipts,
    GapPlan,
    OpenSocket,
    ReadGap,
    SendFrame,
    SocketLostError,
    Wait,
)
from connectparticipant_ext.live.core import StreamCore
from connectparticipant_ext.live.settings import StreamSettings
from connectparticipant_ext.live.stitching import MAX_PARTIAL_BYTES, MAX_PARTIAL_REPLIES

from _helpers import EVENT


class FakeConnection:
    """What the core reads of a connection: ``closed``; receipts are sent through it."""

    def __init__(self) -> None:
        self.closed = False
        self.receipts: list[tuple[str, str]] = []
        self.service = SimpleNamespace(meta=SimpleNamespace(client=SimpleNamespace(meta=None)))

    def send_delivered_receipt(self, message_id: str) -> None:
        self.receipts.append(("delivered", message_id))

    def send_read_receipt(self, message_id: str) -> None:
        self.receipts.append(("read", message_id))


def raw(item_id: str, n: int, *, type: str = "MESSAGE", role: str = "AGENT", **extra: Any) -> dict[str, Any]:
    return {
        "Id": item_id,
        "Type": type,
        "ContentType": "text/plain",
        "Content": item_id,
        "ParticipantRole": role,
        "ParticipantId": "p-" + role.lower(),
        "AbsoluteTime": f"2026-12-01T10:00:{n:02d}.000Z",
        **extra,
    }


def item(item_id: str, n: int, **extra: Any) -> TranscriptItem:
    return TranscriptItem.from_response(raw(item_id, n, **extra))


def chat_frame(data: dict[str, Any]) -> str:
    return json.dumps({"topic": "aws/chat", "contentType": "application/json", "content": json.dumps(data)})


HEARTBEAT_ANSWER = json.dumps({"topic": "aws/heartbeat"})


class Driver:
    """Plays the driver: runs the core's actions against scripted results, with a fake clock."""

    def __init__(self, jitter: float = 1.0, **options: Any) -> None:
        self.connection = FakeConnection()
        self.states: list[StreamState] = []
        options.setdefault("heartbeat_interval", 10.0)
        options.setdefault("heartbeat_timeout", 5.0)
        self.core = StreamCore(
            StreamSettings(on_state_change=self.states.append, **options),
            self.connection,  # type: ignore[arg-type]
            jitter=lambda: jitter,
        )
        self.now = 100.0
        self.sent: list[str] = []

    def step(self) -> Any:
        return self.core.next_action(self.now)

    def open(self, latest: Optional[TranscriptItem] = None) -> None:
        """From the start to an open socket whose first heartbeat went out."""
        action = self.step()
        if isinstance(action, FetchLatest):
            self.core.latest_item(latest)
            action = self.step()
        assert isinstance(action, OpenSocket)
        self.core.socket_opened(self.now)
        assert self.step() == SendFrame(HEARTBEAT)

    def items(self, pages: Optional[list[list[TranscriptItem]]] = None) -> list[TranscriptItem]:
        """Run actions until the core waits, answering gap reads with ``pages``; the items handed over."""
        pages = list(pages or [])
        out: list[TranscriptItem] = []
        for _ in range(1000):
            action = self.step()
            if isinstance(action, Deliver):
                out.append(action.item)
            elif isinstance(action, ReadGap):
                self.core.gap_page(action.plan, pages.pop(0) if pages else None)
            elif isinstance(action, FlushReceipts):
                self.core.items.receipts.flush()
            elif isinstance(action, SendFrame):
                self.sent.append(action.frame)
            elif isinstance(action, (Wait, Ended)):
                return out
            else:
                raise AssertionError(f"unexpected {action}")
        raise AssertionError("the core never waited")


def test_a_live_only_stream_starts_after_the_newest_item_and_fills_the_gap_from_it():
    driver = Driver()
    driver.open(latest=item("old", 1))
    action = driver.step()
    assert isinstance(action, ReadGap) and action.plan.after == "old"
    # What came between reading the newest item and the socket opening comes from the transcript.
    driver.core.gap_page(action.plan, [item("old", 1), item("between", 2)])
    driver.core.frame_received(chat_frame(raw("live", 3)))
    assert [i.id for i in driver.items()] == ["between", "live"]
    assert driver.core.state is StreamState.OPEN


def test_the_gap_stops_at_the_first_item_the_socket_also_has():
    driver = Driver(history=True)
    driver.open()
    driver.core.frame_received(chat_frame(raw("typing", 3, type="EVENT", ContentType=EVENT + "typing")))
    driver.core.frame_received(chat_frame(raw("b", 4)))
    driver.core.frame_received(chat_frame(raw("c", 5)))
    got = driver.items([[item("a", 1), item("b", 4), item("c", 5)]])
    assert [i.id for i in got] == ["a", "typing", "b", "c"]  # each once, in order


def test_a_reconnect_fills_the_gap_after_the_last_item_and_drops_repeats():
    driver = Driver(history=True)
    driver.open()
    assert [i.id for i in driver.items([[item("a", 1)]])] == ["a"]
    driver.core.frame_received(HEARTBEAT_ANSWER)  # the socket worked
    driver.core.socket_lost("dropped", driver.now)
    assert driver.core.state is StreamState.RECONNECTING
    assert isinstance(driver.step(), OpenSocket)  # a socket that worked: no backoff
    driver.core.socket_opened(driver.now)
    assert driver.step() == SendFrame(HEARTBEAT)
    action = driver.step()
    assert isinstance(action, ReadGap) and action.plan.after == "a"
    driver.core.gap_page(action.plan, [item("a", 1), item("b", 2)])
    driver.core.frame_received(chat_frame(raw("b", 2)))  # the new socket repeats it
    driver.core.frame_received(chat_frame(raw("c", 3)))
    assert [i.id for i in driver.items()] == ["b", "c"]
    assert driver.core.reconnects == 1
    assert driver.states == [StreamState.OPEN, StreamState.RECONNECTING, StreamState.OPEN]


def test_an_unknown_since_replays_the_whole_transcript_and_says_so():
    driver = Driver(since="gone")
    driver.open()
    action = driver.step()
    assert isinstance(action, ReadGap) and action.plan.after == "gone"
    driver.core.gap_page(action.plan, None)  # the service: an empty page for an unknown start
    assert driver.core.items.since_unknown
    assert [i.id for i in driver.items([[item("a", 1), item("b", 2)]])] == ["a", "b"]


def test_a_known_since_is_not_reported_unknown():
    driver = Driver(since="a")
    driver.open()
    assert [i.id for i in driver.items([[item("a", 1), item("b", 2)]])] == ["b"]
    assert not driver.core.items.since_unknown


def test_an_unanswered_heartbeat_drops_the_socket_and_an_unproven_one_backs_off():
    driver = Driver(history=True, backoff_base=1.0, backoff_max=4.0, reconnect_attempts=2)
    driver.open()
    driver.items()
    action = driver.step()
    assert isinstance(action, Wait) and action.read and action.until == driver.now + 5.0
    driver.now += 5.0
    assert driver.step() == Drain()
    driver.core.drained()  # nothing had come
    assert driver.step() == DropSocket("heartbeat unanswered")
    driver.core.socket_lost("heartbeat unanswered", driver.now)
    assert driver.core.failures == 1
    assert driver.step() == Wait(driver.now + 1.0, read=False)  # the backoff delay (jitter 1.0)
    driver.now += 1.0
    assert isinstance(driver.step(), OpenSocket)
    driver.core.open_failed(SocketLostError("refused", url_refused=True), driver.now)
    driver.now += 2.0
    assert driver.step() == OpenSocket(fresh_url=True)  # a refused URL is replaced
    with pytest.raises(StreamError, match="after 3 attempts"):
        driver.core.open_failed(SocketLostError("refused"), driver.now)
    assert driver.core.ended and driver.core.state is StreamState.CLOSED
    assert isinstance(driver.step(), Ended)


def test_an_old_socket_is_reopened_without_counting_a_failure():
    driver = Driver(history=True, max_socket_age=60.0, heartbeat_interval=100.0, heartbeat_timeout=100.0)
    driver.open()
    driver.items()
    driver.now += 60.0
    assert driver.step() == DropSocket("the socket reached its maximum age")
    driver.core.socket_lost("the socket reached its maximum age", driver.now)
    assert driver.core.failures == 0 and isinstance(driver.step(), OpenSocket)


def test_heartbeats_follow_the_interval():
    driver = Driver(history=True)
    driver.open()
    driver.items()
    driver.core.frame_received(HEARTBEAT_ANSWER)
    assert driver.step() == Wait(driver.now + 10.0, read=True)
    driver.now += 10.0
    assert driver.step() == SendFrame(HEARTBEAT)


def test_the_chats_end_ends_the_stream_and_drops_pending_receipts():
    driver = Driver(history=True, receipts=True, receipt_throttle=60.0)
    driver.open()
    driver.core.frame_received(chat_frame(raw("m", 1)))
    driver.core.frame_received(chat_frame(raw("end", 2, type="EVENT", ContentType=EVENT + "chat.ended")))
    got = driver.items()
    assert [i.id for i in got] == ["m", "end"]
    assert driver.core.end_reason == "the chat ended" and driver.core.state is StreamState.CLOSED
    driver.core.items.receipts.flush()
    assert driver.connection.receipts == []


def test_with_a_window_of_0_the_delivered_receipt_goes_before_the_item():
    driver = Driver(history=True, receipts=True, receipt_throttle=0)
    driver.open()
    driver.core.frame_received(chat_frame(raw("m", 1)))
    driver.items([[]])  # the transcript's first page
    assert driver.connection.receipts == [("delivered", "m")]


def test_a_heartbeat_answer_received_and_not_read_yet_keeps_the_socket():
    """A slow consumer, or a busy event loop, leaves the answer unread past the deadline: the
    core has the driver drain the socket before it calls the heartbeat unanswered."""
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.now += 5.0
    assert driver.step() == Drain()
    driver.core.frame_received(chat_frame(raw("m", 1)))  # what the drain found: an item,
    driver.core.frame_received(HEARTBEAT_ANSWER)  # then the answer
    driver.core.drained()
    assert [i.id for i in driver.items()] == ["m"]
    assert driver.step() == Wait(driver.now + 5.0, read=True)  # the next heartbeat is due
    assert driver.core.state is StreamState.OPEN and driver.core.reconnects == 0


def test_items_a_drain_hands_over_come_before_another_drain():
    """A drain that brings items (and no answer) delivers them, then drains again before the
    socket goes: the answer may have come while they were handed over."""
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.now += 5.0
    assert driver.step() == Drain()
    driver.core.frame_received(chat_frame(raw("m", 1)))
    driver.core.drained()
    assert isinstance(driver.step(), Deliver)
    assert driver.step() == Drain()
    driver.core.drained()
    assert driver.step() == DropSocket("heartbeat unanswered")


def test_a_disconnected_connection_ends_the_stream_when_its_socket_goes():
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.connection.closed = True
    driver.core.socket_lost("dropped", driver.now)
    assert driver.items() == []
    assert driver.core.ended and "connection was closed" in (driver.core.end_reason or "")
    assert driver.core.state is StreamState.CLOSED


def test_what_came_before_a_socket_goes_after_disconnect_is_handed_over_chat_ended_last():
    """After ``disconnect()`` a stream cannot reconnect; the server closes the socket right
    after ``chat.ended``. Every item received (the survey, the end) still comes, then the end."""
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.connection.closed = True
    driver.core.frame_received(chat_frame(raw("survey", 1, role="SYSTEM")))
    driver.core.frame_received(chat_frame(raw("end", 2, type="EVENT", ContentType=EVENT + "chat.ended")))
    driver.core.socket_lost("ConnectionClosedOK", driver.now)
    assert not driver.core.ended  # not until what was received is handed over
    assert [i.id for i in driver.items()] == ["survey", "end"]
    assert driver.core.end_reason == "the chat ended" and isinstance(driver.step(), Ended)


def test_what_came_before_a_refused_transcript_read_is_handed_over():
    """The chat ends while a reconnect fills its gap: the transcript refuses the participant.
    What was read of the gap comes, then what the socket got, drained first (chat.ended)."""
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.core.frame_received(HEARTBEAT_ANSWER)
    driver.core.socket_lost("dropped", driver.now)
    assert isinstance(driver.step(), OpenSocket)
    driver.core.socket_opened(driver.now)
    assert driver.step() == SendFrame(HEARTBEAT)
    action = driver.step()
    assert isinstance(action, ReadGap)
    driver.core.gap_page(action.plan, [item("a", 1)])
    driver.core.frame_received(chat_frame(raw("b", 2)))
    assert driver.step() == Deliver(item("a", 1))
    action = driver.step()
    assert isinstance(action, ReadGap)  # the gap's next page: refused, the chat has ended
    driver.core.gap_read_failed(action.plan, AccessDeniedError({"Error": {"Code": "AccessDeniedException"}}, "X"))
    assert driver.step() == Deliver(item("b", 2))  # what was received comes first
    assert driver.step() == Drain()  # then the socket, still open, is drained
    driver.core.frame_received(chat_frame(raw("end", 3, type="EVENT", ContentType=EVENT + "chat.ended")))
    driver.core.drained()
    assert [i.id for i in driver.items()] == ["end"]
    assert driver.core.end_reason == "the chat ended" and isinstance(driver.step(), Ended)


def test_a_refused_open_ends_the_stream_after_what_was_received():
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.core.frame_received(HEARTBEAT_ANSWER)
    driver.core.socket_lost("dropped", driver.now)
    assert isinstance(driver.step(), OpenSocket)
    driver.core.open_failed(AccessDeniedError({"Error": {"Code": "AccessDeniedException"}}, "X"), driver.now)
    assert isinstance(driver.step(), Ended)  # no socket to drain
    assert driver.core.end_reason == "the service refused the participant (the chat has ended)"


def test_close_while_ending_ends_at_once():
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.connection.closed = True
    driver.core.frame_received(chat_frame(raw("m", 1)))
    driver.core.socket_lost("dropped", driver.now)
    driver.core.close()
    assert isinstance(driver.step(), Ended) and driver.core.end_reason == "closed"


# -- Lex streamed replies ----------------------------------------------------------------------


def piece(reply_id: str, text: str, number: Optional[int], n: int = 1) -> str:
    metadata: dict[str, Any] = {"MessageId": reply_id, "MessageCompleted": number is None}
    if number is not None:
        metadata["ChunkNumber"] = number
    return chat_frame(raw(reply_id, n, role="SYSTEM", Content=text, MessageMetadata=metadata))


def test_pieces_are_stitched_in_order_and_strays_ignored():
    driver = Driver(history=True, partial_messages=True)
    driver.open()
    for frame in (piece("r", "x", 2), piece("r", "a", 1), piece("r", "a", 1), piece("r", "b", 2)):
        driver.core.frame_received(frame)
    driver.core.frame_received(piece("r", "abc", None, n=9))
    got = driver.items([[]])
    assert [(i.content, i.is_complete) for i in got] == [("a", False), ("ab", False), ("abc", True)]
    assert len({i.absolute_time for i in got}) == 1  # the first piece's time


def test_what_a_growing_reply_holds_is_bounded_in_bytes_and_in_replies():
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    big = "x" * 60_000
    for number in range(1, 40):  # about 2.3 MB of pieces, never completed
        driver.core.frame_received(piece("r-big", big, number))
    for reply in range(3 * MAX_PARTIAL_REPLIES):  # many replies, each started and never completed
        driver.core.frame_received(piece(f"r-{reply}", "y", 1))
    driver.items()
    replies = driver.core.items.replies
    assert replies.held <= MAX_PARTIAL_BYTES
    assert len(replies) <= MAX_PARTIAL_REPLIES
    # The completion still comes whole, for a reply whose pieces were dropped as for any other.
    driver.core.frame_received(piece("r-big", "whole", None))
    driver.core.frame_received(piece("r-0", "whole too", None))
    assert [i.content for i in driver.items()] == ["whole", "whole too"]


def test_frames_of_junk_are_ignored():
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    deep = "[" * 100_000
    for frame in (
        "not json",
        "[1, 2]",
        deep,
        *(json.dumps({"topic": "aws/chat", "content": c}) for c in ("{no", deep)),
    ):
        driver.core.frame_received(frame)
    assert driver.items() == [] and driver.core.items.backlog == 0


def test_gap_plans_are_values_the_driver_passes_back():
    driver = Driver(history=True)
    driver.open()
    action = driver.step()
    assert isinstance(action, ReadGap) and action.plan.after is None
    stale = GapPlan(after="x")
    driver.core.gap_page(stale, [item("x", 1)])  # a page of a replaced plan is ignored
    assert driver.items([[item("a", 1)]])[0].id == "a"


# -- the state a driver reads, and what each ending says --------------------------------------


def test_a_new_stream_has_not_started_anything():
    core = Driver(history=True).core
    assert core.state is StreamState.CONNECTING
    assert core.ended is False and core.proven is False and core.socket_open is False
    assert (core.failures, core.reconnects, core.retry_at, core.end_reason) == (0, 0, None, None)


@pytest.mark.parametrize(
    ("options", "first"),
    [
        ({}, FetchLatest()),  # live only: it starts after the newest item
        ({"history": True}, OpenSocket(fresh_url=False)),
        ({"since": "a"}, OpenSocket(fresh_url=False)),
    ],
)
def test_only_a_live_only_stream_asks_for_the_newest_item_first(options, first):
    assert Driver(**options).step() == first


def test_a_socket_that_opened_has_not_proven_itself_until_it_answers():
    driver = Driver(history=True)
    driver.open()
    assert driver.core.proven is False and driver.core.socket_open
    driver.core.frame_received(HEARTBEAT_ANSWER)
    assert driver.core.proven is True


def test_a_chat_item_on_a_new_socket_proves_it_works():
    driver = Driver(history=True, reconnect_attempts=0)
    driver.open()
    driver.core.frame_received(chat_frame(raw("m", 1)))
    assert driver.core.proven is True
    assert [i.id for i in driver.items([[]])] == ["m"]
    driver.core.socket_lost("dropped", driver.now)  # no failure: reconnect at once
    assert driver.core.failures == 0 and driver.step() == OpenSocket(fresh_url=False)


def test_every_reconnect_is_counted():
    driver = Driver(history=True)
    driver.open()
    for count in (1, 2, 3):
        driver.items([[]])
        driver.core.frame_received(HEARTBEAT_ANSWER)
        driver.core.socket_lost("dropped", driver.now)
        assert isinstance(driver.step(), OpenSocket)
        driver.core.socket_opened(driver.now)
        assert driver.core.reconnects == count
        assert driver.step() == SendFrame(HEARTBEAT)


def test_backoff_doubles_up_to_its_maximum_and_jitter_takes_up_to_half_off():
    for jitter, delays in ((1.0, [1.0, 2.0, 4.0, 4.0]), (0.0, [0.5, 1.0, 2.0, 2.0])):
        driver = Driver(jitter, history=True, backoff_base=1.0, backoff_max=4.0, reconnect_attempts=5)
        for delay in delays:
            assert isinstance(driver.step(), OpenSocket)
            driver.core.open_failed(SocketLostError("refused"), driver.now)
            assert driver.core.retry_at == driver.now + delay
            assert driver.step() == Wait(driver.now + delay, read=False)
            driver.now += delay


def test_failed_attempts_are_logged_with_their_delay(caplog):
    caplog.set_level(logging.INFO, logger="connectparticipant_ext.live.core")
    driver = Driver(history=True, backoff_base=1.0, reconnect_attempts=2)
    assert isinstance(driver.step(), OpenSocket)
    driver.core.open_failed(SocketLostError("the server said no"), driver.now)
    driver.now += 1.0
    assert isinstance(driver.step(), OpenSocket)
    assert driver.core.retry_at is None  # the delay is over
    driver.core.socket_opened(driver.now)
    driver.core.socket_lost("dropped", driver.now)
    assert [r.getMessage() for r in caplog.records] == [
        "websocket attempt 1 failed (the server said no); retrying in 1.00 s",
        "websocket dropped (dropped); reconnecting",
        "websocket attempt 2 failed (the socket failed before it worked: dropped); retrying in 2.00 s",
    ]


def test_the_last_failed_attempt_ends_the_stream_saying_why():
    driver = Driver(history=True, reconnect_attempts=1)
    assert isinstance(driver.step(), OpenSocket)
    driver.core.open_failed(ServiceUnreachableError("CreateParticipantConnection", "timed out"), driver.now)
    driver.now += 10.0
    assert driver.step() == OpenSocket(fresh_url=False)  # an unreachable service is no refused URL
    driver.core.socket_opened(driver.now)
    with pytest.raises(StreamError) as info:
        driver.core.socket_lost("dropped", driver.now)
    assert str(info.value) == (
        "the live stream could not be re-established after 2 attempts: the socket failed before it worked: dropped"
    )
    assert driver.core.end_reason == "the live stream could not be re-established"
    assert isinstance(driver.step(), Ended)


def test_the_error_of_the_last_attempt_is_in_the_stream_error():
    driver = Driver(history=True, reconnect_attempts=0)
    assert isinstance(driver.step(), OpenSocket)
    with pytest.raises(StreamError) as info:
        driver.core.open_failed(SocketLostError("HTTP 403"), driver.now)
    assert str(info.value) == "the live stream could not be re-established after 1 attempts: HTTP 403"


def test_a_fresh_url_is_asked_for_once_after_a_refused_one():
    driver = Driver(history=True, reconnect_attempts=5, backoff_base=1.0)
    assert isinstance(driver.step(), OpenSocket)
    driver.core.open_failed(SocketLostError("refused", url_refused=True), driver.now)
    driver.now += 10.0
    assert driver.step() == OpenSocket(fresh_url=True)
    driver.core.open_failed(SocketLostError("reset"), driver.now)  # not refused: the URL may be used
    driver.now += 10.0
    assert driver.step() == OpenSocket(fresh_url=False)


@pytest.mark.parametrize(
    ("closed", "reason"),
    [
        (False, "the service refused the participant (the chat has ended)"),
        (True, "the connection was closed"),
    ],
)
def test_a_refusal_while_opening_ends_the_stream_saying_why(closed, reason, caplog):
    caplog.set_level(logging.INFO, logger="connectparticipant_ext.live.core")
    driver = Driver(history=True)
    assert isinstance(driver.step(), OpenSocket)
    driver.connection.closed = closed
    refusal = AccessDeniedError({"Error": {"Code": "AccessDeniedException"}}, "CreateParticipantConnection")
    driver.core.open_failed(refusal, driver.now)
    assert isinstance(driver.step(), Ended)
    assert driver.core.end_reason == reason and driver.core.state is StreamState.CLOSED
    assert "the stream ends: the participant was refused or the connection closed" in caplog.messages


def test_a_socket_that_fails_to_open_after_disconnect_ends_the_stream():
    driver = Driver(history=True)
    assert isinstance(driver.step(), OpenSocket)
    driver.connection.closed = True
    driver.core.open_failed(SocketLostError("reset"), driver.now)
    assert isinstance(driver.step(), Ended)
    assert driver.core.end_reason == "the connection was closed" and driver.core.failures == 0


def test_a_socket_that_goes_after_disconnect_says_so():
    driver = Driver(history=True)
    driver.open()
    driver.items([[]])
    driver.connection.closed = True
    driver.core.socket_lost("dropped", driver.now)
    assert isinstance(driver.step(), Ended)
    assert driver.core.end_reason == "the connection was closed (its socket went before the chat ended)"


def test_a_socket_that_opens_after_close_leaves_the_stream_closed():
    driver = Driver(history=True)
    assert isinstance(driver.step(), OpenSocket)
    driver.core.close()  # from the caller's thread, while the driver opens
    driver.core.socket_opened(driver.now)
    assert driver.core.state is StreamState.CLOSED and driver.states == [StreamState.CLOSED]
    assert isinstance(driver.step(), Ended) and driver.core.end_reason == "closed"


def test_a_driver_that_reports_out_of_turn_is_told_what_it_did():
    driver = Driver(history=True)
    driver.open()
    with pytest.raises(AssertionError) as info:
        driver.core.socket_opened(driver.now)
    assert str(info.value) == "a driver reported 'opened' while the socket was open"


def test_a_state_callback_that_raises_is_logged_and_the_stream_goes_on(caplog):
    driver = Driver(history=True)

    def broken(state: StreamState) -> None:
        raise RuntimeError("callback bug")

    driver.core.settings = StreamSettings(history=True, on_state_change=broken)
    driver.open()
    assert driver.core.state is StreamState.OPEN
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.getMessage() == "on_state_change raised; the stream goes on"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


# -- frames and receipts -----------------------------------------------------------------------


def test_frames_that_are_not_json_are_logged_and_ignored(caplog):
    driver = Driver(history=True)
    driver.open()
    driver.core.frame_received("not json")
    driver.core.frame_received(json.dumps({"topic": "aws/chat", "content": "{no"}))
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "ignoring a websocket frame that is not JSON",
        "ignoring an aws/chat frame whose content is not JSON",
    ]


def test_a_chat_frame_whose_content_is_already_an_object_is_taken_as_it_is():
    driver = Driver(history=True)
    driver.open()
    driver.core.frame_received(json.dumps({"topic": "aws/chat", "content": raw("m", 1)}))
    assert [i.id for i in driver.items([[]])] == ["m"]


def test_with_a_window_of_0_the_item_still_comes_after_its_receipt():
    driver = Driver(history=True, receipts=True, receipt_throttle=0)
    driver.open()
    driver.core.frame_received(chat_frame(raw("m", 1)))
    action = driver.step()
    assert isinstance(action, ReadGap)
    driver.core.gap_page(action.plan, None)  # an empty transcript
    assert driver.step() == FlushReceipts()
    driver.core.items.receipts.flush()
    action = driver.step()
    assert isinstance(action, Deliver) and action.item.id == "m"


def test_a_read_receipt_is_sent_when_its_window_ends_even_while_a_socket_opens():
    driver = Driver(history=True, receipt_throttle=5.0)
    assert isinstance(driver.step(), OpenSocket)
    driver.core.mark_read("m-1", driver.now)
    assert driver.step() == Wait(driver.now + 5.0, read=False)
    driver.now += 5.0
    assert driver.step() == FlushReceipts()
    driver.core.items.receipts.flush()
    assert driver.connection.receipts == [("read", "m-1")]
