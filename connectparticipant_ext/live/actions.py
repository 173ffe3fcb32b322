"""What the protocol core asks a driver to do, and the frames it speaks (the core's vocabulary).

:meth:`StreamCore.next_action <connectparticipant_ext.live.core.StreamCore.next_action>`
returns one of these; the driver does it and reports back with the core method each names.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Optional, Union

import attrs
from websockets.exceptions import InvalidStatus

from .._wire import HEARTBEAT_FRAME, SUBSCRIBE_FRAME, SUBSCRIBE_TOPIC
from ..models import TranscriptItem

__all__ = [
    "HEARTBEAT",
    "SUBSCRIBE",
    "Action",
    "Deliver",
    "Drain",
    "DropSocket",
    "Ended",
    "FetchLatest",
    "FlushReceipts",
    "GapPlan",
    "OpenSocket",
    "ReadGap",
    "SendFrame",
    "SocketLostError",
    "Wait",
    "subscription_answer",
]

SUBSCRIBE = SUBSCRIBE_FRAME
HEARTBEAT = HEARTBEAT_FRAME


class SocketLostError(Exception):
    """A socket could not be opened or subscribed: a failed attempt, retried with backoff."""

    def __init__(self, reason: str, *, url_refused: bool = False) -> None:
        super().__init__(reason)
        self.url_refused = url_refused  # 401/403 on open: the next attempt asks for a fresh URL

    @classmethod
    def on_open(cls, exc: BaseException) -> SocketLostError:
        """The failed attempt for what opening a socket raised (a refused URL is marked so)."""
        refused = isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403)
        return cls(f"could not open the websocket: {type(exc).__name__}", url_refused=refused)


def subscription_answer(frame: Union[str, bytes]) -> Optional[bool]:
    """Whether a frame confirms the ``aws/subscribe`` (True/False), or None for any other frame.

    Raises:
        ValueError: the frame is not JSON.
    """
    message = json.loads(frame)
    if not isinstance(message, dict) or message.get("topic") != SUBSCRIBE_TOPIC:
        return None
    content = message.get("content")
    return isinstance(content, dict) and content.get("status") == "success"


@attrs.frozen(eq=False)
class GapPlan:
    """Which transcript items fill a gap: after the item ``after``, from ``after_time``, or all."""

    after: Optional[str] = None
    after_time: Optional[datetime] = None


@attrs.frozen
class Deliver:
    """Hand ``item`` to the caller."""

    item: TranscriptItem


@attrs.frozen
class FetchLatest:
    """Read the newest transcript item (a live-only stream starts after it): ``latest_item()``."""


@attrs.frozen
class ReadGap:
    """Read the next transcript page of ``plan``: ``gap_page()``, or ``gap_read_failed()``."""

    plan: GapPlan


@attrs.frozen
class OpenSocket:
    """Open a socket and subscribe, with a fresh URL first when ``fresh_url``: ``socket_opened()``
    or ``open_failed()``."""

    fresh_url: bool


@attrs.frozen
class SendFrame:
    """Send ``frame``; when that fails, close the socket and report ``socket_lost()``."""

    frame: str


@attrs.frozen
class Drain:
    """Hand every frame the socket has already received to ``frame_received()``, without
    waiting for more, then report ``drained()``.

    Asked before a decision that what was received could change: before a heartbeat counts as
    unanswered (its answer may be there, unread, behind a slow consumer or a busy loop), and
    before a stream that was refused with its socket open ends (``chat.ended`` may be there).
    """


@attrs.frozen
class DropSocket:
    """Close the socket (unhealthy or old), then report ``socket_lost(reason)``."""

    reason: str


@attrs.frozen
class FlushReceipts:
    """Send the batched receipts: ``core.receipts.flush()``, a blocking call."""


@attrs.frozen
class Wait:
    """Wait until ``until`` (None: until woken) for a frame (``read``), the opening, or close()."""

    until: Optional[float]
    read: bool


@attrs.frozen
class Ended:
    """The stream is over: release the socket and the hooks."""


Action = Union[Deliver, FetchLatest, ReadGap, OpenSocket, SendFrame, Drain, DropSocket, FlushReceipts, Wait, Ended]
