"""JSON from the service, a queue or a socket, parsed with a bound on how deeply it nests.

``json.loads`` recurses once per level of nesting, so a document of a few thousand ``[``
raises :class:`RecursionError` (not a :class:`ValueError`), and one just under the
interpreter's limit parses into a structure that breaks the next recursive reader (``repr``,
``copy.deepcopy``, a template walker). Every JSON document the library reads from outside
goes through :func:`loads`, which refuses nesting deeper than :data:`MAX_DEPTH` with a
:class:`ValueError`, so callers handle it exactly as they handle malformed JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any, Union

__all__ = ["MAX_DEPTH", "JSONNestingError", "loads"]

MAX_DEPTH = 64
"""The deepest nesting accepted. What the service sends nests a few levels (a transcript item
four, an interactive template about ten, a carousel of templates a few more); 64 leaves room
and stays far below the interpreter's recursion limit (1,000 by default)."""

# A string (to its closing quote, or to the end of a malformed text: the optional closing
# quote keeps the match from backtracking, so the scan stays linear) or one bracket, captured.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|([\[\]{}])', re.DOTALL)


class JSONNestingError(ValueError):
    """Raised when a JSON document nests deeper than the limit (a :class:`ValueError`)."""


def loads(text: Union[str, bytes, bytearray], *, max_depth: int = MAX_DEPTH) -> Any:
    """:func:`json.loads`, refusing documents nested deeper than ``max_depth`` levels.

    Raises:
        JSONNestingError: the document nests too deeply (checked before parsing).
        ValueError: the text is not JSON (:class:`json.JSONDecodeError`, or a
            :class:`UnicodeDecodeError` for bytes that are not text).
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    # The common case costs two C-level counts: a document with no more opening brackets
    # than the limit cannot nest deeper than it.
    if text.count("[") + text.count("{") > max_depth and _nests_deeper(text, max_depth):
        raise JSONNestingError(f"the JSON document nests deeper than {max_depth} levels")
    return json.loads(text)


def _nests_deeper(text: str, max_depth: int) -> bool:
    depth = 0
    for bracket in _TOKENS.findall(text):  # "" for a string, which holds no structure
        if bracket == "[" or bracket == "{":
            depth += 1
            if depth > max_depth:
                return True
        elif bracket:
            depth -= 1
    return False
