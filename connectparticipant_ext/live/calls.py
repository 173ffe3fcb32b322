"""The blocking service calls a live stream makes: shared by both drivers.

The threaded stream makes them in its caller's thread (or its opening thread); the asyncio
stream on the library's small executor, never on the event loop and never while it waits for
items. What to call, and when, is the core's decision; these only make the calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Optional

from ..exceptions import ResourceNotFoundError, StreamError, ValidationError
from .actions import GapPlan

if TYPE_CHECKING:
    from ..connection import Connection
    from ..models import TranscriptItem, Websocket
    from ..transcript import TranscriptCollection

__all__ = ["GAP_PAGE", "GapReader", "latest_item", "usable_websocket"]

GAP_PAGE = 100
"""Items per GetTranscript call when filling a gap (the service's MaxResults limit)."""


def latest_item(connection: Connection) -> Optional[TranscriptItem]:
    """The newest item of the transcript, or None for an empty one (one GetTranscript call)."""
    for item in connection.transcript.filter(direction="BACKWARD").limit(1):
        return item
    return None


class GapReader:
    """The transcript pages of a :class:`~connectparticipant_ext.live.core.GapPlan`, one call per :meth:`read`."""

    def __init__(self, connection: Connection, plan: GapPlan) -> None:
        self.plan = plan
        self._connection = connection
        self._pages: Optional[Iterator[list[TranscriptItem]]] = None

    def _collection(self) -> TranscriptCollection:
        transcript = self._connection.transcript.page_size(GAP_PAGE)
        if self.plan.after is not None:
            return transcript.filter(start_id=self.plan.after)
        if self.plan.after_time is not None:
            return transcript.filter(start_time=self.plan.after_time)
        return transcript.all()

    def read(self) -> Optional[list[TranscriptItem]]:
        """The next page (oldest first), or None when there is no more."""
        first = self._pages is None
        if self._pages is None:
            self._pages = self._collection().pages()
        try:
            return next(self._pages, None)
        except (ValidationError, ResourceNotFoundError):
            if not first or self.plan.after is None:
                raise
            # The service does not take that item as a start position: the core starts over.
            return None


def usable_websocket(connection: Connection, *, margin: timedelta, fresh: bool, now: datetime) -> Optional[Websocket]:
    """The connection's websocket URL if it can still be opened at ``now``, else None: then ask
    for a fresh one with :meth:`Connection.refresh_websocket` (a blocking call). No call here.

    A URL is stale when it is missing, ``fresh`` is asked for (the last one was refused), or it
    is within ``margin`` of its ``ConnectionExpiry`` (a deadline to *open* it).

    Raises:
        StreamError: no usable URL, and no participant to ask for a fresh one.
    """
    current = connection.websocket
    stale = current is None or fresh or (current.expires_at is not None and now >= current.expires_at - margin)
    if not stale:
        return current
    if connection.participant is None:
        if current is not None and not fresh:
            return current  # nothing better to try
        raise StreamError("no usable websocket URL, and no participant to ask for a fresh one")
    return None
