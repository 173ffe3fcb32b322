"""Lex streamed replies, stitched as AWS's chat client does, with a bound on what is held.

A Lex bot with chat message streaming sends its reply in pieces: several ``MESSAGE`` items with
one ``Id``, role ``SYSTEM``, ``MessageMetadata.MessageCompleted`` false and an increasing
``ChunkNumber``, then one with ``MessageCompleted`` true holding the whole text.
amazon-connect-chatjs' ``src/core/PartialMessageUtil.js`` takes a piece only when it is number
1 or the next number; any other (out of order, duplicate) is ignored until the completed item
replaces them all. Pure bookkeeping: no I/O.

What is held while replies grow is bounded, so a bot (or a hostile socket) that never completes
its replies cannot grow the stream without end: at most :data:`MAX_PARTIAL_REPLIES` replies
and :data:`MAX_PARTIAL_BYTES` of pieces. Past the first, the oldest reply in progress is
dropped; past the second, later pieces of a reply are ignored. Either way its completed item
still comes whole (with its own time instead of the first piece's).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

import attrs

from .._wire import MESSAGE_ITEM_TYPE, SYSTEM_ROLE
from ..models import TranscriptItem

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = ["MAX_PARTIAL_BYTES", "MAX_PARTIAL_REPLIES", "Stitcher"]

MAX_PARTIAL_REPLIES = 16
"""Streamed replies held while they grow; a new one past this drops the oldest in progress."""

MAX_PARTIAL_BYTES = 1 << 20
"""Bytes of pieces held in all: each piece's UTF-8 content plus :data:`PIECE_OVERHEAD`."""

PIECE_OVERHEAD = 64
"""What a piece counts for beyond its text, so that empty pieces are bounded too."""


def piece_metadata(item: TranscriptItem) -> Optional[Mapping[str, Any]]:
    """The ``MessageMetadata`` of a streamed reply's piece or completion, else None."""
    metadata = item.raw.get("MessageMetadata")
    if (
        item.type == MESSAGE_ITEM_TYPE
        and item.participant_role == SYSTEM_ROLE
        and isinstance(metadata, Mapping)
        and isinstance(metadata.get("MessageCompleted"), bool)
    ):
        return metadata
    return None


@attrs.define
class _Reply:
    anchor: Optional[str]  # the last item handed over before its first piece
    first_time: Any
    last_chunk: int = 0
    text: list[str] = attrs.Factory(list)
    size: int = 0
    full: bool = False  # past MAX_PARTIAL_BYTES: later pieces are ignored until it completes


class Stitcher:
    """The streamed replies in progress of one stream."""

    def __init__(self, connection: Connection, *, partial_messages: bool) -> None:
        self._connection = connection
        self._partial_messages = partial_messages
        self._replies: collections.OrderedDict[str, _Reply] = collections.OrderedDict()
        self.held = 0
        """Bytes of pieces held now (at most :data:`MAX_PARTIAL_BYTES`)."""

    def __contains__(self, reply_id: str) -> bool:
        return reply_id in self._replies

    def __len__(self) -> int:
        return len(self._replies)

    def oldest_anchor(self, default: Optional[str]) -> Optional[str]:
        """Where a reconnect re-reads from: before the oldest reply in progress, else ``default``."""
        return next((reply.anchor for reply in self._replies.values()), default)

    def take(
        self, item: TranscriptItem, metadata: Mapping[str, Any], anchor: Optional[str]
    ) -> Optional[TranscriptItem]:
        """The item to hand over for a piece or a completion, or None (nothing to hand over yet)."""
        reply = self._replies.get(item.id)
        if metadata.get("MessageCompleted") is True:
            if reply is None:
                return item
            self._forget(item.id)
            raw = dict(item.raw)
            if reply.first_time is not None:
                raw["AbsoluteTime"] = reply.first_time
            return TranscriptItem.from_response(raw, connection=self._connection)
        chunk = metadata.get("ChunkNumber")
        if isinstance(chunk, bool) or not isinstance(chunk, int):
            return None
        content = str(item.raw.get("Content") or "")
        size = len(content.encode("utf-8", "surrogatepass")) + PIECE_OVERHEAD
        if reply is None:
            if chunk != 1:
                return None  # out of order: wait for the completed message
            while len(self._replies) >= MAX_PARTIAL_REPLIES:
                self._forget(next(iter(self._replies)))
            reply = self._replies[item.id] = _Reply(anchor, item.raw.get("AbsoluteTime"))
        elif reply.full or chunk != reply.last_chunk + 1:
            return None  # duplicate or out of order: ignored, as chatjs does
        if self.held + size > MAX_PARTIAL_BYTES:
            reply.full = True
            return None
        reply.last_chunk = chunk
        reply.text.append(content)
        reply.size += size
        self.held += size
        if not self._partial_messages:
            return None
        raw = dict(item.raw)
        raw["Content"] = "".join(reply.text)
        raw["AbsoluteTime"] = reply.first_time
        return TranscriptItem.from_response(raw, connection=self._connection)

    def _forget(self, reply_id: str) -> None:
        reply = self._replies.pop(reply_id, None)
        if reply is not None:
            self.held -= reply.size
