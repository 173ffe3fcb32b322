"""Bots at fleet scale: chats streamed through SNS -> SQS to 1, 2 and 4 worker processes.

The local server (in a child process) holds the chats, moto's SNS, SQS and DynamoDB. Every
chat streams to one standard topic with one SQS queue subscribed; worker processes poll the
queue, join each chat as a CUSTOM_BOT once (tokens in DynamoDB) and answer every customer
message with the item's reply token. One message in 200 is "lost" by its worker (not
deleted), so SQS delivers it again after the visibility timeout and another answer is sent
with the same token: the transcript must still hold exactly one answer per message. Each
answer takes :data:`THINK_SECONDS` of the bot's own work.

Figures per worker count: throughput (answers per second, from the first customer message to
the last answer), latency from the customer's message (its AbsoluteTime) to the answer being
sent, median and p99 (each customer sends its next message when the bot has answered the
previous one, as in a conversation), and the number of missing and duplicate answers in the transcripts
(both must be 0). Full size: 100 chats x 100 messages; ``--quick``: 20 chats x 10.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import queue as queue_module
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._common import REGION, Result, local_server, log, median

INSTANCE_ID = "bench-instance"
WORKER_COUNTS = (1, 2, 4)
VISIBILITY_TIMEOUT = 10
LOSE_ONE_IN = 200
FILTER_POLICY = '{"ParticipantRole": ["CUSTOMER"], "Type": ["MESSAGE"]}'
SENDER_THREADS = 4
THINK_SECONDS = 0.2
"""What the bot spends on each answer in the second series (an NLU or LLM call stand-in).

In the first series (no think time) one moto server process, holding SNS, SQS, DynamoDB and
the chats, is the bottleneck, and more workers only add load to it; the second shows how the
work of the bots themselves spreads over workers.
"""


def _client(name: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(name, region_name=REGION, endpoint_url=endpoint)


def _lost(item_id: str) -> bool:
    return int(hashlib.sha256(item_id.encode()).hexdigest()[:8], 16) % LOSE_ONE_IN == 0


def worker(endpoint: str, queue_url: str, table: str, reports: Any, stop: Any, think: float) -> None:
    """One worker process: poll the queue, answer customer messages once, report each answer."""
    import boto3

    from connectparticipant_ext import ChatService, streaming

    sqs = _client("sqs", endpoint)
    connect = _client("connect", endpoint)
    dynamodb = boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint)
    bots = streaming.BotParticipants(
        ChatService(region_name=REGION, endpoint_url=endpoint),
        store=streaming.DynamoDBTokenStore(dynamodb.Table(table)),
    )
    reports.put(None)  # ready
    while not stop.is_set():
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        receives = {m["ReceiptHandle"]: int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages}
        done = []
        for event in streaming.parse({"Messages": messages}):
            first_delivery = receives[event.receipt_handle or ""] == 1
            if event.item.is_message and event.participant_role == "CUSTOMER":
                conn = bots.connection(connect, event.instance_id or INSTANCE_ID, event.contact_id)
                time.sleep(think)
                conn.send_message(f"answer to {event.item.content}", client_token=event.reply_token)
                sent_at = time.time()
                assert event.item.absolute_time is not None
                latency = sent_at - event.item.absolute_time.timestamp()
                reports.put((event.contact_id, event.item.id, latency, sent_at))
                if first_delivery and _lost(event.item.id):
                    continue  # this worker "dies" before deleting: SQS will deliver it again
            done.append({"Id": str(len(done)), "ReceiptHandle": event.receipt_handle})
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)


def _rss_mb() -> float:
    """This process's resident memory now (Linux; ``ru_maxrss`` survives exec, so not that)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _hold_websockets(endpoint: str, tokens: list[str], seconds: float, out: Any) -> None:
    """One process following ``len(tokens)`` chats live, one websocket stream each, idle."""
    from connectparticipant_ext import ChatService

    chat = ChatService(region_name=REGION, endpoint_url=endpoint)
    streams = []
    for token in tokens:
        stream = chat.Participant(token).create_connection().stream()
        threading.Thread(target=lambda s=stream: [None for _ in s], daemon=True).start()
        streams.append(stream)
    time.sleep(2)  # every socket open and subscribed
    cpu = time.process_time()
    time.sleep(seconds)
    cpu = time.process_time() - cpu
    out.put((cpu / seconds, _rss_mb()))
    for stream in streams:
        stream.close()


def _idle_worker(endpoint: str, queue_url: str, seconds: float, out: Any) -> None:
    """One SQS worker, long-polling an empty queue, idle (it holds nothing per chat)."""
    from connectparticipant_ext import streaming  # noqa: F401 - what a worker imports

    sqs = _client("sqs", endpoint)
    sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    cpu, ends = time.process_time(), time.monotonic() + seconds
    while time.monotonic() < ends:
        sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    cpu = time.process_time() - cpu
    out.put((cpu / seconds, _rss_mb()))


def _idle_cost(endpoint: str, chats: int, seconds: float) -> list[Result]:
    """CPU and memory of a process holding N idle websockets vs one idle SQS worker."""
    connect, sqs = _client("connect", endpoint), _client("sqs", endpoint)
    tokens = [
        connect.start_chat_contact(
            InstanceId=INSTANCE_ID, ContactFlowId="flow", ParticipantDetails={"DisplayName": f"Idle {n}"}
        )["ParticipantToken"]
        for n in range(chats)
    ]
    queue_url = sqs.create_queue(QueueName=f"idle-{time.monotonic_ns()}")["QueueUrl"]
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    figures = {}
    for name, target, args in (
        ("websockets", _hold_websockets, (endpoint, tokens, seconds, out)),
        ("sqs worker", _idle_worker, (endpoint, queue_url, seconds, out)),
    ):
        process = context.Process(target=target, args=args, daemon=True)
        process.start()
        figures[name] = out.get(timeout=seconds + 120)
        process.join(timeout=15)
        if process.is_alive():
            process.terminate()
    log(f"streaming idle cost, {chats} chats: {figures}")
    (ws_cpu, ws_rss), (sqs_cpu, sqs_rss) = figures["websockets"], figures["sqs worker"]
    return [
        Result(
            f"idle CPU, {chats} chats: one SQS worker vs {chats} websockets in one process",
            sqs_cpu * 100,
            ws_cpu * 100,
            sqs_cpu / ws_cpu if ws_cpu else None,
            None,
            "% of a core",
            f"process CPU time over {seconds:g} s with nothing to do",
        ),
        Result(
            f"RSS, {chats} chats: one SQS worker vs {chats} websockets in one process",
            sqs_rss,
            ws_rss,
            sqs_rss / ws_rss if ws_rss else None,
            None,
            "MB",
            "resident memory of the process (VmRSS)",
        ),
    ]


def _setup(endpoint: str, chats: int) -> dict[str, Any]:
    import boto3

    from connectparticipant_ext import ChatService, streaming

    sns, sqs, connect = _client("sns", endpoint), _client("sqs", endpoint), _client("connect", endpoint)
    suffix = str(time.monotonic_ns())
    topic = sns.create_topic(Name=f"chats-{suffix}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"bots-{suffix}", Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # Only what the bot answers reaches its queue: SNS filters on the streamed message attributes.
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": FILTER_POLICY},
    )
    table = f"bot-tokens-{suffix}"
    streaming.DynamoDBTokenStore.create_table(
        boto3.resource("dynamodb", region_name=REGION, endpoint_url=endpoint), table
    )
    service = ChatService(region_name=REGION, endpoint_url=endpoint)
    customers = []
    for n in range(chats):
        contact = connect.start_chat_contact(
            InstanceId=INSTANCE_ID, ContactFlowId="flow", ParticipantDetails={"DisplayName": f"Customer {n}"}
        )
        streaming.start(connect, INSTANCE_ID, contact["ContactId"], topic)
        conn = service.Participant(contact["ParticipantToken"]).create_connection(websocket=False)
        customers.append((contact["ContactId"], conn))
    return {"queue_url": queue_url, "table": table, "customers": customers}


def _count_answers(customers: list[Any], messages: int) -> tuple[int, int]:
    """Missing and duplicate bot answers, read back from every chat's transcript."""
    missing = duplicates = 0
    for conn in customers:
        answers = [
            item.content
            for item in conn.transcript.page_size(100)
            if item.is_message and item.participant_role == "CUSTOM_BOT"
        ]
        missing += messages - len(set(answers))
        duplicates += len(answers) - len(set(answers))
    return missing, duplicates


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _run_once(endpoint: str, workers: int, chats: int, messages: int, think: float) -> dict[str, float]:
    env = _setup(endpoint, chats)
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    stop = context.Event()
    processes = [
        context.Process(
            target=worker, args=(endpoint, env["queue_url"], env["table"], reports, stop, think), daemon=True
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:  # each worker says it is ready before the clock starts
        if reports.get(timeout=120) is not None:
            raise RuntimeError("a worker reported before it was ready")
    expected = chats * messages
    answered: dict[str, float] = {}
    calls = 0
    latest = 0.0
    customers = dict(env["customers"])
    next_question = dict.fromkeys(customers, 1)

    # Customers converse: each sends its next message once the bot has answered the last one,
    # so the queue holds at most one message per chat (moto's SQS slows down with its depth).
    started = time.time()
    with ThreadPoolExecutor(SENDER_THREADS) as pool:
        sending = [pool.submit(conn.send_message, "question 0") for conn in customers.values()]
        deadline = time.monotonic() + max(120.0, expected * 0.2)
        while len(answered) < expected and time.monotonic() < deadline:
            try:
                contact_id, item_id, latency, sent_at = reports.get(timeout=1)
            except queue_module.Empty:
                continue
            calls += 1
            latest = max(latest, sent_at)
            if item_id in answered:
                continue  # a redelivery, answered again with the same token
            answered[item_id] = latency
            n = next_question[contact_id]
            if n < messages:
                next_question[contact_id] = n + 1
                sending.append(pool.submit(customers[contact_id].send_message, f"question {n}"))
        for future in sending:
            future.result()
    stop.set()
    for process in processes:
        process.join(timeout=15)
        if process.is_alive():
            process.terminate()
    with contextlib.suppress(queue_module.Empty):
        while True:  # answers reported after the last one we needed (redeliveries)
            reports.get_nowait()
            calls += 1
    missing, duplicates = _count_answers(list(customers.values()), messages)
    latencies = list(answered.values())
    return {
        "throughput": len(answered) / max(latest - started, 1e-9),
        "median": median(latencies) if latencies else float("nan"),
        "p99": _percentile(latencies, 0.99) if latencies else float("nan"),
        "missing": float(missing),
        "duplicates": float(duplicates),
        "answer_calls": float(calls),
    }


def _results(label: str, figures: dict[int, dict[str, float]], chats: int, messages: int, think: float) -> list[Result]:
    base = figures[WORKER_COUNTS[0]]["throughput"]
    note = f"{chats} chats x {messages} messages, {think:g} s of bot work per answer"
    results = []
    for workers, f in figures.items():
        results.append(
            Result(
                f"streaming {label}: throughput, {workers} worker(s)",
                f["throughput"],
                unit="answers/s",
                note=note,
                extra={"figure": "throughput", "series": f"{label} ({note})", "workers": workers},
            )
        )
        if workers != WORKER_COUNTS[0]:
            results.append(
                Result(
                    f"streaming {label}: time per answer, {workers} vs {WORKER_COUNTS[0]} worker(s)",
                    1 / f["throughput"],
                    1 / base,
                    base / f["throughput"],
                    1.0,
                    "s",
                    "lower is better; below 1 means more workers answer faster",
                )
            )
        results.append(Result(f"streaming {label}: latency median, {workers} worker(s)", f["median"], unit="s"))
        results.append(Result(f"streaming {label}: latency p99, {workers} worker(s)", f["p99"], unit="s"))
        results.append(
            Result(
                f"streaming {label}: missing + duplicate answers, {workers} worker(s)",
                f["missing"] + f["duplicates"],
                target=0,
                unit="answers",
                note=f"{f['answer_calls']:.0f} SendMessage calls for {chats * messages} messages (redeliveries)",
            )
        )
    return results


def run(quick: bool = False) -> list[Result]:
    """Throughput, latency and exactly-once answers with 1, 2 and 4 worker processes.

    Two series: "plumbing" (no bot work: the pipeline's own cost, bound by the one server
    process) at 100 chats x 100 messages (20 x 10 with ``quick``), and "bot work"
    (:data:`THINK_SECONDS` per answer) at 50 chats x 10 messages (10 x 5 with ``quick``).
    Then the idle cost: one process following 200 chats (20) over websockets against one SQS
    worker, which holds nothing per chat.
    """
    series = [
        ("plumbing", (20, 10) if quick else (100, 100), 0.0),
        ("bot work", (10, 5) if quick else (50, 10), THINK_SECONDS),
    ]
    results: list[Result] = []
    with local_server() as server:
        endpoint = server.url
        for label, (chats, messages), think in series:
            figures: dict[int, dict[str, float]] = {}
            for workers in WORKER_COUNTS:
                log(f"streaming {label}: {chats} chats x {messages} messages, {workers} worker process(es)")
                figures[workers] = _run_once(endpoint, workers, chats, messages, think)
                log(f"streaming {label}: {workers} worker(s): {figures[workers]}")
            results.extend(_results(label, figures, chats, messages, think))
        results.extend(_idle_cost(endpoint, 20 if quick else 200, 5.0 if quick else 20.0))
    return results


if __name__ == "__main__":  # pragma: no cover
    threading.current_thread().name = "bench"
    for result in run(quick="--quick" in sys.argv):
        print(result)
