"""Bots at fleet scale: message streaming's payloads, bot participants and the stores of their tokens."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from connectparticipant_ext import ChatService, TranscriptItem, exceptions, streaming

from _helpers import INSTANCE_ID, WAIT, contents


def test_streaming_start_parse_and_bot_participants(mock_chat, connect_client, chat_contact, connection):
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="chats")["TopicArn"]
    queue = sqs.create_queue(QueueName="chats-bots")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    contact_id = chat_contact["ContactId"]
    assert streaming.start(connect_client, INSTANCE_ID, contact_id, topic)
    sent = connection.send_message("to the fleet")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    parsed = [s for m in messages for s in streaming.parse(m)]
    [streamed] = [s for s in parsed if s.item.id == sent.id]
    assert isinstance(streamed, streaming.StreamedItem)
    assert isinstance(streamed.item, TranscriptItem) and streamed.item.content == "to the fleet"
    assert streamed.contact_id == contact_id
    assert streamed.initial_contact_id == contact_id
    assert streamed.instance_id is not None
    assert streamed.participant_role == "CUSTOMER"
    assert streamed.visibility
    assert streamed.message_id
    assert streamed.reply_token == next(streaming.parse(messages[parsed.index(streamed)])).reply_token

    store = streaming.InMemoryTokenStore()
    assert isinstance(store, streaming.TokenStore)
    bots = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=store)
    bot = bots.connection(connect_client, INSTANCE_ID, contact_id)
    bot.send_message("bot reply", client_token=streamed.reply_token)
    again = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=store)
    restored = again.connection(connect_client, INSTANCE_ID, contact_id)
    restored.send_message("bot reply", client_token=streamed.reply_token)  # redelivered: answered once
    bots_in_chat = {i.participant_id for i in connection.transcript if i.participant_role == "CUSTOM_BOT"}
    assert len(bots_in_chat) == 1
    assert contents(connection.transcript).count("bot reply") == 1


def test_dynamodb_token_store(mock_chat, connect_client, chat_contact):
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    store = streaming.DynamoDBTokenStore.create_table(dynamodb, "bot-tokens")
    assert isinstance(store, streaming.DynamoDBTokenStore) and isinstance(store, streaming.TokenStore)
    same = streaming.DynamoDBTokenStore(dynamodb.Table("bot-tokens"))
    first = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=store)
    second = streaming.BotParticipants(ChatService(region_name="us-east-1"), store=same)
    a = first.connection(connect_client, INSTANCE_ID, chat_contact["ContactId"])
    b = second.connection(connect_client, INSTANCE_ID, chat_contact["ContactId"])
    assert a.token == b.token


def test_create_participant_adds_only_custom_bots(connect_client, chat_contact):
    with pytest.raises(ClientError) as error:
        connect_client.create_participant(
            InstanceId=INSTANCE_ID,
            ContactId=chat_contact["ContactId"],
            ParticipantDetails={"ParticipantRole": "AGENT", "DisplayName": "Bob"},
        )
    assert error.value.response["Error"]["Code"] in ("InvalidRequestException", "InvalidParameterException")


def test_a_custom_bot_may_not_read_attachments(connect_client, chat, chat_contact, connection):
    att = connection.upload_attachment(b"secret", name="s.txt", content_type="text/plain")
    att.wait_until_approved(timeout=WAIT, delay=0.01)
    bot = connect_client.create_participant(
        InstanceId=INSTANCE_ID,
        ContactId=chat_contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"},
    )
    bot_conn = chat.Participant(bot["ParticipantCredentials"]["ParticipantToken"]).create_connection()
    with pytest.raises(exceptions.AccessDeniedError):
        bot_conn.Attachment(att.id).url()
