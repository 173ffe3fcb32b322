"""Lazy, chainable transcript reads over GetTranscript, in the manner of boto3 collections.

botocore ships no paginator for GetTranscript; :class:`TranscriptCollection` is one. Nothing
is fetched until the collection is iterated, one GetTranscript call per page, only when the
caller asks for more. Every chaining method returns a new collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any, Optional

import attrs

from ._time import format_time
from ._validation import require_aware_datetime, require_choice, require_int, require_str
from .exceptions import ConnectParticipantError, InvalidArgumentError, MalformedResponseError
from .models import TranscriptItem

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["DEFAULT_PAGE_SIZE", "TranscriptCollection", "TranscriptCollectionManager"]

DEFAULT_PAGE_SIZE = 100
"""Items asked for per GetTranscript call (the service's maximum; its own default is 10)."""

MAX_PAGE_SIZE = 100
MAX_MOST_RECENT = 100

DIRECTIONS = ("FORWARD", "BACKWARD")
SORT_ORDERS = ("ASCENDING", "DESCENDING")

_BEGINNING_OF_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)


@attrs.frozen(kw_only=True)
class TranscriptQuery:
    """The GetTranscript parameters a collection was filtered with."""

    direction: Optional[str] = None
    sort: Optional[str] = None
    start_id: Optional[str] = None
    start_time: Optional[datetime] = None
    most_recent: Optional[int] = None
    contact_id: Optional[str] = None

    def request_params(self) -> dict[str, Any]:
        """GetTranscript parameters for this query.

        With no filter at all the whole transcript is read oldest first: FORWARD from the
        start of time, ASCENDING. FORWARD needs a start position, so when none is given
        the read starts at the beginning of the chat. A start position without a direction
        reads FORWARD from it. The sort order follows the direction unless given.
        """
        direction = self.direction or "FORWARD"
        params: dict[str, Any] = {
            "ScanDirection": direction,
            "SortOrder": self.sort or ("ASCENDING" if direction == "FORWARD" else "DESCENDING"),
        }
        if self.start_id is not None:
            params["StartPosition"] = {"Id": self.start_id}
        elif self.start_time is not None:
            params["StartPosition"] = {"AbsoluteTime": format_time(self.start_time)}
        elif self.most_recent is not None:
            params["StartPosition"] = {"MostRecent": self.most_recent}
        elif direction == "FORWARD":
            params["StartPosition"] = {"AbsoluteTime": format_time(_BEGINNING_OF_TIME)}
        if self.contact_id is not None:
            params["ContactId"] = self.contact_id
        return params


def _transcript_of(response: Any) -> list[dict[str, Any]]:
    """The items of a GetTranscript answer, or a MalformedResponseError saying what is wrong."""
    if not isinstance(response, dict):
        raise MalformedResponseError("GetTranscript", f"the answer is a {type(response).__name__}, not an object")
    items = response.get("Transcript") or []
    if not isinstance(items, list):
        raise MalformedResponseError("GetTranscript", f"Transcript is a {type(items).__name__}, not a list")
    if not all(map(isinstance, items, repeat(dict))):  # checked in C: this runs for every page
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise MalformedResponseError(
                    "GetTranscript", f"Transcript[{index}] is a {type(item).__name__}, not an object"
                )
    return items


class TranscriptCollection:
    """A lazily-read, chainable view of a chat's transcript.

    Iterating yields :class:`~connectparticipant_ext.TranscriptItem` objects; :meth:`pages`
    yields one list per GetTranscript call. Only one page is held at a time, and a read that
    outlives the connection token continues through the connection's renewal.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        query: Optional[TranscriptQuery] = None,
        limit: Optional[int] = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self._connection = connection
        self._query = query or TranscriptQuery()
        self._limit = limit
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._query!r}, limit={self._limit!r}, page_size={self._page_size!r})"

    @property
    def query(self) -> TranscriptQuery:
        return self._query

    def _clone(self, **changes: Any) -> TranscriptCollection:
        options: dict[str, Any] = {"query": self._query, "limit": self._limit, "page_size": self._page_size}
        options.update(changes)
        return TranscriptCollection(self._connection, **options)

    # -- chaining ------------------------------------------------------------------------------

    def all(self) -> TranscriptCollection:
        """The whole transcript (with any filters already applied), oldest first by default."""
        return self._clone()

    def filter(
        self,
        *,
        direction: Optional[str] = None,
        sort: Optional[str] = None,
        start_id: Optional[str] = None,
        start_time: Optional[datetime] = None,
        most_recent: Optional[int] = None,
        contact_id: Optional[str] = None,
    ) -> TranscriptCollection:
        """A collection with GetTranscript parameters set.

        Args:
            direction: ``"FORWARD"`` (older to newer) or ``"BACKWARD"``. FORWARD without a
                start position starts at the beginning of the chat.
            sort: ``"ASCENDING"`` or ``"DESCENDING"`` within each page; defaults to the
                order that matches ``direction``.
            start_id: start at this item.
            start_time: start at this time; must be timezone-aware (naive datetimes are
                refused rather than guessed at).
            most_recent: start this many items back from the newest (0 to 100).
            contact_id: read an earlier contact of a persistent chat.

        At most one of ``start_id``, ``start_time`` and ``most_recent`` may be given.
        """
        changes: dict[str, Any] = {}
        if direction is not None:
            changes["direction"] = require_choice("direction", direction, DIRECTIONS)
        if sort is not None:
            changes["sort"] = require_choice("sort", sort, SORT_ORDERS)
        starts = {
            "start_id": start_id,
            "start_time": start_time,
            "most_recent": most_recent,
        }
        given = [name for name, value in starts.items() if value is not None]
        if len(given) > 1:
            raise InvalidArgumentError(f"give at most one start position; got {' and '.join(given)}")
        if given:
            if start_id is not None:
                changes["start_id"] = require_str("start_id", start_id, max_length=256)
            if start_time is not None:
                changes["start_time"] = require_aware_datetime("start_time", start_time)
            if most_recent is not None:
                changes["most_recent"] = require_int("most_recent", most_recent, minimum=0, maximum=MAX_MOST_RECENT)
            changes.update({name: None for name in starts if name not in given})
        if contact_id is not None:
            changes["contact_id"] = require_str("contact_id", contact_id, max_length=256)
        return self._clone(query=attrs.evolve(self._query, **changes))

    def limit(self, count: int) -> TranscriptCollection:
        """A collection that stops after ``count`` items."""
        return self._clone(limit=require_int("limit", count, minimum=0))

    def page_size(self, count: int) -> TranscriptCollection:
        """A collection that asks for ``count`` items per call (1 to 100)."""
        return self._clone(page_size=require_int("page_size", count, minimum=1, maximum=MAX_PAGE_SIZE))

    # -- reading -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[TranscriptItem]:
        # Flattened in C (no generator frame resumed per item), as lazily as pages() itself.
        return chain.from_iterable(self.pages())

    def pages(self) -> Iterator[list[TranscriptItem]]:
        """Yield one list of items per GetTranscript call, following NextToken lazily.

        Raises:
            ConnectParticipantError: the service returned a NextToken it had already given in
                this read (a cycle, which would otherwise never end).
        """
        remaining = self._limit
        if remaining == 0:
            return
        params = self._query.request_params()
        seen_tokens: set[str] = set()
        while True:
            page_size = self._page_size if remaining is None else min(self._page_size, remaining)
            response = self._connection.call_operation("GetTranscript", MaxResults=page_size, **params)
            items = TranscriptItem.from_page(_transcript_of(response), connection=self._connection)
            if remaining is not None:
                items = items[:remaining]
                remaining -= len(items)
            if items:
                yield items
            next_token = response.get("NextToken")
            if not next_token or remaining == 0:
                return
            if not isinstance(next_token, str):
                raise MalformedResponseError("GetTranscript", f"NextToken is a {type(next_token).__name__}, not a str")
            if next_token in seen_tokens:
                # A cycle (A, B, A, ...) would read the same pages forever: stop and say so.
                raise ConnectParticipantError(
                    f"GetTranscript returned a NextToken it had already returned in this read "
                    f"(after {len(seen_tokens)} pages): the pages repeat, so the read stops"
                )
            seen_tokens.add(next_token)
            params["NextToken"] = next_token


class TranscriptCollectionManager(TranscriptCollection):
    """``conn.transcript``: iterating it reads the whole chat, oldest first."""
