"""Sphinx configuration for connectparticipant-ext."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))  # this site's own extensions

import connectparticipant_ext  # noqa: E402

project = "connectparticipant-ext"
author = "connectparticipant-ext contributors"
copyright = "2026, connectparticipant-ext contributors"
version = release = connectparticipant_ext.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosectionlabel",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "markdown_changelog",  # the changelog page shows CHANGELOG.md
]

# :ref:`page:Section title` links to a page's section by its title (the recipes page does).
# Only a page's own sections get labels: subsections repeat titles ("Added" in each version).
autosectionlabel_prefix_document = True
autosectionlabel_maxdepth = 2

# Google-style docstrings only.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,
}

nitpicky = False

# docs/examples/<project>/ holds whole example projects (their files are literalincluded, not
# pages); a page about an example lives next to them, as docs/examples/<name>.rst.
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "examples/*/**"]
templates_path: list[str] = []

html_theme = "alabaster"
html_title = f"connectparticipant-ext {release}"
html_static_path = ["_static"]  # custom.css: alabaster links it from every page
html_theme_options = {
    "description": "Amazon Connect chat participants, the boto3 way",
    "fixed_sidebar": True,
}


# tests/test_docs.py runs every python code block except those whose first line is
# "# doctest: skip". The marker is for the tests, not the reader: it is removed from the
# rendered pages (the text before such a block says what it needs instead).
_DOCTEST_MARKER = re.compile(r"^[ \t]*# doctest: skip[ \t]*\r?\n", re.MULTILINE)


def hide_doctest_markers(app: Any, docname: str, source: list[str]) -> None:
    """Sphinx ``source-read`` handler: drop the test-only skip marker lines."""
    source[0] = _DOCTEST_MARKER.sub("", source[0])


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", hide_doctest_markers)
    return {"parallel_read_safe": True}
