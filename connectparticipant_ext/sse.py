"""A live chat as server-sent events (SSE), for any web framework.

A browser's ``EventSource`` reconnects by itself and sends the ``id`` of the last event it
received in a ``Last-Event-ID`` header. :func:`sse_events` turns a connection's live
:class:`~connectparticipant_ext.stream.ChatStream` into the bytes of such an event stream:

* every item becomes one event whose ``data`` is :func:`item_payload` as JSON;
* items that the transcript keeps (messages, attachments, joins, the chat's end) carry their
  item ``Id`` as the event ``id``; items the service only pushes live (typing, receipts, the
  unfinished pieces of a streamed reply) carry no ``id``, so the browser's last id is always an
  item that ``GetTranscript`` can resume from;
* resuming from that id is ``conn.stream(since=id)``: the transcript fills in what came while
  the browser was away, and nothing is sent twice;
* a comment line goes out when nothing else has for ``keepalive`` seconds, so proxies keep the
  response open and a server notices a browser that went away;
* after the chat's end (or when the connection is closed) a last ``event: end`` (or ``event: failed`` when the stream could not be kept up) tells the page
  to stop reconnecting.

Framework glue is a few lines. In Django, :func:`connectparticipant_ext.django.sse_response`
does it; in Flask::

    from flask import Response, request
    from connectparticipant_ext.sse import SSE_HEADERS, last_event_id, sse_events

    @app.get("/chat/events")
    def events():
        conn = restore_connection_somehow()
        since = last_event_id(request.headers.get("Last-Event-ID"), request.args.get("since"))
        return Response(sse_events(conn, since=since), headers=SSE_HEADERS)

Each open event stream holds one websocket to the service and, in a threaded server, one
thread; see the Django page of the docs for what that means for worker counts.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Optional

from ._validation import EVENT_PREFIX
from .exceptions import ConnectParticipantError, InvalidArgumentError

if TYPE_CHECKING:
    from .connection import Connection
    from .models import TranscriptItem
    from .stream import ChatStream

__all__ = ["SSE_HEADERS", "EventStream", "format_event", "is_resumable", "item_payload", "last_event_id", "sse_events"]

logger = logging.getLogger(__name__)

SSE_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-store",
    "X-Accel-Buffering": "no",  # nginx: pass each event on at once
}
"""Headers an event-stream response needs (no buffering, no caching)."""

_MAX_ID = 256


def format_event(
    data: Optional[str] = None,
    *,
    event: Optional[str] = None,
    id: Optional[str] = None,  # noqa: A002 - the SSE field's name
    retry: Optional[int] = None,
    comment: Optional[str] = None,
) -> bytes:
    """One server-sent event as UTF-8 bytes (ending with the blank line that dispatches it).

    Multi-line ``data`` becomes several ``data:`` lines, as the format requires; ``event`` and
    ``id`` may not contain line breaks (an ``id`` with a NUL is ignored by browsers, so it is
    refused here).
    """
    lines: list[str] = []
    if comment is not None:
        lines.extend(": " + line for line in comment.splitlines() or [""])
    for name, value in (("event", event), ("id", id)):
        if value is not None:
            if any(c in value for c in "\r\n\0"):
                raise InvalidArgumentError(f"the SSE {name} may not contain line breaks or NUL")
            lines.append(f"{name}: {value}")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise InvalidArgumentError("retry must be a number of milliseconds, 0 or more")
        lines.append(f"retry: {retry}")
    if data is not None:
        lines.extend("data: " + line for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def last_event_id(header: Optional[str], fallback: Optional[str] = None) -> Optional[str]:
    """The item id to resume after: the ``Last-Event-ID`` header, else ``fallback``.

    ``fallback`` is what the page knew when it opened the stream (say a ``?since=`` query
    parameter holding the last item it rendered): a browser sends the header only when it
    reconnects, and the header is newer. Blank or oversized values count as absent.
    """
    for value in (header, fallback):
        if value is not None:
            value = value.strip()
            if value and len(value) <= _MAX_ID and not any(c in value for c in "\r\n\0"):
                return value
    return None


def _message_completed(item: TranscriptItem) -> Optional[bool]:
    metadata = item.raw.get("MessageMetadata") if isinstance(item.raw, Mapping) else None
    if isinstance(metadata, Mapping) and "MessageCompleted" in metadata:
        return bool(metadata["MessageCompleted"])
    return None


def _is_complete(item: TranscriptItem) -> bool:
    flag = getattr(item, "is_complete", None)
    if isinstance(flag, bool):
        return flag
    return _message_completed(item) is not False


def _event_name(item: TranscriptItem) -> Optional[str]:
    if item.content_type and item.content_type.startswith(EVENT_PREFIX):
        return item.content_type[len(EVENT_PREFIX) :]
    return None


def _kind(item: TranscriptItem) -> str:
    if item.is_chat_ended:
        return "ended"
    if item.type == "MESSAGEMETADATA" or _event_name(item) == "message.metadata":
        return "receipt"
    if _event_name(item) == "typing" or item.type == "TYPING":
        return "typing"
    if item.is_message:
        return "message"
    if item.is_attachment:
        return "attachment"
    if item.is_event:
        return "event"
    return "other"


def is_resumable(item: TranscriptItem) -> bool:
    """True if the transcript keeps this item, so that a stream can resume after its id.

    Typing, receipts and the unfinished pieces of a streamed reply are only pushed live.
    """
    return bool(item.id) and _kind(item) not in ("typing", "receipt") and _is_complete(item)


def item_payload(item: TranscriptItem) -> dict[str, Any]:
    """What a page needs of an item, JSON-ready: no token, no URL, nothing secret.

    Keys: ``id``, ``kind`` (``message``, ``attachment``, ``typing``, ``receipt``, ``event``,
    ``ended`` or ``other``), ``type``, ``content_type``, ``content``, ``event`` (the event's
    name, e.g. ``participant.joined``), ``time`` (ISO 8601), ``participant_id``, ``role``,
    ``display_name``, ``complete`` (False for a streamed reply still growing; later events
    with the same ``id`` replace it), ``attachments`` (``id``, ``name``, ``content_type``,
    ``status``) and for receipts ``message_id`` and ``receipts`` (``participant_id``,
    ``delivered``, ``read`` times).
    """
    payload: dict[str, Any] = {
        "id": item.id,
        "kind": _kind(item),
        "type": item.type,
        "content_type": item.content_type,
        "content": item.content,
        "event": _event_name(item),
        "time": item.absolute_time.isoformat() if item.absolute_time else None,
        "participant_id": item.participant_id,
        "role": item.participant_role,
        "display_name": item.display_name,
        "complete": _is_complete(item),
        "attachments": [
            {"id": a.id, "name": a.name, "content_type": a.content_type, "status": a.status} for a in item.attachments
        ],
    }
    metadata = item.message_metadata
    if metadata is not None:
        payload["message_id"] = metadata.message_id
        payload["receipts"] = [
            {
                "participant_id": r.recipient_participant_id,
                "delivered": r.delivered_at.isoformat() if r.delivered_at else None,
                "read": r.read_at.isoformat() if r.read_at else None,
            }
            for r in metadata.receipts
        ]
    return payload


def _open_stream(connection: Connection, since: Optional[str], stream_settings: Mapping[str, Any]) -> ChatStream:
    from .stream import ChatStream

    settings = dict(stream_settings)
    if "partial_messages" in inspect.signature(ChatStream.__init__).parameters:
        settings.setdefault("partial_messages", True)
    if since is None:
        return connection.stream(history=True, **settings)
    return connection.stream(since=since, **settings)


def sse_events(
    connection: Connection,
    *,
    since: Optional[str] = None,
    keepalive: float = 15.0,
    max_seconds: Optional[float] = None,
    retry: int = 2000,
    **stream_settings: Any,
) -> EventStream:
    """The chat as a server-sent event stream: an iterator of ``bytes`` for a streaming response.

    Args:
        connection: the participant's connection (restored per request, e.g. from a session).
        since: the last item id the browser has (see :func:`last_event_id`); ``None`` starts
            with the whole transcript.
        keepalive: seconds of silence after which a comment line is sent.
        max_seconds: end the response after this long (the browser reconnects and resumes),
            to give a worker back now and then; ``None`` keeps it open until the chat ends.
        retry: the reconnect delay the browser should use, in milliseconds.
        stream_settings: passed to :meth:`Connection.stream` (heartbeats, reconnects, ...).

    The stream is opened when iteration starts and closed when the iterator is closed (a
    server closes it when the browser goes away) or exhausted.
    """
    if isinstance(keepalive, bool) or not isinstance(keepalive, (int, float)) or keepalive <= 0:
        raise InvalidArgumentError("keepalive must be a positive number of seconds")
    if max_seconds is not None and (
        isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) or max_seconds <= 0
    ):
        raise InvalidArgumentError("max_seconds must be a positive number of seconds or None")
    stream = _open_stream(connection, since, stream_settings)
    return EventStream(stream, _relay(stream, keepalive=float(keepalive), max_seconds=max_seconds, retry=retry))


class EventStream:
    """The iterator :func:`sse_events` returns: ``bytes`` chunks, and a thread-safe :meth:`close`.

    Iterate it in a synchronous server (WSGI, Django's ``runserver``); under an asyncio server
    (ASGI) iterate :meth:`aiter` instead, which reads the stream in a worker thread.
    """

    def __init__(self, stream: ChatStream, chunks: Iterator[bytes]) -> None:
        self._stream = stream
        self._chunks = chunks

    def __repr__(self) -> str:
        return f"EventStream({self._stream!r})"

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        """End the event stream and its websocket; safe from any thread, and more than once."""
        self._stream.close()
        try:
            self._chunks.close()  # type: ignore[attr-defined]
        except ValueError:  # being iterated in another thread: it ends by itself, the stream is closed
            pass

    async def aiter(self) -> AsyncIterator[bytes]:
        """The same chunks for an asyncio server; each wait runs in a thread, never on the loop."""
        import asyncio

        done = object()
        try:
            while True:
                chunk = await asyncio.to_thread(next, self._chunks, done)
                if chunk is done:
                    return
                assert isinstance(chunk, bytes)
                yield chunk
        finally:
            # Also on cancellation (the client went away): the thread still inside next() sees
            # the closed stream within a fraction of a second and returns.
            self.close()


def _relay(stream: ChatStream, *, keepalive: float, max_seconds: Optional[float], retry: int) -> Iterator[bytes]:
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        with stream:
            yield format_event(retry=retry, comment="connected")
            while True:
                wait = keepalive if deadline is None else min(keepalive, deadline - time.monotonic())
                if wait <= 0:
                    return  # the browser reconnects with Last-Event-ID and resumes
                item = stream.get(timeout=wait)
                if item is None:
                    if stream.ended:
                        break
                    yield format_event(comment="keepalive")
                    continue
                event_id = item.id if is_resumable(item) else None
                yield format_event(json.dumps(item_payload(item), separators=(",", ":")), id=event_id)
    except ConnectParticipantError as exc:
        # The stream could not be kept up, or the chat is gone: tell the page, without details.
        logger.info("the event stream ends: %s", type(exc).__name__)
        yield format_event(json.dumps({"reason": type(exc).__name__}), event="failed")
        return
    yield format_event(json.dumps({"reason": stream.end_reason}), event="end")
