"""The live stream's old home: the names now live in :mod:`connectparticipant_ext.live`.

Kept so that ``from connectparticipant_ext.stream import ChatStream`` goes on working.
"""

from __future__ import annotations

from .live import MAX_SOCKET_AGE, RECEIPT_THROTTLE, ChatStream, StreamState

__all__ = ["ChatStream", "StreamState", "MAX_SOCKET_AGE", "RECEIPT_THROTTLE"]
