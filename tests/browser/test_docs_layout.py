"""The built docs in headless Chromium: every code block fits a 1,280px-wide window.

The docs are built once per run (the ``built_docs`` fixture) and opened from disk. The
viewport is 1,265px: a 1,280px window less a classic 15px scrollbar. The source listings
(``_modules/``) and generated indices are left out: they are not examples.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import require_playwright

require_playwright()

VIEWPORT = {"width": 1280 - 15, "height": 800}
NOT_EXAMPLES = {"genindex", "py-modindex", "search"}

# Each code block wider than its box: its page-relative position and its longest line.
_CUT_OFF_BLOCKS = """() => [...document.querySelectorAll("div.body pre")]
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
    .map((pre) => {
        const lines = pre.textContent.split("\\n");
        const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
        return `${pre.scrollWidth - pre.clientWidth}px too wide: ${longest.trim()}`;
    })"""


@pytest.fixture(scope="module")
def docs_page(browser: Any) -> Any:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_every_code_block_fits_a_1280px_window(built_docs: Any, docs_page: Any) -> None:
    assert built_docs.returncode == 0, built_docs.output[-2000:]
    pages = sorted(p for p in built_docs.html.glob("*.html") if p.stem not in NOT_EXAMPLES)
    assert len(pages) > 10
    cut_off: dict[str, list[str]] = {}
    for page in pages:
        docs_page.goto(page.as_uri())
        blocks = docs_page.evaluate(_CUT_OFF_BLOCKS)
        overflow = docs_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            blocks.append(f"the page itself is {overflow}px wider than the window")
        if blocks:
            cut_off[page.name] = blocks
    assert not cut_off, "cut off at 1,280px:\n" + "\n".join(f"{name}: {b}" for name, bs in cut_off.items() for b in bs)
