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
from connectparticipant_ext.live import actions

PACKAGE = Path(connectparticipant_ext.__file__).parent
WIRE_STRINGS = (
    {
        value
        for name, value in vars(_wire).items()
        if name.isupper() and isinstance(value, str) and not value.startswith("{")  # frames are JSON text
    }
    | set(_wire.MESSAGE_CONTENT_TYPES)
    | set(_wire.LEGACY_EVENT_ITEM_TYPES)
)
NOT_SCANNED = {
    "testing": "the offline backend keeps its own copy of the wire on purpose, so that what it checks "
    "does not follow from what the client sends (see _wire's docstring)",
}
SAME_SPELLING_OTHER_FACT = {
    ("attachments.py", "ATTACHMENT"): "GetAttachment's ContentDisposition, not the item type",
    ("django.py", "text/plain"): "the Content-Type of an HTTP answer, not of a chat message",
    ("sse.py", "typing"): "the kind of an SSE payload (the page's vocabulary), not the event's name",
}
"""Literals that a module spells like a wire constant but that mean something else, each with why."""


def _library_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in NOT_SCANNED and path.name != "_wire.py"
    ]


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
    exported_names = {
        id(element)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets)
        for element in ast.walk(node.value)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and id(node) not in exported_names
    }


def test_no_library_module_spells_a_wire_constant_of_its_own():
    spelled = {}
    for path in _library_modules():
        module = path.relative_to(PACKAGE).as_posix()
        found = {
            literal
            for literal in _string_literals(path)
            if (literal in WIRE_STRINGS or literal.startswith(("application/vnd.amazonaws.connect.", "aws/")))
            and (module, literal) not in SAME_SPELLING_OTHER_FACT
        }
        if found:
            spelled[module] = sorted(found)
    assert spelled == {}


def test_the_scan_reaches_every_subpackage_but_the_backend():
    scanned = {path.relative_to(PACKAGE).parts[0] for path in _library_modules() if path.parent != PACKAGE}
    subpackages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert scanned == subpackages - set(NOT_SCANNED)
    assert {"live", "streaming"} <= scanned
    for module, literal in SAME_SPELLING_OTHER_FACT:  # no stale exception
        assert literal in _string_literals(PACKAGE / module), (module, literal)


def test_the_old_names_are_the_wire_constants():
    assert _validation.EVENT_PREFIX is _wire.EVENT_PREFIX
    assert _validation.TYPING == ChatEvent.TYPING.content_type
    assert _validation.MESSAGE_CONTENT_TYPES is _wire.MESSAGE_CONTENT_TYPES
    assert authentication.AUTHENTICATION_INITIATED == ChatEvent.AUTHENTICATION_INITIATED.content_type
    assert interactive.INTERACTIVE_CONTENT_TYPE is _wire.INTERACTIVE
    assert interactive.INTERACTIVE_RESPONSE_CONTENT_TYPE == _wire.INTERACTIVE + ".response"
    assert models.LEGACY_EVENT_TYPES == set(_wire.LEGACY_EVENT_ITEM_TYPES) == set(events._LEGACY_TYPES)
    assert actions.SUBSCRIBE is _wire.SUBSCRIBE_FRAME and actions.HEARTBEAT is _wire.HEARTBEAT_FRAME
    for status in authentication.AuthenticationStatus:
        assert ChatEvent.from_content_type(status.content_type) is not None
        assert status.content_type.endswith("authentication." + status.value)


def test_event_names_from_content_types():
    assert event_name_from_content_type(ChatEvent.CHAT_ENDED.content_type) == "chat.ended"
    assert event_name_from_content_type(_wire.EVENT_PREFIX + "brand.new") == "brand.new"
    assert event_name_from_content_type("text/plain") is None
    assert event_name_from_content_type(None) is None
