"""The web helpers: connectparticipant_ext.sse (a chat as server-sent events) and
connectparticipant_ext.django, and the echo agent behind ``serve --agent echo``; against the moto
backend. The session helpers have their own file, test_sessions.py."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from connectparticipant_ext import ChatService, Connection, InvalidArgumentError, TranscriptItem
from connectparticipant_ext.sse import format_event, is_resumable, item_payload, last_event_id, sse_events
from connectparticipant_ext.testing.echo import EchoAgents, echo_reply

from _helpers import EVENT, WAIT, Reader, parse_events, start_chat


def contents(events: list[dict[str, Any]]) -> list[str]:
    return [json.loads(e["data"])["content"] for e in events if json.loads(e["data"])["kind"] == "message"]


# -- format_event / last_event_id ----------------------------------------------------------------


def test_format_event_writes_fields_and_splits_lines() -> None:
    assert format_event("a\nb", id="7", event="x") == b"event: x\nid: 7\ndata: a\ndata: b\n\n"
    assert format_event(comment="hi") == b": hi\n\n"
    assert format_event(retry=1500) == b"retry: 1500\n\n"
    assert format_event("x\r\ny") == b"data: x\ndata: y\n\n"


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b"])
def test_format_event_refuses_line_breaks_in_ids(bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="id"):
        format_event("x", id=bad)


def test_format_event_refuses_a_bad_retry() -> None:
    with pytest.raises(InvalidArgumentError, match="retry"):
        format_event(retry=-1)


def test_last_event_id_prefers_the_header() -> None:
    assert last_event_id("b", "a") == "b"
    assert last_event_id(None, "a") == "a"
    assert last_event_id("  ", " a ") == "a"
    assert last_event_id(None, None) is None
    assert last_event_id("x" * 300, None) is None
    assert last_event_id("a\nb", "c") == "c"


# -- item_payload / is_resumable --------------------------------------------------------------------


def item(**data: Any) -> TranscriptItem:
    return TranscriptItem.from_response({"Id": "i1", "AbsoluteTime": "2026-11-25T10:00:00.000Z", **data})


def test_payload_of_a_message() -> None:
    payload = item(Type="MESSAGE", ContentType="text/plain", Content="hi", ParticipantRole="AGENT").raw
    got = item_payload(item(**payload))
    assert got["kind"] == "message"
    assert got["content"] == "hi"
    assert got["complete"] is True
    assert got["time"] == "2026-11-25T10:00:00+00:00"


@pytest.mark.parametrize(
    ("data", "kind", "resumable"),
    [
        ({"Type": "MESSAGE", "ContentType": "text/plain", "Content": "x"}, "message", True),
        ({"Type": "EVENT", "ContentType": EVENT + "typing"}, "typing", False),
        ({"Type": "MESSAGEMETADATA", "ContentType": EVENT + "message.metadata"}, "receipt", False),
        ({"Type": "EVENT", "ContentType": EVENT + "participant.joined"}, "event", True),
        ({"Type": "EVENT", "ContentType": EVENT + "chat.ended"}, "ended", True),
        ({"Type": "ATTACHMENT", "ContentType": "text/plain"}, "attachment", True),
        ({"Type": "SOMETHING_NEW"}, "other", True),
        (
            {
                "Type": "MESSAGE",
                "ContentType": "text/plain",
                "Content": "Hel",
                "MessageMetadata": {"MessageCompleted": False},
            },
            "message",
            False,
        ),
    ],
)
def test_kinds_and_which_items_a_stream_resumes_after(data: dict[str, Any], kind: str, resumable: bool) -> None:
    got = item(**data)
    assert item_payload(got)["kind"] == kind
    assert is_resumable(got) is resumable


def test_payload_of_a_receipt_and_an_attachment() -> None:
    receipt = item(
        Type="MESSAGEMETADATA",
        ContentType=EVENT + "message.metadata",
        MessageMetadata={
            "MessageId": "m1",
            "Receipts": [{"RecipientParticipantId": "p2", "ReadTimestamp": "2026-11-25T10:00:01.000Z"}],
        },
    )
    got = item_payload(receipt)
    assert got["message_id"] == "m1"
    assert got["receipts"] == [{"participant_id": "p2", "delivered": None, "read": "2026-11-25T10:00:01+00:00"}]
    attachment = item(
        Type="ATTACHMENT",
        Attachments=[
            {"AttachmentId": "a1", "AttachmentName": "x.txt", "ContentType": "text/plain", "Status": "IN_PROGRESS"}
        ],
    )
    assert item_payload(attachment)["attachments"] == [
        {"id": "a1", "name": "x.txt", "content_type": "text/plain", "status": "IN_PROGRESS"}
    ]


# -- sse_events against the backend -------------------------------------------------------------------


def test_events_carry_items_live_with_ids_only_for_what_the_transcript_keeps(
    connection: Connection, agent: Connection
) -> None:
    reader = Reader(sse_events(connection, keepalive=0.2))
    try:
        reader.wait_for(lambda evs: len(contents(evs)) == 0 and len(evs) >= 2)  # the joins, from history
        agent.send_typing()
        sent = connection.send_message("hello")
        agent.send_read_receipt(sent.id)
        agent.send_message("hi Ann")
        events = reader.wait_for(lambda evs: "hi Ann" in contents(evs))
    finally:
        reader.close()
    kinds = {json.loads(e["data"])["kind"]: e for e in events}
    assert "id" not in kinds["typing"]
    assert "id" not in kinds["receipt"]
    assert json.loads(kinds["receipt"]["data"])["message_id"] == sent.id
    assert kinds["message"]["id"] == json.loads(kinds["message"]["data"])["id"]
    assert "hello" in contents(events)


def test_resuming_from_the_last_event_id_repeats_and_loses_nothing(connection: Connection, agent: Connection) -> None:
    first = Reader(sse_events(connection))
    try:
        agent.send_message("one")
        events = first.wait_for(lambda evs: "one" in contents(evs))
    finally:
        first.close()
    last_id = [e["id"] for e in events if "id" in e][-1]
    agent.send_message("two")  # while the browser is away
    second = Reader(sse_events(connection, since=last_id))
    try:
        agent.send_message("three")
        resumed = second.wait_for(lambda evs: "three" in contents(evs))
    finally:
        second.close()
    assert contents(resumed) == ["two", "three"]


def test_the_chats_end_ends_the_event_stream(connection: Connection, agent: Connection, connect_client: Any) -> None:
    events = sse_events(connection)
    reader = Reader(events)
    reader.wait_for(lambda evs: len(evs) >= 1)
    contact_id = connection.transcript.all().limit(1)
    for found in contact_id:
        connect_client.stop_contact(ContactId=found.contact_id, InstanceId="instance-1")
    reader.thread.join(timeout=WAIT)
    assert not reader.thread.is_alive(), "the event stream did not end with the chat"
    parsed = reader.parsed()
    assert json.loads(parsed[-2]["data"])["kind"] == "ended"
    assert parsed[-1]["event"] == "end"


def test_max_seconds_ends_a_response_for_the_browser_to_resume(connection: Connection) -> None:
    chunks = list(sse_events(connection, keepalive=0.05, max_seconds=0.3))
    assert chunks[0].startswith(b": connected\nretry: 2000")
    assert all(b"event: end" not in chunk for chunk in chunks)
    assert b": keepalive\n\n" in chunks  # a quiet chat still writes now and then


@pytest.mark.parametrize("kwargs", [{"keepalive": 0}, {"keepalive": True}, {"max_seconds": -1}])
def test_sse_events_checks_its_arguments(connection: Connection, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        sse_events(connection, **kwargs)


def test_no_token_in_the_events(connection: Connection, agent: Connection, mock_chat: Any) -> None:
    reader = Reader(sse_events(connection))
    try:
        agent.send_message("x")
        reader.wait_for(lambda evs: "x" in contents(evs))
    finally:
        reader.close()
    text = b"".join(reader.chunks).decode()
    for secret in list(mock_chat.connection_tokens) + list(mock_chat.participant_tokens):
        assert secret not in text


def test_closing_from_another_thread_ends_a_waiting_stream(connection: Connection) -> None:
    events = sse_events(connection, keepalive=30)
    reader = Reader(events)
    reader.wait_for(lambda evs: len(evs) >= 1)
    events.close()
    reader.thread.join(timeout=WAIT)
    assert not reader.thread.is_alive()


def test_the_async_iterator_yields_the_same_events(connection: Connection, agent: Connection) -> None:
    import asyncio

    agent.send_message("async hello")

    async def collect() -> list[bytes]:
        chunks: list[bytes] = []
        async for chunk in sse_events(connection).aiter():
            chunks.append(chunk)
            if b"async hello" in chunk:
                break
        return chunks

    # In a thread of its own: another test's driver (Playwright's sync API) may have an event
    # loop running in this one.
    results: list[list[bytes]] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(asyncio.wait_for(collect(), WAIT))))
    thread.start()
    thread.join(timeout=WAIT + 5)
    assert results, "the async iterator did not finish"
    chunks = results[0]
    assert "async hello" in contents(parse_events(chunks))


# -- the echo agent --------------------------------------------------------------------------------------


def test_echo_reply() -> None:
    assert echo_reply({"ParticipantRole": "CUSTOMER", "Type": "MESSAGE", "Content": "hi"}) == "Echo: hi"
    assert echo_reply({"ParticipantRole": "AGENT", "Type": "MESSAGE", "Content": "hi"}) is None
    attachment = {"ParticipantRole": "CUSTOMER", "Type": "ATTACHMENT", "Attachments": [{"AttachmentName": "a.pdf"}]}
    assert echo_reply(attachment) == "Thanks, I got a.pdf."


def test_every_new_chat_gets_an_agent_that_types_reads_then_answers(
    mock_chat: Any, connect_client: Any, chat: ChatService
) -> None:
    with EchoAgents(delay=0.05, poll_interval=0.01) as agents:
        contact = start_chat(connect_client)
        conn = chat.Participant(contact["ParticipantToken"]).create_connection()
        with conn.stream(history=True) as stream:
            sent = conn.send_message("ping")
            seen: list[TranscriptItem] = []
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and not any(i.content == "Echo: ping" for i in seen):
                got = stream.get(timeout=0.2)
                if got is not None:
                    seen.append(got)
        assert agents.joined == 1
    kinds = [(i.type, i.content_type, i.content) for i in seen]
    assert ("EVENT", EVENT + "participant.joined", None) in kinds
    typing_at = next(n for n, i in enumerate(seen) if i.content_type == EVENT + "typing")
    reply_at = next(n for n, i in enumerate(seen) if i.content == "Echo: ping")
    assert typing_at < reply_at
    receipts = [i for i in seen if i.type == "MESSAGEMETADATA"]
    assert receipts and receipts[0].message_metadata is not None
    assert receipts[0].message_metadata.message_id == sent.id


def test_chats_that_existed_before_get_no_agent(mock_chat: Any, chat_contact: dict[str, Any]) -> None:
    with EchoAgents(poll_interval=0.01) as agents:
        time.sleep(0.1)  # several polls
    assert agents.joined == 0
    assert len(mock_chat.get_chat(chat_contact["ContactId"]).participants) == 1


class _ScriptedStream:
    """A stand-in for ChatStream that yields given items, then ends like a chat that ended."""

    def __init__(self, items: list[TranscriptItem]) -> None:
        self.items = list(items)
        self.end_reason: str | None = None
        self.closed = False

    def __enter__(self) -> _ScriptedStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.closed = True

    @property
    def ended(self) -> bool:
        return not self.items

    def get(self, timeout: float | None = None) -> TranscriptItem | None:
        if not self.items:
            self.end_reason = "the chat ended"
            return None
        return self.items.pop(0)

    def close(self) -> None:
        self.closed = True


def test_a_streamed_reply_is_sent_piece_by_piece_and_only_the_whole_is_a_resume_point() -> None:
    from connectparticipant_ext.sse import _relay

    def piece(text: str, completed: bool, chunk: int) -> TranscriptItem:
        metadata = {"MessageId": "lex-1", "MessageCompleted": completed, "ChunkNumber": chunk}
        return item(Id="lex-1", Type="MESSAGE", ContentType="text/plain", Content=text, MessageMetadata=metadata)

    stream = _ScriptedStream([piece("Hel", False, 1), piece("lo", False, 2), piece("Hello", True, 3)])
    events = parse_events(list(_relay(stream, keepalive=1.0, max_seconds=None, retry=1000)))  # type: ignore[arg-type]
    data = [json.loads(e["data"]) for e in events[:-1]]
    assert [(d["id"], d["content"], d["complete"]) for d in data] == [
        ("lex-1", "Hel", False),
        ("lex-1", "lo", False),
        ("lex-1", "Hello", True),
    ]
    assert ["id" in e for e in events[:-1]] == [False, False, True]
    assert events[-1]["event"] == "end"
    assert stream.closed
