"""The chat, live, over the websocket the service hands out.

* :mod:`.core`: the protocol, without I/O (sockets, heartbeats, reconnect decisions), with
  :mod:`.items` (each item once, in order), :mod:`.stitching` (Lex streamed replies),
  :mod:`.receipts` (batched as AWS's chat client does) and :mod:`.actions` (what it asks for);
* :mod:`.settings`: the options both streams take (:class:`StreamSettings`);
* :mod:`.calls`: the blocking service calls the streams make;
* :class:`ChatStream` (:mod:`.sync`): the driver for threaded code;
* :class:`AsyncChatStream` (:mod:`.aio`): the driver for asyncio, with no thread per stream.
"""

from __future__ import annotations

from .aio import AsyncChatStream
from .receipts import RECEIPT_THROTTLE
from .settings import MAX_SOCKET_AGE, StreamSettings, StreamState
from .sync import ChatStream

__all__ = ["MAX_SOCKET_AGE", "RECEIPT_THROTTLE", "AsyncChatStream", "ChatStream", "StreamSettings", "StreamState"]
