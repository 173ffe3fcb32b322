"""A customer's side of an Amazon Connect chat, as plain server-rendered pages.

What the session holds, and why
-------------------------------
``StartChatContact`` returns a *participant token*; ``Participant.create_connection()``
exchanges it for a *connection token*, which every later call uses. The session keeps, through
the library's :mod:`connectparticipant_ext.django` helpers (``save_connection`` /
``load_connection``):

* the connection token and its expiry, and the participant token. With the participant token
  the restored connection renews itself before its token expires, and the live view can ask
  for a websocket URL (``CreateParticipantConnection`` with ``ConnectParticipant=False``) each
  time the browser opens the event stream. Both are bearer secrets, which is why the session
  lives on the server (the cache) and the cookie holds only a random session key;
* ``contact_id`` and ``participant_id``: identifiers, not secrets (to mark "you" in the
  transcript), and the display name.

Live updates
------------
``GET /chat/events/`` relays ``conn.stream(since=...)`` as server-sent events
(:func:`connectparticipant_ext.django.sse_response`): the page's script opens it with the id of
the last item the page shows, and the browser's automatic reconnects send ``Last-Event-ID``, so
a reconnect or a reload repeats and loses nothing. Sends and uploads go through ``fetch`` with
the form's idempotency token when JavaScript runs; without it every form posts as before.

Secrets never reach the browser: templates and JSON answers never carry a token, the event
stream carries items only, and attachment downloads redirect to a presigned URL that is made
on demand and valid for 60 seconds.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import uuid
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from connectparticipant_ext import (
    AccessDeniedError,
    AttachmentError,
    AttachmentTooLargeError,
    Connection,
    ConnectionClosedError,
    ConnectionExpiredError,
    InvalidArgumentError,
    ResourceNotFoundError,
    ServiceError,
    ServiceQuotaExceededError,
    UnsupportedAttachmentTypeError,
    ValidationError,
)
from connectparticipant_ext.django import load_connection, save_connection, sse_response, update_saved_connection
from connectparticipant_ext.sessions import DEFAULT_SESSION_KEY

from .forms import MessageForm, StartForm, UploadForm
from .services import get_chat_service, get_connect_client

logger = logging.getLogger(__name__)

SESSION_KEYS = (DEFAULT_SESSION_KEY, "contact_id", "participant_id", "display_name")

ChatView = Callable[..., HttpResponse]


# -- helpers ----------------------------------------------------------------------------------


def _restore_connection(request: HttpRequest) -> Optional[Connection]:
    """The chat connection stored in this session, or None when there is no chat."""
    return load_connection(request, get_chat_service())


def _wants_json(request: HttpRequest) -> bool:
    """The page's script asks for JSON; a plain form post gets redirects and pages."""
    return "application/json" in request.headers.get("Accept", "")


def _chat_over(request: HttpRequest, text: str = "The chat has ended.") -> HttpResponse:
    request.session.flush()
    messages.info(request, text)
    return redirect("chat:start")


def chat_required(view: ChatView) -> ChatView:
    """Pass the session's connection to ``view``; turn the library's errors into pages.

    * no chat in the session: back to the start page;
    * the chat ended, the participant left, or the token expired (``ConnectionClosedError``,
      ``AccessDeniedError``, ``ConnectionExpiredError``): the session is cleared and the
      customer sent to the start page with a message;
    * any other service error (throttling or a 5xx after botocore's retries): a 503 page.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        conn = _restore_connection(request)
        if conn is None:
            return redirect("chat:start")
        try:
            response = view(request, conn, *args, **kwargs)
        except (ConnectionClosedError, AccessDeniedError, ConnectionExpiredError):
            if _wants_json(request):
                request.session.flush()
                return JsonResponse({"error": "The chat has ended.", "ended": True}, status=410)
            return _chat_over(request)
        except ServiceError as exc:
            logger.warning("chat service error: %s", exc)
            if _wants_json(request):
                return JsonResponse({"error": "The chat service is unavailable."}, status=503)
            return render(request, "chat/error.html", {"error": "The chat service is unavailable."}, status=503)
        update_saved_connection(request, conn)  # the connection may have renewed its token
        return response

    return wrapper


def _render_chat(
    request: HttpRequest,
    conn: Connection,
    *,
    message_form: Optional[MessageForm] = None,
    upload_form: Optional[UploadForm] = None,
    status: int = 200,
) -> HttpResponse:
    items = list(conn.transcript)  # the whole chat, oldest first
    me = request.session.get("participant_id")
    context = {
        "items": items,
        "read": _read_message_ids(items, me),
        "last_id": items[-1].id if items else "",
        "me": me,
        "contact_id": request.session.get("contact_id"),  # an id, not a secret: another party can join with it
        "display_name": request.session.get("display_name"),
        "message_form": message_form or MessageForm(prefix="message"),
        "upload_form": upload_form or UploadForm(prefix="upload"),
    }
    return render(request, "chat/chat.html", context, status=status)


def _read_message_ids(items: list[Any], me: Optional[str]) -> set[str]:
    """Ids of my messages that someone else has read (their receipts ride on the message)."""
    read = set()
    for item in items:
        metadata = item.message_metadata
        if item.participant_id == me and metadata is not None:
            if any(r.read_at and r.recipient_participant_id != me for r in metadata.receipts):
                read.add(item.id)
    return read


def _json_form_errors(form: Any, status: int = 400) -> JsonResponse:
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
    return JsonResponse({"errors": errors}, status=status)


# -- views ------------------------------------------------------------------------------------


@require_GET
def start_page(request: HttpRequest) -> HttpResponse:
    if request.session.get(DEFAULT_SESSION_KEY):
        return redirect("chat:chat")
    return render(request, "chat/start.html", {"form": StartForm()})


@require_POST
def start_chat(request: HttpRequest) -> HttpResponse:
    form = StartForm(request.POST)
    if not form.is_valid():
        return render(request, "chat/start.html", {"form": form}, status=400)
    if not (settings.CONNECT_INSTANCE_ID and settings.CONNECT_CONTACT_FLOW_ID):
        form.add_error(None, "The chat is not configured: set CONNECT_INSTANCE_ID and CONNECT_CONTACT_FLOW_ID.")
        return render(request, "chat/start.html", {"form": form}, status=503)
    display_name = form.cleaned_data["display_name"]
    try:
        contact = get_connect_client().start_chat_contact(
            InstanceId=settings.CONNECT_INSTANCE_ID,
            ContactFlowId=settings.CONNECT_CONTACT_FLOW_ID,
            ParticipantDetails={"DisplayName": display_name},
        )
        participant = get_chat_service().Participant(contact["ParticipantToken"])
        # No websocket now: the event stream asks for its own URL each time it opens.
        conn = participant.create_connection(websocket=False)
    except (ClientError, BotoCoreError) as exc:  # the library's ServiceError is a ClientError too
        logger.warning("could not start a chat: %s", exc)
        form.add_error(None, "The chat could not be started. Please try again later.")
        return render(request, "chat/start.html", {"form": form}, status=503)

    request.session.cycle_key()  # a new session key now that the session holds a secret
    save_connection(request, conn)  # connection and participant token: see the module docstring
    request.session["contact_id"] = contact["ContactId"]
    request.session["participant_id"] = contact.get("ParticipantId")
    request.session["display_name"] = display_name
    return redirect("chat:chat")


@require_GET
@never_cache
@chat_required
def chat_page(request: HttpRequest, conn: Connection) -> HttpResponse:
    return _render_chat(request, conn)


@require_POST
@chat_required
def send_message(request: HttpRequest, conn: Connection) -> HttpResponse:
    form = MessageForm(request.POST, prefix="message")
    if not form.is_valid():
        if _wants_json(request):
            return _json_form_errors(form)
        return _render_chat(request, conn, message_form=form, status=400)
    # The same form token gives the same ClientToken: a double submit is sent once.
    sent = conn.send_message(form.cleaned_data["text"], client_token=str(form.cleaned_data["client_token"]))
    if _wants_json(request):
        # The message itself reaches the page through the event stream; the page's next send
        # uses a fresh token.
        return JsonResponse({"id": sent.id, "client_token": str(uuid.uuid4())})
    return redirect("chat:chat")


@require_POST
@chat_required
def send_typing(request: HttpRequest, conn: Connection) -> HttpResponse:
    conn.send_typing()
    return HttpResponse(status=204)


@require_GET
@never_cache
def chat_events(request: HttpRequest) -> HttpResponse:
    """The chat live, as server-sent events (``text/event-stream``).

    Under WSGI each open stream holds a thread, under ASGI none. The library caps them (the
    ``CONNECTPARTICIPANT_EXT_EVENT_STREAMS_*`` settings): a session's oldest stream past its few
    ends ("replaced"), and past the process's cap the answer is 503 with ``Retry-After``.
    """
    conn = _restore_connection(request)
    if conn is None:
        return HttpResponse(status=204)  # no chat: EventSource stops on a 204
    # Errors while streaming end the stream with an "end" or "failed" event (see the library).
    return sse_response(request, conn, keepalive=15, max_seconds=settings.CHAT_EVENTS_MAX_SECONDS)


@require_POST
@chat_required
def upload_attachment(request: HttpRequest, conn: Connection) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, prefix="upload")
    if not form.is_valid():
        return _upload_refused(request, conn, form, 400)
    uploaded = form.cleaned_data["file"]
    name = uploaded.name or "attachment"
    content_type = mimetypes.guess_type(name, strict=False)[0] or uploaded.content_type or "application/octet-stream"
    try:
        attachment = conn.upload_attachment(
            uploaded,  # Django's UploadedFile is a binary file object; the library streams it
            name=name,
            content_type=content_type,
            client_token=str(form.cleaned_data["client_token"]),
        )
    except (AttachmentTooLargeError, UnsupportedAttachmentTypeError, InvalidArgumentError) as exc:
        # Checked locally against the limits before any call; the message names the file and
        # the limit, never a token or URL.
        form.add_error("file", str(exc))
        return _upload_refused(request, conn, form, 400)
    except (ValidationError, ServiceQuotaExceededError):
        # The instance's own limits are stricter than the ones this app was configured with.
        form.add_error("file", "The chat does not accept this file (type or size).")
        return _upload_refused(request, conn, form, 400)
    except AttachmentError as exc:  # the upload itself failed (storage errors, retries spent)
        logger.warning("attachment upload failed: %s", exc)
        form.add_error("file", "The file could not be uploaded. Please try again.")
        return _upload_refused(request, conn, form, 502)
    if _wants_json(request):
        return JsonResponse({"id": attachment.id, "status": attachment.status, "client_token": str(uuid.uuid4())})
    return redirect("chat:chat")


def _upload_refused(request: HttpRequest, conn: Connection, form: UploadForm, status: int) -> HttpResponse:
    if _wants_json(request):
        return _json_form_errors(form, status)
    return _render_chat(request, conn, upload_form=form, status=status)


@require_GET
@never_cache
@chat_required
def attachment_status(request: HttpRequest, conn: Connection, attachment_id: str) -> HttpResponse:
    """``{"status": "IN_PROGRESS" | "APPROVED" | "REJECTED" | null}``: the page polls while scanning."""
    attachment = conn.Attachment(attachment_id).reload()
    return JsonResponse({"id": attachment.id, "name": attachment.name, "status": attachment.status})


@require_GET
@never_cache
@chat_required
def download_attachment(request: HttpRequest, conn: Connection, attachment_id: str) -> HttpResponse:
    try:
        url = conn.Attachment(attachment_id).url(expires_in=60)
    except (ResourceNotFoundError, ValidationError, InvalidArgumentError):
        raise Http404("No such attachment in this chat.") from None
    # A presigned URL is a credential: made per click, valid 60 s, not cached (never_cache).
    return HttpResponseRedirect(url)


@require_POST
def end_chat(request: HttpRequest) -> HttpResponse:
    conn = _restore_connection(request)
    if conn is not None:
        try:
            conn.disconnect()  # leaving twice, or after the chat ended, is not an error
        except (ConnectionClosedError, ConnectionExpiredError, AccessDeniedError):
            pass
        except ServiceError as exc:
            logger.warning("disconnect failed: %s", exc)
    return _chat_over(request, "You left the chat.")
