"""A live chat as server-sent events (SSE), for any web framework.

A browser's ``EventSource`` reconnects by itself and sends the ``id`` of the last event it
received in a ``Last-Event-ID`` header. :func:`sse_events` (threaded servers) and
:func:`async_sse_events` (asyncio servers) turn a connection's live stream into the bytes of
such an event stream, the same bytes from either:

* every item becomes one event whose ``data`` is :func:`item_payload` as JSON;
* items that the transcript keeps (messages, attachments, joins, the chat's end) carry their
  item ``Id`` as the event ``id``; items the service only pushes live (typing, receipts, the
  unfinished pieces of a streamed reply) carry no ``id``, so the browser's last id is always an
  item that ``GetTranscript`` can resume from;
* resuming from that id is ``conn.stream(since=id)``: the transcript fills in what came while
  the browser was away, and nothing is sent twice. An id the chat does not have (another
  chat's, or made up) is answered with an ``event: reset`` and then the whole transcript: the
  page starts its list over instead of silently missing what it never saw;
* a comment line goes out when nothing else has for ``keepalive`` seconds, so proxies keep the
  response open and a server notices a browser that went away;
* after the chat's end (or when the connection is closed) a last ``event: end`` (or
  ``event: failed`` when the stream could not be kept up) tells the page to stop
  reconnecting. An event stream ended by the server for a newer one of the same session ends
  with ``event: end`` and the reason ``replaced`` (see :class:`EventStreams`).

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
thread; under asyncio, no thread. See the Django page of the docs for worker counts and caps.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Union

from ._validation import require_int, require_seconds
from ._wire import MESSAGE_METADATA_ITEM_TYPE
from .events import ChatEvent
from .exceptions import ConnectParticipantError, InvalidArgumentError

if TYPE_CHECKING:
    from .connection import Connection
    from .live import AsyncChatStream, ChatStream
    from .models import TranscriptItem

__all__ = [
    "SSE_HEADERS",
    "AsyncEventStream",
    "EventStream",
    "EventStreams",
    "async_sse_events",
    "event_streams",
    "format_event",
    "is_resumable",
    "item_payload",
    "last_event_id",
    "sse_events",
]

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
        lines.append(f"retry: {_check_retry(retry)}")
    if data is not None:
        lines.extend("data: " + line for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def _check_retry(retry: Any) -> int:
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise InvalidArgumentError("retry must be a number of milliseconds, 0 or more")
    return retry


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


def _kind(item: TranscriptItem) -> str:
    if item.is_chat_ended:
        return "ended"
    event = item.event
    if item.type == MESSAGE_METADATA_ITEM_TYPE or event is ChatEvent.MESSAGE_METADATA:
        return "receipt"
    if event is ChatEvent.TYPING:
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
    return bool(item.id) and _kind(item) not in ("typing", "receipt") and item.is_complete


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
        "event": item.event_name,
        "time": item.absolute_time.isoformat() if item.absolute_time else None,
        "participant_id": item.participant_id,
        "role": item.participant_role,
        "display_name": item.display_name,
        "complete": item.is_complete,
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


# -- one response: what it writes, step by step (shared by both iterators) --------------------


def _check_timing(keepalive: Any, max_seconds: Any) -> tuple[float, Optional[float]]:
    try:
        seconds = require_seconds("keepalive", keepalive)
        limit = None if max_seconds is None else require_seconds("max_seconds", max_seconds)
    except (TypeError, ValueError) as exc:  # the one error sse_events has always raised
        raise InvalidArgumentError(str(exc)) from None
    return seconds, limit


class _Relay:
    """What one event-stream response writes, step by step, whichever way it waits: the
    opening, an event per item (a ``reset`` first when the resume point was unknown), a
    keepalive comment, and the last ``end`` or ``failed`` event."""

    def __init__(self, *, keepalive: float, max_seconds: Optional[float], retry: int, since: Optional[str]) -> None:
        self._keepalive = keepalive
        self._max_seconds = max_seconds
        self._retry = retry
        self._since = since
        self._deadline: Optional[float] = None
        self._reset_sent = False
        self.stopped: Optional[str] = None
        """Why the server ended this response (``replaced``), set by ``end()`` from any thread."""
        self._done: list[Callable[[], None]] = []
        self._finished = False
        self._lock = threading.Lock()

    def start(self, now: float) -> bytes:
        self._deadline = None if self._max_seconds is None else now + self._max_seconds
        return format_event(retry=self._retry, comment="connected")

    def wait(self, now: float) -> Optional[float]:
        """Seconds to wait for the next item; None when the response has lasted ``max_seconds``."""
        if self._deadline is None:
            return self._keepalive
        left = min(self._keepalive, self._deadline - now)
        return left if left > 0 else None

    def item(self, item: TranscriptItem, stream: Union[ChatStream, AsyncChatStream]) -> list[bytes]:
        chunks = []
        if self._since is not None and not self._reset_sent and stream.since_unknown:
            self._reset_sent = True  # the page starts over: what follows is the whole chat
            chunks.append(format_event(json.dumps({"reason": "unknown last event id"}), event="reset"))
        event_id = item.id if is_resumable(item) else None
        chunks.append(format_event(json.dumps(item_payload(item), separators=(",", ":")), id=event_id))
        return chunks

    @staticmethod
    def idle() -> bytes:
        return format_event(comment="keepalive")

    @staticmethod
    def failed(exc: ConnectParticipantError) -> bytes:
        # The stream could not be kept up, or the chat is gone: tell the page, without details.
        logger.info("the event stream ends: %s", type(exc).__name__)
        return format_event(json.dumps({"reason": type(exc).__name__}), event="failed")

    def end(self, stream: Union[ChatStream, AsyncChatStream]) -> bytes:
        return format_event(json.dumps({"reason": self.stopped or stream.end_reason}), event="end")

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._finished:
                self._done.append(callback)
                return
        callback()

    def finish(self) -> None:
        with self._lock:
            callbacks, self._done, self._finished = self._done, [], True
        for callback in callbacks:
            callback()


def _relay(stream: ChatStream, *, keepalive: float, max_seconds: Optional[float], retry: int) -> Iterator[bytes]:
    return _sync_relay(stream, _Relay(keepalive=keepalive, max_seconds=max_seconds, retry=retry, since=None))


def _sync_relay(stream: ChatStream, relay: _Relay) -> Generator[bytes, None, None]:
    try:
        if relay.stopped:  # ended before it began (a newer one of the same session came first)
            yield relay.start(time.monotonic())
            yield relay.end(stream)
            return
        with stream:
            yield relay.start(time.monotonic())
            while not relay.stopped:
                wait = relay.wait(time.monotonic())
                if wait is None:
                    return  # the browser reconnects with Last-Event-ID and resumes
                item = stream.get(timeout=wait)
                if item is None:
                    if stream.ended:
                        break
                    yield relay.idle()
                    continue
                yield from relay.item(item, stream)
        yield relay.end(stream)
    except ConnectParticipantError as exc:
        yield relay.failed(exc)
    finally:
        relay.finish()


async def _async_relay(stream: AsyncChatStream, relay: _Relay) -> AsyncGenerator[bytes, None]:
    try:
        if relay.stopped:  # ended before it began (a newer one of the same session came first)
            yield relay.start(time.monotonic())
            yield relay.end(stream)
            return
        async with stream:
            yield relay.start(time.monotonic())
            while not relay.stopped:
                wait = relay.wait(time.monotonic())
                if wait is None:
                    return  # the browser reconnects with Last-Event-ID and resumes
                item = await stream.get(timeout=wait)
                if item is None:
                    if stream.ended:
                        break
                    yield relay.idle()
                    continue
                for chunk in relay.item(item, stream):
                    yield chunk
        yield relay.end(stream)
    except ConnectParticipantError as exc:
        yield relay.failed(exc)
    finally:
        relay.finish()


def _stream_options(since: Optional[str], stream_settings: Mapping[str, Any]) -> dict[str, Any]:
    options = {"partial_messages": True, **stream_settings}
    if since is None:
        options["history"] = True
    else:
        options["since"] = since
    return options


# -- the two event streams ---------------------------------------------------------------------


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
    server closes it when the browser goes away) or exhausted. Everything is checked here,
    before any network call.
    """
    seconds, limit = _check_timing(keepalive, max_seconds)
    _check_retry(retry)
    stream = connection.stream(**_stream_options(since, stream_settings))
    relay = _Relay(keepalive=seconds, max_seconds=limit, retry=retry, since=since)
    options = {"since": since, "keepalive": seconds, "max_seconds": limit, "retry": retry, **stream_settings}
    return EventStream(stream, relay, functools.partial(async_sse_events, connection, **options))


def async_sse_events(
    connection: Connection,
    *,
    since: Optional[str] = None,
    keepalive: float = 15.0,
    max_seconds: Optional[float] = None,
    retry: int = 2000,
    **stream_settings: Any,
) -> AsyncEventStream:
    """:func:`sse_events` for an asyncio server: the same bytes, as an async iterator built on
    :class:`~connectparticipant_ext.AsyncChatStream` (no thread per response). The arguments
    are :func:`sse_events`'s, checked here; ``stream_settings`` go to :meth:`Connection.astream`.

    A cancelled response (the browser went away) closes its websocket as it unwinds.
    """
    seconds, limit = _check_timing(keepalive, max_seconds)
    _check_retry(retry)
    stream = connection.astream(**_stream_options(since, stream_settings))
    return AsyncEventStream(stream, _Relay(keepalive=seconds, max_seconds=limit, retry=retry, since=since))


class EventStream:
    """The iterator :func:`sse_events` returns: ``bytes`` chunks, and a thread-safe :meth:`close`.

    Iterate it in a synchronous server (WSGI, Django's ``runserver``). Under an asyncio server
    (ASGI) use :func:`async_sse_events` instead; :meth:`aiter` is the same thing.
    """

    def __init__(self, stream: ChatStream, relay: _Relay, asynchronous: Callable[[], AsyncEventStream]) -> None:
        self._stream = stream
        self._relay = relay
        self._chunks = _sync_relay(stream, relay)
        self._asynchronous = asynchronous

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
            self._chunks.close()
        except ValueError:  # being iterated in another thread: it ends by itself, the stream is closed
            pass
        else:
            self._relay.finish()

    def end(self, reason: str) -> None:
        """End the response with a last ``event: end`` carrying ``reason``; safe from any thread."""
        self._relay.stopped = reason
        self._stream.close()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the event stream is over (exhausted or closed)."""
        self._relay.add_done_callback(callback)

    def aiter(self) -> AsyncEventStream:
        """The same chunks for an asyncio server: :func:`async_sse_events` with the same arguments.

        Iterate this event stream one way or the other, not both.
        """
        self.close()
        return self._asynchronous()


class AsyncEventStream:
    """The async iterator :func:`async_sse_events` returns: ``bytes`` chunks.

    :meth:`aclose` ends it from its event loop; :meth:`close` and :meth:`end` from any thread
    (Django calls ``close()`` when the response is done).
    """

    def __init__(self, stream: AsyncChatStream, relay: _Relay) -> None:
        self._stream = stream
        self._relay = relay
        self._chunks = _async_relay(stream, relay)
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def __repr__(self) -> str:
        return f"AsyncEventStream({self._stream!r})"

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> bytes:
        self._loop = asyncio.get_running_loop()
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """End the event stream and its websocket; safe from another task, and more than once."""
        await self._stream.aclose()
        try:
            await self._chunks.aclose()
        except RuntimeError:  # being iterated by another task: it ends by itself, the stream is closed
            pass
        self._relay.finish()

    def close(self) -> None:
        """End the event stream from any thread: its loop closes it."""
        self._on_loop(self.aclose)

    def end(self, reason: str) -> None:
        """End the response with a last ``event: end`` carrying ``reason``; safe from any thread."""
        self._relay.stopped = reason
        self._on_loop(self._stream.aclose)

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the event stream is over (exhausted or closed)."""
        self._relay.add_done_callback(callback)

    def _on_loop(self, closer: Callable[[], Any]) -> None:
        loop = self._loop
        if loop is None:  # never iterated: nothing is open
            self._relay.finish()
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(closer()))


# -- caps: a few event streams per session, and a total --------------------------------------


class _Endable(Protocol):
    def end(self, reason: str) -> None: ...

    def add_done_callback(self, callback: Callable[[], None]) -> None: ...


class _Entry:
    __slots__ = ("key", "events", "released")

    def __init__(self, key: str, events: weakref.ref[_Endable]) -> None:
        self.key = key
        self.events = events
        self.released = False


class EventStreams:
    """The event streams a process serves, by session, with caps on how many stay open.

    A session with a few tabs open is normal; one that opens more (tabs, reloads, a script)
    does not hold a websocket and a worker per stream: past ``per_session`` the oldest of its
    streams ends with ``event: end``, reason ``replaced``, and the page that gets it stops
    reconnecting. Past ``total`` for the whole process a new stream is refused (answer 503).
    Works for threads and asyncio alike; a stream leaves the count when it is over (or, if it
    is never iterated, when it is garbage-collected).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, list[_Entry]] = {}
        self._open = 0

    def __len__(self) -> int:
        """Event streams open now (replaced ones included until they are over)."""
        return self._open

    def admit(
        self, key: str, events: Union[EventStream, AsyncEventStream], *, per_session: int, total: Optional[int]
    ) -> bool:
        """Count ``events`` as one of ``key``'s streams, ending its oldest past ``per_session``.

        Args:
            key: the session (any opaque string; one per browser session).
            events: the new event stream.
            per_session: event streams one key may hold open (1 or more).
            total: event streams the process may hold open, or None for no limit.

        Returns:
            False when the process already holds ``total`` (``events`` is not counted: close it).
        """
        require_int("per_session", per_session, minimum=1)
        if total is not None:
            require_int("total", total, minimum=1)
        with self._lock:
            if total is not None and self._open >= total:
                return False
            entry = _Entry(key, weakref.ref(events))
            entries = self._by_key.setdefault(key, [])
            entries.append(entry)
            self._open += 1
            replaced = entries[:-per_session]
            del entries[:-per_session]
        release = functools.partial(self._release, entry)
        events.add_done_callback(release)
        weakref.finalize(events, release)
        for old in replaced:
            target = old.events()
            if target is not None:
                target.end("replaced")
        return True

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            if entry.released:
                return
            entry.released = True
            self._open -= 1
            entries = self._by_key.get(entry.key, [])
            if entry in entries:
                entries.remove(entry)
            if not entries:
                self._by_key.pop(entry.key, None)


event_streams = EventStreams()
"""The process's event streams (what :func:`connectparticipant_ext.django.sse_response` caps)."""
