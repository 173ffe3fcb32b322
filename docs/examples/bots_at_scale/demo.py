"""Everything offline: the local server, a topic, a queue, a table, chats, a worker pool, a Lambda.

    python demo.py [--chats 3] [--messages 3] [--workers 2]

1. Starts the package's local server (Amazon Connect chat, SNS, SQS and DynamoDB in one).
2. Creates a standard SNS topic, an SQS queue subscribed to it with the bot's filter policy,
   and the DynamoDB table of bot tokens.
3. Starts chats and streams each to the topic (``streaming.start``).
4. Runs the worker pool; customers send messages; prints each chat as the customer sees it.
5. Hands the Lambda handler an SQS-triggered event for one more message, twice (a retry):
   one answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
    os.environ.setdefault(name, value)  # the local server checks no credentials; boto3 wants some

import boto3  # noqa: E402

from connectparticipant_ext import ChatService, streaming  # noqa: E402
from connectparticipant_ext.testing.server import LocalServer  # noqa: E402

INSTANCE_ID = "demo-instance"


def set_up(endpoint: str, table: str) -> tuple[str, str]:
    """A standard topic, the bot's queue subscribed with its filter policy, the token table."""
    import bot

    sns = boto3.client("sns", region_name=bot.REGION, endpoint_url=endpoint)
    sqs = boto3.client("sqs", region_name=bot.REGION, endpoint_url=endpoint)
    topic = sns.create_topic(Name="chat-stream")["TopicArn"]
    queue = sqs.create_queue(QueueName="bot-inbox", Attributes={"VisibilityTimeout": "10"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": bot.FILTER_POLICY},
    )
    dynamodb = boto3.resource("dynamodb", region_name=bot.REGION, endpoint_url=endpoint)
    streaming.DynamoDBTokenStore.create_table(dynamodb, table)
    return topic, queue


def wait_for_answers(conns: list, expected: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = sum(
            1 for conn in conns for item in conn.transcript if item.is_message and item.participant_role == "CUSTOM_BOT"
        )
        if answers >= expected:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the bots did not answer {expected} messages within {timeout:g} s")


def lambda_event(sqs: object, queue: str) -> dict:
    """What Lambda's SQS trigger would hand the function for the messages now in the queue."""
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])  # type: ignore[attr-defined]
    records = []
    for message in messages.get("Messages", []):
        records.append(
            {
                "eventSource": "aws:sqs",
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "messageAttributes": {
                    name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
                    for name, value in message.get("MessageAttributes", {}).items()
                },
            }
        )
    return {"Records": records}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=3)
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with LocalServer() as server:
        endpoint = server.endpoint_url
        os.environ["CONNECT_ENDPOINT_URL"] = endpoint  # read by bot.py in the workers
        import bot
        import worker_pool

        table = bot.TABLE_NAME
        topic, queue = set_up(endpoint, table)
        connect = boto3.client("connect", region_name=bot.REGION, endpoint_url=endpoint)
        chat = ChatService(region_name=bot.REGION, endpoint_url=endpoint)
        customers = []
        for n in range(args.chats):
            contact = connect.start_chat_contact(
                InstanceId=INSTANCE_ID, ContactFlowId="flow", ParticipantDetails={"DisplayName": f"Customer {n}"}
            )
            streaming.start(connect, INSTANCE_ID, contact["ContactId"], topic)
            customers.append(chat.Participant(contact["ParticipantToken"]).create_connection(websocket=False))

        processes, stop = worker_pool.start_pool(queue, args.workers, endpoint, table)
        try:
            for n in range(args.messages):
                for conn in customers:
                    conn.send_message("I want a refund" if n == 0 else f"message {n}")
            wait_for_answers(customers, args.chats * args.messages)
        finally:
            worker_pool.stop_pool(processes, stop)

        for n, conn in enumerate(customers):
            print(f"-- chat {n}")
            for item in conn.transcript.filter(sort="ASCENDING"):
                if item.is_message:
                    print(f"   {item.display_name}: {item.content}")

        # The Lambda handler, given the same SQS-triggered event twice (a retry): one answer.
        import lambda_handler

        sqs = boto3.client("sqs", region_name=bot.REGION, endpoint_url=endpoint)
        customers[0].send_message("one more, via Lambda")
        event = {"Records": []}
        for _ in range(20):
            event = lambda_event(sqs, queue)
            if event["Records"]:
                break
            time.sleep(0.1)
        first = lambda_handler.handler(event)
        retry = lambda_handler.handler(json.loads(json.dumps(event)))
        answers = [i for i in customers[0].transcript if i.is_message and i.participant_role == "CUSTOM_BOT"]
        print(
            f"-- lambda: answered {first['answered']} then {retry['answered']} (a retry); chat 0 has {len(answers)} answers"
        )
        for conn in customers:
            conn.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
