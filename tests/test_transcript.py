"""Transcript iteration: lazy pages, chaining, filters, validation, renewal mid-read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import connectparticipant_ext.connection as connection_module
from connectparticipant_ext import (
    Attachment,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    TranscriptCollection,
    TranscriptItem,
)

from _helpers import start_chat


@pytest.fixture
def get_transcript_calls(chat):
    """The API parameters of each GetTranscript call, in order."""
    calls: list[dict] = []
    events = chat.meta.client.meta.events

    def record(params, **kwargs) -> None:
        calls.append(dict(params))

    events.register("before-parameter-build.connectparticipant.GetTranscript", record, unique_id="transcript-calls")
    yield calls
    events.unregister("before-parameter-build.connectparticipant.GetTranscript", unique_id="transcript-calls")


def fill(mock_chat, connection, chat_contact, total: int) -> None:
    """Bring the chat to exactly ``total`` items."""
    existing = len(mock_chat.get_chat(chat_contact["ContactId"]).items)
    mock_chat.bulk_add_messages(chat_contact["ContactId"], total - existing)
    assert len(mock_chat.get_chat(chat_contact["ContactId"]).items) == total


def assert_chronological_and_unique(items: list[TranscriptItem]) -> None:
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    times = [i.absolute_time for i in items]
    assert times == sorted(times)


def test_iterating_reads_the_whole_chat_oldest_first(connection, agent):
    sent = [connection.send_message(f"customer {n}") for n in range(3)]
    sent.append(agent.send_message("agent reply"))
    items = list(connection.transcript)
    assert_chronological_and_unique(items)
    message_ids = [i.id for i in items if i.is_message]
    assert message_ids == [s.id for s in sent]
    assert items[0].event == "participant.joined"


def test_items_are_typed(connection):
    connection.send_message("hello")
    item = [i for i in connection.transcript if i.is_message][-1]
    assert isinstance(item, TranscriptItem)
    assert item.type == "MESSAGE"
    assert item.content == "hello"
    assert isinstance(item.absolute_time, datetime) and item.absolute_time.tzinfo is not None
    assert item.participant_id and item.contact_id
    assert item.raw["Content"] == "hello"
    assert not item.is_event and not item.is_attachment


def test_nothing_is_fetched_until_iterated(connection, get_transcript_calls):
    collection = connection.transcript.filter(direction="BACKWARD").page_size(5).limit(7)
    assert get_transcript_calls == []
    iterator = iter(collection)
    assert get_transcript_calls == []
    next(iterator)
    assert len(get_transcript_calls) == 1


def test_one_call_per_page_only_when_asked(connection, mock_chat, chat_contact, get_transcript_calls):
    fill(mock_chat, connection, chat_contact, 250)
    iterator = iter(connection.transcript)
    for _ in range(100):
        next(iterator)
    assert len(get_transcript_calls) == 1
    next(iterator)
    assert len(get_transcript_calls) == 2


@pytest.mark.parametrize("total", [1, 99, 100, 101, 200, 201])
def test_page_boundaries(connection, mock_chat, chat_contact, total):
    fill(mock_chat, connection, chat_contact, total)
    pages = list(connection.transcript.pages())
    assert [len(p) for p in pages] == [100] * (total // 100) + ([total % 100] if total % 100 else [])
    items = [i for p in pages for i in p]
    assert len(items) == total
    assert_chronological_and_unique(items)
    assert [i.id for i in items] == [i["Id"] for i in mock_chat.get_chat(chat_contact["ContactId"]).items]


@pytest.mark.parametrize("size", [1, 7, 10, 100])
def test_page_size(connection, mock_chat, chat_contact, size, get_transcript_calls):
    fill(mock_chat, connection, chat_contact, 30)
    pages = list(connection.transcript.page_size(size).pages())
    assert all(len(p) <= size for p in pages)
    assert sum(len(p) for p in pages) == 30
    assert {c["MaxResults"] for c in get_transcript_calls} == {size}


def test_limit_inside_a_page(connection, mock_chat, chat_contact, get_transcript_calls):
    fill(mock_chat, connection, chat_contact, 50)
    items = list(connection.transcript.limit(5))
    assert len(items) == 5
    assert len(get_transcript_calls) == 1
    assert get_transcript_calls[0]["MaxResults"] == 5


def test_limit_across_pages(connection, mock_chat, chat_contact, get_transcript_calls):
    fill(mock_chat, connection, chat_contact, 50)
    items = list(connection.transcript.page_size(20).limit(45))
    assert len(items) == 45
    assert [c["MaxResults"] for c in get_transcript_calls] == [20, 20, 5]


def test_limit_zero_makes_no_call(connection, get_transcript_calls):
    assert list(connection.transcript.limit(0)) == []
    assert get_transcript_calls == []


def test_an_empty_read(connection):
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert list(connection.transcript.filter(start_time=later)) == []
    assert list(connection.transcript.filter(start_time=later).pages()) == []


def test_chaining_returns_new_collections(connection):
    base = connection.transcript
    filtered = base.filter(direction="BACKWARD")
    limited = filtered.limit(3)
    sized = limited.page_size(2)
    assert len({id(base), id(filtered), id(limited), id(sized)}) == 4
    assert base.query.direction is None
    assert filtered.query.direction == "BACKWARD"
    assert isinstance(base.all(), TranscriptCollection) and base.all() is not base


def test_backward_reads_newest_first(connection, mock_chat, chat_contact):
    fill(mock_chat, connection, chat_contact, 120)
    items = list(connection.transcript.filter(direction="BACKWARD"))
    assert len(items) == 120
    times = [i.absolute_time for i in items]
    assert times == sorted(times, reverse=True)


def test_sort_within_pages(connection, mock_chat, chat_contact):
    fill(mock_chat, connection, chat_contact, 30)
    [page] = connection.transcript.filter(direction="BACKWARD", sort="ASCENDING").page_size(10).limit(10).pages()
    times = [i.absolute_time for i in page]
    assert times == sorted(times)
    everything = [i["Id"] for i in mock_chat.get_chat(chat_contact["ContactId"]).items]
    assert [i.id for i in page] == everything[-10:]


def test_start_id(connection):
    sent = [connection.send_message(f"m{n}") for n in range(5)]
    after = [i.id for i in connection.transcript.filter(start_id=sent[2].id)]
    assert sent[3].id in after and sent[4].id in after
    assert sent[0].id not in after and sent[1].id not in after


def test_start_time(connection):
    first = connection.send_message("first")
    second = connection.send_message("second")
    items = [i.id for i in connection.transcript.filter(start_time=second.absolute_time)]
    assert second.id in items and first.id not in items


def test_start_time_in_another_timezone_is_converted(connection):
    connection.send_message("x")
    plus_two = timezone(timedelta(hours=2))
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).astimezone(plus_two)
    assert list(connection.transcript.filter(start_time=later)) == []


def test_times_are_utc_under_a_local_time_zone_that_is_not(connection, get_transcript_calls, new_york_time):
    sent = connection.send_message("x")
    assert sent.absolute_time.utcoffset() == timedelta(0)
    [item] = [i for i in connection.transcript if i.id == sent.id]
    assert item.absolute_time == sent.absolute_time and item.absolute_time.utcoffset() == timedelta(0)
    tokyo = datetime(2024, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    collection = connection.transcript.filter(start_time=tokyo)
    assert collection.query.start_time.tzinfo is timezone.utc and collection.query.start_time.hour == 0
    [read] = [i for i in collection if i.id == sent.id]
    assert get_transcript_calls[-1]["StartPosition"] == {"AbsoluteTime": "2024-01-01T00:00:00.000Z"}
    with pytest.raises(InvalidArgumentError, match="naive"):
        connection.transcript.filter(start_time=datetime(2024, 1, 1))


def test_most_recent(connection, mock_chat, chat_contact):
    fill(mock_chat, connection, chat_contact, 60)
    recent = list(connection.transcript.filter(most_recent=20))
    everything = [i["Id"] for i in mock_chat.get_chat(chat_contact["ContactId"]).items]
    assert [i.id for i in recent] == everything[-20:]


def test_persistent_chat_reads_the_earlier_contact(chat, connect_client, connection, chat_contact):
    connection.send_message("from the first contact")
    connection.disconnect()
    follow_up = start_chat(
        connect_client,
        PersistentChat={"RehydrationType": "ENTIRE_PAST_SESSION", "SourceContactId": chat_contact["ContactId"]},
    )
    with chat.Participant(follow_up["ParticipantToken"]).create_connection() as again:
        earlier = list(again.transcript.filter(contact_id=chat_contact["ContactId"]))
        assert "from the first contact" in [i.content for i in earlier]
        assert all(i.contact_id == chat_contact["ContactId"] for i in earlier if i.is_message)


@pytest.mark.parametrize(
    ("build", "error", "mentions"),
    [
        (lambda t: t.filter(start_id="a", most_recent=3), InvalidArgumentError, "start position"),
        (
            lambda t: t.filter(start_id="a", start_time=datetime.now(timezone.utc)),
            InvalidArgumentError,
            "start position",
        ),
        (lambda t: t.filter(direction="SIDEWAYS"), InvalidArgumentError, "direction"),
        (lambda t: t.filter(sort="RANDOM"), InvalidArgumentError, "sort"),
        (lambda t: t.filter(direction="forward"), InvalidArgumentError, "direction"),
        (lambda t: t.filter(start_time=datetime(2024, 1, 1)), InvalidArgumentError, "timezone"),
        (lambda t: t.filter(start_time="2024-01-01"), InvalidArgumentTypeError, "start_time"),
        (lambda t: t.filter(most_recent=101), InvalidArgumentError, "most_recent"),
        (lambda t: t.filter(most_recent=-1), InvalidArgumentError, "most_recent"),
        (lambda t: t.filter(most_recent=True), InvalidArgumentTypeError, "most_recent"),
        (lambda t: t.filter(start_id=""), InvalidArgumentError, "start_id"),
        (lambda t: t.filter(contact_id=""), InvalidArgumentError, "contact_id"),
        (lambda t: t.page_size(0), InvalidArgumentError, "page_size"),
        (lambda t: t.page_size(101), InvalidArgumentError, "page_size"),
        (lambda t: t.page_size("10"), InvalidArgumentTypeError, "page_size"),
        (lambda t: t.limit(-1), InvalidArgumentError, "limit"),
        (lambda t: t.limit(2.5), InvalidArgumentTypeError, "limit"),
    ],
)
def test_bad_arguments_fail_before_any_call(connection, get_transcript_calls, build, error, mentions):
    with pytest.raises(error) as info:
        build(connection.transcript)
    assert mentions in str(info.value)
    assert get_transcript_calls == []


def test_forward_without_start_position_starts_at_the_beginning(connection, get_transcript_calls):
    connection.send_message("x")
    items = list(connection.transcript.filter(direction="FORWARD"))
    assert items[0].event == "participant.joined"
    assert "StartPosition" in get_transcript_calls[0]


def test_expiry_mid_read_renews_without_gap_or_duplicate(connection, mock_chat, chat_contact, monkeypatch):
    fill(mock_chat, connection, chat_contact, 350)
    pages = connection.transcript.pages()
    items = list(next(pages))
    now = connection.expires_at - timedelta(seconds=5)
    monkeypatch.setattr(connection_module, "_utcnow", lambda: now)
    for page in pages:
        items.extend(page)
    assert connection.renewals == 1
    assert len(items) == 350
    assert_chronological_and_unique(items)


def test_revoked_token_mid_read_renews_without_gap_or_duplicate(connection, mock_chat, chat_contact):
    fill(mock_chat, connection, chat_contact, 250)
    iterator = iter(connection.transcript)
    items = [next(iterator) for _ in range(100)]
    mock_chat.revoke_connection_token(connection.token)
    items.extend(iterator)
    assert connection.renewals == 1
    assert len(items) == 250
    assert_chronological_and_unique(items)


def test_unknown_item_types_and_missing_fields_parse():
    item = TranscriptItem.from_response({"Id": "x", "Type": "SOMETHING_NEW", "Brand": "new field"})
    assert item.type == "SOMETHING_NEW"
    assert item.absolute_time is None and item.content is None and item.attachments == ()
    assert item.raw["Brand"] == "new field"
    assert not item.is_message and not item.is_event


def test_receipt_items_parse():
    item = TranscriptItem.from_response(
        {
            "Id": "r",
            "Type": "MESSAGEMETADATA",
            "ContentType": "application/vnd.amazonaws.connect.event.message.metadata",
            "AbsoluteTime": "2024-05-06T07:08:09.123Z",
            "MessageMetadata": {
                "MessageId": "m-1",
                "Receipts": [
                    {"DeliveredTimestamp": "2024-05-06T07:08:09.000Z", "RecipientParticipantId": "p-2"},
                ],
            },
        }
    )
    assert item.type == "MESSAGEMETADATA" and not item.is_event
    assert item.event == "message.metadata"
    assert item.absolute_time == datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
    assert item.message_metadata is not None and item.message_metadata.message_id == "m-1"
    [receipt] = item.message_metadata.receipts
    assert receipt.read_at is None and receipt.recipient_participant_id == "p-2"


def test_legacy_event_types_and_attachments_parse():
    item = TranscriptItem.from_response(
        {
            "Id": "a",
            "Type": "ATTACHMENT",
            "Attachments": [{"AttachmentId": "att-1", "AttachmentName": "x.pdf", "Status": "APPROVED"}],
        }
    )
    assert item.is_attachment
    assert item.attachments == (Attachment("att-1"),)
    assert item.attachments[0].name == "x.pdf"
    ended = TranscriptItem.from_response({"Id": "e", "Type": "CHAT_ENDED"})
    assert ended.is_event and ended.is_chat_ended


def test_items_are_hashable_values():
    data = {"Id": "x", "Type": "MESSAGE", "Content": "hi", "AbsoluteTime": "2024-01-01T00:00:00.000Z"}
    assert TranscriptItem.from_response(data) == TranscriptItem.from_response(dict(data))
    assert len({TranscriptItem.from_response(data), TranscriptItem.from_response(data)}) == 1


# -- pages from a scripted service: the paging loop and malformed answers, exactly ------------------


class ScriptedConnection:
    """Answers each GetTranscript with the next scripted answer and records its parameters."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[dict] = []

    def call_operation(self, operation, **params):
        assert operation == "GetTranscript"
        self.calls.append(params)
        return self.answers.pop(0)


def page(*ids, next_token=None):
    items = [{"Id": i, "Type": "MESSAGE", "Content": i, "AbsoluteTime": "2024-01-01T00:00:00.000Z"} for i in ids]
    return {"Transcript": items, **({"NextToken": next_token} if next_token else {})}


def test_pages_follow_next_token_and_stop_at_the_limit():
    conn = ScriptedConnection(page("a", "b", next_token="t1"), page(next_token="t2"), page("c", "d", "e"))
    collection = TranscriptCollection(conn, page_size=3).limit(4)
    assert [[i.id for i in p] for p in collection.pages()] == [["a", "b"], ["c", "d"]]  # the empty page is skipped
    assert [c["MaxResults"] for c in conn.calls] == [3, 2, 2]
    assert [c.get("NextToken") for c in conn.calls] == [None, "t1", "t2"]
    assert conn.answers == []


def test_a_read_stops_when_the_limit_is_reached_even_with_a_next_token():
    conn = ScriptedConnection(page("a", "b", next_token="more"))
    assert [i.id for i in TranscriptCollection(conn).limit(2)] == ["a", "b"]
    assert len(conn.calls) == 1


def test_an_answer_without_transcript_is_an_empty_page():
    conn = ScriptedConnection({})
    assert list(TranscriptCollection(conn).pages()) == []


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([], "the answer is a list, not an object"),
        ({"Transcript": "abc"}, "Transcript is a str, not a list"),
        ({"Transcript": [page("a")["Transcript"][0], 2]}, "Transcript[1] is a int, not an object"),
        ({"Transcript": [], "NextToken": 5}, "NextToken is a int, not a str"),
    ],
)
def test_malformed_answers_say_what_is_wrong(answer, problem):
    from connectparticipant_ext import MalformedResponseError

    with pytest.raises(MalformedResponseError) as info:
        list(TranscriptCollection(ScriptedConnection(answer)))
    assert info.value.operation == "GetTranscript"
    assert str(info.value) == f"GetTranscript returned a malformed answer: {problem}"


def test_a_next_token_cycle_is_stopped_at_its_first_repeat():
    from connectparticipant_ext import ConnectParticipantError

    conn = ScriptedConnection(page("a", next_token="A"), page("b", next_token="B"), page("c", next_token="A"))
    with pytest.raises(ConnectParticipantError) as info:
        list(TranscriptCollection(conn))
    assert str(info.value) == (
        "GetTranscript returned a NextToken it had already returned in this read (after 2 pages): "
        "the pages repeat, so the read stops"
    )


def test_repr_shows_the_query_limit_and_page_size(connection):
    collection = connection.transcript.filter(direction="BACKWARD").limit(5).page_size(7)
    assert repr(collection) == (
        "TranscriptCollection(TranscriptQuery(direction='BACKWARD', sort=None, start_id=None, start_time=None, "
        "most_recent=None, contact_id=None), limit=5, page_size=7)"
    )
    assert repr(connection.transcript).startswith("TranscriptCollectionManager(TranscriptQuery(direction=None")


def test_attachments_of_items_read_are_bound_to_the_connection_that_read_them():
    entry = {"AttachmentId": "att-1", "AttachmentName": "a.txt", "ContentType": "text/plain", "Status": "APPROVED"}
    item = dict(page("i")["Transcript"][0], Type="ATTACHMENT", Attachments=[entry])
    conn = ScriptedConnection({"Transcript": [item]})
    [read] = TranscriptCollection(conn)
    [attachment] = read.attachments
    assert attachment.id == "att-1" and attachment.connection is conn
