"""What the library keeps in memory: its boto3 clients and its open connections.

* ``ChatService`` in a process that already made a boto3 client: each measurement runs in a
  fresh interpreter that imports the package and makes an ``s3`` client (so boto3's default
  session exists, as in any application that uses boto3), then measures the Python memory
  still allocated (:mod:`tracemalloc`, after a collection) once ``ChatService(...).meta.client``
  exists. The baseline does the same with a raw ``boto3.client("connectparticipant")``.
  **Target: < 1 MB** (the library shares the application's session instead of making one).
* Three option sets (three regions/endpoints, each its own client) in a fresh interpreter
  with no prior client, against three raw ``boto3.client`` calls: informational.
* Per open ``Connection``: 1,000 connections of one participant, made against the local
  server in a child process (so the server's records are not counted), held in a list; the
  memory still allocated, divided by 1,000. **Target: < 2 KB.**
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc

from ._common import MB, REGION, Result, local_server, log, median, server_chat

SERVICE_TARGET_MB = 1.0
CONNECTION_TARGET_KB = 2.0
CONNECTIONS = 1_000

_CHILD = """
import gc, json, sys, tracemalloc
import boto3, botocore
from botocore.config import Config
import connectparticipant_ext
from connectparticipant_ext import ChatService

mode, region = sys.argv[1], sys.argv[2]
if mode.endswith("after-client"):
    boto3.client("s3", region_name=region)  # the application's own client: boto3's default session exists
OPTION_SETS = [
    {"region_name": region},
    {"region_name": "us-west-2", "timeout": 5},
    {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:5999"},
]
sets = OPTION_SETS[:1] if mode.endswith("after-client") else OPTION_SETS
gc.collect()
tracemalloc.start()
kept = []
for options in sets:
    if mode.startswith("library"):
        kept.append(ChatService(**options).meta.client)
    else:
        timeout = options.get("timeout")
        config = Config(signature_version=botocore.UNSIGNED, connect_timeout=timeout or 60, read_timeout=timeout or 60)
        kept.append(boto3.client(
            "connectparticipant", region_name=options["region_name"], endpoint_url=options.get("endpoint_url"),
            config=config,
        ))
gc.collect()
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"current": current, "peak": peak, "clients": len(kept)}))
"""


def _child_memory(mode: str, runs: int) -> float:
    """Median bytes still allocated after making the client(s), in fresh interpreters."""
    values = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, mode, REGION],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        ).stdout
        values.append(json.loads(out.strip().splitlines()[-1])["current"])
    return median(values)


def _connections() -> Result:
    from connectparticipant_ext import ChatService

    with local_server() as server:
        env = server_chat(server.url)
        chat = ChatService(region_name=REGION, endpoint_url=server.url)
        participant = chat.Participant(env["participant_token"])
        warm = [participant.create_connection(connect_participant=False) for _ in range(20)]  # caches, pools
        token_length = len(warm[0].token)
        url_length = len(warm[0].websocket.url) if warm[0].websocket else 0
        del warm
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            held = [participant.create_connection(connect_participant=False) for _ in range(CONNECTIONS)]
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
            raw_held = [
                participant.create_participant_connection(connect_participant=False, websocket=True)
                for _ in range(CONNECTIONS)
            ]
            gc.collect()
            after_raw = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert len(held) == len(raw_held) == CONNECTIONS
    per_connection = (after - before) / CONNECTIONS / 1024
    per_response = (after_raw - after) / CONNECTIONS / 1024
    return Result(
        f"memory per open Connection ({CONNECTIONS:,} held)",
        per_connection,
        None,
        None,
        CONNECTION_TARGET_KB,
        "KB",
        f"tracemalloc; a raw CreateParticipantConnection response dict held instead: {per_response:.2f} KB; "
        f"this server's tokens are {token_length} characters, websocket URLs {url_length}",
    )


def run(quick: bool = False) -> list[Result]:
    """Client memory in fresh interpreters; connection memory against the local server."""
    runs = 3 if quick else 5
    log(f"memory: ChatService after a boto3 client, {runs} fresh interpreters each side")
    library = _child_memory("library-after-client", runs)
    raw = _child_memory("raw-after-client", runs)
    results = [
        Result(
            "memory added by ChatService after a boto3 client",
            library / MB,
            raw / MB,
            None,  # the target is on the figure itself
            SERVICE_TARGET_MB,
            "MB",
            f"tracemalloc in fresh interpreters; baseline = a raw boto3.client('connectparticipant'); "
            f"ratio {library / raw:.2f}",
        )
    ]
    log(f"memory: three option sets in a fresh process, {runs} interpreters each side")
    library3 = _child_memory("library-three", runs)
    raw3 = _child_memory("raw-three", runs)
    results.append(
        Result(
            "memory of 3 option sets, no prior client",
            library3 / MB,
            raw3 / MB,
            library3 / raw3,
            None,
            "MB",
            "3 regions/endpoints: ChatService (one shared session) vs three boto3.client calls (default session)",
        )
    )
    log(f"memory: {CONNECTIONS:,} open connections against the local server")
    results.append(_connections())
    return results


if __name__ == "__main__":
    from .run import main

    main(["memory"])
