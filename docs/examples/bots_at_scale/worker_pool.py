"""The bot as a pool of worker processes reading one SQS queue.

    python worker_pool.py --queue-url URL [--workers 4] [--endpoint-url http://127.0.0.1:2428]

Each process long-polls the queue, answers what it receives and deletes each message only
after handling it: a process that dies mid-batch leaves its messages to come back after the
queue's visibility timeout, to be answered (once) by another process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
from typing import Any, Optional

import boto3
from bot import REGION, TABLE_NAME, clients, handle

from connectparticipant_ext import streaming


def work(queue_url: str, endpoint_url: Optional[str], table_name: str, stop: Any) -> None:
    """One worker: receive, handle, delete, until ``stop`` is set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us through ``stop``
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint_url)
    made = clients(endpoint_url, table_name)
    while not stop.is_set():
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            handle(streaming.parse(message, audience="AGENT"), made["connect"], made["bots"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def start_pool(
    queue_url: str, workers: int, endpoint_url: Optional[str] = None, table_name: str = TABLE_NAME
) -> tuple[list[Any], Any]:
    """Start ``workers`` processes; returns them and the event that stops them."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    processes = [
        context.Process(target=work, args=(queue_url, endpoint_url, table_name, stop), daemon=True)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    return processes, stop


def stop_pool(processes: list[Any], stop: Any) -> None:
    stop.set()
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--endpoint-url", default=None, help="the local server, e.g. http://127.0.0.1:2428")
    parser.add_argument("--table", default=TABLE_NAME, help="the DynamoDB table of bot tokens")
    args = parser.parse_args()
    processes, stop = start_pool(args.queue_url, args.workers, args.endpoint_url, args.table)
    print(f"{args.workers} workers reading {args.queue_url} (Ctrl+C to stop)")
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        pass
    finally:
        stop_pool(processes, stop)


if __name__ == "__main__":
    main()
