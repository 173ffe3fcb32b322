"""The live_pages benchmark's driver, small: three simulated browsers on the Django example
under runserver, each seeing its own message on its own event stream.

What the benchmark measures is its business; this checks that its driver still gets through
the example's HTTP surface (start form, chat page, events URL, send form) and the processes it
starts, so that a change to the example or the library that breaks the benchmark shows here.
No time is asserted. aiohttp comes with the ``benchmarks`` extra: without it the test is
skipped locally and fails under CI (``CI=true``), like the browser tests.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `benchmarks/` is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

pytest.importorskip("django")
try:
    import aiohttp  # noqa: F401
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("aiohttp is not installed (pip install -e '.[benchmarks]')", allow_module_level=True)

from benchmarks import bench_live_pages  # noqa: E402

CONTRACT = {
    "server",
    "pages",
    "seen",
    "p50",
    "p99",
    "p99_ratio",
    "web_threads",
    "web_rss_kb",
    "serve_threads",
    "serve_rss_kb",
}


def test_three_pages_on_runserver_each_see_their_own_message(tmp_path: Path) -> None:
    settings = bench_live_pages.Settings(setup_timeout=60, open_timeout=30, timeout=30, request_timeout=30)
    # In a thread of its own: the driver runs its own event loop (asyncio.run), and this
    # thread may already have one running (Playwright's, from the browser tests).
    with ThreadPoolExecutor(max_workers=1) as pool:
        row = pool.submit(bench_live_pages.measure, "wsgi", 3, settings, tmp_path).result(timeout=300)

    assert (row.seen, row.opened, row.sessions_lost) == (3, 3, 0), row.errors
    assert row.p50 is not None and row.p99 is not None and row.p50 <= row.p99
    assert row.web_threads and row.web_rss_kb and row.serve_threads and row.serve_rss_kb

    out = tmp_path / "rows.json"
    bench_live_pages.write_rows(bench_live_pages.with_ratios([row]), out)
    (written,) = json.loads(out.read_text())
    assert CONTRACT <= set(written)
    assert written["server"] == "wsgi" and written["pages"] == 3 and written["seen"] == 3
