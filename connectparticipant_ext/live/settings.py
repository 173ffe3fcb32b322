"""The options a live stream takes, checked once, before any network call (both drivers share them)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Callable, Optional

import attrs

from .._validation import require_seconds
from ..exceptions import InvalidArgumentError, InvalidArgumentTypeError
from .receipts import RECEIPT_THROTTLE

__all__ = ["MAX_SOCKET_AGE", "StreamSettings", "StreamState"]

MAX_SOCKET_AGE = 3540.0
"""Seconds an open socket is kept before it is re-opened (chatjs' TRANSPORT_LIFETIME_IN_SECONDS)."""


class StreamState(enum.Enum):
    """Where a stream is: opening its first socket, open, re-opening, or done."""

    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


STATE_CHANGES: Mapping[StreamState, frozenset[StreamState]] = {
    StreamState.CONNECTING: frozenset({StreamState.OPEN, StreamState.RECONNECTING, StreamState.CLOSED}),
    StreamState.OPEN: frozenset({StreamState.RECONNECTING, StreamState.CLOSED}),
    StreamState.RECONNECTING: frozenset({StreamState.OPEN, StreamState.CLOSED}),
    StreamState.CLOSED: frozenset(),
}
"""The states a stream may move to from each state."""


def _seconds(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    require_seconds(attribute.name, value)


def _seconds_or_zero(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    require_seconds(attribute.name, value, allow_zero=True)


def _margin(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise InvalidArgumentError("url_refresh_margin must not be negative")
        return value
    return timedelta(seconds=require_seconds("url_refresh_margin", value, allow_zero=True))


def _flag(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidArgumentTypeError(f"{attribute.name} must be True or False")


def _since(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidArgumentError("since must be a non-empty item id")


def _callback(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not callable(value):
        raise InvalidArgumentTypeError("on_state_change must be callable")


def _attempts(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentTypeError("reconnect_attempts must be an int")
    if value < 0:
        raise InvalidArgumentError("reconnect_attempts must be 0 or more")


@attrs.frozen(kw_only=True)
class StreamSettings:
    """A live stream's options; bad values raise :class:`~connectparticipant_ext.InvalidArgumentError`
    (or ``InvalidArgumentTypeError``) naming the option, before any network call.

    Args:
        history: first the transcript so far, then live items.
        since: first what came after this item id (resuming), then live items. An id the
            transcript does not know gives the whole transcript instead (``stream.since_unknown``).
        partial_messages: also hand over a Lex streamed reply as it grows (``item.is_complete``
            False), before the complete message.
        receipts: send delivered receipts for other participants' messages (not for the
            flow's or a Lex bot's ``SYSTEM`` messages, nor for this participant's own), batched.
        receipt_throttle: seconds receipts are batched over (chatjs: 5).
        on_state_change: called with the new :class:`StreamState` on every change, in the
            thread (or task) that caused it; an exception it raises is logged, not propagated.
        heartbeat_interval: seconds between ``aws/heartbeat`` frames (AWS's clients: 10).
        heartbeat_timeout: seconds to wait for a heartbeat's answer before reconnecting.
        reconnect_attempts: failed attempts in a row before giving up.
        backoff_base: first reconnect delay in seconds; doubles each attempt, with jitter.
        backoff_max: the longest reconnect delay.
        open_timeout: seconds to open the socket and get the subscription confirmed.
        url_refresh_margin: a websocket URL this close to its ``ConnectionExpiry`` (seconds
            or a timedelta) is replaced by a fresh one before opening.
        max_socket_age: seconds after which an open socket is re-opened (chatjs: 3540).
    """

    history: bool = attrs.field(default=False, validator=_flag)
    since: Optional[str] = attrs.field(default=None, validator=_since)
    partial_messages: bool = attrs.field(default=False, validator=_flag)
    receipts: bool = attrs.field(default=False, validator=_flag)
    receipt_throttle: float = attrs.field(default=RECEIPT_THROTTLE, validator=_seconds_or_zero)
    on_state_change: Optional[Callable[[StreamState], Any]] = attrs.field(default=None, validator=_callback)
    heartbeat_interval: float = attrs.field(default=10.0, validator=_seconds)
    heartbeat_timeout: float = attrs.field(default=10.0, validator=_seconds)
    reconnect_attempts: int = attrs.field(default=8, validator=_attempts)
    backoff_base: float = attrs.field(default=0.5, validator=_seconds_or_zero)
    backoff_max: float = attrs.field(default=30.0, validator=_seconds_or_zero)
    open_timeout: float = attrs.field(default=10.0, validator=_seconds)
    url_refresh_margin: timedelta = attrs.field(  # seconds or a timedelta; kept as a timedelta
        default=timedelta(seconds=60), converter=_margin
    )
    max_socket_age: float = attrs.field(default=MAX_SOCKET_AGE, validator=_seconds)

    def __attrs_post_init__(self) -> None:
        if self.history and self.since is not None:
            raise InvalidArgumentError("give history=True or since=, not both")
        if self.backoff_max < self.backoff_base:
            raise InvalidArgumentError("backoff_max must not be less than backoff_base")
