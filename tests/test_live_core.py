"""The live stream's protocol core, without sockets or a service: frames and pages in, actions out.

Each test plays a driver by hand: it feeds the core what "happened" with a made-up clock and
checks what the core asks for next.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from connectparticipant_ext import AccessDeniedError, StreamError, StreamState, TranscriptItem
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

    def __init__(self, **options: Any) -> None:
        self.connection = FakeConnection()
        self.states: list[StreamState] = []
        options.setdefault("heartbeat_interval", 10.0)
        options.setdefault("heartbeat_timeout", 5.0)
        self.core = StreamCore(
            StreamSettings(on_state_change=self.states.append, **options),
            self.connection,  # type: ignore[arg-type]
            jitter=lambda: 1.0,
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
