"""The items' path through a live stream: each item once, in order. Pure bookkeeping, no I/O.

Two sources meet here: the socket's ``aws/chat`` frames, and after each (re)connect the
transcript pages that fill the gap (what came while no socket was open). Transcript items come
first; the gap is filled once a page holds an item the socket also has. Whatever was handed
over already is dropped by ``Id`` (the last :data:`~.receipts.IDS_KEPT`), and by time beyond
that. Lex streamed replies are stitched on the way (:mod:`.stitching`), and delivered receipts
are noted for batching (:mod:`.receipts`).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional, Union

import attrs

from .._wire import ATTACHMENT_ITEM_TYPE, MESSAGE_METADATA_ITEM_TYPE, SYSTEM_ROLE
from ..events import ChatEvent
from ..models import TranscriptItem
from .actions import Deliver, GapPlan, ReadGap
from .receipts import IDS_KEPT, OwnMessages, Receipts
from .settings import StreamSettings
from .stitching import Stitcher, piece_metadata

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = ["ItemFlow"]

logger = logging.getLogger(__name__)


def _attachment_statuses(item: TranscriptItem) -> tuple[str, ...]:
    """The Status of each entry of an ATTACHMENT item, in order (junk entries count as "")."""
    entries = item.raw.get("Attachments")
    if not isinstance(entries, list):
        return ()
    return tuple(str(e.get("Status") or "") if isinstance(e, Mapping) else "" for e in entries)


def _bounded(ordered: collections.OrderedDict[str, Any]) -> None:
    while len(ordered) > IDS_KEPT:
        ordered.popitem(last=False)


@attrs.define
class _Gap:
    plan: GapPlan
    buffer: collections.deque[TranscriptItem] = attrs.Factory(collections.deque)
    more: bool = True
    pages: int = 0


class ItemFlow:
    """The socket's queue, the gap being filled, and what was handed over."""

    def __init__(self, settings: StreamSettings, connection: Connection) -> None:
        self._settings = settings
        self._connection = connection
        self._pending: collections.deque[TranscriptItem] = collections.deque()
        self._pending_ids: dict[str, int] = {}
        self._gap: Optional[_Gap] = None
        self._first_plan: Optional[GapPlan] = None
        self.since_unknown = False
        self.anchor = settings.since  # the last item handed over that the transcript keeps
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        if settings.since is not None:
            self._seen[settings.since] = None
        # ATTACHMENT items handed over, by id: their statuses. A scan verdict comes as the same
        # item again with a new Status (see the backend's verdict push); it is handed over too.
        self._attachment_statuses: collections.OrderedDict[str, tuple[str, ...]] = collections.OrderedDict()
        self._last_time: Optional[datetime] = None
        self._order = 0
        self._arrival: collections.OrderedDict[str, int] = collections.OrderedDict()
        self.replies = Stitcher(connection, partial_messages=settings.partial_messages)
        self.receipts = Receipts(connection, settings.receipt_throttle)
        self.own = OwnMessages(connection)

    @property
    def backlog(self) -> int:
        """Items received on the socket and not handed over yet."""
        return len(self._pending)

    @property
    def filling(self) -> bool:
        return self._gap is not None

    @property
    def first_page_read(self) -> bool:
        return self._gap is None or self._gap.pages > 0

    def latest(self, item: Optional[TranscriptItem]) -> None:
        """Only what comes after ``item`` (the newest when a live-only stream starts)."""
        if item is not None:
            self.anchor = item.id
            self._seen[item.id] = None
            self._last_time = item.absolute_time or self._last_time

    def received(self, data: dict[str, Any]) -> None:
        """An item from the socket."""
        item = TranscriptItem.from_response(data, connection=self._connection)
        self._pending.append(item)
        self._pending_ids[item.id] = self._pending_ids.get(item.id, 0) + 1

    def reconnected(self, first: bool) -> None:
        """A socket opened: fill the gap before it from the transcript."""
        if first:
            plan = GapPlan(after=self.anchor) if self.anchor and not self._settings.history else GapPlan()
            self._first_plan = plan
        else:
            # A streamed reply in progress is re-read from before its first piece (the
            # transcript has it whole).
            start = self.replies.oldest_anchor(self.anchor)
            plan = GapPlan(after=start, after_time=self._last_time) if start else GapPlan()
        self._gap = _Gap(plan)

    def gap_page(self, plan: GapPlan, items: Optional[list[TranscriptItem]]) -> None:
        """The next page of ``plan`` (None: there are no more)."""
        gap = self._gap
        if gap is None or gap.plan is not plan:
            return  # a page of a gap that was replaced (a reconnect came in between)
        gap.pages += 1
        if plan.after is not None and gap.pages == 1 and not any(i.id == plan.after for i in items or ()):
            # The transcript does not know the start item (an empty page, or refused): start
            # over by time when a time is known, else from the beginning.
            logger.info("the transcript does not know the item to resume after; reading from the start")
            self.since_unknown = self.since_unknown or plan is self._first_plan
            self._gap = _Gap(GapPlan(after_time=plan.after_time) if plan.after_time else GapPlan())
            return
        if items is None:
            gap.more = False
            return
        for item in items:
            if item.id != plan.after:
                gap.buffer.append(item)
            elif item.absolute_time is not None and self._last_time is None:
                self._last_time = item.absolute_time  # what the socket replays from before is old

    def gap_dropped(self, plan: GapPlan) -> None:
        """The gap cannot be read (the connection was closed): only the socket is left."""
        if self._gap is not None and self._gap.plan is plan:
            self._gap = None

    def stop_reading(self) -> None:
        """No more transcript pages: what was read of the gap is handed over, then the socket's items."""
        if self._gap is not None:
            self._gap.more = False

    def mark_read(self, message_id: str, now: float) -> None:
        order = self._arrival.get(message_id)
        if order is None:
            self._order += 1
            order = self._order
        self.receipts.read(message_id, order, now)

    def take(self, now: float) -> Union[Deliver, ReadGap, None]:
        """The next item to hand over (transcript pages before the socket's), a page to read, or None."""
        while self._gap is not None or self._pending:
            gap = self._gap
            if gap is not None:
                if not gap.buffer:
                    if gap.more:
                        return ReadGap(gap.plan)
                    self._gap = None
                    continue
                item = gap.buffer.popleft()
                if item.id and item.id in self._pending_ids:
                    # The socket has it (and everything after it): the gap is filled. What the
                    # socket got before it (typing, receipts) keeps its place in the order.
                    self._gap = None
                    continue
            else:
                item = self._pending.popleft()
                count = self._pending_ids.get(item.id, 0)
                if count <= 1:
                    self._pending_ids.pop(item.id, None)
                else:
                    self._pending_ids[item.id] = count - 1
            if not self._already_seen(item):
                handed = self._hand_over(item, now)
                if handed is not None:
                    return Deliver(handed)
        return None

    def _already_seen(self, item: TranscriptItem) -> bool:
        if item.type == ATTACHMENT_ITEM_TYPE and item.id in self._attachment_statuses:
            # The same attachment item again: new only when its status changed (a scan verdict).
            return self._attachment_statuses[item.id] == _attachment_statuses(item)
        if item.id and item.id in self._seen:
            return True
        if item.id in self.replies:
            return False  # a streamed reply's pieces and its completion share an id
        # Older than what was already handed over: a replay beyond the remembered ids.
        return bool(
            item.type != MESSAGE_METADATA_ITEM_TYPE
            and self._last_time is not None
            and item.absolute_time is not None
            and item.absolute_time < self._last_time
        )

    def _hand_over(self, item: TranscriptItem, now: float) -> Optional[TranscriptItem]:
        """Record an item as handed over; stitch Lex pieces. None when nothing is to be handed over."""
        metadata = piece_metadata(item)
        if metadata is not None:
            stitched = self.replies.take(item, metadata, self.anchor)
            if stitched is None or not stitched.is_complete:
                return stitched
            item = stitched
        if item.id:
            self._seen[item.id] = None
            _bounded(self._seen)
            if item.type == ATTACHMENT_ITEM_TYPE:
                self._attachment_statuses[item.id] = _attachment_statuses(item)
                _bounded(self._attachment_statuses)
            if item.type != MESSAGE_METADATA_ITEM_TYPE and item.event is not ChatEvent.TYPING:
                self.anchor = item.id  # typing and receipts may not be kept in the transcript
        if item.absolute_time is not None and item.type != MESSAGE_METADATA_ITEM_TYPE:
            self._last_time = max(self._last_time, item.absolute_time) if self._last_time else item.absolute_time
        self._order += 1
        if item.id and (item.is_message or item.is_attachment):
            self._arrival[item.id] = self._order
            _bounded(self._arrival)
            if (
                self._settings.receipts
                and item.participant_role != SYSTEM_ROLE  # flow and Lex messages: no participant to tell
                and not self.own.is_own(item)
            ):
                self.receipts.delivered(item.id, self._order, now)
        if item.is_chat_ended:
            self.receipts.drop()  # nobody is left to tell
        return item
