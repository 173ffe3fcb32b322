"""How big a request may be, and where an uploaded file may go: refused while it is read.

Django parses a multipart body, and stores its files (in memory up to
``FILE_UPLOAD_MAX_MEMORY_SIZE``, then in a temporary file), the first time anything reads
``request.POST``, and ``CsrfViewMiddleware`` does that before any view runs. Left as it is, a
visitor without a chat could have any amount written to the temporary directory. So:

* :class:`RequestSizeLimitMiddleware` (first in ``MIDDLEWARE``) answers 413 to a body whose
  ``Content-Length`` is over what its URL takes (:func:`max_request_bytes`), without reading it;
* ``FILE_UPLOAD_HANDLERS`` is :class:`NoFiles`: a file in any form is read and dropped, so no
  view but the upload view ever stores one;
* the upload view checks that the session holds a chat (:func:`has_chat`) before it reads a
  byte, then parses with :class:`AttachmentSizeLimit` ahead of Django's own handlers: a file
  that grows past the attachment limit is dropped as it is read;
* under ASGI, Django reads the whole body before any middleware runs (into a spooled temporary
  file), so :class:`RequestBodyLimit` (``django_chat/asgi.py``) applies the same rules to the
  ASGI messages first.
"""

from __future__ import annotations

from collections.abc import Awaitable, MutableMapping
from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any, Callable, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from connectparticipant_ext.sessions import DEFAULT_SESSION_KEY

# Room for what a multipart body carries besides the file: boundaries, part headers (a long
# file name), the CSRF and idempotency tokens.
MULTIPART_OVERHEAD = 64 * 1024

TOO_LARGE = "The request is too large."


def has_chat(session: MutableMapping[str, Any]) -> bool:
    """True when this session holds a chat connection (the only kind that may upload)."""
    return bool(session.get(DEFAULT_SESSION_KEY))


def attachment_too_large_message() -> str:
    """What a customer reads when a file is over the attachment limit."""
    return f"The file is too large: the limit is {settings.CONNECT_ATTACHMENT_MAX_BYTES:,} bytes."


def upload_path() -> str:
    return reverse("chat:upload")


def max_request_bytes(path: str) -> int:
    """The largest body a request to ``path`` may have: an attachment for the upload URL,
    a form of text fields (``DATA_UPLOAD_MAX_MEMORY_SIZE``) for every other one."""
    if path == upload_path():
        return int(settings.CONNECT_ATTACHMENT_MAX_BYTES) + MULTIPART_OVERHEAD
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + MULTIPART_OVERHEAD


def declared_length(value: Optional[str]) -> Optional[int]:
    """A ``Content-Length`` value as a number; None when absent, malformed or negative."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


class NoFiles(FileUploadHandler):
    """The default upload handler: every file is read and dropped, never stored.

    Only the upload view, after it has checked the session, parses with handlers that keep a
    file (:func:`upload_handlers`).
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        raise SkipFile()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> Optional[bytes]:  # pragma: no cover - skipped
        return None

    def file_complete(self, file_size: int) -> None:  # pragma: no cover - skipped
        return None


class AttachmentSizeLimit(FileUploadHandler):
    """Drops a file as soon as it grows past ``limit`` bytes, before the handlers after it
    (memory, then a temporary file) see the chunk that crosses it. ``too_large`` tells the view."""

    def __init__(self, limit: int, request: Optional[HttpRequest] = None) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> Optional[bytes]:
        if start + len(raw_data) > self.limit:
            self.too_large = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file


def upload_handlers(request: HttpRequest) -> AttachmentSizeLimit:
    """Parse ``request`` with the attachment limit first, then Django's memory and temporary
    file handlers. Call before anything reads ``request.POST``; returns the limit handler."""
    from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler

    limit = AttachmentSizeLimit(int(settings.CONNECT_ATTACHMENT_MAX_BYTES), request)
    request.upload_handlers = [limit, MemoryFileUploadHandler(request), TemporaryFileUploadHandler(request)]
    return limit


class RequestSizeLimitMiddleware:
    """413 for a body declared larger than its URL takes, before anything reads it.

    Synchronous under WSGI, asynchronous under ASGI: a synchronous-only middleware would make
    Django run the whole rest of the request (every middleware after it and the view) from a
    thread blocked in ``async_to_sync``, a thread per request in flight.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if _declared_too_large(request):
            return too_large_response(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if _declared_too_large(request):
            return await sync_to_async(too_large_response)(request)
        response: HttpResponse = await self.get_response(request)
        return response


def _declared_too_large(request: HttpRequest) -> bool:
    length = declared_length(request.META.get("CONTENT_LENGTH"))
    return length is not None and length > max_request_bytes(request.path_info)


def too_large_response(request: HttpRequest) -> HttpResponse:
    from django.shortcuts import render

    from .views import wants_json

    message = attachment_too_large_message() if request.path_info == upload_path() else TOO_LARGE
    if wants_json(request):
        from django.http import JsonResponse

        return JsonResponse({"errors": {"file": [message]}}, status=413)
    context = {
        "title": "Too large",
        "error": message,
        "retry_url": reverse("chat:chat"),
        "retry_text": "Back to the chat",
    }
    response = render(request, "chat/error.html", context, status=413)
    response["Connection"] = "close"  # the rest of the body is not wanted
    return response


# -- ASGI -------------------------------------------------------------------------------------

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestBodyLimit:
    """ASGI middleware: the rules above for a server that hands Django the whole body.

    Django's ASGI handler reads a request's body to its end before any middleware or view
    runs, spilling it to a temporary file past ``FILE_UPLOAD_MAX_MEMORY_SIZE``. This wrapper
    answers first: 413 for a declared or received body over :func:`max_request_bytes`, and a
    redirect to the start page, unread, for an upload from a session without a chat.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = max_request_bytes(path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        length = declared_length(headers.get("content-length"))
        if length is not None and length > limit:
            await _answer(send, 413, TOO_LARGE)
            return
        if path == upload_path() and not await _session_has_chat(headers.get("cookie", "")):
            await _answer(send, 303, "", location=reverse("chat:start"))
            return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Django takes a disconnect as "the client went away": it drops (and closes)
                    # what it read and answers nothing; the 413 is sent below.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message.get("type") == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, watched_send)
        if too_large and not started:
            await _answer(send, 413, TOO_LARGE)


async def _session_has_chat(cookie_header: str) -> bool:
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except Exception:  # a malformed Cookie header: no session
        return False
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None or not morsel.value:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(morsel.value)
    return bool(await sync_to_async(has_chat)(store))


async def _answer(send: Send, status: int, text: str, location: Optional[str] = None) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if location is not None:
        headers.append((b"location", location.encode("latin-1")))
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
