"""Cost of making services and of importing the package.

``ChatService`` shares one boto3 client among services built with the same settings, so a
web app may create one per request. Here 1,000 services (each asked for ``meta.client``)
are compared with building one boto3 client. Import time is measured in fresh interpreters
(the median of several runs, minus the interpreter's own start-up).
"""

from __future__ import annotations

import subprocess
import sys
import time

from ._common import REGION, Result, interleaved, log, median

SERVICES = 1_000
SERVICE_TARGET = 1.0  # 1,000 cached services cost no more than one fresh client
IMPORT_TARGET = 1.5  # importing the package (which imports boto3) vs importing boto3


def _new_client() -> object:
    import boto3
    import botocore
    from botocore.config import Config

    return boto3.session.Session().client(
        "connectparticipant", region_name=REGION, config=Config(signature_version=botocore.UNSIGNED)
    )


def _import_seconds(statement: str, runs: int) -> float:
    """Median wall time of ``python -c statement`` in a fresh interpreter."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - started)
    return median(times)


def _import_interleaved(runs: int) -> tuple[float, float, float]:
    """Median start-up times of bare python, ``import boto3`` and ``import connectparticipant_ext``."""
    bare: list[float] = []
    boto: list[float] = []
    lib: list[float] = []
    statements = (("pass", bare), ("import boto3", boto), ("import connectparticipant_ext", lib))
    _import_seconds("import connectparticipant_ext", 1)  # warm the file cache and .pyc files
    for n in range(runs):
        for statement, sink in statements if n % 2 == 0 else reversed(statements):
            sink.append(_import_seconds(statement, 1))
    return median(bare), median(boto), median(lib)


def run(quick: bool = False) -> list[Result]:
    """Service creation and import time."""
    from connectparticipant_ext import ChatService

    results: list[Result] = []
    rounds = 5 if quick else 11

    def many_services() -> None:
        for _ in range(SERVICES):
            ChatService(region_name=REGION).meta.client  # noqa: B018 - the access is the point

    log(f"service: {SERVICES:,} ChatService vs one boto3 client, {rounds} rounds")
    ChatService(region_name=REGION).meta.client  # noqa: B018 - builds the shared client once
    timing = interleaved(many_services, _new_client, rounds=rounds)
    results.append(
        Result(
            f"{SERVICES:,} x ChatService(...).meta.client",
            timing.median_a,
            timing.median_b,
            timing.median_ratio,
            SERVICE_TARGET,
            "s",
            f"baseline = one boto3.client; {timing.median_a / SERVICES * 1e6:.1f} µs per service",
        )
    )

    runs = 5 if quick else 11
    log(f"service: import time, {runs} fresh interpreters each")
    bare, boto, lib = _import_interleaved(runs)
    results.append(
        Result(
            "import connectparticipant_ext",
            lib - bare,
            boto - bare,
            (lib - bare) / (boto - bare),
            IMPORT_TARGET,
            "s",
            f"baseline = import boto3; interpreter start-up {bare * 1e3:.0f} ms subtracted",
        )
    )
    return results


if __name__ == "__main__":
    from .run import main

    main(["service"])
