"""What :class:`ChatStream` and :class:`AsyncChatStream` share: they differ only where they wait.

As httpx's ``Client`` and ``AsyncClient`` share a ``BaseClient``, the two drivers share their
options, their read-only surface and the small steps that do not wait.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional, Union

from .._logging import SecretRedactingFilter
from ..exceptions import ConnectionClosedError, InvalidArgumentError
from ..models import TranscriptItem
from .calls import GapReader
from .core import StreamCore
from .settings import StreamSettings, StreamState

if TYPE_CHECKING:
    from ..connection import Connection
    from .actions import GapPlan

__all__ = ["BaseStream"]

# websockets logs request lines at DEBUG; the URL's query string is a credential.
wire_logger = logging.getLogger("connectparticipant_ext.live.wire")
wire_logger.addFilter(SecretRedactingFilter())


class BaseStream:
    """The surface both live streams share; see :class:`~connectparticipant_ext.live.ChatStream`."""

    def __init__(
        self,
        connection: Connection,
        *,
        history: bool = False,
        since: Optional[str] = None,
        partial_messages: bool = False,
        receipts: bool = False,
        **settings: Any,
    ) -> None:
        checked = StreamSettings(
            history=history, since=since, partial_messages=partial_messages, receipts=receipts, **settings
        )
        self._connection = connection
        self._core = StreamCore(checked, connection)
        self._gap: Optional[GapReader] = None
        self._started = False
        self._released = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(state={self.state.value!r}, reconnects={self.reconnects})"

    @property
    def state(self) -> StreamState:
        """:class:`StreamState`: CONNECTING, OPEN, RECONNECTING or CLOSED."""
        return self._core.state

    @property
    def ended(self) -> bool:
        """True once the stream has finished (chat ended, connection gone, or closed)."""
        return self._core.ended

    @property
    def end_reason(self) -> Optional[str]:
        """Why the stream ended (the chat ended, the connection was closed, or ``"closed"``)."""
        return self._core.end_reason

    @property
    def reconnects(self) -> int:
        """How many times the socket has been re-opened."""
        return self._core.reconnects

    @property
    def since_unknown(self) -> bool:
        """True when the transcript did not know ``since``: the whole transcript came instead."""
        return self._core.items.since_unknown

    @property
    def receipts_enabled(self) -> bool:
        """False once the service refused receipts for this chat (more than two participants)."""
        return self._core.items.receipts.enabled

    @property
    def _proven(self) -> bool:
        return self._core.proven

    def _start(self) -> bool:
        """Once, before the first step: refuse a closed connection, hook receipts. True the first time."""
        if self._started:
            return False
        self._started = True
        if not self._core.ended:
            if self._connection.closed:
                raise ConnectionClosedError("the connection is closed; the stream cannot continue")
            if self._core.settings.receipts:
                self._core.items.own.hook()
        return True

    def _settled(self, opening: bool) -> bool:
        """Whether ``__enter__`` may return: the first socket is open and settled (or the first
        attempt failed, and iteration retries it after the backoff delay)."""
        core = self._core
        return core.socket_open and not core.settling or (not opening and core.retry_at is not None)

    def _gap_reader(self, plan: GapPlan) -> GapReader:
        """The reader of ``plan``'s pages (a new one for a new plan)."""
        if self._gap is None or self._gap.plan is not plan:
            self._gap = GapReader(self._connection, plan)
        return self._gap

    def _mark_read(self, item: Union[TranscriptItem, str], now: float) -> bool:
        """Batch a read receipt; True when it is to be sent at once (a window of 0)."""
        message_id = item.id if isinstance(item, TranscriptItem) else item
        if not isinstance(message_id, str) or not message_id:
            raise InvalidArgumentError("mark_read needs a message (an item or a non-empty id)")
        self._core.mark_read(message_id, now)
        return self._core.items.receipts.window == 0
