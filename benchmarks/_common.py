"""Shared pieces of the benchmarks: the Result record, timing and memory helpers, a chat fixture.

These are measuring scripts, not tests: nothing here asserts on a time. Timings use
:func:`time.perf_counter` unless a benchmark passes another clock: on a machine shared with
other busy processes, wall time mostly measures the scheduler, so the A/B comparisons of
the library's own work use CPU time (:func:`cpu_clock`). A/B comparisons interleave the two
sides (A B, then B A, ...) so that drift hits both equally, and report medians.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

# Fake credentials and a region before boto3 is imported anywhere: nothing may reach AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SECURITY_TOKEN", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

REGION = "us-east-1"
MB = 1024 * 1024

if sys.version_info >= (3, 11):
    parse_absolute_time: Callable[[str], datetime] = datetime.fromisoformat  # reads the service's "...Z"
else:  # pragma: no cover - older Pythons need the "+00:00" spelling

    def parse_absolute_time(value: str) -> datetime:
        """What a boto3 user writes to get an aware datetime from ``AbsoluteTime``."""
        return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Result:
    """One measured figure, optionally compared with a baseline and checked against a target.

    ``ratio`` is ``value / baseline`` (lower is better). ``ok`` compares ``ratio`` (or
    ``value`` when there is no ratio) with ``target``; it is informational only.
    """

    name: str
    value: float
    baseline: Optional[float] = None
    ratio: Optional[float] = None
    target: Optional[float] = None
    unit: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> Optional[bool]:
        if self.target is None:
            return None
        metric = self.ratio if self.ratio is not None else self.value
        return metric <= self.target


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(values))


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``, or ``inf`` when the baseline is zero."""
    return value / baseline if baseline else float("inf")


Clock = Callable[[], float]


def cpu_clock() -> float:
    """CPU seconds used by this process so far (user + system, every thread).

    What the library's own Python work costs, whatever else the machine runs: time spent
    waiting for a CPU while other processes run is not counted. For in-process comparisons
    (the backend runs in this process too), and, with :meth:`ServerProcess.cpu_time`
    added, for comparisons against the local server.
    """
    return time.process_time()


def time_call(func: Callable[[], Any], repeat: int = 1, clock: Clock = time.perf_counter) -> float:
    """Seconds per call of ``func`` averaged over ``repeat`` back-to-back calls, by ``clock``."""
    started = clock()
    for _ in range(repeat):
        func()
    return (clock() - started) / repeat


@dataclass
class ABTiming:
    """Per-call seconds of both sides of an interleaved comparison, round by round."""

    a: list[float]
    b: list[float]
    wall_a: list[float] = field(default_factory=list)
    """Wall seconds per call of each round, whatever the clock (the same as ``a`` for wall time)."""
    wall_b: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [ratio(x, y) for x, y in zip(self.a, self.b)]

    @property
    def median_wall_ratio(self) -> float:
        """The median of the per-round wall-time ratios (for a note beside a CPU-time figure)."""
        return median([ratio(x, y) for x, y in zip(self.wall_a, self.wall_b)])

    @property
    def median_ratio(self) -> float:
        """The median of the per-round ratios a/b (robust to a slow round)."""
        return median(self.ratios)

    @property
    def median_delta(self) -> float:
        """The median of the per-round differences a - b, in seconds per call."""
        return median([x - y for x, y in zip(self.a, self.b)])

    @property
    def median_a(self) -> float:
        return median(self.a)

    @property
    def median_b(self) -> float:
        return median(self.b)


def interleaved(
    a: Callable[[], Any],
    b: Callable[[], Any],
    *,
    rounds: int,
    inner: int = 1,
    warmup: int = 1,
    clock: Clock = time.perf_counter,
) -> ABTiming:
    """Time ``a`` and ``b`` alternately: ``rounds`` rounds of ``inner`` calls each side.

    Even rounds run A then B, odd rounds B then A, so neither side always goes first.
    The garbage collector is collected before and disabled during each timed block.
    ``clock`` is wall time by default; see :func:`cpu_clock`.
    """
    for _ in range(warmup):
        a()
        b()
    timing = ABTiming([], [])
    for n in range(rounds):
        sides = ((a, timing.a, timing.wall_a), (b, timing.b, timing.wall_b))
        for func, sink, wall_sink in sides if n % 2 == 0 else reversed(sides):
            gc.collect()
            gc.disable()
            try:
                wall_started = time.perf_counter()
                sink.append(time_call(func, inner, clock))
                wall_sink.append((time.perf_counter() - wall_started) / inner)
            finally:
                gc.enable()
    return timing


def interleaved_steps(
    a: Callable[[], Iterator[Any]],
    b: Callable[[], Iterator[Any]],
    *,
    rounds: int,
    warmup: int = 1,
    clock: Clock = time.perf_counter,
) -> ABTiming:
    """Time two jobs made of steps (a whole read, a page at a time) with their steps alternating.

    ``a()`` and ``b()`` each start one run of their job as an iterator; each ``next()`` is one
    step. The steps alternate (A B B A A B ...; odd rounds start with B), each timed on its own
    with ``clock``, and a side's time for the round is the sum of its steps, so a burst of load
    from other processes, which lasts milliseconds, falls on both sides alike instead of on one
    whole run. The garbage collector is collected before and disabled during each round.
    """
    for _ in range(warmup):
        for job in (a, b):
            for _ in job():
                pass
    timing = ABTiming([], [])
    for n in range(rounds):
        runs = [a(), b()]
        spent = [0.0, 0.0]
        wall = [0.0, 0.0]
        running = [True, True]
        gc.collect()
        gc.disable()
        try:
            turn = n % 2
            while any(running):
                for side in (turn, 1 - turn):
                    if not running[side]:
                        continue
                    wall_started, started = time.perf_counter(), clock()
                    try:
                        next(runs[side])
                    except StopIteration:
                        running[side] = False
                    spent[side] += clock() - started
                    wall[side] += time.perf_counter() - wall_started
                turn = 1 - turn
        finally:
            gc.enable()
        timing.a.append(spent[0])
        timing.b.append(spent[1])
        timing.wall_a.append(wall[0])
        timing.wall_b.append(wall[1])
    return timing


def peak_memory(func: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated by Python (tracemalloc) above the level before ``func`` ran, and its result."""
    gc.collect()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if started:
            tracemalloc.stop()
    return max(peak - base, 0), result


@contextlib.contextmanager
def mock_chat(display_name: str = "Ann") -> Iterator[dict[str, Any]]:
    """An in-process moto chat: yields ``participant_token``, ``contact_id`` and the backend.

    Importing :mod:`connectparticipant_ext.testing` registers the backend with moto.
    """
    import boto3
    import moto

    import connectparticipant_ext.testing as testing
    from connectparticipant_ext import service

    with moto.mock_aws():
        service.clear_client_cache()
        connect = boto3.client("connect", region_name=REGION)
        contact = connect.start_chat_contact(
            InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": display_name}
        )
        yield {
            "participant_token": contact["ParticipantToken"],
            "contact_id": contact["ContactId"],
            "backend": testing.get_chat_backend(region_name=REGION),
        }
    service.clear_client_cache()


def fmt(value: Optional[float], unit: str = "") -> str:
    """A figure with three significant digits and its unit, or '-'."""
    if value is None:
        return "-"
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.2f} s"
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


_SERVER_CODE = """
import sys
import time
from connectparticipant_ext.testing import get_chat_backend
from connectparticipant_ext.testing.server import LocalServer
with LocalServer(host="127.0.0.1", port=0) as server:
    print(server.endpoint_url, flush=True)
    for line in sys.stdin:
        if line.startswith("cpu"):  # "cpu": this process's CPU seconds so far, every thread
            print(repr(time.process_time()), flush=True)
            continue
        # "fill CONTACT_ID COUNT": write COUNT messages as fast as the backend can
        _, contact_id, count = line.split()
        get_chat_backend().bulk_add_messages(contact_id, int(count), content="bulk {n}")
        print("filled", flush=True)
"""


@dataclass
class ServerProcess:
    """The local server running in a child process: its URL, and a way to fill a chat fast."""

    url: str
    process: Any

    def fill(self, contact_id: str, count: int) -> None:
        """Have the server write ``count`` messages to a chat itself (no HTTP call per message)."""
        self.process.stdin.write(f"fill {contact_id} {count}\n")
        self.process.stdin.flush()
        self.process.stdout.readline()  # "filled"

    def cpu_time(self) -> float:
        """The server process's CPU seconds so far (user + system, all its threads)."""
        self.process.stdin.write("cpu\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())


@contextlib.contextmanager
def local_server() -> Iterator[ServerProcess]:
    """The chat backend's local HTTP server in a child process on 127.0.0.1.

    A separate process keeps the server's own allocations (moto's S3 holds whole files, the
    chat holds every item) out of this process's tracemalloc figures.
    """
    import subprocess

    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER_CODE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the local server did not start (said {url!r})")
        yield ServerProcess(url, process)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def server_chat(endpoint_url: str, display_name: str = "Ann") -> dict[str, Any]:
    """Start a chat on the local server (signed Connect call with fake credentials)."""
    import boto3

    connect = boto3.client("connect", region_name=REGION, endpoint_url=endpoint_url)
    contact = connect.start_chat_contact(
        InstanceId="i", ContactFlowId="f", ParticipantDetails={"DisplayName": display_name}
    )
    return {"participant_token": contact["ParticipantToken"], "contact_id": contact["ContactId"]}
