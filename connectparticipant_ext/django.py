"""Django glue: a live chat as a streaming response, and the connection in the session.

Django is optional: importing this module needs it, the rest of the package does not.

``sse_response(request, conn)`` serves :func:`connectparticipant_ext.sse.sse_events` the way
Django serves long responses: a ``StreamingHttpResponse`` over a synchronous iterator under
WSGI (and ``runserver``), over an asynchronous one under ASGI (where Django warns about, and
buffers, a synchronous iterator). It resumes from the ``Last-Event-ID`` header the browser
sends on reconnect, else from the ``since`` query parameter::

    from connectparticipant_ext.django import load_connection, sse_response

    def events(request):
        conn = load_connection(request, get_chat_service())
        if conn is None:
            return HttpResponse(status=204)  # no chat: EventSource stops on 204
        return sse_response(request, conn)

``save_connection`` / ``load_connection`` are :mod:`connectparticipant_ext.sessions` on
``request.session``; keep sessions server-side (cache or database engine), since they hold
bearer tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from django.http import HttpRequest, StreamingHttpResponse

from .sessions import DEFAULT_SESSION_KEY, restore_connection, store_connection, update_connection
from .sse import SSE_HEADERS, last_event_id, sse_events

if TYPE_CHECKING:
    from .connection import Connection
    from .service import ChatService

__all__ = ["is_asgi", "load_connection", "save_connection", "sse_response", "update_saved_connection"]


def is_asgi(request: HttpRequest) -> bool:
    """True when the request came through Django's ASGI handler."""
    from django.core.handlers.asgi import ASGIRequest

    return isinstance(request, ASGIRequest)


def sse_response(
    request: HttpRequest,
    connection: Connection,
    *,
    since_param: str = "since",
    **options: Any,
) -> StreamingHttpResponse:
    """A ``text/event-stream`` response relaying the chat live; see :func:`~connectparticipant_ext.sse.sse_events`.

    Args:
        request: the request (its ``Last-Event-ID`` header or ``since_param`` query value).
        connection: the participant's connection.
        since_param: the query parameter with the last item id the page already shows.
        options: passed to :func:`~connectparticipant_ext.sse.sse_events` (``keepalive``,
            ``max_seconds``, ``retry``, stream settings).
    """
    since = last_event_id(request.headers.get("Last-Event-ID"), request.GET.get(since_param))
    events = sse_events(connection, since=since, **options)
    content: Any = events.aiter() if is_asgi(request) else events
    response = StreamingHttpResponse(content, content_type=SSE_HEADERS["Content-Type"])
    for name, value in SSE_HEADERS.items():
        if name != "Content-Type":
            response[name] = value
    # Under WSGI Django closes ``events`` with the response (it has ``close()``), also when the
    # browser went away mid-stream; under ASGI ``aiter()`` closes it when cancelled.
    return response


def save_connection(
    request: HttpRequest, connection: Connection, *, key: str = DEFAULT_SESSION_KEY, participant_token: bool = True
) -> None:
    """Store the connection in ``request.session`` (see :func:`connectparticipant_ext.sessions.store_connection`)."""
    store_connection(request.session, connection, key=key, participant_token=participant_token)


def load_connection(request: HttpRequest, chat: ChatService, *, key: str = DEFAULT_SESSION_KEY) -> Optional[Connection]:
    """The connection stored in ``request.session``, or None."""
    return restore_connection(request.session, chat, key=key)


def update_saved_connection(request: HttpRequest, connection: Connection, *, key: str = DEFAULT_SESSION_KEY) -> bool:
    """Write a renewed connection token back to the session; True if it had changed."""
    return update_connection(request.session, connection, key=key)
