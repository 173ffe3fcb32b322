"""streaming: parsing what Amazon Connect's message streaming delivers, and the token stores.

The payloads here follow the admin guide's page "Amazon SNS payload used in message
streaming" (its example, field for field); the end-to-end tests through the backend, SNS,
SQS and DynamoDB are in test_streaming_backend.py.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from connectparticipant_ext import InvalidArgumentError, StreamingPayloadError, TranscriptItem, streaming
from connectparticipant_ext.streaming import BotRecord, InMemoryTokenStore, StreamedItem

CONTACT = "33333333-abc5-46db-9ad5-d772559ab556"
ITEM = {
    "AbsoluteTime": "2021-09-08T13:28:24.656Z",
    "Content": "help",
    "ContentType": "text/plain",
    "Id": "333333333-be0d-4a44-889d-d2a86fc06f0c",
    "Type": "MESSAGE",
    "ParticipantId": "bbbbbbbb-c562-4d95-b76c-dcbca8b4b5f7",
    "DisplayName": "Jane",
    "ParticipantRole": "CUSTOMER",
    "InitialContactId": CONTACT,
    "ContactId": CONTACT,
}
ATTRIBUTES = {
    "InitialContactId": CONTACT,
    "MessageVisibility": "ALL",
    "Type": "MESSAGE",
    "AccountId": "999999999999",
    "ContentType": "text/plain",
    "InstanceId": "dddddddd-b64e-40c5-921b-109fd92499ae",
    "ContactId": CONTACT,
    "ParticipantRole": "CUSTOMER",
}
TOPIC = "arn:aws:sns:us-west-2:009969138378:connector-svc-test"


def sns_envelope(item=ITEM, attributes=ATTRIBUTES, message_id="ccccccccc-cccc-cccc-cccc-ccccccccccccc"):
    """The guide's example SNS payload (signature fields shortened)."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(item),
        "Timestamp": "2021-09-08T13:28:24.860Z",
        "SignatureVersion": "1",
        "Signature": "example",
        "MessageAttributes": {name: {"Type": "String", "Value": value} for name, value in attributes.items()},
    }


def sqs_enveloped(envelope=None):
    return {
        "MessageId": "sqs-1",
        "ReceiptHandle": "handle-1",
        "MD5OfBody": "x",
        "Body": json.dumps(envelope or sns_envelope()),
    }


def sqs_raw(item=ITEM, attributes=ATTRIBUTES):
    return {
        "MessageId": "sqs-raw-1",
        "ReceiptHandle": "handle-2",
        "Body": json.dumps(item),
        "MessageAttributes": {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()},
    }


def check_guide_example(event: StreamedItem) -> None:
    assert isinstance(event.item, TranscriptItem)
    assert event.item.id == ITEM["Id"]
    assert event.item.content == "help"
    assert event.item.participant_role == "CUSTOMER"
    assert event.item.absolute_time == datetime(2021, 9, 8, 13, 28, 24, 656000, tzinfo=timezone.utc)
    assert event.contact_id == CONTACT
    assert event.initial_contact_id == CONTACT
    assert event.instance_id == "dddddddd-b64e-40c5-921b-109fd92499ae"
    assert event.account_id == "999999999999"
    assert event.participant_role == "CUSTOMER"
    assert event.visibility == "ALL"


# -- shapes ----------------------------------------------------------------------------------------


def test_plain_sns_message_dict_and_text():
    for payload in (sns_envelope(), json.dumps(sns_envelope())):
        [event] = streaming.parse(payload)
        check_guide_example(event)
        assert event.message_id == "ccccccccc-cccc-cccc-cccc-ccccccccccccc"
        assert event.topic_arn == TOPIC
        assert event.receipt_handle is None


def test_sqs_message_with_sns_envelope():
    [event] = streaming.parse(sqs_enveloped())
    check_guide_example(event)
    assert event.message_id == "ccccccccc-cccc-cccc-cccc-ccccccccccccc"
    assert event.receipt_handle == "handle-1"


def test_sqs_raw_delivery_reads_sqs_message_attributes():
    [event] = streaming.parse(sqs_raw())
    check_guide_example(event)
    assert event.message_id == "sqs-raw-1"
    assert event.receipt_handle == "handle-2"


def test_whole_receive_message_response():
    events = list(streaming.parse({"Messages": [sqs_enveloped(), sqs_raw()], "ResponseMetadata": {}}))
    assert [e.receipt_handle for e in events] == ["handle-1", "handle-2"]


def test_lambda_event_with_sns_records():
    event = {
        "Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns_envelope(message_id="m1")},
            {"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": sns_envelope(message_id="m2")},
        ]
    }
    parsed = list(streaming.parse(event))
    assert [p.message_id for p in parsed] == ["m1", "m2"]
    check_guide_example(parsed[0])


def test_lambda_event_with_sqs_records_enveloped_and_raw():
    raw = sqs_raw()
    event = {
        "Records": [
            {"eventSource": "aws:sqs", "messageId": "a", "receiptHandle": "r1", "body": sqs_enveloped()["Body"]},
            {
                "eventSource": "aws:sqs",
                "messageId": "b",
                "receiptHandle": "r2",
                "body": raw["Body"],
                "messageAttributes": {
                    name: {"stringValue": value["StringValue"], "dataType": "String"}
                    for name, value in raw["MessageAttributes"].items()
                },
            },
        ]
    }
    first, second = streaming.parse(event)
    check_guide_example(first)
    check_guide_example(second)
    assert (first.receipt_handle, second.receipt_handle) == ("r1", "r2")
    assert second.message_id == "b"


def test_events_and_unknown_types_parse():
    joined = dict(ITEM, Type="EVENT", ContentType="application/vnd.amazonaws.connect.event.participant.joined")
    del joined["Content"]
    odd = dict(ITEM, Type="SOMETHING_NEW", Id="odd-1")
    events = list(streaming.parse({"Records": [{"EventSource": "aws:sns", "Sns": sns_envelope(joined)}]}))
    assert events[0].item.is_event and events[0].item.event == "participant.joined"
    [new] = streaming.parse(sns_envelope(odd))
    assert new.item.type == "SOMETHING_NEW"


# -- visibility, as the guide's filter has it ---------------------------------------------------------


@pytest.mark.parametrize(
    ("visibility", "role", "for_customer", "for_agent"),
    [
        ("ALL", "CUSTOMER", False, True),
        ("ALL", "AGENT", True, False),
        ("ALL", "SYSTEM", True, True),
        ("ALL", "CUSTOM_BOT", True, True),
        ("CUSTOMER", "AGENT", True, False),
        ("CUSTOMER", "SYSTEM", True, False),
        ("AGENT", "CUSTOMER", False, True),
        ("AGENT", "SYSTEM", False, True),
        ("CUSTOMER", "CUSTOMER", False, False),
        ("AGENT", "AGENT", False, False),
    ],
)
def test_visibility_filter_follows_the_guide(visibility, role, for_customer, for_agent):
    attributes = dict(ATTRIBUTES, MessageVisibility=visibility, ParticipantRole=role)
    payload = sns_envelope(dict(ITEM, ParticipantRole=role), attributes)
    assert len(list(streaming.parse(payload))) == 1
    assert len(list(streaming.parse(payload, audience="CUSTOMER"))) == int(for_customer)
    assert len(list(streaming.parse(payload, audience="AGENT"))) == int(for_agent)


def test_audience_must_be_a_side():
    with pytest.raises(InvalidArgumentError, match="audience"):
        list(streaming.parse(sns_envelope(), audience="ALL"))


# -- malformed input names what is wrong ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (42, "not int"),
        ("not json", "not valid JSON"),
        ([1, 2], "not list"),
        ({"foo": 1}, "none of Records"),
        ({"Records": "x"}, "Records must be a list"),
        ({"Records": [{"EventSource": "aws:kinesis"}]}, r"Records\[0\] comes from 'aws:kinesis'"),
        (
            {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification"}}]},
            r"Records\[0\]\.Sns has no Message",
        ),
        ({"Body": "{nope"}, r"the payload\.Body is not valid JSON"),
        (sqs_raw(attributes={}), "MessageAttributeNames"),
    ],
)
def test_malformed_payloads_raise_naming_the_part(payload, match):
    with pytest.raises(StreamingPayloadError, match=match):
        list(streaming.parse(payload))


def test_malformed_item_and_attributes():
    no_id = dict(ITEM)
    del no_id["Id"]
    with pytest.raises(StreamingPayloadError, match="no Id"):
        list(streaming.parse(sns_envelope(no_id)))
    no_visibility = dict(ATTRIBUTES)
    del no_visibility["MessageVisibility"]
    with pytest.raises(StreamingPayloadError, match="MessageVisibility message attribute is missing"):
        list(streaming.parse(sns_envelope(attributes=no_visibility)))
    with pytest.raises(StreamingPayloadError, match="MessageVisibility must be one of"):
        list(streaming.parse(sns_envelope(attributes=dict(ATTRIBUTES, MessageVisibility="EVERYONE"))))
    bad = sns_envelope()
    bad["MessageAttributes"]["ContactId"] = {"Type": "String"}
    with pytest.raises(StreamingPayloadError, match=r"MessageAttributes\.ContactId has no string Value"):
        list(streaming.parse(bad))
    message_list = sns_envelope()
    message_list["Message"] = "[1]"
    with pytest.raises(StreamingPayloadError, match=r"Message must be a JSON object"):
        list(streaming.parse(message_list))


# -- where items may come from, and whose word counts ------------------------------------------------


def test_topic_arns_refuse_envelopes_from_other_topics():
    foreign = dict(sns_envelope(), TopicArn="arn:aws:sns:us-west-2:999999999999:attacker")
    for payload in (foreign, sqs_enveloped(foreign), {"Records": [{"EventSource": "aws:sns", "Sns": foreign}]}):
        with pytest.raises(StreamingPayloadError, match="not in topic_arns"):
            list(streaming.parse(payload, topic_arns=[TOPIC]))
        assert len(list(streaming.parse(payload))) == 1  # without topic_arns any topic is read
    no_topic = sns_envelope()
    del no_topic["TopicArn"]
    with pytest.raises(StreamingPayloadError, match="no TopicArn"):
        list(streaming.parse(no_topic, topic_arns=[TOPIC]))
    for payload in (sns_envelope(), sqs_enveloped()):
        [event] = streaming.parse(payload, topic_arns=(TOPIC, "arn:aws:sns:us-west-2:009969138378:other"))
        assert event.topic_arn == TOPIC


def test_topic_arns_refuse_raw_deliveries_which_name_no_topic():
    with pytest.raises(StreamingPayloadError, match="raw delivery, which names no topic"):
        list(streaming.parse(sqs_raw(), topic_arns=[TOPIC]))


@pytest.mark.parametrize(("topic_arns", "error"), [(TOPIC, TypeError), ([], ValueError), ([TOPIC, 42], TypeError)])
def test_topic_arns_must_be_a_list_of_arns(topic_arns, error):
    with pytest.raises(error, match="topic_arns"):
        list(streaming.parse(sns_envelope(), topic_arns=topic_arns))


@pytest.mark.parametrize("name", ["ContactId", "InitialContactId", "ParticipantRole"])
def test_an_attribute_that_disagrees_with_the_item_is_an_error(name):
    forged = dict(ATTRIBUTES, **{name: "AGENT" if name == "ParticipantRole" else "someone-elses-contact"})
    for payload in (sns_envelope(attributes=forged), sqs_raw(attributes=forged)):
        with pytest.raises(StreamingPayloadError, match=f"the {name} message attribute disagrees"):
            list(streaming.parse(payload))


def test_the_item_is_read_first_and_an_attribute_fills_what_it_lacks():
    without_attribute = {k: v for k, v in ATTRIBUTES.items() if k != "ContactId"}
    [event] = streaming.parse(sns_envelope(attributes=without_attribute))
    assert event.contact_id == CONTACT
    bare_item = {k: v for k, v in ITEM.items() if k not in ("ContactId", "ParticipantRole")}
    [event] = streaming.parse(sns_envelope(item=bare_item))
    assert (event.contact_id, event.participant_role) == (CONTACT, "CUSTOMER")


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 100_000,
        {"Body": "[" * 100_000},
        {"Records": [{"EventSource": "aws:sns", "Sns": dict(sns_envelope(), Message="{" * 50_000)}]},
    ],
)
def test_deeply_nested_json_is_a_payload_error_not_a_recursion_error(payload):
    with pytest.raises(StreamingPayloadError, match="nests deeper than"):
        list(streaming.parse(payload))


def test_errors_never_echo_content():
    secret = dict(ITEM, Content="my card is 4111 1111 1111 1111")
    del secret["Id"]
    with pytest.raises(StreamingPayloadError) as info:
        list(streaming.parse(sns_envelope(secret)))
    assert "4111" not in str(info.value)


# -- reply tokens --------------------------------------------------------------------------------------


def test_reply_token_is_the_same_for_every_delivery_of_an_item():
    via_sns = next(streaming.parse(sns_envelope(message_id="first")))
    via_sqs = next(streaming.parse(sqs_raw()))
    redelivered = next(streaming.parse(sns_envelope(message_id="second")))
    assert via_sns.reply_token == via_sqs.reply_token == redelivered.reply_token
    assert len(via_sns.reply_token) <= 500
    other = next(streaming.parse(sns_envelope(dict(ITEM, Id="another"))))
    assert other.reply_token != via_sns.reply_token
    assert via_sns.reply_token_for(1) not in (via_sns.reply_token, other.reply_token_for(1))
    assert via_sns.reply_token_for(0) == via_sns.reply_token


# -- each part of a payload, and the message that names it ----------------------------------------------

FOREIGN_TOPIC = "arn:aws:sns:us-west-2:999999999999:other"


def payload_error(payload, **options) -> str:
    with pytest.raises(StreamingPayloadError) as info:
        list(streaming.parse(payload, **options))
    return str(info.value)


def test_lambda_records_are_told_apart_by_their_event_source():
    envelope = sns_envelope()
    assert payload_error({"Records": [{"EventSource": "aws:sns"}]}) == "Records[0]: an SNS record needs an Sns object"
    assert payload_error({"Records": [{"eventSource": "aws:sqs"}]}) == "Records[0] has no body text"
    assert payload_error({"Records": [{"eventSource": "aws:sns", "body": "{}"}]}) == (
        "Records[0]: an SNS record needs an Sns object"
    )
    assert payload_error({"Records": [ITEM]}) == "Records[0] comes from None; expected aws:sns or aws:sqs"
    assert payload_error({"Records": [7]}) == "Records[0] must be a dict"
    # without an event source, the record's keys say what it is
    [via_sns] = streaming.parse({"Records": [{"Sns": envelope}]})
    [via_sqs] = streaming.parse({"Records": [{"body": json.dumps(envelope), "receiptHandle": "h"}]})
    for event in (via_sns, via_sqs):
        check_guide_example(event)
    assert (via_sns.receipt_handle, via_sqs.receipt_handle) == (None, "h")


def test_an_sns_message_is_known_by_its_type_or_its_topic():
    untyped = {k: v for k, v in sns_envelope().items() if k != "Type"}
    [event] = streaming.parse(untyped)
    check_guide_example(event)
    assert payload_error({k: v for k, v in untyped.items() if k != "TopicArn"}) == (
        "the payload has none of Records (a Lambda event), Body (an SQS message) or Type: Notification (an SNS message)"
    )


def test_malformed_parts_are_named_where_they_are():
    enveloped = sqs_enveloped(dict(sns_envelope(), Message="[]"))
    assert (
        payload_error({"Messages": [sqs_raw(), enveloped]})
        == "Messages[1].Body.Message must be a JSON object, not list"
    )
    assert payload_error({"Messages": {}}) == "the payload: Messages must be a list"
    assert payload_error({"Messages": [None]}) == "Messages[0] must be a dict"
    assert payload_error({"Messages": [{"Body": 5}]}) == "Messages[0] has no Body text"
    assert payload_error(json.dumps({"Body": "[1]"})) == "the payload.Body must be a JSON object, not list"
    assert payload_error("{nope") == "the payload is not valid JSON"
    assert payload_error({"Records": [{"Sns": dict(sns_envelope(), Message="nope")}]}) == (
        "Records[0].Sns.Message is not valid JSON"
    )
    assert payload_error({"Records": [{"body": "{}", "messageAttributes": {"ContactId": "c"}}]}) == (
        "Records[0].messageAttributes.ContactId has no StringValue"
    )
    assert payload_error(dict(sqs_raw(), MessageAttributes=[])) == "the payload.MessageAttributes must be a dict"
    assert payload_error(dict(sns_envelope(), MessageAttributes=[])) == "the payload.MessageAttributes must be a dict"
    no_id = {k: v for k, v in ITEM.items() if k != "Id"}
    assert payload_error({"Records": [{"Sns": sns_envelope(no_id)}]}) == "Records[0].Sns: the chat item has no Id"
    assert payload_error({"Messages": [sqs_raw(no_id)]}) == "Messages[0]: the chat item has no Id"
    no_contact = {k: v for k, v in ITEM.items() if k != "ContactId"}
    attributes = {k: v for k, v in ATTRIBUTES.items() if k != "ContactId"}
    assert payload_error(sns_envelope(no_contact, attributes)) == (
        "the payload: no ContactId, neither as a message attribute nor in the item"
    )
    assert payload_error(sns_envelope(attributes=dict(ATTRIBUTES, MessageVisibility="NONE"))) == (
        "the payload: MessageVisibility must be one of AGENT, ALL, CUSTOMER; got 'NONE'"
    )


def test_attributes_that_disagree_are_named_where_they_are():
    for name in ("ContactId", "InitialContactId", "ParticipantRole"):
        forged = dict(ATTRIBUTES, **{name: "AGENT" if name == "ParticipantRole" else "another"})
        assert payload_error({"Messages": [sqs_raw(attributes=forged)]}) == (
            f"Messages[0]: the {name} message attribute disagrees with the item's own {name}"
        )


def test_raw_deliveries_say_how_to_receive_them():
    assert payload_error(sqs_raw(attributes={})) == (
        "the payload is a raw delivery without message attributes: receive it with "
        "MessageAttributeNames=['All'] (or turn raw message delivery off)"
    )
    assert payload_error(sqs_raw(), topic_arns=[TOPIC]) == (
        "the payload is a raw delivery, which names no topic to check against topic_arns: turn raw "
        "message delivery off, or leave topic_arns out (the queue's access policy decides who may send)"
    )
    # an SQS body typed as a notification but carrying no message is read as a raw item
    assert payload_error({"Body": json.dumps({"Type": "Notification"})}) == (
        "the payload is a raw delivery without message attributes: receive it with "
        "MessageAttributeNames=['All'] (or turn raw message delivery off)"
    )


def test_topic_arns_are_checked_in_every_shape_of_payload():
    foreign = dict(sns_envelope(), TopicArn=FOREIGN_TOPIC)
    shapes = {
        "the payload": json.dumps(foreign),
        "Messages[0].Body": {"Messages": [sqs_enveloped(foreign)]},
        "Records[0].body": {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(foreign)}]},
        "Records[0].Sns": {"Records": [{"Sns": foreign}]},
    }
    for where, payload in shapes.items():
        assert payload_error(payload, topic_arns=[TOPIC]) == (
            f"{where} comes from topic '{FOREIGN_TOPIC}', which is not in topic_arns"
        )


def test_delivery_details_that_are_not_strings_are_left_out():
    envelope = dict(sns_envelope(), MessageId=5, TopicArn=["not", "a", "topic"])
    [event] = streaming.parse(sqs_enveloped(envelope) | {"ReceiptHandle": 7})
    assert (event.message_id, event.topic_arn, event.receipt_handle) == (None, None, None)


def test_an_item_field_that_is_not_a_string_gives_way_to_the_attribute():
    item = dict(ITEM, ParticipantRole=7, InitialContactId="")
    [event] = streaming.parse(sns_envelope(item))
    assert (event.participant_role, event.initial_contact_id) == ("CUSTOMER", CONTACT)


def test_argument_errors_name_the_argument():
    with pytest.raises(InvalidArgumentError) as info:
        list(streaming.parse(sns_envelope(), audience="ALL"))
    assert str(info.value) == "audience must be one of AGENT, CUSTOMER; got 'ALL'"
    [event] = streaming.parse(sns_envelope())
    with pytest.raises(InvalidArgumentError) as info:
        event.visible_to("BOTH")
    assert str(info.value) == "audience must be one of AGENT, CUSTOMER; got 'BOTH'"
    with pytest.raises(TypeError) as info:
        list(streaming.parse(sns_envelope(), topic_arns=TOPIC))
    assert str(info.value) == "topic_arns must be a list of SNS topic ARNs (not a single string)"
    with pytest.raises(ValueError) as info:
        list(streaming.parse(sns_envelope(), topic_arns=()))
    assert str(info.value) == "topic_arns must name at least one topic (or be None to accept any)"
    with pytest.raises(TypeError) as info:
        list(streaming.parse(sns_envelope(), topic_arns=[TOPIC, None]))
    assert str(info.value) == "topic_arns[] must be a str, not NoneType"


def test_reply_tokens_are_stable_across_versions():
    """A worker of the next release must answer a redelivered item with the same ClientToken."""
    [event] = streaming.parse(sns_envelope())
    assert event.reply_token == "reply-d2fad457f9861e709fa181c227067dee8bc35e867820d9ec"
    assert event.reply_token_for(2) == "reply-9fe4ea8b45890e12acd35060890b369625c4e8cd60bd2de2"


# -- start / stop check their arguments before any call --------------------------------------------------


class NoCalls:
    def __getattr__(self, name):
        raise AssertionError(f"{name} must not be called")


@pytest.mark.parametrize(
    ("arn", "match"),
    [
        ("arn:aws:sns:us-east-1:123456789012:chats.fifo", "FIFO"),
        ("arn:aws:sqs:us-east-1:123456789012:queue", "SNS topic ARN"),
        ("chats", "SNS topic ARN"),
        ("", "must not be empty"),
        ("arn:aws:sns:us-east-1:123456789012:" + "x" * 400, "limit is 350"),
    ],
)
def test_start_refuses_bad_topics_before_any_call(arn, match):
    with pytest.raises(InvalidArgumentError, match=match):
        streaming.start(NoCalls(), "instance", "contact", arn)


def test_start_sends_the_configuration_and_a_client_token():
    calls = []

    class Connect:
        def start_contact_streaming(self, **params):
            calls.append(params)
            return {"StreamingId": "s-1"}

    arn = "arn:aws:sns:us-east-1:123456789012:chats"
    assert streaming.start(Connect(), "i", "c", arn) == "s-1"
    assert streaming.start(Connect(), "i", "c", arn, client_token="mine") == "s-1"
    assert calls[0]["ChatStreamingConfiguration"] == {"StreamingEndpointArn": arn}
    assert calls[0]["ClientToken"] and calls[1]["ClientToken"] == "mine"
    assert (calls[0]["InstanceId"], calls[0]["ContactId"]) == ("i", "c")


def test_connect_calls_translate_botocore_errors_as_the_resources_do():
    from botocore.exceptions import EndpointConnectionError

    from connectparticipant_ext import MalformedResponseError, ServiceUnreachableError

    class Unreachable:
        def start_contact_streaming(self, **params):
            raise EndpointConnectionError(endpoint_url="https://connect.us-east-1.amazonaws.com")

        stop_contact_streaming = start_contact_streaming

    class Junk:
        def start_contact_streaming(self, **params):
            return {}

    arn = "arn:aws:sns:us-east-1:123456789012:chats"
    with pytest.raises(ServiceUnreachableError, match="StartContactStreaming"):
        streaming.start(Unreachable(), "i", "c", arn)
    with pytest.raises(ServiceUnreachableError, match="StopContactStreaming"):
        streaming.stop(Unreachable(), "i", "c", "s-1")
    with pytest.raises(MalformedResponseError, match="StreamingId"):
        streaming.start(Junk(), "i", "c", arn)


# -- the in-memory store ------------------------------------------------------------------------------


def now():
    return datetime.now(timezone.utc)


def test_in_memory_store_claims_once_and_keeps_the_first_record():
    store = InMemoryTokenStore()
    later = now() + timedelta(hours=1)
    assert store.claim("c", "a", now() + timedelta(seconds=30), later)
    assert not store.claim("c", "b", now() + timedelta(seconds=30), later)
    record = BotRecord(contact_id="c", expires_at=later, participant_token="pt", connection_token="ct", owner="a")
    assert not store.save(attrs_evolve(record, owner="b"), "b")
    assert store.save(record, "a")
    assert not store.claim("c", "b", now() + timedelta(seconds=30), later)
    assert store.get("c").participant_token == "pt"
    store.update_connection("c", "ct2", later)
    assert store.get("c").connection_token == "ct2"
    store.delete("c")
    assert store.get("c") is None


def test_in_memory_store_takes_over_an_expired_claim():
    store = InMemoryTokenStore()
    later = now() + timedelta(hours=1)
    assert store.claim("c", "dead", now() - timedelta(seconds=1), later)
    assert store.claim("c", "alive", now() + timedelta(seconds=30), later)


def test_in_memory_store_race_has_one_winner():
    store = InMemoryTokenStore()
    later = now() + timedelta(hours=1)
    barrier = threading.Barrier(8)
    wins = []

    def race(name):
        barrier.wait()
        if store.claim("c", name, now() + timedelta(seconds=30), later):
            wins.append(name)

    threads = [threading.Thread(target=race, args=(f"w{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(wins) == 1


def test_records_hide_tokens():
    record = BotRecord(contact_id="c", expires_at=now(), participant_token="PT-SECRET", connection_token="CT-SECRET")
    assert "SECRET" not in repr(record)
    assert "SECRET" not in repr(copy.copy(record))


def attrs_evolve(record, **changes):
    import attrs

    return attrs.evolve(record, **changes)


def test_bot_participants_check_their_arguments():
    from connectparticipant_ext import ChatService, InvalidArgumentTypeError

    chat = ChatService(region_name="us-east-1")
    with pytest.raises(InvalidArgumentTypeError, match="chat_service"):
        streaming.BotParticipants("chat")
    with pytest.raises(InvalidArgumentTypeError, match="TokenStore"):
        streaming.BotParticipants(chat, store={})
    with pytest.raises(InvalidArgumentError, match="wait_seconds must be a finite number of seconds, more than 0"):
        streaming.BotParticipants(chat, wait_seconds=0)
    with pytest.raises(InvalidArgumentTypeError, match="claim_seconds"):
        streaming.BotParticipants(chat, claim_seconds="30")
    for bad in (float("nan"), -1, float("inf"), 1e308):
        with pytest.raises(InvalidArgumentError, match="claim_seconds"):
            streaming.BotParticipants(chat, claim_seconds=bad)
    bots = streaming.BotParticipants(chat)
    with pytest.raises(InvalidArgumentError, match="contact_id"):
        bots.connection(NoCalls(), "instance", "")
