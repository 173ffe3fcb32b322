"""Mutation testing, one module at a time, with the tests that exercise it (mutmut 3).

Usage, from the project root with the ``mutation`` extra installed::

    python tools/mutation.py --list                  # the modules and their tests
    python tools/mutation.py transcript              # mutate transcript.py, run, print the score
    python tools/mutation.py transcript --fresh      # forget earlier results first
    python tools/mutation.py transcript --retry      # re-run the mutants not detected last time
    python tools/mutation.py transcript --report     # the score of the last run, without running
    python tools/mutation.py transcript --survivors  # ... and the diff of every mutant that lived

mutmut reads its settings from the ``[mutmut]`` section of ``setup.cfg`` in the directory it
runs in, and keeps its mutants and results in ``mutants/`` there. This script gives each
module a directory of its own, ``build/mutation/<module>/``, holding links to the package and
the tests and a copy of ``setup.cfg`` whose ``[mutmut]`` section is narrowed to that module
(``only_mutate``) and its tests (``pytest_add_cli_args_test_selection``); everything else in
``[mutmut]`` (and the pytest settings) comes from the project's ``setup.cfg``. Then it runs
``mutmut run`` there. To look at one mutant, run mutmut itself in that directory::

    cd build/mutation/transcript && mutmut show connectparticipant_ext.transcript.x_pages__mutmut_7

The score counts killed, timed-out and type-checker-caught mutants as detected, and every
other one (survived, no test reached it, suspicious) as not, leaving out only the mutants
listed in ``tools/equivalent-mutants.csv``: changes no test could ever see, each with the
reason. A listed mutant whose change no longer matches the file is reported as stale.
"""

from __future__ import annotations

import argparse
import configparser
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "connectparticipant_ext"
WORK = ROOT / "build" / "mutation"
EQUIVALENT_MUTANTS = ROOT / "tools" / "equivalent-mutants.csv"

# -- modules and their tests (start) ---------------------------------------------------------
# Each module under mutation, with the fastest test files that exercise it: no browser,
# interop, live-server or slow stream tests (a surviving mutant runs every selected test
# that reaches its function, so the selection bounds the run's length).
MODULES: dict[str, list[str]] = {
    "_validation": [
        "tests/test_validation.py",
        "tests/test_boundaries.py",
    ],
    "transcript": [
        "tests/test_transcript.py",
        "tests/test_boundaries.py",
    ],
    "connection": [
        "tests/test_connection.py",
        "tests/test_connection_renewal.py",
        "tests/test_hot_paths.py",
        "tests/test_boundaries.py",
    ],
    "participant": [  # every moto-backed test makes a connection: only the files about them
        "tests/test_participant.py",
        "tests/test_connection.py",
        "tests/test_connection_renewal.py",
        "tests/test_boundaries.py",
    ],
    "attachments": [
        "tests/test_attachments.py",
        "tests/test_boundaries.py",
    ],
    "streaming.payloads": [
        "tests/test_streaming.py",
    ],
    "live.core": [  # the live stream's protocol, without I/O: its own tests need no socket
        "tests/test_live_core.py",
    ],
}
# -- modules and their tests (end) -----------------------------------------------------------

DETECTED = {"killed", "timeout", "caught by type check"}


def source_path(module: str) -> str:
    """``streaming.payloads`` -> ``connectparticipant_ext/streaming/payloads.py``."""
    return f"{PACKAGE}/{module.replace('.', '/')}.py"


def mutant_prefix(module: str) -> str:
    """The prefix of the names mutmut gives this module's mutants."""
    return f"{PACKAGE}.{module}."


def prepare(module: str, *, fresh: bool) -> Path:
    """The module's work directory, with links to the sources and its own setup.cfg."""
    workdir = WORK / module
    if fresh and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for name in (PACKAGE, "tests"):
        link = workdir / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name, target_is_directory=True)
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # type: ignore[assignment,method-assign]  # keep option names as written
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    if not config.has_section("mutmut"):
        raise SystemExit("setup.cfg has no [mutmut] section")
    config.set("mutmut", "only_mutate", source_path(module))
    config.set("mutmut", "pytest_add_cli_args_test_selection", "\n" + "\n".join(MODULES[module]))
    with open(workdir / "setup.cfg", "w", encoding="utf-8") as out:
        config.write(out)
    # mutmut copies the sources once and then only re-mutates changed modules: refresh the
    # copies of the modules it does not mutate, so the tests run against today's code.
    copied = workdir / "mutants" / PACKAGE
    if copied.is_dir():
        for original in (ROOT / PACKAGE).rglob("*.py"):
            relative = original.relative_to(ROOT)
            if relative.as_posix() == source_path(module):
                continue
            copy = workdir / "mutants" / relative
            if not copy.exists() or copy.read_bytes() != original.read_bytes():
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(original, copy)
    return workdir


def mutmut(workdir: Path, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "mutmut"
    if not executable.exists():
        raise SystemExit("mutmut is not installed: pip install -e '.[mutation]'")
    return subprocess.run([str(executable), *args], cwd=workdir, check=False, text=True, capture_output=capture)


def statuses(workdir: Path, module: str) -> dict[str, str]:
    """Each mutant of ``module`` and its status, from mutmut's results file."""
    meta = workdir / "mutants" / (source_path(module) + ".meta")
    if not meta.exists():
        raise SystemExit(f"no results for {module} yet: run `python tools/mutation.py {module}`")
    from mutmut.stats import status_by_exit_code

    exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in exit_codes.items()}


def equivalent_mutants(module: str) -> dict[str, tuple[str, str]]:
    """The listed equivalent mutants of ``module``: name -> (the mutated line, the reason).

    The CSV is also a table of the docs, so the mutated line is written as an rST literal.
    """
    with open(EQUIVALENT_MUTANTS, encoding="utf-8", newline="") as rows:
        return {
            row["mutant"]: (row["mutated line"].strip("`"), row["why no test can tell"])
            for row in csv.DictReader(rows)
            if row["mutant"].startswith(mutant_prefix(module))
        }


def undetected(found: dict[str, str]) -> list[str]:
    return sorted(name for name, status in found.items() if status not in DETECTED)


def diff(workdir: Path, mutant: str) -> str:
    return mutmut(workdir, "show", mutant, capture=True).stdout


def report(module: str, workdir: Path, *, wall_time: float | None, show_survivors: bool) -> int:
    found = statuses(workdir, module)
    equivalent = equivalent_mutants(module)
    stale = []
    for name, (line, _) in equivalent.items():
        added = [d[1:].strip() for d in diff(workdir, name).splitlines() if d.startswith("+ ")]
        if name not in found or line.strip() not in added:
            stale.append(name)
    counted = {name: status for name, status in found.items() if name not in equivalent or name in stale}
    counts = Counter(counted.values())
    detected = sum(counts[s] for s in DETECTED)
    score = 100.0 * detected / len(counted) if counted else 0.0
    print(f"\n{source_path(module)}")
    print(f"  mutants {len(found)}, equivalent (left out) {len(found) - len(counted)}")
    print("  " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
    print(f"  score {score:.1f}% ({detected} of {len(counted)} detected)")
    if wall_time is not None:
        print(f"  wall time {wall_time / 60:.1f} min")
    for name in stale:
        print(f"  STALE: {name} in tools/equivalent-mutants.csv no longer makes that change")
    missed = undetected(counted)
    if show_survivors:
        for name in missed:
            print()
            print(diff(workdir, name).rstrip())  # starts with "# <name>: <status>"
    elif missed:
        print(f"  not detected: {len(missed)} (--survivors shows each diff)")
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", choices=sorted(MODULES), help="the module to mutate")
    parser.add_argument("--list", action="store_true", help="show the modules and their tests")
    parser.add_argument("--fresh", action="store_true", help="discard earlier results of this module")
    parser.add_argument("--retry", action="store_true", help="re-run the mutants the last run did not detect")
    parser.add_argument("--report", action="store_true", help="only report the last run's results")
    parser.add_argument("--survivors", action="store_true", help="show the diff of every undetected mutant")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1, help="parallel mutants")
    args = parser.parse_args(argv)
    if args.list or args.module is None:
        for module, tests in MODULES.items():
            print(f"{source_path(module)}: {' '.join(tests)}")
        return 0
    workdir = prepare(args.module, fresh=args.fresh)
    wall_time = None
    if not args.report:
        names = undetected(statuses(workdir, args.module)) if args.retry else []
        if args.retry and not names:
            print("every mutant was detected last time: nothing to retry")
            return 0
        started = time.monotonic()
        result = mutmut(workdir, "run", "--max-children", str(args.max_children), *names)
        wall_time = time.monotonic() - started
        if result.returncode != 0:
            return result.returncode
    return report(args.module, workdir, wall_time=wall_time, show_survivors=args.survivors)


if __name__ == "__main__":
    sys.exit(main())
