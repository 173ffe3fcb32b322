"""SVG plots of the benchmark figures that have a shape (a curve, not a single ratio).

Made by the benchmark run next to its JSON (``python -m benchmarks --json DIR/results.json``
writes ``DIR/*.svg``), or again from saved results without measuring anything::

    python -m benchmarks.plots docs/_static/benchmarks/results.json

matplotlib comes with the ``benchmarks`` extra (``pip install -e ".[benchmarks]"``); without it
the run says so and writes no plot. A plot whose figures are not in the results (that
benchmark was not run) is skipped with a line on stderr.

The plots read the results by their shapes:

* the run's JSON: a list of :class:`~benchmarks._common.Result` dicts; the plotted rows carry
  their x value in ``extra`` (``items``, ``workers``/``series``, ``urls``);
* the live pages rows (``benchmarks/results/live_pages.json`` by default, written by the
  ``live_pages`` benchmark): a list of rows ``{"server": "wsgi" | "asgi" | "websockets",
  "pages": N, "p50": seconds, "p99": seconds, ...}``, one per server and N; a p99 of
  ``null`` (nothing arrived) is left out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable, Optional

LIVE_PAGES_ROWS = Path(__file__).resolve().parent / "results" / "live_pages.json"
"""Where the ``live_pages`` benchmark writes its rows unless told otherwise."""

CAPTION_WIDTH = 110
"""Characters per line of a plot's footer: longer captions wrap (at x-small size a line of the
7-inch figure holds about 120)."""

SERVER_LABELS = {"websockets": "bare websockets clients", "wsgi": "WSGI (runserver)", "asgi": "ASGI (uvicorn)"}

Row = Mapping[str, Any]


def machine_line(when: Optional[dt.datetime] = None) -> str:
    """Where and when the figures were made, for a plot's caption."""
    when = when or dt.datetime.now(dt.timezone.utc)
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f}"
    return (
        f"{when:%Y-%m-%d %H:%M} UTC; CPython {platform.python_version()} on {platform.machine()} "
        f"{platform.system()}, {os.cpu_count()} CPUs{load}"
    )


def _extra(row: Row) -> Mapping[str, Any]:
    extra = row.get("extra")
    return extra if isinstance(extra, Mapping) else {}


def transcript_memory(results: Sequence[Row]) -> Optional[dict[str, Any]]:
    """Peak memory of reading a transcript, against its size (bench_transcript, bench_stream)."""
    lib: list[tuple[float, float]] = []
    raw: list[tuple[float, float]] = []
    backlog: list[tuple[float, float]] = []
    for row in results:
        name, extra = str(row.get("name", "")), _extra(row)
        if name.startswith("transcript ") and name.endswith("peak memory") and "items" in extra:
            lib.append((extra["items"], row["value"]))
            if row.get("baseline") is not None:
                raw.append((extra["items"], row["baseline"]))
        elif name.startswith("stream backlog ") and "items" in extra:
            backlog.append((extra["items"], row["value"]))
    if not lib and not backlog:
        return None
    series = [
        ("for item in conn.transcript", sorted(lib)),
        ("hand-written NextToken loop", sorted(raw)),
        ("conn.stream() draining a backlog", sorted(backlog)),
    ]
    return {
        "title": "Peak memory against transcript size",
        "xlabel": "items in the chat",
        "ylabel": "tracemalloc peak (MB)",
        "xlog": True,
        "ylog": False,
        "series": [(label, points) for label, points in series if points],
        "ymin": 0,
    }


def streaming_throughput(results: Sequence[Row]) -> Optional[dict[str, Any]]:
    """Answers per second against worker processes, one line per series (bench_streaming)."""
    by_series: dict[str, list[tuple[float, float]]] = {}
    for row in results:
        extra = _extra(row)
        if extra.get("figure") == "throughput" and "workers" in extra:
            by_series.setdefault(str(extra.get("series", "")), []).append((extra["workers"], row["value"]))
    if not by_series:
        return None
    return {
        "title": "Message streaming: answers per second against workers",
        "xlabel": "worker processes (SNS -> SQS -> workers)",
        "ylabel": "answers per second",
        "xlog": False,
        "ylog": False,
        "series": [(label, sorted(points)) for label, points in sorted(by_series.items())],
        "ymin": 0,
        "xticks": sorted({x for points in by_series.values() for x, _ in points}),
    }


def hub_issue_cost(results: Sequence[Row]) -> Optional[dict[str, Any]]:
    """CreateParticipantConnection's cost against the URLs already issued (bench_hub)."""
    points: list[tuple[float, float]] = []
    for row in results:
        extra = _extra(row)
        curve = extra.get("issue_curve")
        if isinstance(curve, list):
            points.extend((point["urls"], point["seconds"] * 1000) for point in curve)
    if not points:
        return None
    return {
        "title": "Test backend: CreateParticipantConnection against issued URLs",
        "xlabel": "websocket URLs issued so far",
        "ylabel": "median CPU time per call (ms)",
        "xlog": True,
        "ylog": False,
        "series": [("CreateParticipantConnection (WEBSOCKET + CONNECTION_CREDENTIALS)", sorted(points))],
        "ymin": 0,
    }


def live_pages_p99(rows: Sequence[Row]) -> Optional[dict[str, Any]]:
    """Delivery p99 against open live pages, one line per server (the live_pages rows)."""
    by_server: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        server, pages, p99 = row.get("server"), row.get("pages"), row.get("p99")
        if server in SERVER_LABELS and isinstance(pages, (int, float)) and isinstance(p99, (int, float)):
            by_server.setdefault(str(server), []).append((pages, p99 * 1000))
    if not by_server:
        return None
    return {
        "title": "Live pages: delivery p99 against open pages",
        "xlabel": "open live pages (one event stream each)",
        "ylabel": "p99 send -> on the page (ms)",
        "xlog": True,
        "ylog": True,
        "series": [(SERVER_LABELS[s], sorted(by_server[s])) for s in SERVER_LABELS if s in by_server],
    }


PLOTS: dict[str, Callable[[Sequence[Row]], Optional[dict[str, Any]]]] = {
    "transcript_memory": transcript_memory,
    "streaming_throughput": streaming_throughput,
    "hub_issue_cost": hub_issue_cost,
}
"""The plots made from the run's results, by file name (``NAME.svg``)."""


def _draw(spec: Mapping[str, Any], path: Path, caption: str) -> None:
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "connectparticipant_ext benchmarks"  # the same figures give the same file
    fig, ax = plt.subplots(figsize=(7, 4.2))
    try:
        for label, points in spec["series"]:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", label=label)
        if spec.get("xlog"):
            ax.set_xscale("log")
        if spec.get("ylog"):
            ax.set_yscale("log")
        if "ymin" in spec:
            ax.set_ylim(bottom=spec["ymin"])
        if spec.get("xticks"):
            ax.set_xticks(spec["xticks"])
        ax.set_title(spec["title"])
        ax.set_xlabel(spec["xlabel"])
        ax.set_ylabel(spec["ylabel"])
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
        lines = textwrap.wrap(caption, CAPTION_WIDTH, break_on_hyphens=False) or [""]
        fig.text(0.01, 0.01, "\n".join(lines), fontsize="x-small", color="0.4")
        fig.tight_layout(rect=(0, 0.035 * len(lines) + 0.01, 1, 1))
        fig.savefig(path, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)


def write_plots(
    results: Sequence[Row],
    out_dir: Path,
    *,
    live_pages_rows: Optional[Path] = LIVE_PAGES_ROWS,
    caption: Optional[str] = None,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> list[Path]:
    """Write every plot whose figures are in ``results`` (and the live pages rows) to ``out_dir``.

    Returns the files written; says on ``log`` what was skipped and why.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log('plots: skipped, matplotlib is not installed (pip install -e ".[benchmarks]")')
        return []
    caption = caption or machine_line()
    specs: dict[str, Optional[dict[str, Any]]] = {name: make(results) for name, make in PLOTS.items()}
    rows = _read_rows(live_pages_rows, log) if live_pages_rows is not None else None
    specs["live_pages_p99"] = live_pages_p99(rows) if rows is not None else None
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in specs.items():
        if spec is None:
            log(f"plots: {name} skipped, its figures are not in these results")
            continue
        path = out_dir / f"{name}.svg"
        _draw(spec, path, caption)
        written.append(path)
        log(f"plots: wrote {path}")
    return written


def _read_rows(path: Path, log: Callable[[str], None]) -> Optional[list[Row]]:
    """The live pages rows, or None (said on ``log``) when there are none to read."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log(f"plots: no live pages rows at {path} (run the live_pages benchmark)")
        return None
    except (OSError, ValueError) as exc:
        log(f"plots: the live pages rows at {path} could not be read: {exc}")
        return None
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        log(f"plots: {path} is not a list of rows")
        return None
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m benchmarks.plots RESULTS.json``: the plots again, from saved results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plots", description=main.__doc__)
    parser.add_argument("results", type=Path, help="the JSON written by python -m benchmarks --json")
    parser.add_argument("--out", type=Path, help="where the SVGs go (default: beside the results)")
    parser.add_argument(
        "--live-pages", type=Path, default=LIVE_PAGES_ROWS, help="the live_pages rows (default: %(default)s)"
    )
    parser.add_argument("--caption", help="each plot's footer (default: the results' date and this machine)")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    made = dt.datetime.fromtimestamp(args.results.stat().st_mtime, dt.timezone.utc)
    caption = args.caption or f"figures of {made:%Y-%m-%d %H:%M} UTC ({args.results.name}); plotted on {machine_line()}"
    write_plots(results, args.out or args.results.parent, live_pages_rows=args.live_pages, caption=caption)
    return 0


if __name__ == "__main__":
    sys.exit(main())
