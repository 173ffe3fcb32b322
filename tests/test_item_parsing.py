"""Transcript items built from what the service sends: known types, new ones, and junk."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

import connectparticipant_ext
from connectparticipant_ext import (
    Carousel,
    ChatEvent,
    InteractiveTemplate,
    ListPicker,
    Panel,
    QuickReply,
    TimePicker,
    TranscriptItem,
    ViewResource,
)

from _helpers import EVENT, METADATA


def test_unknown_types_and_missing_optional_fields_parse():
    odd = TranscriptItem.from_response({"Id": "x1", "Type": "SOMETHING_NEW"})
    assert odd.type == "SOMETHING_NEW" and odd.content is None and odd.absolute_time is None
    assert odd.event is None and odd.interactive is None
    receipt = TranscriptItem.from_response(
        {
            "Id": "r1",
            "Type": "MESSAGEMETADATA",
            "ContentType": METADATA,
            "AbsoluteTime": "2026-11-25T10:00:00.123Z",
            "MessageMetadata": {
                "MessageId": "m1",
                "Receipts": [{"DeliveredTimestamp": "2026-11-25T10:00:00.100Z", "RecipientParticipantId": "p2"}],
            },
        }
    )
    assert receipt.message_metadata is not None
    assert receipt.message_metadata.message_id == "m1"
    [entry] = receipt.message_metadata.receipts
    assert entry.delivered_at is not None and entry.read_at is None
    assert entry.recipient_participant_id == "p2"


def test_item_event_members_and_export():
    assert connectparticipant_ext.ChatEvent is ChatEvent
    for name in ("PARTICIPANT_JOINED", "PARTICIPANT_LEFT", "CHAT_ENDED", "TYPING", "TRANSFER_SUCCEEDED"):
        assert hasattr(ChatEvent, name)
    ended = TranscriptItem.from_response({"Id": "e", "Type": "EVENT", "ContentType": EVENT + "chat.ended"})
    assert ended.event is ChatEvent.CHAT_ENDED
    message = TranscriptItem.from_response({"Id": "m", "Type": "MESSAGE", "ContentType": "text/plain", "Content": "x"})
    assert message.event is None


TEMPLATES: dict[type[InteractiveTemplate], dict[str, Any]] = {
    ListPicker: {
        "templateType": "ListPicker",
        "version": "1.0",
        "data": {"content": {"title": "Pick", "elements": [{"title": "A"}]}},
    },
    Panel: {
        "templateType": "Panel",
        "version": "1.0",
        "data": {"content": {"title": "Help", "elements": [{"title": "B"}]}},
    },
    QuickReply: {
        "templateType": "QuickReply",
        "version": "1.0",
        "data": {"content": {"title": "Ok?", "elements": [{"title": "Yes"}]}},
    },
    TimePicker: {
        "templateType": "TimePicker",
        "version": "1.0",
        "data": {"content": {"title": "When", "timeslots": [{"date": "2026-12-01T10:00+00:00", "duration": 30}]}},
    },
    Carousel: {
        "templateType": "Carousel",
        "version": "1.0",
        "data": {
            "content": {
                "title": "Choose",
                "elements": [
                    {
                        "templateType": "Panel",
                        "version": "1.0",
                        "data": {"content": {"title": "P", "elements": [{"title": "x"}]}},
                    }
                ],
            }
        },
    },
    ViewResource: {
        "templateType": "ViewResource",
        "version": "1.0",
        "data": {"content": {"viewId": "view-1", "Actions": ["Submit"], "InputSchema": "{}", "Template": "{}"}},
    },
    InteractiveTemplate: {"templateType": "SomethingNew", "version": "1.0", "data": {"content": {"title": "?"}}},
}


def test_send_interactive_and_item_interactive(mock_chat, connection, chat_contact):
    known = {cls: t for cls, t in TEMPLATES.items() if cls is not InteractiveTemplate}
    ids = {cls: mock_chat.send_interactive(chat_contact["ContactId"], template) for cls, template in known.items()}
    # send_interactive refuses a templateType the admin guide does not document; a newer
    # service's template arrives as a flow's interactive message
    ids[InteractiveTemplate] = mock_chat.send_flow_message(
        chat_contact["ContactId"],
        json.dumps(TEMPLATES[InteractiveTemplate]),
        content_type="application/vnd.amazonaws.connect.message.interactive",
    )
    by_id = {i.id: i for i in connection.transcript}
    for cls, item_id in ids.items():
        interactive = by_id[item_id].interactive
        assert type(interactive) is cls, cls
    plain = next(i for i in by_id.values() if i.event is ChatEvent.PARTICIPANT_JOINED)
    assert plain.interactive is None


def test_hostile_items_parse_without_crashing():
    weird = [
        {},
        {"Id": None, "Type": None},
        {"Id": "x", "Type": "MESSAGE", "AbsoluteTime": "2024-13-45"},
        {"Id": "t", "Type": "MESSAGE", "AbsoluteTime": 12345},
        {"Id": "y", "Type": "ATTACHMENT", "Attachments": [{}]},
        {"Id": "z", "Type": "MESSAGE", "MessageMetadata": "not a dict"},
        {"Id": "w", "Type": "X" * 10000, "Content": "\x00" * 100000, "Extra": {"nested": [1, 2]}},
    ]
    for data in weird:
        item = TranscriptItem.from_response(data)
        assert item.raw == data
    assert TranscriptItem.from_response(weird[2]).absolute_time is None


def test_time_parsing_accepts_service_formats():
    from connectparticipant_ext._time import format_time, parse_time

    assert parse_time("2024-01-02T03:04:05.678Z") == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert parse_time("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_time("2024-01-02T05:04:05.678+02:00") == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    moment = datetime(2024, 1, 2, 3, 4, 5, 678999, tzinfo=timezone.utc)
    assert format_time(moment) == "2024-01-02T03:04:05.678Z"
    early = datetime(999, 1, 1, tzinfo=timezone.utc)  # found by hypothesis: strftime gave "999-01-01"
    assert format_time(early) == "0999-01-01T00:00:00.000Z"
    assert parse_time(format_time(early)) == early
    assert parse_time(None) is None


@pytest.mark.parametrize(
    "metadata",
    [
        {"MessageId": "m1", "Receipts": "abc"},
        {"MessageId": "m1", "Receipts": 5},
        {"MessageId": "m1", "Receipts": {"RecipientParticipantId": "p"}},
        {"MessageId": "m1", "Receipts": [5, "x", None, {"RecipientParticipantId": 7, "ReadTimestamp": []}]},
        {"MessageId": ["m1"], "Receipts": None, "MessageProcessingStatus": {}},
    ],
)
def test_junk_receipts_never_break_an_item(metadata):
    item = TranscriptItem.from_response(
        {"Id": "r1", "Type": "MESSAGEMETADATA", "ContentType": "x", "MessageMetadata": metadata}
    )
    parsed = item.message_metadata
    assert parsed is not None
    for receipt in parsed.receipts:
        assert receipt.recipient_participant_id is None or isinstance(receipt.recipient_participant_id, str)
    assert parsed.message_id in (None, "m1")
    assert item.raw["MessageMetadata"] is metadata
