"""Message streaming end to end under moto: our backend -> SNS -> SQS -> workers, DynamoDB tokens.

Covers what issue 19 asks: every item reaches the queue with the documented attributes; a
worker that dies before deleting a message leads to a redelivery that is answered once; two
workers racing to join one chat create one bot; a FIFO topic is refused; visibility filtering
matches the admin guide.
"""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.exceptions import ClientError

from connectparticipant_ext import ChatService, InvalidArgumentError, ServiceError, streaming
from connectparticipant_ext.streaming import BotParticipants, DynamoDBTokenStore, InMemoryTokenStore
from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.plugin import INSTANCE_ID
from connectparticipant_ext.testing.streaming import streaming_state

REGION = "us-east-1"


@pytest.fixture
def aws(mock_chat):
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    return sns, sqs


def make_pipeline(sns, sqs, name="chats", raw=False):
    """A standard topic fanned out to one queue; returns (topic ARN, queue URL)."""
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{name}-bots", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "true"} if raw else {}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
    return topic, queue


def drain(sqs, queue, delete=True):
    """Every message now in the queue (bounded: stops at the first empty receive)."""
    messages = []
    for _ in range(100):
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
        if not batch:
            break
        messages.extend(batch)
        if delete:
            for message in batch:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return messages


@pytest.mark.parametrize("raw", [False, True], ids=["enveloped", "raw-delivery"])
def test_every_item_reaches_the_queue_with_the_documented_attributes(
    aws, connect_client, chat_contact, connection, agent, raw
):
    sns, sqs = aws
    topic, queue = make_pipeline(sns, sqs, raw=raw)
    contact_id = chat_contact["ContactId"]
    streaming_id = streaming.start(connect_client, INSTANCE_ID, contact_id, topic)
    assert streaming_id
    drain(sqs, queue)  # nothing before the start is streamed; start from a clean queue

    sent = [connection.send_message("hello"), agent.send_message("hi, how can I help?")]
    connection.send_typing()
    connection.send_message("order 1")
    connection.disconnect()  # the customer leaves: participant.left, then chat.ended

    events = list(streaming.parse({"Messages": drain(sqs, queue)}))
    chat = get_chat_backend().get_chat(contact_id)
    stored_since = [item for item in chat.items if item["AbsoluteTime"] >= sent[0].raw["AbsoluteTime"]]
    streamed_ids = [e.item.id for e in events]
    # Every stored item since the start arrives (SNS standard topics do not promise order).
    assert {item["Id"] for item in stored_since} <= set(streamed_ids)
    assert len(streamed_ids) == len(set(streamed_ids))
    content_types = {e.item.content_type for e in events}
    assert "application/vnd.amazonaws.connect.event.typing" in content_types
    assert "application/vnd.amazonaws.connect.event.chat.ended" in content_types
    by_id = {e.item.id: e for e in events}
    hello = by_id[sent[0].id]
    assert hello.item.content == "hello" and hello.item.type == "MESSAGE"
    assert hello.participant_role == "CUSTOMER" and hello.item.participant_role == "CUSTOMER"
    assert by_id[sent[1].id].participant_role == "AGENT"
    for event in events:
        assert event.contact_id == contact_id
        assert event.initial_contact_id == contact_id
        assert event.instance_id == INSTANCE_ID
        assert event.account_id == get_chat_backend().account_id
        assert event.visibility == "ALL"
        assert event.item.contact_id == contact_id
    # The attributes on the wire are exactly the guide's eight.
    message = drain_one(sqs, queue, connect_client, contact_id, topic, raw)
    assert set(message) == set(streaming.ATTRIBUTES)


def drain_one(sqs, queue, connect_client, contact_id, topic, raw):
    """One more item (a fresh chat's first message) as it sits in the queue: its attribute names."""
    import json

    contact = connect_client.start_chat_contact(
        InstanceId=INSTANCE_ID, ContactFlowId="flow-1", ParticipantDetails={"DisplayName": "Cy"}
    )
    streaming.start(connect_client, INSTANCE_ID, contact["ContactId"], topic)
    # the customer joined at start_chat_contact, before streaming started: send something new
    ChatService(region_name=REGION).Participant(contact["ParticipantToken"]).create_connection().send_message("hi")
    [message, *_] = drain(sqs, queue)
    if raw:
        return message["MessageAttributes"]
    return json.loads(message["Body"])["MessageAttributes"]


def test_stop_ends_publishing_and_start_is_idempotent(aws, connect_client, chat_contact, connection):
    sns, sqs = aws
    topic, queue = make_pipeline(sns, sqs)
    contact_id = chat_contact["ContactId"]
    first = streaming.start(connect_client, INSTANCE_ID, contact_id, topic, client_token="once")
    assert streaming.start(connect_client, INSTANCE_ID, contact_id, topic, client_token="once") == first
    connection.send_message("one")
    assert len(drain(sqs, queue)) == 1
    streaming.stop(connect_client, INSTANCE_ID, contact_id, first)
    connection.send_message("two")
    assert drain(sqs, queue) == []
    with pytest.raises(ServiceError) as info:
        streaming.stop(connect_client, INSTANCE_ID, contact_id, first)
    assert info.value.code == "ResourceNotFoundException"


def test_refusals_use_the_connect_api_errors(aws, connect_client, chat_contact):
    sns, _ = aws
    contact_id = chat_contact["ContactId"]
    fifo = sns.create_topic(Name="chats.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    codes = {}

    def code_of(**params):
        base = {
            "InstanceId": INSTANCE_ID,
            "ContactId": contact_id,
            "ChatStreamingConfiguration": {"StreamingEndpointArn": fifo},
            "ClientToken": params.pop("ClientToken", None) or str(len(codes)),
        }
        base.update(params)
        with pytest.raises(ClientError) as info:
            connect_client.start_contact_streaming(**base)
        return info.value.response["Error"]["Code"]

    codes["fifo"] = code_of()
    codes["unknown topic"] = code_of(
        ChatStreamingConfiguration={"StreamingEndpointArn": f"arn:aws:sns:{REGION}:123456789012:nope"}
    )
    codes["not sns"] = code_of(ChatStreamingConfiguration={"StreamingEndpointArn": "arn:aws:sqs:us-east-1:1:q"})
    other_region = boto3.client("sns", region_name="eu-west-1").create_topic(Name="far")["TopicArn"]
    codes["other region"] = code_of(ChatStreamingConfiguration={"StreamingEndpointArn": other_region})
    codes["unknown contact"] = code_of(ContactId="no-such-contact")
    codes["other instance"] = code_of(InstanceId="another-instance")
    assert codes == {
        "fifo": "InvalidRequestException",
        "unknown topic": "ResourceNotFoundException",
        "not sns": "InvalidParameterException",
        "other region": "InvalidParameterException",
        "unknown contact": "ResourceNotFoundException",
        "other instance": "ResourceNotFoundException",
    }
    # The library refuses a FIFO topic itself, before any call.
    with pytest.raises(InvalidArgumentError, match="FIFO"):
        streaming.start(connect_client, INSTANCE_ID, contact_id, fifo)


def test_at_most_two_topics_per_contact_and_not_after_the_end(aws, connect_client, chat_contact, connection):
    sns, _ = aws
    contact_id = chat_contact["ContactId"]
    topics = [sns.create_topic(Name=f"t{n}")["TopicArn"] for n in range(3)]
    streaming.start(connect_client, INSTANCE_ID, contact_id, topics[0])
    streaming.start(connect_client, INSTANCE_ID, contact_id, topics[1])
    with pytest.raises(ServiceError) as info:
        streaming.start(connect_client, INSTANCE_ID, contact_id, topics[2])
    assert info.value.code == "LimitExceededException"
    connection.disconnect()
    with pytest.raises(ServiceError) as info:
        streaming.start(connect_client, INSTANCE_ID, contact_id, topics[2])
    assert info.value.code == "InvalidRequestException"


def test_start_chat_contact_streams_from_the_start_with_chat_streaming_configuration(aws, connect_client, mock_chat):
    """StartChatContact ChatStreamingConfiguration (botocore connect model): "Use it to initiate
    real-time message streaming when the chat is created ... Setting this parameter returns a
    StreamingId in the response, and you do not need to call StartContactStreaming"."""
    sns, sqs = aws
    topic, queue = make_pipeline(sns, sqs)
    contact = connect_client.start_chat_contact(
        InstanceId=INSTANCE_ID,
        ContactFlowId="flow-1",
        ParticipantDetails={"DisplayName": "Ann"},
        InitialMessage={"ContentType": "text/plain", "Content": "first words"},
        ChatStreamingConfiguration={"StreamingEndpointArn": topic},
    )
    assert contact["StreamingId"]
    assert "ConnectionCredentials" not in contact and "Websocket" not in contact  # streaming only
    conn = ChatService(region_name=REGION).Participant(contact["ParticipantToken"]).create_connection()
    conn.send_message("second")
    events = list(streaming.parse({"Messages": drain(sqs, queue)}))
    assert {e.item.content for e in events if e.item.type == "MESSAGE"} == {"first words", "second"}
    # the stream it started is an ordinary one: StopContactStreaming ends it
    streaming.stop(connect_client, INSTANCE_ID, contact["ContactId"], contact["StreamingId"])
    conn.send_message("third")
    assert drain(sqs, queue) == []


def test_start_chat_contact_refuses_a_topic_as_start_contact_streaming_does(aws, connect_client, mock_chat):
    """The chat's stream has the same refusals as StartContactStreaming's (admin guide, "Enable
    real-time chat message streaming": standard topics only, in the instance's Region), and
    nothing is created when the topic is refused."""
    sns, _ = aws
    fifo = sns.create_topic(Name="start.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    codes = {}
    for name, arn in {
        "fifo": fifo,
        "unknown": f"arn:aws:sns:{REGION}:123456789012:nope",
        "not sns": "arn:aws:sqs:us-east-1:1:q",
    }.items():
        with pytest.raises(ClientError) as info:
            connect_client.start_chat_contact(
                InstanceId=INSTANCE_ID,
                ContactFlowId="flow-1",
                ParticipantDetails={"DisplayName": "Ann"},
                ChatStreamingConfiguration={"StreamingEndpointArn": arn},
            )
        codes[name] = info.value.response["Error"]["Code"]
    assert codes == {
        "fifo": "InvalidRequestException",
        "unknown": "ResourceNotFoundException",
        "not sns": "InvalidParameterException",
    }
    assert mock_chat.chats == {}


def test_only_the_types_the_payload_page_lists_are_published(aws, connect_client, chat_contact, connection, agent, mock_chat):
    """Admin guide, "Amazon SNS payload used in message streaming": ``Type`` "Possible values:
    EVENT, MESSAGE" and a list of ContentTypes (typing, participant.joined/left,
    transfer.succeeded/failed, the messages', chat.ended). Receipts (MESSAGEMETADATA), attachments
    (ATTACHMENT) and other events are not in it, so they are not published."""
    sns, sqs = aws
    topic, queue = make_pipeline(sns, sqs)
    contact_id = chat_contact["ContactId"]
    streaming.start(connect_client, INSTANCE_ID, contact_id, topic)
    question = connection.send_message("question")
    agent.send_read_receipt(question.id)
    connection.upload_attachment(b"abc", name="a.txt", content_type="text/plain")
    mock_chat.emit_event(contact_id, "participant.idle")
    mock_chat.emit_event(contact_id, "authentication.initiated", '{"SessionId": "s"}')
    connection.send_typing()
    events = list(streaming.parse({"Messages": drain(sqs, queue)}))
    assert {e.item.type for e in events} == {"MESSAGE", "EVENT"}
    assert {e.item.content_type for e in events} == {"text/plain", "application/vnd.amazonaws.connect.event.typing"}
    kinds = {(i["Type"], i.get("ContentType")) for i in mock_chat.get_chat(contact_id).items}
    assert ("ATTACHMENT", None) in kinds  # it happened; it was not streamed


def test_visibility_filtering_through_the_pipeline(aws, connect_client, chat_contact, connection, agent, mock_chat):
    """Agent-only items (modelled by the backend switch) reach agent-side code, never the customer's."""
    sns, sqs = aws
    topic, queue = make_pipeline(sns, sqs)
    streaming_state(mock_chat).visibility = lambda item: "AGENT" if item.get("Content") == "note" else "ALL"
    streaming.start(connect_client, INSTANCE_ID, chat_contact["ContactId"], topic)
    from_customer = connection.send_message("question")
    from_agent = agent.send_message("answer")
    note = agent.send_message("note")
    messages = drain(sqs, queue)

    def ids(audience):
        return {e.item.id for e in streaming.parse({"Messages": messages}, audience=audience) if e.item.is_message}

    assert ids("CUSTOMER") == {from_agent.id}
    assert ids("AGENT") == {from_customer.id}
    assert note.id not in ids("CUSTOMER") | ids("AGENT")  # the agent's own note: not for the agent's side either
    assert {e.visibility for e in streaming.parse({"Messages": messages}) if e.item.id == note.id} == {"AGENT"}


# -- workers -----------------------------------------------------------------------------------------------


def bot_messages(contact_id):
    chat = get_chat_backend().get_chat(contact_id)
    return [i for i in chat.items if i["Type"] == "MESSAGE" and i["ParticipantRole"] == "CUSTOM_BOT"]


def bot_participants(contact_id):
    chat = get_chat_backend().get_chat(contact_id)
    return [p for p in chat.participants.values() if p.role == "CUSTOM_BOT"]


def answer(bots, connect_client, event):
    conn = bots.connection(connect_client, event.instance_id, event.contact_id)
    return conn.send_message(f"you said: {event.item.content}", client_token=event.reply_token)


def test_a_worker_that_dies_before_deleting_is_answered_once(aws, connect_client, chat_contact, connection):
    sns, sqs = aws
    topic, queue = make_pipeline(sns, sqs)
    contact_id = chat_contact["ContactId"]
    streaming.start(connect_client, INSTANCE_ID, contact_id, topic)
    store = InMemoryTokenStore()
    chat = ChatService(region_name=REGION)
    first_worker, second_worker = BotParticipants(chat, store=store), BotParticipants(chat, store=store)
    connection.send_message("refund please")

    def customer_messages(worker_messages):
        return [
            e
            for e in streaming.parse({"Messages": worker_messages}, audience="AGENT")
            if e.item.is_message and e.participant_role == "CUSTOMER"
        ]

    # Worker 1 answers and dies before delete_message: the message comes back after its timeout.
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    [event] = customer_messages(received)
    first = answer(first_worker, connect_client, event)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=event.receipt_handle, VisibilityTimeout=0)

    # Worker 2 gets the redelivery (the bot's own message is in the queue too, and skipped).
    redelivered = drain(sqs, queue, delete=False)
    [again] = customer_messages(redelivered)
    assert again.item.id == event.item.id and again.reply_token == event.reply_token
    second = answer(second_worker, connect_client, again)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=again.receipt_handle)

    assert second.id == first.id
    assert [m["Content"] for m in bot_messages(contact_id)] == ["you said: refund please"]
    assert len(bot_participants(contact_id)) == 1


@pytest.fixture
def dynamodb_store(mock_chat):
    resource = boto3.resource("dynamodb", region_name=REGION)
    return DynamoDBTokenStore.create_table(resource, "bot-tokens")


@pytest.mark.parametrize("store_kind", ["memory", "dynamodb"])
def test_two_workers_racing_to_join_create_one_bot(connect_client, chat_contact, store_kind, request):
    store = InMemoryTokenStore() if store_kind == "memory" else request.getfixturevalue("dynamodb_store")
    chat = ChatService(region_name=REGION)
    workers = [BotParticipants(chat, store=store) for _ in range(4)]
    contact_id = chat_contact["ContactId"]
    barrier = threading.Barrier(len(workers))
    connections, errors = [], []

    def join(worker):
        try:
            barrier.wait(timeout=10)
            connections.append(worker.connection(connect_client, INSTANCE_ID, contact_id))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=join, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert len(connections) == len(workers)
    assert len(bot_participants(contact_id)) == 1
    assert len({c.participant.token for c in connections}) == 1
    joined = [
        i
        for i in get_chat_backend().get_chat(contact_id).items
        if i["ContentType"].endswith("participant.joined") and i["ParticipantRole"] == "CUSTOM_BOT"
    ]
    assert len(joined) == 1
    for conn in connections:
        conn.send_message("ready")


def test_dynamodb_store_conditional_writes(dynamodb_store):
    from datetime import datetime, timedelta, timezone

    from connectparticipant_ext.streaming import BotRecord

    now = datetime.now(timezone.utc)
    later = now + timedelta(hours=1)
    assert dynamodb_store.claim("c", "a", now + timedelta(seconds=30), later)
    assert not dynamodb_store.claim("c", "b", now + timedelta(seconds=30), later)
    record = BotRecord(
        contact_id="c", expires_at=later, participant_id="p", participant_token="PT", connection_token="CT", owner="a"
    )
    assert not dynamodb_store.save(record, "b")
    assert dynamodb_store.save(record, "a")
    assert not dynamodb_store.save(record, "a")  # a complete record is never overwritten
    assert not dynamodb_store.claim("c", "b", now + timedelta(seconds=30), later)
    stored = dynamodb_store.get("c")
    assert (stored.participant_token, stored.connection_token, stored.participant_id) == ("PT", "CT", "p")
    assert int(stored.expires_at.timestamp()) == int(later.timestamp())
    dynamodb_store.update_connection("c", "CT2", later)
    assert dynamodb_store.get("c").connection_token == "CT2"
    # A claim whose worker died is taken over once its time is up.
    assert dynamodb_store.claim("d", "dead", now - timedelta(seconds=5), later)
    assert dynamodb_store.claim("d", "alive", now + timedelta(seconds=30), later)
    # TTL is on, on the record's expiry attribute.
    ttl = dynamodb_store.table.meta.client.describe_time_to_live(TableName="bot-tokens")
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    dynamodb_store.delete("c")
    assert dynamodb_store.get("c") is None
    assert "PT" not in repr(dynamodb_store) and "CT" not in repr(stored)


def test_a_worker_takes_over_when_the_joining_worker_died(connect_client, chat_contact, dynamodb_store):
    from datetime import datetime, timedelta, timezone

    contact_id = chat_contact["ContactId"]
    now = datetime.now(timezone.utc)
    assert dynamodb_store.claim(contact_id, "crashed-worker", now - timedelta(seconds=1), now + timedelta(hours=1))
    bots = BotParticipants(ChatService(region_name=REGION), store=dynamodb_store, wait_seconds=5)
    conn = bots.connection(connect_client, INSTANCE_ID, contact_id)
    conn.send_message("took over")
    assert len(bot_participants(contact_id)) == 1
    assert dynamodb_store.get(contact_id).complete


def test_a_live_claim_that_never_completes_times_out(connect_client, chat_contact):
    from datetime import datetime, timedelta, timezone

    store = InMemoryTokenStore()
    now = datetime.now(timezone.utc)
    contact_id = chat_contact["ContactId"]
    store.claim(contact_id, "slow-worker", now + timedelta(minutes=5), now + timedelta(hours=1))
    bots = BotParticipants(ChatService(region_name=REGION), store=store, wait_seconds=0.2)
    with pytest.raises(TimeoutError, match="did not finish"):
        bots.connection(connect_client, INSTANCE_ID, contact_id)
    assert bot_participants(contact_id) == []


def test_renewal_works_from_any_worker(connect_client, chat_contact, dynamodb_store, mock_chat):
    contact_id = chat_contact["ContactId"]
    chat = ChatService(region_name=REGION)
    first = BotParticipants(chat, store=dynamodb_store)
    conn = first.connection(connect_client, INSTANCE_ID, contact_id)
    old_token = conn.token
    mock_chat.revoke_connection_token(old_token)  # the stored token stops working

    second = BotParticipants(chat, store=dynamodb_store)  # another process, nothing cached
    restored = second.connection(connect_client, INSTANCE_ID, contact_id)
    assert restored.participant is not None
    restored.send_message("still here")  # AccessDenied -> renews with the stored participant -> retried
    assert restored.renewals == 1 and restored.token != old_token
    assert second.connection(connect_client, INSTANCE_ID, contact_id) is restored  # shares the new token
    assert dynamodb_store.get(contact_id).connection_token == restored.token

    third = BotParticipants(chat, store=dynamodb_store)
    fresh = third.connection(connect_client, INSTANCE_ID, contact_id)
    fresh.send_message("and here")
    assert fresh.renewals == 0
    assert [m["Content"] for m in bot_messages(contact_id)] == ["still here", "and here"]


def test_server_mode_streams_to_the_servers_sns(local_server):
    """``serve``: the Connect streaming calls and SNS/SQS all on the local server."""
    endpoint = local_server.endpoint_url
    make = lambda name: boto3.client(name, region_name=REGION, endpoint_url=endpoint)  # noqa: E731
    connect, sns, sqs = make("connect"), make("sns"), make("sqs")
    topic, queue = make_pipeline(sns, sqs, name="served")
    contact = connect.start_chat_contact(
        InstanceId=INSTANCE_ID, ContactFlowId="flow-1", ParticipantDetails={"DisplayName": "Ann"}
    )
    streaming.start(connect, INSTANCE_ID, contact["ContactId"], topic)
    chat = ChatService(region_name=REGION, endpoint_url=endpoint)
    conn = chat.Participant(contact["ParticipantToken"]).create_connection(websocket=False)
    sent = conn.send_message("over the server")
    events = list(streaming.parse({"Messages": drain(sqs, queue)}))
    assert sent.id in {e.item.id for e in events}
    fifo = sns.create_topic(Name="served.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    with pytest.raises(ClientError) as info:
        connect.start_contact_streaming(
            InstanceId=INSTANCE_ID,
            ContactId=contact["ContactId"],
            ChatStreamingConfiguration={"StreamingEndpointArn": fifo},
            ClientToken="t",
        )
    assert info.value.response["Error"]["Code"] == "InvalidRequestException"


def test_a_worker_keeps_a_bounded_cache_and_restores_the_rest(connect_client, mock_chat):
    store = InMemoryTokenStore()
    bots = BotParticipants(ChatService(region_name=REGION), store=store, cache_size=2)
    contacts = [
        connect_client.start_chat_contact(
            InstanceId=INSTANCE_ID, ContactFlowId="flow-1", ParticipantDetails={"DisplayName": f"C{n}"}
        )["ContactId"]
        for n in range(3)
    ]
    first = [bots.connection(connect_client, INSTANCE_ID, c) for c in contacts]
    assert len(bots._connections) == 2
    again = bots.connection(connect_client, INSTANCE_ID, contacts[0])  # evicted: restored, not re-joined
    assert again is not first[0] and again.token == first[0].token
    assert all(len(bot_participants(c)) == 1 for c in contacts)
    with pytest.raises(InvalidArgumentError, match="cache_size"):
        BotParticipants(ChatService(region_name=REGION), cache_size=0)


def test_dynamodb_store_reads_key_and_ttl_from_a_table_you_made(connect_client, chat_contact, mock_chat):
    resource = boto3.resource("dynamodb", region_name=REGION)
    table = resource.create_table(
        TableName="my-bots",
        KeySchema=[{"AttributeName": "ContactId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ContactId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    resource.meta.client.update_time_to_live(
        TableName="my-bots", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    store = DynamoDBTokenStore(table)
    bots = BotParticipants(ChatService(region_name=REGION), store=store)
    bots.connection(connect_client, INSTANCE_ID, chat_contact["ContactId"]).send_message("hi")
    item = table.get_item(Key={"ContactId": chat_contact["ContactId"]})["Item"]
    assert item["ttl"] > 0 and item["participant_token"]
    assert (store.key, store.ttl_attribute) == ("ContactId", "ttl")

    sorted_table = resource.create_table(
        TableName="two-keys",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(InvalidArgumentError, match="pass key="):
        DynamoDBTokenStore(sorted_table).get("c")
