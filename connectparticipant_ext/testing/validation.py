"""Requests checked against botocore's input shapes, the way the service checks them.

botocore checks little on the client (only ``min``, and nothing with
``Config(parameter_validation=False)``; the JavaScript SDK, chatjs and AWS's widget check
nothing), so a request breaking a constraint of the model reaches the service, which refuses it.
This module reads every constraint of an operation's input shape from the installed botocore's
``connectparticipant`` and ``connect`` models and checks a request against it, recursively:
required members, JSON types, string and list lengths, map sizes and map keys, numeric
ranges, enums, patterns and unions.

The answer is worded as AWS's request validation words it::

    1 validation error detected: Value 'xxx...' at 'clientToken' failed to satisfy constraint:
    Member must have length less than or equal to 500

several violations joined with ``"; "`` after ``"N validation errors detected: "``. Paths are
the members' names with a lower-case first letter, list entries ``name.N.member`` (from 1),
map entries ``name.<key>.member``. The value of a secret (a participant or connection token,
a view token, a member the model marks ``sensitive``) is never shown: ``Value at 'x' ...``.

What the models cannot say is not here: rules written only in prose (content limits in bytes,
the content types a contact accepts, "exactly one of", the attribute key characters) are
checked by the operations themselves. Choices where AWS's own wording is not documented
(the text for a wrong JSON type, for a union with several members set) are marked as such
below and in docs/fidelity.rst.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, Optional

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

__all__ = [
    "CONNECT",
    "PARTICIPANT_SERVICE",
    "Violation",
    "check",
    "modelled_errors",
    "operation_model",
    "service_model",
    "validation_message",
    "violations",
]

PARTICIPANT_SERVICE = "connectparticipant"
CONNECT = "connect"

_SECRET_SHAPES = frozenset({"ParticipantToken", "ViewToken"})
"""Shapes whose values are never echoed: the participant and connection tokens (both use the
``ParticipantToken`` shape) and the encrypted view token. The models mark neither ``sensitive``."""

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "timestamp": (str, int, float),
    "blob": (str,),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
}


@cache
def service_model(service: str) -> ServiceModel:
    """The installed botocore's model of ``connectparticipant`` or ``connect``."""
    return botocore.session.get_session().get_service_model(service)


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


@cache
def modelled_errors(service: str, operation: str) -> frozenset[str]:
    """The error codes an operation's model lists: the only ones it may answer with."""
    return frozenset(shape.name for shape in operation_model(service, operation).error_shapes)


class Violation:
    """One broken constraint: where, the value found, and the constraint in AWS's words."""

    __slots__ = ("constraint", "path", "secret", "value")

    def __init__(self, path: str, value: Any, constraint: str, secret: bool) -> None:
        self.path = path
        self.value = value
        self.constraint = constraint
        self.secret = secret

    def __repr__(self) -> str:
        return f"Violation({self.path!r}, {self.constraint!r})"

    def __str__(self) -> str:
        if self.secret:
            return f"Value at '{self.path}' failed to satisfy constraint: {self.constraint}"
        if self.value is None:
            return f"Value null at '{self.path}' failed to satisfy constraint: {self.constraint}"
        return f"Value '{_show(self.value)}' at '{self.path}' failed to satisfy constraint: {self.constraint}"


def _show(value: Any) -> str:
    """A value as Java's ``toString`` shows it in AWS's messages (lists ``[a, b]``, maps ``{k=v}``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + "}"
    return "null" if value is None else str(value)


def validation_message(found: list[Violation]) -> str:
    """``"1 validation error detected: ..."`` / ``"N validation errors detected: ...; ..."``."""
    count = len(found)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(str(v) for v in found)


def _wire_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _is_secret(shape: Shape) -> bool:
    return shape.name in _SECRET_SHAPES or bool(shape.metadata.get("sensitive"))


_SEPARATORS = "\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Unicode's separator characters (\\p{Z}), for use inside a character class."""


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    # Java's \p{L}, \p{N} and \p{Z} classes, which Python's re lacks: \p{Z} as its characters,
    # \p{L} as \w (which also takes digits and "_": a little wider). No input shape of the two
    # models has a pattern today; output shapes do (View.Name).
    translated = pattern.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\d").replace(r"\p{Z}", _SEPARATORS)
    return re.compile(translated)


def _length(value: Any) -> int:
    # Strings count Unicode code points (Smithy's length rule), lists entries, maps pairs.
    return len(value)


def _type_violation(value: Any, shape: Shape) -> Optional[str]:
    expected = _JSON_TYPES.get(shape.type_name)
    if expected is None:
        return None
    wrong = not isinstance(value, expected)
    if shape.type_name in ("integer", "long", "double", "float") and isinstance(value, bool):
        wrong = True
    if wrong:
        # AWS answers a wrongly typed field with an unmodelled SerializationException whose
        # text is not documented; this backend answers the operation's modelled validation
        # error and words the constraint itself.
        return f"Member must be of type {shape.type_name}"
    return None


def violations(shape: Shape, value: Any, path: str = "") -> list[Violation]:
    """Every constraint of ``shape`` that ``value`` breaks (``path``: where ``value`` sits)."""
    secret = _is_secret(shape)
    problem = _type_violation(value, shape)
    if problem is not None:
        return [Violation(path, value, problem, secret)]
    found: list[Violation] = []
    metadata = shape.metadata
    if shape.type_name in ("string", "list", "map", "blob"):
        size = _length(value)
        if "max" in metadata and size > metadata["max"]:
            found.append(Violation(path, value, f"Member must have length less than or equal to {metadata['max']}", secret))
        if "min" in metadata and size < metadata["min"]:
            found.append(Violation(path, value, f"Member must have length greater than or equal to {metadata['min']}", secret))
    if shape.type_name in ("integer", "long", "double", "float"):
        if "max" in metadata and value > metadata["max"]:
            found.append(Violation(path, value, f"Member must have value less than or equal to {metadata['max']}", secret))
        if "min" in metadata and value < metadata["min"]:
            found.append(Violation(path, value, f"Member must have value greater than or equal to {metadata['min']}", secret))
    if shape.type_name == "string":
        enum = metadata.get("enum")
        if enum and value not in enum:
            found.append(Violation(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]", secret))
        pattern = metadata.get("pattern")
        if pattern and not _pattern(pattern).search(value):
            found.append(Violation(path, value, f"Member must satisfy regular expression pattern: {pattern}", secret))
    if shape.type_name == "structure":
        found += _structure(shape, value, path)
    elif shape.type_name == "list":
        for index, entry in enumerate(value, start=1):
            if entry is not None:
                found += violations(shape.member, entry, f"{path}.{index}.member")
    elif shape.type_name == "map":
        found += _map(shape, value, path, secret)
    return found


def _structure(shape: Shape, value: Mapping[str, Any], path: str) -> list[Violation]:
    found: list[Violation] = []
    prefix = f"{path}." if path else ""
    required = shape.metadata.get("required", [])
    for name, member in shape.members.items():
        where = prefix + _wire_name(name)
        entry = value.get(name)
        if entry is None:
            if name in required:
                found.append(Violation(where, None, "Member must not be null", _is_secret(member)))
            continue
        found += violations(member, entry, where)
    if shape.metadata.get("union"):
        given = [name for name in shape.members if value.get(name) is not None]
        if len(given) != 1:
            # A union takes exactly one member (botocore's model: "Only one value can be set");
            # AWS's wording for this is not documented.
            found.append(Violation(path, value, "Member must have exactly one member set", False))
    return found


def _map(shape: Shape, value: Mapping[Any, Any], path: str, secret: bool) -> list[Violation]:
    found: list[Violation] = []
    key_problems: list[str] = []
    value_problems: list[str] = []
    for key, entry in value.items():
        for violation in violations(shape.key, key, path):
            if violation.constraint not in key_problems:
                key_problems.append(violation.constraint)
        if entry is None:
            continue
        if shape.value.type_name in ("structure", "list", "map"):
            found += violations(shape.value, entry, f"{path}.{key}.member")
        else:
            for violation in violations(shape.value, entry, path):
                if violation.constraint not in value_problems:
                    value_problems.append(violation.constraint)
    if key_problems:
        found.insert(0, Violation(path, value, f"Map keys must satisfy constraint: [{', '.join(key_problems)}]", secret))
    if value_problems:
        found.append(Violation(path, value, f"Map value must satisfy constraint: [{', '.join(value_problems)}]", secret))
    return found


def check(service: str, operation: str, params: Mapping[str, Any]) -> list[Violation]:
    """The violations of a whole request: body, header and URI members together, by member name."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return []
    return _structure(shape, params, "")
