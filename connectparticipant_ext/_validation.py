"""Argument checks made before any network call, so bad input fails fast and names itself."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

# The content types SendMessage and SendEvent accept, checked here; their home is _wire.
from ._wire import CONNECTION_ACKNOWLEDGED_CONTENT_TYPE as CONNECTION_ACKNOWLEDGED
from ._wire import EVENT_CONTENT_TYPES, EVENT_PREFIX, MESSAGE_CONTENT_TYPES
from ._wire import MESSAGE_DELIVERED_CONTENT_TYPE as MESSAGE_DELIVERED
from ._wire import MESSAGE_READ_CONTENT_TYPE as MESSAGE_READ
from ._wire import TYPING_CONTENT_TYPE as TYPING
from .exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "CONNECTION_ACKNOWLEDGED",
    "EVENT_CONTENT_TYPES",
    "EVENT_PREFIX",
    "MAX_CONTENT_LENGTH",
    "MESSAGE_CONTENT_TYPES",
    "MESSAGE_DELIVERED",
    "MESSAGE_READ",
    "TYPING",
    "require_aware_datetime",
    "require_choice",
    "require_int",
    "require_seconds",
    "require_str",
    "require_token",
    "require_utf8",
]

MAX_CONTENT_LENGTH = 16384
"""SendMessage and SendEvent accept 1 to 16,384 **bytes** of UTF-8 content ("Maximum of 16,384
bytes for all content types", botocore's connectparticipant model)."""


def require_str(
    name: str, value: Any, *, min_length: int = 1, max_length: int | None = None, max_bytes: int | None = None
) -> str:
    """Check that ``value`` is a string of an allowed length and return it.

    ``max_length`` counts characters; ``max_bytes`` counts the bytes of its UTF-8 encoding
    (the service's limit on message and event content).
    """
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(f"{name} must be a str, not {type(value).__name__}")
    if len(value) < min_length:
        raise InvalidArgumentError(
            f"{name} must not be empty" if min_length == 1 else f"{name} must have at least {min_length} characters"
        )
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(f"{name} has {len(value)} characters; the limit is {max_length}")
    require_utf8(name, value)
    if max_bytes is not None:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise InvalidArgumentError(f"{name} has {size} bytes of UTF-8; the limit is {max_bytes} bytes")
    return value


def require_utf8(name: str, value: str) -> str:
    """Refuse text that cannot be sent as UTF-8 (a lone surrogate such as ``"\\ud800"``).

    The service takes UTF-8; such a string would fail to encode later, or be stored and break
    every reader of the transcript, so it is refused before any call.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(
            f"{name} is not valid Unicode text: a lone surrogate {value[exc.start]!r} at position {exc.start}"
        ) from None
    return value


def require_token(name: str, value: Any) -> str:
    """Check a token without ever echoing it."""
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(f"{name} must not be empty")
    return value


def require_int(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    """Check that ``value`` is an int (not a bool) within a range and return it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentTypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidArgumentError(f"{name} must be {bound}, got {value}")
    return value


def require_choice(name: str, value: Any, choices: frozenset[str] | tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``choices`` and return it."""
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(f"{name} must be a str, not {type(value).__name__}")
    if value not in choices:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(sorted(choices))}; got {value!r}")
    return value


def require_aware_datetime(name: str, value: Any) -> datetime:
    """Check that ``value`` is a timezone-aware datetime and return it in UTC.

    Naive datetimes are refused rather than guessed at: the service works in UTC and a
    local time silently taken as UTC would shift a transcript read by hours.
    """
    if not isinstance(value, datetime):
        raise InvalidArgumentTypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(
            f"{name} must be timezone-aware (e.g. datetime.now(timezone.utc)); got a naive datetime"
        )
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # datetime.max with a negative offset, say: past year 9999 in UTC
        raise InvalidArgumentError(f"{name} is outside the range of times the service takes") from None


def require_seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Check that ``value`` is a finite number of seconds (not a bool, not NaN) and return it.

    ``allow_zero`` admits 0; negative numbers and infinities are always refused, and so is
    anything past :data:`threading.TIMEOUT_MAX` (about 292 years), which every wait of the
    standard library refuses with :class:`OverflowError`.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentTypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not 0 <= value <= threading.TIMEOUT_MAX or (value == 0 and not allow_zero):  # NaN fails every comparison
        bound = "0 or more" if allow_zero else "more than 0"
        raise InvalidArgumentError(
            f"{name} must be a finite number of seconds, {bound} and at most {threading.TIMEOUT_MAX:.0f}; got {value!r}"
        )
    return float(value)
