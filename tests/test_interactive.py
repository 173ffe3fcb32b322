"""Interactive messages: every template type parsed, answered as AWS's widget answers, unknown
templates kept raw; end to end through the backend's send_interactive, in-process and over
the local server.

The template fixtures follow the admin guide's examples ("Add Amazon Lex interactive messages
for customers in chat") and amazon-connect-chat-interface's .github/docs; the expected answers
follow that widget's components (ListPicker.js, Panel.js, QuickReply.js, TimePicker.js,
Carousel.js, InteractiveMessage.js and utils/helper.js createInteractiveMessagePayload).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

from connectparticipant_ext import (
    Carousel,
    ChatService,
    InteractiveTemplate,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ListPicker,
    Panel,
    QuickReply,
    TimePicker,
    TranscriptItem,
    ViewResource,
)
from connectparticipant_ext.interactive import (
    INTERACTIVE_CONTENT_TYPE,
    INTERACTIVE_RESPONSE_CONTENT_TYPE,
    Element,
    Timeslot,
    build_reply,
    parse_template,
)

from _helpers import start_chat

RESPONSE = INTERACTIVE_RESPONSE_CONTENT_TYPE

LIST_PICKER = {
    "templateType": "ListPicker",
    "version": "1.0",
    "data": {
        "replyMessage": {"title": "Thanks for selecting!", "subtitle": "Produce selected"},
        "content": {
            "title": "What produce would you like to buy?",
            "subtitle": "Tap to select option",
            "imageType": "URL",
            "imageData": "https://example.com/fruit.jpg",
            "imageDescription": "Select a produce to buy",
            "elements": [
                {"title": "Apple", "subtitle": "$1.00", "imageType": "URL", "imageData": "https://example.com/a.jpg"},
                {"title": "Orange", "subtitle": "$1.50"},
                {"title": "Learn more", "type": "hyperlink", "url": "https://example.com/fruit"},
            ],
        },
    },
}

PAGED_LIST_PICKER = {
    "templateType": "ListPicker",
    "version": "1.0",
    "data": {
        "content": {
            "title": "What produce would you like to buy?",
            "referenceId": "320435df-2e3c-47ea-9206-e64f81dd8e3c",
            "listId": "serviceList",
            "preIndex": 4,
            "nextIndex": 9,
            "elements": [
                {"title": "Previous options", "actionDetail": "PREVIOUS_OPTIONS"},
                {"title": "Audiologist", "subtitle": "$1.00"},
                {"title": "Show more", "actionDetail": "SHOW_MORE"},
            ],
        }
    },
}

PANEL = {
    "templateType": "Panel",
    "version": "1.0",
    "data": {
        "replyMessage": {"title": "Thanks for selecting!"},
        "content": {
            "title": "How can I help you?",
            "subtitle": "Tap to select option",
            "imageType": "URL",
            "imageData": "https://example.com/company.jpg",
            "imageDescription": "Select an option",
            "elements": [{"title": "Check self-service options"}, {"title": "Talk to an agent"}, {"title": "End chat"}],
        },
    },
}

QUICK_REPLY = {
    "templateType": "QuickReply",
    "version": "1.0",
    "data": {
        "content": {
            "title": "How was your experience?",
            "elements": [{"title": "Great"}, {"title": "Fine"}, {"title": "Poor"}],
        }
    },
}

TIME_PICKER = {
    "templateType": "TimePicker",
    "version": "1.0",
    "data": {
        "replyMessage": {"title": "Thanks for selecting", "subtitle": "Appointment selected"},
        "content": {
            "title": "Schedule appointment",
            "subtitle": "Tap to select option",
            "timeZoneOffset": -450,
            "location": {"latitude": 47.616299, "longitude": -122.333031, "title": "Oscar", "radius": 1},
            "timeslots": [
                {"date": "2020-10-31T17:00+00:00", "duration": 60},
                {"date": "2020-11-15T13:00+00:00", "duration": 60},
                {"date": "2020-11-15T16:00+00:00", "duration": 60},
            ],
        },
    },
}

CAROUSEL = {
    "templateType": "Carousel",
    "version": "1.0",
    "data": {
        "content": {
            "title": "Select a destination:",
            "elements": [
                {
                    "templateType": "ListPicker",
                    "templateIdentifier": "8c0a55c8-1c37-41c2-b22a-62b2aaa7f1ac",
                    "version": "1.0",
                    "data": {
                        "content": {
                            "title": "Explore our travel options:",
                            "subtitle": "Select an option:",
                            "elements": [
                                {"title": "Purchase Ticket"},
                                {"title": "View All Destinations"},
                                {"title": "Learn More", "type": "hyperlink", "url": "https://example.com"},
                            ],
                        }
                    },
                },
                {
                    "templateType": "Panel",
                    "templateIdentifier": "2c0a55c8-3c37-41c2-b22a-62b2aaa7f1ac",
                    "version": "1.0",
                    "data": {
                        "content": {
                            "title": "Explore Hotel destinations",
                            "elements": [{"title": "Book Room"}, {"title": "View All Destinations"}],
                        }
                    },
                },
            ],
        }
    },
}

VIEW_RESOURCE = {
    "templateType": "ViewResource",
    "version": "1.0",
    "data": {"content": {"viewId": "view-123", "Actions": ["Submit", "Cancel"], "InputSchema": "{}", "Template": "{}"}},
}


def item_of(template, content_type=INTERACTIVE_CONTENT_TYPE) -> TranscriptItem:
    return TranscriptItem.from_response(
        {
            "Id": "m1",
            "Type": "MESSAGE",
            "ContentType": content_type,
            "Content": template if isinstance(template, str) else json.dumps(template),
            "ParticipantRole": "SYSTEM",
        }
    )


# -- parsing -----------------------------------------------------------------------------------


def test_list_picker_is_parsed():
    picker = item_of(LIST_PICKER).interactive
    assert isinstance(picker, ListPicker) and not isinstance(picker, Panel)
    assert (picker.template_type, picker.version) == ("ListPicker", "1.0")
    assert picker.title == "What produce would you like to buy?"
    assert picker.subtitle == "Tap to select option"
    assert (picker.image_type, picker.image_data) == ("URL", "https://example.com/fruit.jpg")
    assert picker.image_description == "Select a produce to buy"
    assert [e.title for e in picker.elements] == ["Apple", "Orange", "Learn more"]
    assert picker.elements[0].subtitle == "$1.00" and picker.elements[0].image_data == "https://example.com/a.jpg"
    assert picker.elements[2].is_link and not picker.elements[0].is_link
    assert picker.reply_message is not None and picker.reply_message.title == "Thanks for selecting!"
    assert picker.raw == LIST_PICKER
    assert picker.content == LIST_PICKER["data"]["content"]


def test_paging_fields_are_parsed():
    picker = item_of(PAGED_LIST_PICKER).interactive
    assert isinstance(picker, ListPicker)
    assert (picker.reference_id, picker.list_id, picker.pre_index, picker.next_index) == (
        "320435df-2e3c-47ea-9206-e64f81dd8e3c",
        "serviceList",
        4,
        9,
    )
    assert [e.is_action for e in picker.elements] == [True, False, True]


def test_panel_is_parsed():
    panel = item_of(PANEL).interactive
    assert isinstance(panel, Panel)
    assert panel.title == "How can I help you?"
    assert [e.title for e in panel.elements] == ["Check self-service options", "Talk to an agent", "End chat"]
    assert panel.image_description == "Select an option"


def test_quick_reply_is_parsed():
    reply = item_of(QUICK_REPLY).interactive
    assert isinstance(reply, QuickReply)
    assert reply.title == "How was your experience?"
    assert [e.title for e in reply.elements] == ["Great", "Fine", "Poor"]


def test_time_picker_is_parsed():
    picker = item_of(TIME_PICKER).interactive
    assert isinstance(picker, TimePicker)
    assert picker.title == "Schedule appointment"
    assert picker.time_zone_offset == -450
    assert picker.location is not None
    assert (picker.location.latitude, picker.location.longitude, picker.location.title, picker.location.radius) == (
        47.616299,
        -122.333031,
        "Oscar",
        1,
    )
    assert [s.date for s in picker.timeslots] == [
        "2020-10-31T17:00+00:00",
        "2020-11-15T13:00+00:00",
        "2020-11-15T16:00+00:00",
    ]
    assert picker.timeslots[0].duration == 60
    assert picker.timeslots[0].start == datetime(2020, 10, 31, 17, 0, tzinfo=timezone.utc)
    assert picker.reply_message is not None and picker.reply_message.subtitle == "Appointment selected"


def test_carousel_is_parsed_with_its_nested_templates():
    carousel = item_of(CAROUSEL).interactive
    assert isinstance(carousel, Carousel)
    assert carousel.title == "Select a destination:"
    first, second = carousel.elements
    assert isinstance(first, ListPicker) and isinstance(second, Panel)
    assert first.template_identifier == "8c0a55c8-1c37-41c2-b22a-62b2aaa7f1ac"
    assert first.title == "Explore our travel options:"
    assert [e.title for e in second.elements] == ["Book Room", "View All Destinations"]


def test_view_resource_is_parsed():
    view = item_of(VIEW_RESOURCE).interactive
    assert isinstance(view, ViewResource)
    assert view.view_id == "view-123"
    assert view.actions == ("Submit", "Cancel")
    assert view.content["InputSchema"] == "{}"


def test_unknown_template_type_is_kept_raw():
    template = {"templateType": "ApplePay", "version": "1.0", "data": {"content": {"title": "Pay", "amount": 3}}}
    parsed = item_of(template).interactive
    assert type(parsed) is InteractiveTemplate
    assert parsed.template_type == "ApplePay" and parsed.title == "Pay"
    assert parsed.raw == template
    with pytest.raises(InvalidArgumentError, match="ApplePay"):
        build_reply(parsed, "Pay")


def test_unknown_fields_and_wrong_types_are_tolerated():
    template = copy.deepcopy(LIST_PICKER)
    template["newTopLevel"] = {"x": 1}
    content = template["data"]["content"]
    content["brandNewField"] = [1, 2]
    content["subtitle"] = 42  # a wrong type becomes None, never an error
    content["elements"].append("not an element")
    content["elements"][0]["sparkle"] = True
    picker = parse_template(template)
    assert isinstance(picker, ListPicker)
    assert picker.subtitle is None
    assert picker.elements[0].title == "Apple" and picker.elements[0].raw["sparkle"] is True
    assert picker.elements[-1].title == ""  # an unreadable element stays in place, empty


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"data": {}}', '{"templateType": 3}', "", "null"], ids=repr)
def test_content_without_a_template_gives_none(content):
    assert item_of(content).interactive is None


def test_other_content_types_have_no_template():
    assert item_of(LIST_PICKER, content_type="application/json").interactive is None
    assert item_of(LIST_PICKER, content_type="text/plain").interactive is None


def test_templates_are_value_objects():
    assert parse_template(LIST_PICKER) == parse_template(json.dumps(LIST_PICKER))
    assert hash(parse_template(LIST_PICKER).elements[0]) == hash(parse_template(LIST_PICKER).elements[0])


# -- answers (no network) ------------------------------------------------------------------------


def test_list_picker_answer_is_the_elements_title_as_plain_text():
    picker = parse_template(LIST_PICKER)
    for choice in (picker.elements[1], "Orange", 1):
        reply = build_reply(picker, choice)
        assert (reply.content, reply.content_type) == ("Orange", "text/plain")


def test_paging_buttons_are_answered_with_an_interactive_response():
    picker = parse_template(PAGED_LIST_PICKER)
    reply = build_reply(picker, "Show more")
    assert reply.content_type == RESPONSE
    assert json.loads(reply.content) == {
        "version": "1.0",
        "data": {
            "actionName": "SHOW_MORE",
            "preIndex": 4,
            "nextIndex": 9,
            "listId": "serviceList",
            "templateType": "ListPicker",
            "referenceId": "320435df-2e3c-47ea-9206-e64f81dd8e3c",
        },
        "action": "SHOW_MORE",
    }
    assert json.loads(build_reply(picker, 0).content)["action"] == "PREVIOUS_OPTIONS"
    assert build_reply(picker, "Audiologist").content == "Audiologist"


def test_a_hyperlink_element_sends_nothing():
    picker = parse_template(LIST_PICKER)
    with pytest.raises(InvalidArgumentError, match="hyperlink"):
        build_reply(picker, "Learn more")


def test_panel_and_quick_reply_answers():
    assert build_reply(parse_template(PANEL), "Talk to an agent") == build_reply(parse_template(PANEL), 1)
    assert build_reply(parse_template(PANEL), 1).content == "Talk to an agent"
    reply = build_reply(parse_template(QUICK_REPLY), "Poor")
    assert (reply.content, reply.content_type) == ("Poor", "text/plain")


def test_time_picker_answer_is_the_slots_date():
    picker = parse_template(TIME_PICKER)
    slot = picker.timeslots[1]
    for choice in (slot, slot.date, 1, datetime(2020, 11, 15, 13, 0, tzinfo=timezone.utc)):
        reply = build_reply(picker, choice)
        assert (reply.content, reply.content_type) == ("2020-11-15T13:00+00:00", "text/plain")


def test_carousel_answer_is_the_widgets_json_as_plain_text():
    carousel = parse_template(CAROUSEL)
    reply = build_reply(carousel, "Book Room")
    assert reply.content_type == "text/plain"
    assert reply.content == (
        '{"templateIdentifier":"2c0a55c8-3c37-41c2-b22a-62b2aaa7f1ac",'
        '"listTitle":"Explore Hotel destinations","selectionText":"Book Room"}'
    )
    first = carousel.elements[0]
    explicit = build_reply(carousel, (first, "View All Destinations"))
    assert json.loads(explicit.content)["templateIdentifier"] == first.template_identifier
    with pytest.raises(InvalidArgumentError, match="several"):
        build_reply(carousel, "View All Destinations")
    with pytest.raises(InvalidArgumentError, match="hyperlink"):
        build_reply(carousel, (first, "Learn More"))
    with pytest.raises(InvalidArgumentError, match="none"):
        build_reply(carousel, "Nowhere")


def test_view_action_is_answered_with_an_interactive_response():
    view = parse_template(VIEW_RESOURCE)
    reply = build_reply(view, {"action": "Submit", "data": {"name": "Ann"}})
    assert reply.content_type == RESPONSE
    assert json.loads(reply.content) == {
        "action": "Submit",
        "data": {"name": "Ann"},
        "templateType": "ViewResource",
        "version": "1.0",
    }
    assert json.loads(build_reply(view, "Cancel").content)["data"] == {}
    with pytest.raises(InvalidArgumentError, match="not one of this view's actions"):
        build_reply(view, "Delete")


@pytest.mark.parametrize(
    ("template", "choice", "error"),
    [
        (LIST_PICKER, "Banana", InvalidArgumentError),
        (LIST_PICKER, 7, InvalidArgumentError),
        (LIST_PICKER, -1, InvalidArgumentError),
        (LIST_PICKER, True, InvalidArgumentTypeError),
        (LIST_PICKER, 1.5, InvalidArgumentTypeError),
        (LIST_PICKER, Element(title="Banana"), InvalidArgumentError),
        (QUICK_REPLY, None, InvalidArgumentTypeError),
        (TIME_PICKER, "2030-01-01T00:00+00:00", InvalidArgumentError),
        (TIME_PICKER, Timeslot(date="2030-01-01T00:00+00:00"), InvalidArgumentError),
        (TIME_PICKER, datetime(2020, 11, 15, 13, 0), InvalidArgumentError),
        (TIME_PICKER, 3, InvalidArgumentError),
        (VIEW_RESOURCE, "  ", InvalidArgumentError),
        (VIEW_RESOURCE, {"action": 1}, InvalidArgumentTypeError),
        (VIEW_RESOURCE, 3, InvalidArgumentTypeError),
    ],
)
def test_bad_choices_are_refused(template, choice, error):
    with pytest.raises(error):
        build_reply(parse_template(template), choice)


def test_reply_to_checks_before_any_call(connection, wire_calls):
    picker = parse_template(LIST_PICKER)
    with pytest.raises(InvalidArgumentError):
        connection.reply_to(picker, "Banana")
    with pytest.raises(InvalidArgumentTypeError):
        connection.reply_to({"templateType": "ListPicker"}, "Apple")
    assert wire_calls == []


# -- end to end --------------------------------------------------------------------------------


ALL_TEMPLATES = {
    "ListPicker": (LIST_PICKER, "Apple", ("Apple", "text/plain")),
    "Panel": (PANEL, "End chat", ("End chat", "text/plain")),
    "QuickReply": (QUICK_REPLY, "Great", ("Great", "text/plain")),
    "TimePicker": (TIME_PICKER, 0, ("2020-10-31T17:00+00:00", "text/plain")),
    "Carousel": (CAROUSEL, "Purchase Ticket", (None, "text/plain")),
    "ViewResource": (VIEW_RESOURCE, "Submit", (None, RESPONSE)),
    "PagedListPicker": (PAGED_LIST_PICKER, "Show more", (None, RESPONSE)),
}

SUPPORTED = ["text/plain", RESPONSE]


def _customer(chat: ChatService, connect_client):
    contact = start_chat(connect_client, SupportedMessagingContentTypes=SUPPORTED)
    return contact["ContactId"], chat.Participant(contact["ParticipantToken"]).create_connection()


@pytest.mark.parametrize("name", list(ALL_TEMPLATES))
def test_every_template_round_trips_through_the_backend(name, mock_chat, chat, connect_client):
    template, choice, (expected_content, expected_type) = ALL_TEMPLATES[name]
    contact_id, conn = _customer(chat, connect_client)
    agent = mock_chat.join_as_agent(contact_id)
    message_id = mock_chat.send_interactive(contact_id, template)

    item = next(i for i in conn.transcript if i.id == message_id)
    assert item.is_message and item.participant_role == "SYSTEM"
    assert item.content_type == INTERACTIVE_CONTENT_TYPE
    assert item.interactive == parse_template(template)
    assert item.interactive.template_type == template["templateType"]

    sent = conn.reply_to(item.interactive, choice)
    answer = next(i for i in agent.items if i["Id"] == sent.id)
    assert answer["ContentType"] == expected_type
    assert answer["ParticipantRole"] == "CUSTOMER"
    if expected_content is not None:
        assert answer["Content"] == expected_content
    else:
        assert json.loads(answer["Content"])  # the widget's JSON


def test_send_interactive_refuses_what_is_not_a_template(mock_chat, chat_contact):
    contact_id = chat_contact["ContactId"]
    for bad in ("not json", {"version": "1.0"}, {"templateType": "ListPicker"}, "[]"):
        with pytest.raises(ValueError):
            mock_chat.send_interactive(contact_id, bad)
    with pytest.raises(KeyError):
        mock_chat.send_interactive("no-such-contact", LIST_PICKER)


def test_interactive_message_over_the_local_server(local_server):
    import boto3

    connect = boto3.client("connect", region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    chat = ChatService(region_name="us-east-1", endpoint_url=local_server.endpoint_url)
    contact_id, conn = _customer(chat, connect)
    from connectparticipant_ext.testing import get_chat_backend

    backend = get_chat_backend()
    with conn.stream() as stream:
        message_id = backend.send_interactive(contact_id, QUICK_REPLY)
        item = None
        while item is None or item.id != message_id:
            item = stream.get(timeout=10)
            assert item is not None, "the interactive message never arrived"
        assert isinstance(item.interactive, QuickReply)
        sent = conn.reply_to(item.interactive, "Fine")
        echoed = None
        while echoed is None or echoed.id != sent.id:
            echoed = stream.get(timeout=10)
            assert echoed is not None, "the answer never came back over the websocket"
        assert (echoed.content, echoed.content_type) == ("Fine", "text/plain")
    conn.disconnect()


def test_a_deeply_nested_template_is_no_template():
    assert parse_template("[" * 100_000) is None
    assert parse_template('{"templateType": "ListPicker", "data": ' + "[" * 5000 + "]" * 5000 + "}") is None
    item = TranscriptItem.from_response(
        {"Id": "i", "Type": "MESSAGE", "ContentType": INTERACTIVE_CONTENT_TYPE, "Content": "{" * 5000}
    )
    assert item.interactive is None
