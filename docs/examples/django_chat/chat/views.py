"""A customer's side of an Amazon Connect chat, as plain server-rendered pages.

What the session holds, and why
-------------------------------
``StartChatContact`` returns a *participant token*; ``Participant.create_connection()``
exchanges it for a *connection token*, which every later call uses. The session keeps only:

* ``connection_token`` and ``connection_expires_at``: enough to restore the connection with
  ``ChatService.Connection(token, expires_at=...)`` on each request;
* ``contact_id`` and ``participant_id``: identifiers, not secrets (to mark "you" in the transcript).

The participant token is deliberately *not* kept. Its only use after the first connection is
to re-create connections (``ConnectParticipant=False``) for as long as the chat lasts (up to
a week), so it is the more powerful secret. The connection token alone lives about a day,
longer than a web chat; when it does run out the library raises ``ConnectionExpiredError``
without a network call and the customer is sent back to the start page. An application whose
chats outlast a connection token would also store the participant token (server-side, like
this session) and restore with ``chat.Connection(token, participant=chat.Participant(pt),
expires_at=...)``, which renews itself.

Secrets never reach the browser: the session lives in the server's cache (the cookie holds a
random session key), templates never render a token, and attachment downloads redirect to a
presigned URL that is made on demand and valid for 60 seconds.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
from datetime import datetime
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
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

from .forms import MessageForm, StartForm, UploadForm
from .services import get_chat_service, get_connect_client

logger = logging.getLogger(__name__)

SESSION_KEYS = ("connection_token", "connection_expires_at", "contact_id", "participant_id", "display_name")

ChatView = Callable[..., HttpResponse]


# -- helpers ----------------------------------------------------------------------------------


def _restore_connection(request: HttpRequest) -> Optional[Connection]:
    """The chat connection stored in this session, or None when there is no chat."""
    token = request.session.get("connection_token")
    if not token:
        return None
    expires = request.session.get("connection_expires_at")
    expires_at = datetime.fromisoformat(expires) if expires else None
    return get_chat_service().Connection(token, expires_at=expires_at)


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
            return view(request, conn, *args, **kwargs)
        except (ConnectionClosedError, AccessDeniedError, ConnectionExpiredError):
            return _chat_over(request)
        except ServiceError as exc:
            logger.warning("chat service error: %s", exc)
            return render(request, "chat/error.html", {"error": "The chat service is unavailable."}, status=503)

    return wrapper


def _render_chat(
    request: HttpRequest,
    conn: Connection,
    *,
    message_form: Optional[MessageForm] = None,
    upload_form: Optional[UploadForm] = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "items": list(conn.transcript),  # the whole chat, oldest first
        "me": request.session.get("participant_id"),
        "display_name": request.session.get("display_name"),
        "message_form": message_form or MessageForm(prefix="message"),
        "upload_form": upload_form or UploadForm(prefix="upload"),
    }
    return render(request, "chat/chat.html", context, status=status)


# -- views ------------------------------------------------------------------------------------


@require_GET
def start_page(request: HttpRequest) -> HttpResponse:
    if request.session.get("connection_token"):
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
        # No websocket: these pages read the transcript on each request.
        conn = participant.create_connection(websocket=False)
    except (ClientError, BotoCoreError) as exc:  # the library's ServiceError is a ClientError too
        logger.warning("could not start a chat: %s", exc)
        form.add_error(None, "The chat could not be started. Please try again later.")
        return render(request, "chat/start.html", {"form": form}, status=503)

    request.session.cycle_key()  # a new session key now that the session holds a secret
    request.session["connection_token"] = conn.token
    request.session["connection_expires_at"] = conn.expires_at.isoformat() if conn.expires_at else None
    request.session["contact_id"] = contact["ContactId"]
    request.session["participant_id"] = contact.get("ParticipantId")
    request.session["display_name"] = display_name
    # participant.token is dropped here on purpose: see the module docstring.
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
        return _render_chat(request, conn, message_form=form, status=400)
    # The same form token gives the same ClientToken: a double submit is sent once.
    conn.send_message(form.cleaned_data["text"], client_token=str(form.cleaned_data["client_token"]))
    return redirect("chat:chat")


@require_POST
@chat_required
def upload_attachment(request: HttpRequest, conn: Connection) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, prefix="upload")
    if not form.is_valid():
        return _render_chat(request, conn, upload_form=form, status=400)
    uploaded = form.cleaned_data["file"]
    name = uploaded.name or "attachment"
    content_type = mimetypes.guess_type(name, strict=False)[0] or uploaded.content_type or "application/octet-stream"
    try:
        conn.upload_attachment(
            uploaded,  # Django's UploadedFile is a binary file object; the library streams it
            name=name,
            content_type=content_type,
            client_token=str(form.cleaned_data["client_token"]),
        )
    except (AttachmentTooLargeError, UnsupportedAttachmentTypeError, InvalidArgumentError) as exc:
        # Checked locally against the limits before any call; the message names the file and
        # the limit, never a token or URL.
        form.add_error("file", str(exc))
        return _render_chat(request, conn, upload_form=form, status=400)
    except (ValidationError, ServiceQuotaExceededError):
        # The instance's own limits are stricter than the ones this app was configured with.
        form.add_error("file", "The chat does not accept this file (type or size).")
        return _render_chat(request, conn, upload_form=form, status=400)
    except AttachmentError as exc:  # the upload itself failed (storage errors, retries spent)
        logger.warning("attachment upload failed: %s", exc)
        form.add_error("file", "The file could not be uploaded. Please try again.")
        return _render_chat(request, conn, upload_form=form, status=502)
    return redirect("chat:chat")


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
