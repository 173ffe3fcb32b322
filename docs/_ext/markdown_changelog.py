"""Sphinx extension: ``.. markdown-changelog:: ../CHANGELOG.md`` renders the changelog on its page.

CHANGELOG.md at the repository root is the changelog's one home (Keep a Changelog, read on
GitHub and in the source tree); the docs page includes it through this directive, which needs
no Markdown package. It understands the part of Markdown a Keep a Changelog file uses and
stops the build, naming the line, at anything else:

* ``# Title`` (dropped: the page has its own title), ``## [Version] - date`` and ``### Added``
  style headings;
* paragraphs, and ``-`` lists whose items continue on indented lines;
* inline ```code```, ``**bold**``, ``*emphasis*`` and ``[text](https://...)`` links;
* link definitions (``[Unreleased]: https://...``), which are dropped.

The Markdown is turned into reStructuredText and parsed in place, so the versions become
sections of the page (and entries of its table of contents).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils.nodes import Node
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

_HEADING = re.compile(r"^(#{1,3}) (.+)$")
_ITEM = re.compile(r"^[-*] (.+)$")
_CONTINUATION = re.compile(r"^ {2,}(\S.*)$")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]: \S+$")
_UNSUPPORTED = re.compile(r"^(#{4,} |> |```|~~~|\||\d+[.)] | {2,}[-*] |<)")
_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)"
    r"|\*\*(?P<strong>[^*]+)\*\*"
    r"|\*(?P<emphasis>[^*\s][^*]*)\*"
)
# reStructuredText's inline markup must start after whitespace or one of these, and end
# before whitespace or one of these; elsewhere an escaped space (which shows as nothing) is put.
_BEFORE_START = set(" \t-:/'\"<([{")
_AFTER_END = set(" \t-.,:;!?\\/'\")]}>")
_SECTION_UNDERLINES = {2: "-", 3: "~"}


class MarkdownError(ExtensionError):
    """Raised when the changelog uses Markdown this extension does not translate."""


def _escape(text: str) -> str:
    """Plain text, with the characters reStructuredText would read as markup escaped."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return re.sub(r"_(?=\W|$)", r"\\_", text)


def _inline(text: str) -> str:
    """One block's Markdown inline markup as reStructuredText."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(_escape(text[position : match.start()]))
        if match["code"] is not None:
            markup = f"``{match['code']}``"
        elif match["url"] is not None:
            markup = f"`{_escape(match['text']).replace('<', '&lt;')} <{match['url']}>`__"
        elif match["strong"] is not None:
            markup = f"**{_escape(match['strong'])}**"
        else:
            markup = f"*{_escape(match['emphasis'])}*"
        before = "".join(out)[-1:]
        if before and before not in _BEFORE_START:
            out.append("\\ ")
        out.append(markup)
        after = text[match.end() : match.end() + 1]
        if after and after not in _AFTER_END:
            out.append("\\ ")
        position = match.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def markdown_to_rst(markdown: str, source: str) -> list[str]:
    """The changelog's lines as reStructuredText; :class:`MarkdownError` names what it cannot read."""
    blocks: list[tuple[str, str]] = []  # (kind, text): "h2"/"h3", "item" or "paragraph"
    for number, line in enumerate(markdown.splitlines(), start=1):
        if not line.strip():
            if blocks and blocks[-1][0] == "paragraph":
                blocks.append(("blank", ""))
            continue
        if _UNSUPPORTED.match(line):
            raise MarkdownError(f"{source}:{number}: this Markdown is not supported by {__name__}: {line!r}")
        heading, item, continuation = _HEADING.match(line), _ITEM.match(line), _CONTINUATION.match(line)
        if heading:
            level = len(heading[1])
            if level > 1:  # the page's own title stands for the file's
                blocks.append((f"h{level}", heading[2]))
        elif _LINK_DEFINITION.match(line):
            continue
        elif item:
            blocks.append(("item", item[1]))
        elif continuation and blocks and blocks[-1][0] in ("item", "paragraph"):
            blocks[-1] = (blocks[-1][0], f"{blocks[-1][1]} {continuation[1]}")
        elif blocks and blocks[-1][0] == "paragraph":
            blocks[-1] = ("paragraph", f"{blocks[-1][1]} {line.strip()}")
        elif line.startswith(" "):
            raise MarkdownError(f"{source}:{number}: an indented line outside a list item: {line!r}")
        else:
            blocks.append(("paragraph", line.strip()))
    rst: list[str] = []
    for kind, text in blocks:
        if kind in ("h2", "h3"):
            title = _inline(re.sub(r"^\[([^\]]+)\]", r"\1", text))
            rst += ["", title, _SECTION_UNDERLINES[int(kind[1])] * len(title), ""]
        elif kind == "item":
            rst.append(f"* {_inline(text)}")
        elif kind == "paragraph":
            rst += ["", _inline(text), ""]
    return rst


class MarkdownChangelog(SphinxDirective):
    """``.. markdown-changelog:: path``: the Keep a Changelog file at ``path``, in place."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[Node]:
        relative, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        self.env.note_dependency(relative)
        lines = markdown_to_rst(Path(path).read_text(encoding="utf-8"), self.arguments[0])
        self.state_machine.insert_input(lines, path)
        return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("markdown-changelog", MarkdownChangelog)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
