"""TranscriptItem's contract as a lazily built value object (issue 17).

An item holds the service's dict and derives its fields on access; these tests pin down what
that must not change: every documented attribute, immutability, equality and hashing, a
repr without secrets, ``raw``, pickling, copies, the keyword constructor, and attachments
bound to the connection the item was read through.
"""

from __future__ import annotations

import copy
import io
import pickle
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest

from connectparticipant_ext import Attachment, MessageMetadata, Receipt, TranscriptItem

FULL: dict[str, Any] = {
    "Id": "item-1",
    "Type": "MESSAGE",
    "ContentType": "text/plain",
    "Content": "hello",
    "AbsoluteTime": "2024-05-06T07:08:09.123Z",
    "ParticipantId": "p-1",
    "ParticipantRole": "CUSTOMER",
    "DisplayName": "Ann",
    "ContactId": "c-2",
    "InitialContactId": "c-1",
    "RelatedContactId": "c-0",
    "Attachments": [
        {"AttachmentId": "att-1", "AttachmentName": "x.pdf", "ContentType": "application/pdf", "Status": "APPROVED"}
    ],
    "MessageMetadata": {
        "MessageId": "item-1",
        "Receipts": [{"ReadTimestamp": "2024-05-06T07:08:10.000Z", "RecipientParticipantId": "p-2"}],
    },
    "SomethingNew": {"from": "a newer service"},
}

DOCUMENTED = (
    "id",
    "type",
    "content_type",
    "content",
    "absolute_time",
    "participant_id",
    "participant_role",
    "display_name",
    "attachments",
    "message_metadata",
    "contact_id",
    "related_contact_id",
    "initial_contact_id",
    "raw",
)


def test_every_documented_attribute_is_derived_from_the_service_dict():
    item = TranscriptItem.from_response(FULL)
    assert (item.id, item.type, item.content_type, item.content) == ("item-1", "MESSAGE", "text/plain", "hello")
    assert item.absolute_time == datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
    assert (item.participant_id, item.participant_role, item.display_name) == ("p-1", "CUSTOMER", "Ann")
    assert (item.contact_id, item.initial_contact_id, item.related_contact_id) == ("c-2", "c-1", "c-0")
    assert item.attachments == (Attachment("att-1"),)
    assert (item.attachments[0].name, item.attachments[0].status) == ("x.pdf", "APPROVED")
    assert isinstance(item.message_metadata, MessageMetadata)
    assert item.message_metadata.receipts == (
        Receipt(
            recipient_participant_id="p-2",
            delivered_at=None,
            read_at=datetime(2024, 5, 6, 7, 8, 10, tzinfo=timezone.utc),
        ),
    )
    assert item.raw is FULL  # not copied
    assert all(hasattr(item, name) for name in DOCUMENTED)


def test_missing_and_malformed_fields_give_defaults_not_errors():
    item = TranscriptItem.from_response(
        {"Attachments": "not a list", "MessageMetadata": ["nope"], "AbsoluteTime": "yesterday"}
    )
    assert (item.id, item.type) == ("", "")
    assert item.attachments == () and item.message_metadata is None and item.absolute_time is None
    assert item.content is None and item.display_name is None


def test_parsed_fields_are_computed_once_and_kept():
    item = TranscriptItem.from_response(FULL)
    assert item.absolute_time is item.absolute_time
    assert item.attachments is item.attachments
    assert item.message_metadata is item.message_metadata


def test_an_attachment_keeps_its_state_between_reads():
    item = TranscriptItem.from_response(FULL)
    item.attachments[0].size = 123  # Attachment is mutable (reload/url update it)
    assert item.attachments[0].size == 123


def test_items_are_immutable():
    item = TranscriptItem.from_response(FULL)
    for name in (*DOCUMENTED, "_raw", "anything_else"):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(item, name, "changed")
        with pytest.raises(AttributeError):
            delattr(item, name)
    assert item.content == "hello"
    assert not hasattr(item, "__dict__")


def test_equality_and_hashing_compare_fields_not_raw():
    data = {"Id": "x", "Type": "MESSAGE", "Content": "hi", "AbsoluteTime": "2024-01-01T00:00:00.000Z"}
    same_instant = {**data, "AbsoluteTime": "2024-01-01T00:00:00+00:00", "Unknown": 1}
    a, b = TranscriptItem.from_response(data), TranscriptItem.from_response(same_instant)
    assert a == b and hash(a) == hash(b) and not (a != b)
    assert len({a, b, TranscriptItem.from_response(dict(data))}) == 1
    assert a != TranscriptItem.from_response({**data, "Content": "ho"})
    assert a != TranscriptItem.from_response({**data, "AbsoluteTime": "2024-01-01T00:00:00.001Z"})
    assert a != data and (a == data) is False
    assert TranscriptItem.from_response(FULL) == TranscriptItem.from_response(copy.deepcopy(FULL))


def test_repr_lists_the_fields_in_order_and_no_secrets(connection):
    item = TranscriptItem.from_response(FULL, connection=connection)
    text = repr(item)
    assert text.startswith("TranscriptItem(id='item-1', type='MESSAGE', content_type='text/plain', content='hello', ")
    assert text.index("absolute_time=") < text.index("attachments=") < text.index("related_contact_id=")
    assert "SomethingNew" not in text and "raw" not in text
    assert connection.token not in text and connection.participant.token not in text


def test_a_mapping_that_is_not_a_dict_is_copied():
    class Frozen(Mapping[str, Any]):
        def __init__(self, data: dict[str, Any]) -> None:
            self._data = data

        def __getitem__(self, key: str) -> Any:
            return self._data[key]

        def __iter__(self) -> Any:
            return iter(self._data)

        def __len__(self) -> int:
            return len(self._data)

    item = TranscriptItem.from_response(Frozen({"Id": "x", "Type": "EVENT"}))
    assert type(item.raw) is dict and item.raw == {"Id": "x", "Type": "EVENT"}
    [paged] = TranscriptItem.from_page([Frozen({"Id": "y", "Type": "MESSAGE"})])
    assert type(paged.raw) is dict and paged.id == "y"


def test_from_page_keeps_order_and_binds_the_connection(connection):
    entries = [{"Id": str(n), "Type": "MESSAGE", "Attachments": [{"AttachmentId": f"a{n}"}]} for n in range(5)]
    items = TranscriptItem.from_page(entries, connection=connection)
    assert [i.id for i in items] == ["0", "1", "2", "3", "4"]
    assert all(i.raw is e for i, e in zip(items, entries))
    assert all(i.attachments[0].connection is connection for i in items)


def test_attachments_are_bound_to_the_connection_the_item_was_read_through(connection):
    sent = connection.upload_attachment(b"a,b\n1,2\n", name="data.csv")
    [item] = [i for i in connection.transcript if i.is_attachment]
    assert item.attachments[0] == sent
    assert item.attachments[0].connection is connection
    buffer = io.BytesIO()
    item.attachments[0].download(buffer)
    assert buffer.getvalue() == b"a,b\n1,2\n"


def test_pickling_round_trips_and_drops_the_connection(connection):
    item = TranscriptItem.from_response(FULL, connection=connection)
    clone = pickle.loads(pickle.dumps(item))
    assert clone == item and hash(clone) == hash(item)
    assert clone.raw == FULL and clone.absolute_time == item.absolute_time
    assert clone.attachments == item.attachments
    assert clone.attachments[0]._connection is None  # the connection (a secret, a lock) stays behind
    assert connection.token.encode() not in pickle.dumps(item)


def test_copies():
    item = TranscriptItem.from_response(FULL)
    assert copy.copy(item) is item
    deep = copy.deepcopy(item)
    assert deep == item and deep.raw == item.raw and deep.raw is not item.raw


def test_keyword_constructor_builds_a_matching_raw():
    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    metadata = MessageMetadata(
        message_id="m",
        receipts=(Receipt(recipient_participant_id="p", delivered_at=when.replace(microsecond=678000), read_at=None),),
    )
    item = TranscriptItem(
        id="m",
        type="MESSAGE",
        content="hi",
        absolute_time=when,
        attachments=(Attachment("att", name="x.png"),),
        message_metadata=metadata,
        raw={"Extra": True, "Content": "overridden"},
    )
    assert item.absolute_time is when  # microseconds kept, not re-parsed from raw
    assert item.attachments[0].name == "x.png" and item.message_metadata is metadata
    assert item.raw == {
        "Extra": True,
        "Content": "hi",
        "Id": "m",
        "Type": "MESSAGE",
        "AbsoluteTime": "2024-01-02T03:04:05.678Z",
        "Attachments": [{"AttachmentId": "att", "AttachmentName": "x.png"}],
        "MessageMetadata": {
            "MessageId": "m",
            "Receipts": [{"RecipientParticipantId": "p", "DeliveredTimestamp": "2024-01-02T03:04:05.678Z"}],
        },
    }
    rebuilt = TranscriptItem.from_response(item.raw)
    assert rebuilt.attachments == item.attachments and rebuilt.message_metadata == metadata
    assert pickle.loads(pickle.dumps(item)).absolute_time == when
    assert TranscriptItem(id="x", type="EVENT", raw={"DisplayName": "Ann"}).display_name == "Ann"
    with pytest.raises(TypeError):
        TranscriptItem("x", "MESSAGE")  # type: ignore[misc]


def test_threads_reading_one_item_agree():
    item = TranscriptItem.from_response(FULL)
    seen: list[Any] = []
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait(timeout=10)
        seen.append((item.absolute_time, item.attachments, item.message_metadata))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(seen) == 8 and len(set(seen)) == 1


def test_the_kind_properties_still_work():
    joined = TranscriptItem.from_response(
        {"Id": "j", "Type": "EVENT", "ContentType": "application/vnd.amazonaws.connect.event.participant.joined"}
    )
    assert joined.is_event and not joined.is_message and joined.event == "participant.joined"
    assert TranscriptItem.from_response({"Id": "e", "Type": "CHAT_ENDED"}).is_chat_ended
    assert TranscriptItem.from_response(FULL).is_message


def test_timestamps_in_other_spellings_are_read_as_utc():
    def when(text: Any) -> Any:
        return TranscriptItem.from_response({"Id": "x", "Type": "MESSAGE", "AbsoluteTime": text}).absolute_time

    utc = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert when("2024-01-01T02:00:00.000+02:00") == utc and when("2024-01-01T02:00:00+02:00").tzinfo is timezone.utc
    assert when("2024-01-01T00:00:00") == utc  # no offset: the service's times are UTC
    assert when(utc) is utc
    assert when(None) is None and when("") is None and when(12) is None and when("not a time") is None


def test_subclasses_are_made_as_themselves_and_stay_frozen():
    class Tagged(TranscriptItem):
        __slots__ = ("tag",)

    class Plain(TranscriptItem):  # with a __dict__
        pass

    for cls in (Tagged, Plain):
        item = cls.from_response(FULL)
        [paged] = cls.from_page([FULL])
        assert type(item) is cls and type(paged) is cls and item == paged
        assert (item.id, item.content, item.display_name) == ("item-1", "hello", "Ann")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            item.content = "changed"  # type: ignore[misc]
        assert copy.deepcopy(paged) == paged
    assert type(Plain(id="k", type="EVENT")) is Plain
    assert TranscriptItem.from_response(FULL) != Plain.from_response(FULL)  # the class is part of the value


def test_event_data_of_a_deeply_nested_content_is_none_not_an_error():
    typing = TranscriptItem.from_response(
        {
            "Id": "t",
            "Type": "EVENT",
            "ContentType": "application/vnd.amazonaws.connect.event.typing",
            "Content": "[" * 3000,
        }
    )
    assert typing.event_data is None
    nested = '{"a":' * 100 + "1" + "}" * 100
    assert TranscriptItem.from_response({**typing.raw, "Content": nested}).event_data is None
