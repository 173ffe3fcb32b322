"""Delivered and read receipts, batched the way AWS's chat client batches them.

amazon-connect-chatjs' ``src/core/MessageReceiptsUtil.js`` sends, over a throttle window
(``DEFAULT_MESSAGE_RECEIPTS_THROTTLE_MS``, 5 s, in ``src/constants.js``), only the latest
delivered and the latest read receipt: a receipt covers the messages before it. A read receipt
supersedes a delivered one for the same message, and no message gets the same receipt twice.

:class:`Receipts` keeps that bookkeeping (its clock is passed in) and sends a batch with
:meth:`Receipts.flush`, the one blocking call here; the sync stream calls it in its own thread,
the asyncio stream on the library's executor. :class:`OwnMessages` tells this participant's
own messages apart (no receipt for those).
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from ..exceptions import ConflictError, ConnectionClosedError, ConnectParticipantError

if TYPE_CHECKING:
    from ..connection import Connection
    from ..models import TranscriptItem

__all__ = ["RECEIPT_THROTTLE", "OwnMessages", "Receipts"]

logger = logging.getLogger(__name__)

RECEIPT_THROTTLE = 5.0
"""Seconds receipts are batched over (chatjs' DEFAULT_MESSAGE_RECEIPTS_THROTTLE_MS)."""

IDS_KEPT = 10_000
"""How many message ids are remembered as already receipted (older ones are forgotten)."""


def _remember(sent: collections.OrderedDict[str, None], ids: Iterable[str]) -> None:
    for message_id in ids:
        sent[message_id] = None
    while len(sent) > IDS_KEPT:
        sent.popitem(last=False)


class Receipts:
    """The receipts waiting for the end of the throttle window, and those already sent.

    Safe from any thread: :meth:`read` comes from the caller's ``mark_read``, :meth:`flush`
    from the stream's own loop. A flush holds the lock while it sends, so two flushes never
    interleave their calls.
    """

    def __init__(self, connection: Connection, window: float) -> None:
        self._connection = connection
        self.window = window
        self.enabled = True
        self._lock = threading.Lock()
        self._delivered: dict[str, int] = {}  # message id -> arrival order, waiting for a flush
        self._read: dict[str, int] = {}
        self._sent_delivered: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._sent_read: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.flush_at: Optional[float] = None
        self.calls = 0

    def delivered(self, message_id: str, order: int, now: float) -> None:
        """A message from someone else arrived (``order`` counts arrivals)."""
        with self._lock:
            if not self.enabled or message_id in self._sent_delivered or message_id in self._sent_read:
                return
            if message_id in self._read:
                return
            self._delivered[message_id] = order
            self._arm(now)

    def read(self, message_id: str, order: int, now: float) -> None:
        """The caller marked a message read; it supersedes a pending delivered receipt."""
        with self._lock:
            if not self.enabled or message_id in self._sent_read:
                return
            self._delivered.pop(message_id, None)
            self._read[message_id] = order
            self._arm(now)

    def _arm(self, now: float) -> None:
        if self.flush_at is None:
            self.flush_at = now + self.window

    def due(self, now: float) -> bool:
        """True when the window is over and something waits to be sent."""
        return self.flush_at is not None and now >= self.flush_at

    def drop(self) -> None:
        """Forget what is pending (the chat ended: nobody is left to tell)."""
        with self._lock:
            self._delivered.clear()
            self._read.clear()
            self.flush_at = None

    def _batch(self) -> tuple[Optional[str], Optional[str]]:
        """The delivered and the read message id to send now (each may be None); marks them sent."""
        read = max(self._read.items(), key=lambda kv: kv[1]) if self._read else None
        delivered = max(self._delivered.items(), key=lambda kv: kv[1]) if self._delivered else None
        if read is not None and delivered is not None and read[1] >= delivered[1]:
            delivered = None  # a read receipt for a later message says delivered too
        _remember(self._sent_read, self._read)
        _remember(self._sent_delivered, self._delivered)
        self._read.clear()
        self._delivered.clear()
        return (delivered[0] if delivered else None, read[0] if read else None)

    def flush(self) -> None:
        """Send the latest read and the latest delivered receipt of the window; never raises.

        Blocking (up to two SendEvent calls): the asyncio stream runs it on the library's executor.
        """
        with self._lock:
            self.flush_at = None
            if not self.enabled or self._connection.closed:
                self._delivered.clear()
                self._read.clear()
                return
            delivered, read = self._batch()
            try:
                if delivered is not None:
                    self.calls += 1
                    self._connection.send_delivered_receipt(delivered)
                if read is not None:
                    self.calls += 1
                    self._connection.send_read_receipt(read)
            except ConflictError:
                self.enabled = False
                logger.warning(
                    "message receipts are off for this chat: the service refused them (more than two participants)"
                )
            except ConnectionClosedError:
                pass
            except ConnectParticipantError as exc:
                logger.warning("sending message receipts failed (%s); they are dropped", type(exc).__name__)


class OwnMessages:
    """Ids of the messages this connection sent, learnt from the client's own SendMessage calls.

    A participant receives its own messages back on the socket; a stream that sends delivered
    receipts must not send them for those. botocore's event hooks see each SendMessage made
    with this connection's token, whatever thread makes it.
    """

    KEPT = 1000

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._participant_id: Optional[str] = None
        self._hooked = False

    def hook(self) -> None:
        events = self._connection.service.meta.client.meta.events
        events.register("before-parameter-build.connectparticipant.SendMessage", self._mark_own_call)
        events.register("after-call.connectparticipant.SendMessage", self._record_own_message)
        self._hooked = True

    def unhook(self) -> None:
        if self._hooked:
            self._hooked = False
            events = self._connection.service.meta.client.meta.events
            events.unregister("before-parameter-build.connectparticipant.SendMessage", self._mark_own_call)
            events.unregister("after-call.connectparticipant.SendMessage", self._record_own_message)

    def _mark_own_call(self, params: Mapping[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        if params.get("ConnectionToken") == self._connection.token:
            context.setdefault("connectparticipant_ext_streams", []).append(self)

    def _record_own_message(self, parsed: Mapping[str, Any], context: Mapping[str, Any], **kwargs: Any) -> None:
        if self in context.get("connectparticipant_ext_streams", ()) and isinstance(parsed.get("Id"), str):
            self._ids[parsed["Id"]] = None
            while len(self._ids) > self.KEPT:
                self._ids.popitem(last=False)

    def is_own(self, item: TranscriptItem) -> bool:
        """True for a message this participant sent (its id was seen, or its sender is us)."""
        if item.id in self._ids:
            self._participant_id = item.participant_id or self._participant_id
            return True
        return self._participant_id is not None and item.participant_id == self._participant_id
