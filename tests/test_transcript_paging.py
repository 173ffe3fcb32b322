"""``conn.transcript``: lazy pages over GetTranscript, chained filters and limits, checked arguments, no NextToken cycle."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectparticipant_ext import ConnectParticipantError, InvalidArgumentError, TranscriptItem, exceptions

from _helpers import DOCUMENTED, PROPERTY_SETTINGS, contents

pytestmark = pytest.mark.usefixtures("no_backoff")


@pytest.fixture
def long_chat(mock_chat, connection, chat_contact) -> list[str]:
    """25 messages from the customer, oldest first."""
    return [connection.send_message(f"m{n}").id for n in range(25)]


def test_transcript_is_a_lazy_generator_over_next_token(connection, long_chat, wire_calls):
    del wire_calls[:]
    iterator = iter(connection.transcript.page_size(10))
    first = next(iterator)
    assert isinstance(first, TranscriptItem)
    assert wire_calls == ["GetTranscript"]  # one page so far
    rest = list(iterator)
    assert wire_calls.count("GetTranscript") > 1
    assert len(contents([first, *rest])) == 25


def test_transcript_all_filter_page_size_limit_pages(connection, long_chat, wire_calls):
    assert len(contents(connection.transcript.all())) == 25
    forward = connection.transcript.filter(direction="FORWARD", sort="ASCENDING")
    assert contents(forward)[:3] == ["m0", "m1", "m2"]
    after = connection.transcript.filter(direction="FORWARD", start_id=long_chat[10])
    assert contents(after)[0] in ("m10", "m11")
    start = next(i for i in connection.transcript if i.id == long_chat[20]).absolute_time
    by_time = contents(connection.transcript.filter(direction="FORWARD", start_time=start))
    assert "m20" in by_time and "m19" not in by_time
    recent = connection.transcript.filter(most_recent=3, direction="BACKWARD")
    assert len(list(recent.limit(50))) >= 3
    contact_id = next(iter(connection.transcript.all())).contact_id
    assert contents(connection.transcript.filter(contact_id=contact_id))
    del wire_calls[:]
    limited = list(connection.transcript.page_size(5).limit(7))
    assert len(limited) == 7 and wire_calls == ["GetTranscript", "GetTranscript"]
    pages = list(connection.transcript.page_size(10).pages())
    assert all(isinstance(page, list) for page in pages)
    assert [len(page) for page in pages][:2] == [10, 10]
    with pytest.raises(exceptions.InvalidArgumentError):
        connection.transcript.filter(start_id="x", most_recent=2)
    with pytest.raises(exceptions.InvalidArgumentError):
        connection.transcript.page_size(101)
    with pytest.raises(exceptions.InvalidArgumentError):
        connection.transcript.filter(start_time=datetime(2026, 1, 1))  # naive


def test_transcript_items_are_attrs_values_with_parsed_fields(mock_chat, connection, chat_contact):
    agent = mock_chat.join_as_agent(chat_contact["ContactId"], display_name="Bob")
    agent.send("hello Ann")
    item = next(i for i in connection.transcript if i.type == "MESSAGE")
    assert item.content == "hello Ann"
    assert item.content_type == "text/plain"
    assert item.participant_role == "AGENT" and item.display_name == "Bob"
    assert item.participant_id and item.id
    assert isinstance(item.absolute_time, datetime) and item.absolute_time.tzinfo is not None
    assert item.contact_id == chat_contact["ContactId"]
    assert item.attachments == () and item.message_metadata is None
    assert item.related_contact_id is None
    assert item.raw["Id"] == item.id and item.raw["Type"] == "MESSAGE"
    assert TranscriptItem.from_response(item.raw) == item


@PROPERTY_SETTINGS
@given(
    page_size=st.one_of(st.integers(min_value=-5, max_value=150), st.floats(allow_nan=True), st.text(max_size=3)),
    limit=st.one_of(st.integers(min_value=-5, max_value=30), st.none()),
    most_recent=st.one_of(st.none(), st.integers(min_value=-5, max_value=120)),
    start_time=st.one_of(st.none(), st.datetimes(), st.datetimes(timezones=st.just(timezone.utc))),
)
def test_transcript_inputs(connection, wire_calls, page_size, limit, most_recent, start_time):
    valid = (
        isinstance(page_size, int)
        and 1 <= page_size <= 100
        and (limit is None or limit >= 0)
        and (most_recent is None or 0 <= most_recent <= 100)
        and (start_time is None or start_time.tzinfo is not None)
        and (most_recent is None or start_time is None)
    )
    wire_calls.clear()
    try:
        collection = connection.transcript.page_size(page_size)
        if limit is not None:
            collection = collection.limit(limit)
        if most_recent is not None and start_time is not None:
            collection = collection.filter(most_recent=most_recent, start_time=start_time)
        elif most_recent is not None:
            collection = collection.filter(most_recent=most_recent)
        elif start_time is not None:
            collection = collection.filter(start_time=start_time)
    except DOCUMENTED as exc:
        assert not valid, f"valid input refused: {exc}"
        assert wire_calls == []
        return
    assert valid
    items = list(collection)
    if limit == 0:
        assert wire_calls == []
    else:
        assert wire_calls and set(wire_calls) == {"GetTranscript"}
    assert limit is None or len(items) <= limit
    assert all(isinstance(i, TranscriptItem) for i in items)


def test_a_next_token_cycle_ends_with_a_clear_error(connection, monkeypatch):
    tokens = ["A", "B", "A", "B"] * 50  # the cycle the hostile review saw; bounded for the old code
    calls: list[object] = []

    def cycling(operation, **params):
        calls.append(params.get("NextToken"))
        n = len(calls)
        item = {"Id": f"i{n}", "Type": "MESSAGE", "Content": str(n), "AbsoluteTime": "2024-01-01T00:00:00.000Z"}
        return {"Transcript": [item], "NextToken": tokens[n - 1] if n <= len(tokens) else None}

    monkeypatch.setattr(connection, "call_operation", cycling)
    with pytest.raises(ConnectParticipantError) as info:
        list(connection.transcript)
    assert "NextToken" in str(info.value) and "repeat" in str(info.value)
    assert calls == [None, "A", "B"]  # stops at the first repeated token


def test_times_past_the_calendar_are_argument_errors(connection, wire_calls):
    from datetime import datetime as dt

    for moment in (
        dt.max.replace(tzinfo=timezone(timedelta(hours=-5))),
        dt.min.replace(tzinfo=timezone(timedelta(hours=5))),
    ):
        with pytest.raises(InvalidArgumentError) as info:
            connection.transcript.filter(start_time=moment)
        assert "start_time" in str(info.value)
    assert wire_calls == []
