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
  lives on the server (see ``SESSION_ENGINE`` in the settings) and the cookie holds only a
  random session key;
* ``contact_id`` and ``participant_id``: identifiers, not secrets (to mark "you" in the
  transcript), the display name, and the sizes of the files this customer sent (the
  transcript names an attachment but does not give its size);
* after the customer ends the chat, a copy of the transcript (``ended_chat``), so that it stays
  readable: once a participant has left, the service no longer answers its GetTranscript.

Live updates
------------
``GET /chat/events/`` relays ``conn.stream(since=...)`` as server-sent events
(:func:`connectparticipant_ext.django.sse_response`): the page's script opens it with the id of
the last item the page shows, and the browser's automatic reconnects send ``Last-Event-ID``, so
a reconnect or a reload repeats and loses nothing. Sends and uploads go through ``fetch`` with
the form's idempotency token when JavaScript runs; without it every form posts as before.

When the service cannot be reached
----------------------------------
Every view answers a page (or, to the script, JSON) with status 503 and ``Retry-After``: the
chat stays in the session, and the page offers to try again (the script retries by itself).
A chat that has ended, or a participant that has left, clears the session instead.

Secrets never reach the browser: templates and JSON answers never carry a token, the event
stream carries items only, and attachment downloads redirect to a presigned URL that is made
on demand and valid for 60 seconds.
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectparticipant_ext import (
    AccessDeniedError,
    AttachmentError,
    AttachmentTooLargeError,
    ChatEvent,
    Connection,
    ConnectionClosedError,
    ConnectionExpiredError,
    InvalidArgumentError,
    MalformedResponseError,
    ResourceNotFoundError,
    ServiceError,
    ServiceQuotaExceededError,
    ServiceUnreachableError,
    StreamError,
    UnsupportedAttachmentTypeError,
    ValidationError,
)
from connectparticipant_ext.django import load_connection, save_connection, sse_response, update_saved_connection
from connectparticipant_ext.sessions import DEFAULT_SESSION_KEY
from connectparticipant_ext.sse import is_resumable, item_payload

from .forms import MessageForm, StartForm, UploadForm
from .limits import attachment_too_large_message, has_chat, upload_handlers
from .services import get_chat_service, get_connect_client

logger = logging.getLogger(__name__)

SESSION_KEYS = (DEFAULT_SESSION_KEY, "contact_id", "participant_id", "attachment_sizes")
ENDED_CHAT_KEY = "ended_chat"
ENDED_CHAT_MAX_ITEMS = 500  # the copy of an ended chat kept in the session, newest items
ATTACHMENT_SIZES_MAX = 100  # sizes of the files this customer sent, newest kept
RETRY_AFTER_SECONDS = 10

# Everything that means "the service cannot serve this now": unreachable (timeouts, refused
# connections), an answer that is not the service's (a proxy's error page), throttling or a
# 5xx after botocore's retries, a live stream that could not be kept up, and the connect
# client's own errors (it is a plain boto3 client). AccessDeniedError, a ServiceError too, is
# caught before these: it means the chat has ended.
UNAVAILABLE = (ServiceError, ServiceUnreachableError, MalformedResponseError, StreamError, BotoCoreError, ClientError)

UNAVAILABLE_TEXT = "The chat service cannot be reached right now."

ChatView = Callable[..., HttpResponse]


# -- what the page shows of an item -----------------------------------------------------------

# The line an event is shown as; "{name}" is the participant's name ("You" for the customer).
# The page's script gets this table too (json_script), so both say the same.
EVENT_TEXT = {
    event.value: text
    for event, text in (
        (ChatEvent.PARTICIPANT_JOINED, "{name} joined the chat"),
        (ChatEvent.PARTICIPANT_LEFT, "{name} left the chat"),
        (ChatEvent.PARTICIPANT_IDLE, "{name} is idle"),
        (ChatEvent.PARTICIPANT_RETURNED, "{name} is back"),
        (ChatEvent.PARTICIPANT_INVITED, "{name} was invited"),
        (ChatEvent.AUTODISCONNECTION, "{name} was disconnected for inactivity"),
        (ChatEvent.PARTICIPANT_DISPLAY_NAME_UPDATED, "{name} changed their name"),
        (ChatEvent.TRANSFER_SUCCEEDED, "The chat was transferred"),
        (ChatEvent.TRANSFER_FAILED, "The chat could not be transferred"),
        (ChatEvent.CHAT_ENDED, "The chat has ended"),
        (ChatEvent.CHAT_REHYDRATED, "The chat was resumed"),
        (ChatEvent.AUTHENTICATION_INITIATED, "Sign-in was requested"),
        (ChatEvent.AUTHENTICATION_SUCCESSFUL, "Signed in"),
        (ChatEvent.AUTHENTICATION_FAILED, "Sign-in failed"),
        (ChatEvent.AUTHENTICATION_TIMEOUT, "Sign-in timed out"),
        (ChatEvent.AUTHENTICATION_EXPIRED, "Sign-in expired"),
        (ChatEvent.AUTHENTICATION_CANCELED, "Sign-in was cancelled"),
    )
}
# Events that are state, not conversation: never a line of the transcript.
HIDDEN_EVENTS = tuple(
    event.value
    for event in (
        ChatEvent.TYPING,
        ChatEvent.MESSAGE_DELIVERED,
        ChatEvent.MESSAGE_READ,
        ChatEvent.MESSAGE_METADATA,
        ChatEvent.CONNECTION_ACKNOWLEDGED,
        ChatEvent.PARTICIPANT_ACTIVE,
        ChatEvent.PARTICIPANT_INACTIVE,
    )
)


def _event_text(event: Optional[str], name: str) -> str:
    return EVENT_TEXT.get(event or "", event or "event").replace("{name}", name)


def receipt_label(payload: Mapping[str, Any], me: Optional[str]) -> Optional[str]:
    """The receipt shown under my message: "Read" or "Delivered" once someone else has, else None."""
    others = [r for r in payload.get("receipts") or () if r.get("participant_id") != me]
    if any(r.get("read") for r in others):
        return "Read"
    if any(r.get("delivered") for r in others):
        return "Delivered"
    return None


def transcript_entries(
    payloads: Iterable[Mapping[str, Any]], me: Optional[str], sizes: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The lines of the page, from :func:`~connectparticipant_ext.sse.item_payload` dicts (what
    the event stream sends, so the server and the script render the same thing)."""
    entries = []
    for p in payloads:
        kind = p.get("kind")
        if kind not in ("message", "attachment", "event", "ended") or (
            kind == "event" and p.get("event") in HIDDEN_EVENTS
        ):
            continue
        mine = bool(me) and p.get("participant_id") == me
        who = "You" if mine else (p.get("display_name") or "System")
        entries.append(
            {
                "id": p.get("id") or "",
                "kind": "event" if kind == "ended" else kind,
                "ended": kind == "ended",
                "mine": mine,
                "who": who,
                "time": datetime.fromisoformat(p["time"]) if p.get("time") else None,
                "content": p.get("content") or "",
                "partial": kind == "message" and p.get("complete") is False,
                "text": _event_text(p.get("event"), who) if kind in ("event", "ended") else "",
                "receipt": receipt_label(p, me) if mine and kind == "message" else None,
                "attachments": [
                    {**a, "size": sizes.get(a.get("id") or "")} for a in p.get("attachments") or () if a.get("id")
                ],
            }
        )
    return entries


# -- helpers ----------------------------------------------------------------------------------


def _restore_connection(request: HttpRequest) -> Optional[Connection]:
    """The chat connection stored in this session, or None when there is no chat."""
    try:
        return load_connection(request, get_chat_service())
    except InvalidArgumentError:  # not what save_connection wrote: no usable chat
        _forget_chat(request)
        return None


def wants_json(request: HttpRequest) -> bool:
    """The page's script asks for JSON; a plain form post gets redirects and pages."""
    return "application/json" in request.headers.get("Accept", "")


def _forget_chat(request: HttpRequest) -> None:
    """A new, empty session (new key) that remembers only the customer's name."""
    name = request.session.get("display_name")
    request.session.flush()
    if name:
        request.session["display_name"] = name


def _chat_over(request: HttpRequest, text: str = "The chat has ended.") -> HttpResponse:
    _forget_chat(request)
    if wants_json(request):
        return JsonResponse({"error": text, "ended": True}, status=410)
    messages.info(request, text)
    return redirect("chat:start")


def service_unavailable(request: HttpRequest, retry_url: Optional[str] = None) -> HttpResponse:
    """503 with ``Retry-After``: a "try again" page, or JSON for the page's script."""
    if wants_json(request):
        response: HttpResponse = JsonResponse({"error": UNAVAILABLE_TEXT, "unavailable": True}, status=503)
    else:
        if retry_url is None:
            retry_url = request.get_full_path() if request.method == "GET" else _chat_url(request)
        context = {
            "title": "Chat unavailable",
            "error": UNAVAILABLE_TEXT,
            "retry_url": retry_url,
            "has_chat": has_chat(request.session),
        }
        response = render(request, "chat/error.html", context, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _chat_url(request: HttpRequest) -> str:
    from django.urls import reverse

    return reverse("chat:chat") if has_chat(request.session) else reverse("chat:start")


def chat_required(view: ChatView) -> ChatView:
    """Pass the session's connection to ``view``; turn the library's errors into pages.

    * no chat in the session: back to the start page (JSON: 410, ``ended``);
    * the chat ended, the participant left, or the token expired (``ConnectionClosedError``,
      ``AccessDeniedError``, ``ConnectionExpiredError``): the session is cleared and the
      customer sent to the start page with a message;
    * the service cannot be reached or serve the call (see ``UNAVAILABLE``): a 503 page that
      keeps the chat, to try again.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        conn = _restore_connection(request)
        if conn is None:
            if wants_json(request):
                return JsonResponse({"error": "There is no chat in this session.", "ended": True}, status=410)
            return redirect("chat:start")
        try:
            response = view(request, conn, *args, **kwargs)
        except (ConnectionClosedError, AccessDeniedError, ConnectionExpiredError):
            return _chat_over(request)
        except UNAVAILABLE as exc:
            logger.warning("chat service unavailable: %s", exc)
            return service_unavailable(request)
        update_saved_connection(request, conn)  # the connection may have renewed its token
        return response

    return wrapper


def _attachment_sizes(request: HttpRequest) -> dict[str, int]:
    sizes = request.session.get("attachment_sizes")
    return dict(sizes) if isinstance(sizes, dict) else {}


def _remember_size(request: HttpRequest, attachment_id: str, size: int) -> None:
    sizes = _attachment_sizes(request)
    sizes.pop(attachment_id, None)
    sizes[attachment_id] = size
    request.session["attachment_sizes"] = dict(list(sizes.items())[-ATTACHMENT_SIZES_MAX:])


def _chat_context(
    request: HttpRequest, payloads: list[dict[str, Any]], *, ended: bool, last_id: str = ""
) -> dict[str, Any]:
    me = request.session.get("participant_id")
    return {
        "entries": transcript_entries(payloads, me, _attachment_sizes(request)),
        "last_id": last_id,  # the event stream resumes after it
        "me": me,
        "ended": ended,
        "contact_id": request.session.get("contact_id"),  # an id, not a secret: another party can join with it
        "display_name": request.session.get("display_name") or "",
        "event_text": EVENT_TEXT,
        "hidden_events": HIDDEN_EVENTS,
        "max_attachment_bytes": settings.CONNECT_ATTACHMENT_MAX_BYTES,
        "attachment_too_large": attachment_too_large_message(),
        "new_chat_form": StartForm(initial={"display_name": request.session.get("display_name")}),
    }


def _render_chat(
    request: HttpRequest,
    conn: Connection,
    *,
    message_form: Optional[MessageForm] = None,
    upload_form: Optional[UploadForm] = None,
    status: int = 200,
) -> HttpResponse:
    items = list(conn.transcript)  # the whole chat, oldest first
    payloads = [item_payload(item) for item in items]
    last_id = next((item.id for item in reversed(items) if is_resumable(item)), "")
    context = _chat_context(request, payloads, ended=any(item.is_chat_ended for item in items), last_id=last_id)
    context["message_form"] = message_form or MessageForm(prefix="message")
    context["upload_form"] = upload_form or UploadForm(prefix="upload")
    return render(request, "chat/chat.html", context, status=status)


def _json_form_errors(form: Any, status: int = 400) -> JsonResponse:
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
    return JsonResponse({"errors": errors}, status=status)


# -- views ------------------------------------------------------------------------------------


@require_GET
def start_page(request: HttpRequest) -> HttpResponse:
    if has_chat(request.session):
        return redirect("chat:chat")
    form = StartForm(initial={"display_name": request.session.get("display_name")})
    return render(request, "chat/start.html", {"form": form})


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
    except (*UNAVAILABLE, AccessDeniedError) as exc:
        logger.warning("could not start a chat: %s", exc)
        form.add_error(None, "The chat could not be started. Please try again in a moment.")
        response = render(request, "chat/start.html", {"form": form}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    request.session.cycle_key()  # a new session key now that the session holds a secret
    for key in (*SESSION_KEYS, ENDED_CHAT_KEY):
        request.session.pop(key, None)
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
        if wants_json(request):
            return _json_form_errors(form)
        return _render_chat(request, conn, message_form=form, status=400)
    # The same form token gives the same ClientToken: a double submit is sent once. The page's
    # script takes a new token whenever the text changes, so an edited retry is a new message.
    sent = conn.send_message(form.cleaned_data["text"], client_token=str(form.cleaned_data["client_token"]))
    if wants_json(request):
        # The message itself reaches the page through the event stream; the page's next send
        # uses a fresh token.
        return JsonResponse({"id": sent.id, "client_token": str(uuid.uuid4())})
    return redirect(_latest("chat:chat"))


def _latest(name: str) -> str:
    """The chat page scrolled to its newest line, also without JavaScript."""
    from django.urls import reverse

    return reverse(name) + "#latest"


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
    return sse_response(
        request,
        conn,
        keepalive=15,
        max_seconds=settings.CHAT_EVENTS_MAX_SECONDS,
        reconnect_attempts=settings.CHAT_EVENTS_RECONNECT_ATTEMPTS,
    )


@require_GET
@never_cache
@chat_required
def chat_health(request: HttpRequest, conn: Connection) -> HttpResponse:
    """``{"ok": true}`` when the service answers for this chat (one ``GetTranscript`` of one
    item); 503 when it cannot be reached, 410 when the chat is over. The page asks this while
    it waits for the service to come back, before it opens the event stream again."""
    next(iter(conn.transcript.page_size(1).limit(1)), None)
    return JsonResponse({"ok": True})


@csrf_exempt  # checked by _upload, once the upload handlers are in place (see below)
@require_POST
def upload_attachment(request: HttpRequest) -> HttpResponse:
    """Refuse before reading when the session holds no chat (a body larger than an attachment
    can be was refused, unread, by ``RequestSizeLimitMiddleware``).

    ``CsrfViewMiddleware`` would parse the body (and store the file) to find the CSRF token,
    so this view is exempt from it and :func:`_upload` checks the token after the upload
    handlers that enforce the limit are installed (see :mod:`chat.limits`).
    """
    if not has_chat(request.session):
        return (
            _chat_over(request, "There is no chat to send a file to.")
            if wants_json(request)
            else redirect("chat:start")
        )
    limit = upload_handlers(request)
    return _upload(request, limit=limit)


@csrf_protect
@chat_required
def _upload(request: HttpRequest, conn: Connection, *, limit: Any) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, prefix="upload")
    if limit.too_large:
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", attachment_too_large_message())
        return _upload_refused(request, conn, form, 413)
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
    _remember_size(request, attachment.id, uploaded.size)
    if wants_json(request):
        return JsonResponse(
            {
                "id": attachment.id,
                "name": name,
                "size": uploaded.size,
                "status": attachment.status,
                "client_token": str(uuid.uuid4()),
            }
        )
    return redirect(_latest("chat:chat"))


def _upload_refused(request: HttpRequest, conn: Connection, form: UploadForm, status: int) -> HttpResponse:
    if wants_json(request):
        return _json_form_errors(form, status)
    return _render_chat(request, conn, upload_form=form, status=status)


def _attachment(conn: Connection, attachment_id: str) -> Any:
    """The attachment of this chat with this id; 404 for an id that is not one (too long,
    unknown, or another chat's)."""
    try:
        attachment = conn.Attachment(attachment_id)
    except InvalidArgumentError:
        raise Http404("No such attachment in this chat.") from None
    return attachment


@require_GET
@never_cache
@chat_required
def attachment_status(request: HttpRequest, conn: Connection, attachment_id: str) -> HttpResponse:
    """``{"id", "name", "status", "size"}``: the page polls while the file is scanned, and
    asks once for the size of a file someone else sent.

    ``status`` is ``IN_PROGRESS``, ``APPROVED`` or ``REJECTED``; ``size`` (bytes) is known for
    the files this customer sent, and from ``GetAttachment`` once a file is approved.
    """
    attachment = _attachment(conn, attachment_id).reload()
    if attachment.status is None:
        raise Http404("No such attachment in this chat.")
    size = _attachment_sizes(request).get(attachment.id)
    if size is None and attachment.status == "APPROVED":
        try:
            attachment.url(expires_in=5)  # GetAttachment: its answer carries the size; the URL is dropped
        except (ResourceNotFoundError, ValidationError):
            raise Http404("No such attachment in this chat.") from None
        size = attachment.size
        if size is not None:
            _remember_size(request, attachment.id, size)
    return JsonResponse({"id": attachment.id, "name": attachment.name, "status": attachment.status, "size": size})


@require_GET
@never_cache
@chat_required
def download_attachment(request: HttpRequest, conn: Connection, attachment_id: str) -> HttpResponse:
    try:
        url = _attachment(conn, attachment_id).url(expires_in=60)
    except (ResourceNotFoundError, ValidationError):
        raise Http404("No such attachment in this chat.") from None
    # A presigned URL is a credential: made per click, valid 60 s, not cached (never_cache).
    return HttpResponseRedirect(url)


@require_http_methods(["GET", "POST"])
@never_cache
def end_chat(request: HttpRequest) -> HttpResponse:
    """GET: "End this chat?" (the page without JavaScript; the script asks in a dialog).
    POST: leave the chat, keep a copy of the transcript to read, clear the session.

    The session is cleared whatever the service answers: a customer who asked to leave is never
    kept in a chat because the service could not be reached to say so.
    """
    if request.method == "GET":
        if not has_chat(request.session):
            return redirect("chat:start")
        return render(request, "chat/end.html", {"display_name": request.session.get("display_name")})
    conn = _restore_connection(request)
    payloads: list[dict[str, Any]] = []
    if conn is not None:
        try:
            if not wants_json(request):  # the script keeps the transcript on its page
                payloads = [item_payload(item) for item in conn.transcript]
            conn.disconnect()  # leaving twice, or after the chat ended, is not an error
        except (ConnectionClosedError, ConnectionExpiredError, AccessDeniedError):
            pass
        except UNAVAILABLE as exc:
            logger.warning("could not leave the chat cleanly: %s", exc)
    ended = {
        "items": payloads[-ENDED_CHAT_MAX_ITEMS:],
        "me": request.session.get("participant_id"),
        "contact_id": request.session.get("contact_id"),
        "attachment_sizes": _attachment_sizes(request),
    }
    _forget_chat(request)
    if wants_json(request):
        return JsonResponse({"ended": True})
    request.session[ENDED_CHAT_KEY] = ended
    return redirect(_latest("chat:ended"))


@require_GET
@never_cache
def ended_page(request: HttpRequest) -> HttpResponse:
    """The chat the customer just left, to read (attachments can no longer be downloaded)."""
    ended = request.session.get(ENDED_CHAT_KEY)
    if not isinstance(ended, dict):
        return redirect("chat:start")
    me = ended.get("me")
    context = _chat_context(request, [], ended=True)
    context.update(
        entries=transcript_entries(ended.get("items") or (), me, ended.get("attachment_sizes") or {}),
        me=me,
        contact_id=ended.get("contact_id"),
        left=True,
    )
    return render(request, "chat/chat.html", context)
