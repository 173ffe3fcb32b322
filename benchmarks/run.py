"""Run the benchmarks and print one table.

    python -m benchmarks                 # everything, full sizes
    python -m benchmarks --quick         # fewer rounds, smaller sizes (a couple of minutes)
    python -m benchmarks transcript      # only some benchmarks
    python -m benchmarks --json out.json # also write the figures as JSON, and SVG plots beside it
    python -m benchmarks live_pages --pages 100,300   # live_pages at other sizes

The ``ok?`` column compares the ratio (or the value, when there is no baseline) with the
target. It is informational: the machine may be shared and noisy, and nothing fails on it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from ._common import Result, fmt, log
from .bench_live_pages import page_counts
from .plots import write_plots

BENCHMARKS = (
    "overhead",
    "transcript",
    "attachments",
    "service",
    "memory",
    "stream",
    "backend",
    "hub",
    "receipts",
    "scale",
    "streaming",
    "live_pages",
)


def format_table(results: Sequence[Result]) -> str:
    """A plain-text table: benchmark | measured | baseline | ratio | target | ok?"""
    header = ("benchmark", "measured", "baseline", "ratio", "target", "ok?")
    rows = [header]
    for r in results:
        ok = "-" if r.ok is None else ("yes" if r.ok else "NO")
        target = "-" if r.target is None else (f"<= {r.target:g}" + ("" if r.ratio is not None else f" {r.unit}"))
        rows.append(
            (
                r.name,
                fmt(r.value, r.unit),
                fmt(r.baseline, r.unit),
                "-" if r.ratio is None else f"{r.ratio:.3f}",
                target,
                ok,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse the command line, run the chosen benchmarks, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller sizes")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the results as JSON, and their SVG plots in the same folder"
    )
    parser.add_argument(
        "--pages",
        metavar="N[,N...]",
        type=page_counts,
        help="live_pages: how many simulated browsers (default 100,1000; --quick 10,50)",
    )
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    results: list[Result] = []
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"{__package__}.bench_{name}")
        t0 = time.perf_counter()
        options = {"pages": args.pages} if name == "live_pages" and args.pages else {}
        results.extend(module.run(quick=args.quick, **options))
        log(f"{name}: done in {time.perf_counter() - t0:.1f} s")
    elapsed = time.perf_counter() - started

    print(
        f"connectparticipant_ext benchmarks ({'quick' if args.quick else 'full'}), "
        f"Python {platform.python_version()} on {platform.machine()}, {elapsed:.0f} s"
    )
    print(format_table(results))
    for r in results:
        if r.note:
            print(f"  {r.name}: {r.note}")
    if args.json:
        rows = [{**asdict(r), "ok": r.ok} for r in results]
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2, default=str)
        write_plots(rows, Path(args.json).resolve().parent, log=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
