"""The bots-at-scale example (docs/examples/bots_at_scale): the offline demo and the Lambda handler."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from connectparticipant_ext import streaming
from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.plugin import INSTANCE_ID

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "bots_at_scale"


def test_demo_runs_a_worker_pool_and_a_lambda_offline(aws_credentials):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py"), "--chats", "2", "--messages", "2", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert out.count("Helper bot: I can help with refunds") == 2
    assert out.count("Helper bot: You said: message 1") == 2
    assert "chat 0 has 3 answers" in out  # 2 from the pool + 1 from the Lambda, whose retry added none


@pytest.fixture
def lambda_handler(monkeypatch, mock_chat):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.delenv("CONNECT_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("BOT_TOKENS_TABLE", "bot-tokens")
    for name in ("bot", "lambda_handler"):
        sys.modules.pop(name, None)
    import lambda_handler

    streaming.DynamoDBTokenStore.create_table(boto3.resource("dynamodb", region_name="us-east-1"), "bot-tokens")
    yield lambda_handler
    for name in ("bot", "lambda_handler"):
        sys.modules.pop(name, None)


def test_lambda_handler_with_an_sns_trigger_answers_a_retried_event_once(
    lambda_handler, connect_client, chat_contact, connection
):
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="chats")["TopicArn"]
    queue = sqs.create_queue(QueueName="capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    streaming.start(connect_client, INSTANCE_ID, chat_contact["ContactId"], topic)
    connection.send_message("I want a refund")
    # What Lambda's SNS trigger hands the function: the SNS envelopes, as records.
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": body} for body in bodies]}
    assert lambda_handler.handler(event) == {"answered": 1}
    assert lambda_handler.handler(event) == {"answered": 1}  # Lambda retried the invocation
    chat = get_chat_backend().get_chat(chat_contact["ContactId"])
    answers = [i["Content"] for i in chat.items if i["Type"] == "MESSAGE" and i["ParticipantRole"] == "CUSTOM_BOT"]
    assert answers == ["I can help with refunds. What is your order number?"]
