"""The chat's wire constants have one home, connectparticipant_ext._wire, and the library imports them.

The offline backend (connectparticipant_ext/testing/) keeps its own copy on purpose, so what it
checks does not follow from what the client sends.
"""

from __future__ import annotations

import ast
from pathlib import Path

import connectparticipant_ext
from connectparticipant_ext import _validation, _wire, authentication, events, interactive, models
from connectparticipant_ext.events import ChatEvent, event_name_from_content_type

PACKAGE = Path(connectparticipant_ext.__file__).parent
WIRE_STRINGS = {
    value
    for name, value in vars(_wire).items()
    if name.isupper() and isinstance(value, str) and not value.startswith("{")  # frames are JSON text
} | set(_wire.MESSAGE_CONTENT_TYPES)
# Modules other helpers are rewriting now; they switch to _wire with their rewrite.
NOT_YET_SWITCHED = {"stream.py", "sse.py", "cli.py"}


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def test_no_library_module_spells_a_wire_constant_of_its_own():
    spelled = {}
    for path in sorted(PACKAGE.glob("*.py")) + sorted((PACKAGE / "streaming").glob("*.py")):
        if path.name in {"_wire.py", *NOT_YET_SWITCHED}:
            continue
        found = {
            literal
            for literal in _string_literals(path)
            if literal in WIRE_STRINGS or literal.startswith(("application/vnd.amazonaws.connect.", "aws/"))
        }
        if found:
            spelled[path.name] = sorted(found)
    assert spelled == {}


def test_the_old_names_are_the_wire_constants():
    assert _validation.EVENT_PREFIX is _wire.EVENT_PREFIX
    assert _validation.TYPING == ChatEvent.TYPING.content_type
    assert _validation.MESSAGE_CONTENT_TYPES is _wire.MESSAGE_CONTENT_TYPES
    assert authentication.AUTHENTICATION_INITIATED == ChatEvent.AUTHENTICATION_INITIATED.content_type
    assert interactive.INTERACTIVE_CONTENT_TYPE is _wire.INTERACTIVE
    assert interactive.INTERACTIVE_RESPONSE_CONTENT_TYPE == _wire.INTERACTIVE + ".response"
    assert models.LEGACY_EVENT_TYPES == set(_wire.LEGACY_EVENT_ITEM_TYPES) == set(events._LEGACY_TYPES)
    for status in authentication.AuthenticationStatus:
        assert ChatEvent.from_content_type(status.content_type) is not None
        assert status.content_type.endswith("authentication." + status.value)


def test_event_names_from_content_types():
    assert event_name_from_content_type(ChatEvent.CHAT_ENDED.content_type) == "chat.ended"
    assert event_name_from_content_type(_wire.EVENT_PREFIX + "brand.new") == "brand.new"
    assert event_name_from_content_type("text/plain") is None
    assert event_name_from_content_type(None) is None
