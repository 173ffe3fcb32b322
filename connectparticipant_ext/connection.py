"""The :class:`Connection` resource: every participant call after the token switch."""

from __future__ import annotations

import enum
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Optional, Union

from botocore import xform_name

from . import _json, _wire
from ._redact import redact_secret
from ._time import parse_time
from ._validation import (
    CONNECTION_ACKNOWLEDGED,
    EVENT_CONTENT_TYPES,
    MAX_CONTENT_LENGTH,
    MESSAGE_CONTENT_TYPES,
    MESSAGE_DELIVERED,
    MESSAGE_READ,
    TYPING,
    require_choice,
    require_seconds,
    require_str,
    require_token,
)
from .exceptions import (
    CALL_ERRORS,
    AccessDeniedError,
    ConnectionClosedError,
    ConnectionExpiredError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    MalformedResponseError,
    call_error_from,
)
from .models import SentEvent, SentMessage, View, Websocket
from .webrtc import WebRTCConnection

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from . import attachments as _attachments
    from .attachments import AttachmentUpload, ProgressCallback
    from .authentication import AuthenticationResult, AuthenticationSession
    from .interactive import InteractiveTemplate
    from .live import AsyncChatStream, ChatStream
    from .participant import Participant
    from .service import ChatService, ServiceMeta
    from .transcript import TranscriptCollectionManager

__all__ = ["Connection", "ConnectionState", "RENEW_BEFORE_EXPIRY"]

logger = logging.getLogger(__name__)


def _credentials(response: Any) -> tuple[str, Any]:
    """The connection token and expiry of a CreateParticipantConnection answer.

    Raises:
        MalformedResponseError: the answer has no ``ConnectionCredentials.ConnectionToken``.
    """
    credentials = response.get("ConnectionCredentials") if isinstance(response, Mapping) else None
    if not isinstance(credentials, Mapping):
        raise MalformedResponseError("CreateParticipantConnection", "ConnectionCredentials is missing or not a map")
    token = credentials.get("ConnectionToken")
    if not isinstance(token, str) or not token:
        raise MalformedResponseError(
            "CreateParticipantConnection", "ConnectionCredentials.ConnectionToken is missing or not a string"
        )
    return token, credentials.get("Expiry")


RENEW_BEFORE_EXPIRY = timedelta(seconds=60)
"""A connection renews its token this long before it expires, as AWS's chat client does.

For tokens that live less than twice this long (test backends), half their lifetime is used
instead, so a short-lived token is not renewed on every call.
"""

_SESSION_ID_LENGTH = 36


def _utcnow() -> datetime:
    """The clock renewal decisions use (a seam for tests that fast-forward time)."""
    return datetime.now(timezone.utc)


_system_utcnow = _utcnow
"""The real clock: while ``_utcnow`` is this, calls check renewal against a float deadline."""

_method_names: dict[str, str] = {}
"""Operation name -> client method name (``SendMessage`` -> ``send_message``), filled on first use."""


class ConnectionState(enum.Enum):
    """Lifecycle of a connection: open until disconnected or refused by the service."""

    OPEN = "open"
    CLOSED = "closed"


_OPEN = ConnectionState.OPEN  # a module global is quicker to read than an enum member
_wall_time = time.time


def _client_token(value: Optional[str]) -> str:
    if value is None:
        return str(uuid.uuid4())
    return require_str("client_token", value, max_length=500)


class Connection:
    """A participant's connection to a chat, holding the connection token.

    Made by :meth:`Participant.create_connection` or restored with
    :meth:`ChatService.Connection`. A connection that knows its participant renews itself:
    shortly before its token expires, or once when a call is refused with
    AccessDeniedException, it re-creates the connection (``ConnectParticipant=False``) and
    retries the call once. Threads sharing a connection renew it exactly once between them.
    After :meth:`disconnect` every call raises :class:`ConnectionClosedError` without a
    network call.
    """

    def __init__(
        self,
        service: ChatService,
        token: str,
        *,
        participant: Optional[Participant] = None,
        expires_at: Optional[datetime] = None,
        websocket: Optional[Websocket] = None,
        websocket_requested: bool = False,
        webrtc: Optional[WebRTCConnection] = None,
    ) -> None:
        self._service = service
        self._token = require_token("connection token", token)
        self._participant = participant
        if expires_at is not None and (not isinstance(expires_at, datetime) or expires_at.tzinfo is None):
            raise InvalidArgumentError("expires_at must be a timezone-aware datetime")
        self._expires_at = expires_at
        self._issued_at = _utcnow()
        self._renew_at = self._renew_deadline()
        self._websocket = websocket
        self._websocket_requested = websocket_requested or websocket is not None
        self._webrtc = webrtc
        self._state = ConnectionState.OPEN
        self._closed_reason: str  # set by _close(), the only way into the CLOSED state
        self._generation = 0
        self._renew_lock = threading.Lock()
        self.renewals = 0
        """How many times this connection has renewed its token."""
        self._transcript: Optional[TranscriptCollectionManager] = None

    @classmethod
    def from_response(
        cls,
        service: ChatService,
        response: Mapping[str, Any],
        *,
        participant: Optional[Participant] = None,
        websocket_requested: bool = False,
    ) -> Connection:
        """Build a connection from a ``CreateParticipantConnection`` response."""
        token, expiry = _credentials(response)
        websocket = response.get("Websocket")
        webrtc = response.get("WebRTCConnection")
        return cls(
            service,
            token,
            participant=participant,
            expires_at=parse_time(expiry),
            websocket=Websocket.from_response(websocket) if websocket else None,
            websocket_requested=websocket_requested,
            webrtc=WebRTCConnection.from_response(webrtc) if isinstance(webrtc, Mapping) else None,
        )

    # -- identity and state ------------------------------------------------------------------

    def __repr__(self) -> str:
        expires = self._expires_at.isoformat() if self._expires_at else None
        return f"Connection(state={self._state.value!r}, expires_at={expires!r}, token={redact_secret(self._token)})"

    @property
    def token(self) -> str:
        """The current connection token (a secret; it changes when the connection renews)."""
        return self._token

    @property
    def expires_at(self) -> Optional[datetime]:
        """When the current token expires (aware UTC), or None when unknown (a restored token)."""
        return self._expires_at

    @property
    def websocket(self) -> Optional[Websocket]:
        """The websocket URL and its expiry, if one was asked for."""
        return self._websocket

    def refresh_websocket(self) -> Websocket:
        """Ask for a fresh websocket URL and keep it as :attr:`websocket`.

        ``CreateParticipantConnection`` with ``Type=["WEBSOCKET"]`` and
        ``ConnectParticipant=False``, as AWS's chat client does before an old URL's
        ``ConnectionExpiry`` (a deadline to open it, 100 s in the service). The connection
        token is left as it is. The live streams call this; so may a caller that opens
        sockets of its own.

        Raises:
            ConnectionClosedError: the connection is closed.
            ConnectionExpiredError: the connection has no participant to ask with.
        """
        self._ensure_open()
        if self._participant is None:
            raise ConnectionExpiredError("this connection has no participant to ask for a websocket URL with")
        response = self._participant.create_participant_connection(
            connect_participant=False, websocket=True, credentials=False
        )
        fresh = Websocket.from_response(response.get("Websocket") or {})
        self._websocket = fresh
        return fresh

    @property
    def webrtc(self) -> Optional[WebRTCConnection]:
        """The call's WebRTC details (Chime meeting and attendee), if asked for with ``webrtc=True``.

        Kept across renewals: the attendee's join token lasts for the participant's time in
        the call. The join token never appears in a ``repr``.
        """
        return self._webrtc

    @property
    def participant(self) -> Optional[Participant]:
        """The participant this connection renews itself with, if known."""
        return self._participant

    @property
    def service(self) -> ChatService:
        return self._service

    @property
    def meta(self) -> ServiceMeta:
        """``meta.client`` is the boto3 client underneath, as on boto3 resources."""
        return self._service.meta

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def closed(self) -> bool:
        return self._state is ConnectionState.CLOSED

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if exc is None:
            self.disconnect()
            return
        try:
            self.disconnect()
        except Exception:  # do not hide the exception that is already propagating
            logger.warning("disconnect failed while leaving a block that raised", exc_info=True)

    # -- the call path: one place checks state, renews, calls and translates errors -----------

    def _ensure_open(self) -> None:
        if self._state is ConnectionState.CLOSED:
            raise ConnectionClosedError(f"this connection is closed: {self._closed_reason}")

    def _renew_margin(self, expires_at: datetime) -> timedelta:
        return min(RENEW_BEFORE_EXPIRY, (expires_at - self._issued_at) / 2)

    def _renew_deadline(self) -> float:
        """When the current token is due for renewal, in :func:`time.time` seconds (inf: never).

        Computed once per token, so that every call checks a float against ``time.time()``
        instead of doing datetime arithmetic. The wall clock, not the monotonic one: the
        expiry is a wall-clock instant, and a machine that slept must still see it pass.
        """
        if self._expires_at is None:
            return math.inf
        return (self._expires_at - self._renew_margin(self._expires_at)).timestamp()

    def _usable_token(self) -> tuple[str, int]:
        """The token to call with and its generation, renewing first when it is about to expire."""
        generation = self._generation  # before the token: a renewal in between is then seen as one
        token = self._token
        if self._state is _OPEN and _wall_time() < self._renew_at and _utcnow is _system_utcnow:
            return token, generation  # the hot path: open, and not yet due
        return self._checked_token()

    def _checked_token(self) -> tuple[str, int]:
        """:meth:`_usable_token` the long way: closed, due, expired, or a test's clock in ``_utcnow``."""
        self._ensure_open()
        token, generation, expires_at = self._token, self._generation, self._expires_at
        if expires_at is None:
            return token, generation
        now = _utcnow()
        if now < expires_at - self._renew_margin(expires_at):
            return token, generation
        if self._participant is None:
            if now >= expires_at:
                raise ConnectionExpiredError(
                    "the connection token has expired and this connection has no participant to renew it with"
                )
            return token, generation
        try:
            self._renew(generation, reason="token about to expire")
        except AccessDeniedError:
            raise
        except Exception:  # a failed early renewal is not fatal while the token still works
            if _utcnow() >= expires_at:
                raise
            logger.warning("renewing the connection failed; the current token is still valid", exc_info=True)
        self._ensure_open()
        return self._token, self._generation

    def _renew(self, seen_generation: int, *, reason: str) -> None:
        """Re-create the connection (``ConnectParticipant=False``), once across threads."""
        assert self._participant is not None
        with self._renew_lock:
            if self._generation != seen_generation:
                return  # another thread renewed while this one waited
            self._ensure_open()
            try:
                response = self._participant.create_participant_connection(
                    connect_participant=False, websocket=self._websocket_requested
                )
            except AccessDeniedError:
                self._close("the service refused to renew it (the chat has ended or the participant left)")
                raise
            token, expiry = _credentials(response)
            websocket = response.get("Websocket")
            new_websocket = Websocket.from_response(websocket) if websocket else None
            self._token = token
            self._expires_at = parse_time(expiry)
            self._issued_at = _utcnow()
            self._renew_at = self._renew_deadline()
            if new_websocket is not None:
                self._websocket = new_websocket
            self._generation += 1
            self.renewals += 1
            logger.info("connection renewed (%s)", reason)

    def renew(self) -> None:
        """Re-create the connection now, with a fresh token (``ConnectParticipant=False``)."""
        self._ensure_open()
        if self._participant is None:
            raise ConnectionExpiredError("this connection has no participant to renew it with")
        self._renew(self._generation, reason="asked for")

    def call_operation(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call a Participant Service operation with this connection's token; the raw answer.

        ``operation`` is the API name (``"GetTranscript"``); ``params`` are its parameters
        but ``ConnectionToken``. The call renews the token first when it is due, renews and
        retries once after AccessDeniedException, and raises this library's errors
        (:func:`~connectparticipant_ext.exceptions.call_error_from`). It is the seam the
        other resources (the transcript, attachments) call through, and a way to reach an
        operation this class does not wrap; the answer is botocore's dict, unchecked.

        Every call of the library goes through here, so it is kept lean: a float comparison
        for renewal (see :meth:`_renew_deadline`), and botocore's errors translated in an
        ``except`` clause (free when nothing is raised) rather than a context manager.
        """
        name = _method_names.get(operation)
        if name is None:
            name = _method_names.setdefault(operation, xform_name(operation))
        method = getattr(self._service.meta.client, name)
        for attempt in (1, 2):
            token, generation = self._usable_token()
            started = time.perf_counter()
            try:
                response: dict[str, Any] = method(ConnectionToken=token, **params)
            except CALL_ERRORS as exc:  # transport failures come after botocore's retries
                error = call_error_from(operation, exc)
                if not isinstance(error, AccessDeniedError) or attempt == 2 or self._participant is None:
                    if error is exc:
                        raise
                    raise error from exc
                logger.debug("%s was refused; renewing the connection and retrying once", operation)
                self._renew(generation, reason="access denied")
                continue
            if logger.isEnabledFor(logging.DEBUG):  # the ids are formatted only when they are logged
                logger.debug(
                    "%s%s took %.1f ms",
                    operation,
                    _describe_ids(response),
                    (time.perf_counter() - started) * 1000,
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _close(self, reason: str) -> None:
        self._closed_reason = reason  # first: a thread that sees CLOSED reads the reason next
        self._state = ConnectionState.CLOSED

    # -- messages and events -----------------------------------------------------------------

    def send_message(
        self, content: str, content_type: str = _wire.TEXT_PLAIN, client_token: Optional[str] = None
    ) -> SentMessage:
        """Send a message (``SendMessage``).

        Args:
            content: 1 to 16,384 bytes of UTF-8 (characters outside ASCII count more than one).
            content_type: ``text/plain``, ``text/markdown``, ``application/json`` or
                ``application/vnd.amazonaws.connect.message.interactive.response``.
            client_token: idempotency token; one is generated when omitted, and reused by
                every retry, so a message is never sent twice.
        """
        require_str("content", content, max_bytes=MAX_CONTENT_LENGTH)
        require_choice("content_type", content_type, MESSAGE_CONTENT_TYPES)
        if content_type == _wire.APPLICATION_JSON:
            _require_json("content", content)
        elif content_type == _wire.INTERACTIVE_RESPONSE:
            _require_interactive_response("content", content)
        token = _client_token(client_token)
        response = self.call_operation("SendMessage", Content=content, ContentType=content_type, ClientToken=token)
        return SentMessage.from_response(response)

    def send_event(
        self, content_type: str, content: Optional[str] = None, client_token: Optional[str] = None
    ) -> SentEvent:
        """Send an event (``SendEvent``): typing, a delivered/read receipt, or a connection ack."""
        require_choice("content_type", content_type, EVENT_CONTENT_TYPES)
        params: dict[str, Any] = {"ContentType": content_type, "ClientToken": _client_token(client_token)}
        if content is not None:
            params["Content"] = require_str("content", content, max_bytes=MAX_CONTENT_LENGTH)
        return SentEvent.from_response(self.call_operation("SendEvent", **params))

    typing_throttle: float = 10.0
    """Seconds within which :meth:`send_typing` sends one typing event at most (chatjs:
    ``TYPING_VALIDITY_TIME`` = 10 s, a leading-edge throttle in ``src/client/client.js``).
    Set it per connection (``conn.typing_throttle = 5``) or on the class; 0 turns it off."""

    _typing_sent_at: float = -math.inf
    _typing_lock = threading.Lock()

    def send_typing(self, *, force: bool = False) -> Optional[SentEvent]:
        """Tell the other participants this one is typing, at most once per :attr:`typing_throttle`.

        Returns the :class:`SentEvent`, or None when a typing event was sent less than
        ``typing_throttle`` seconds ago (nothing is sent). ``force=True`` sends regardless.
        """
        if not isinstance(force, bool):
            raise InvalidArgumentTypeError("force must be True or False")
        throttle = require_seconds("typing_throttle", self.typing_throttle, allow_zero=True)
        with Connection._typing_lock:
            now = time.monotonic()
            if not force and now - self._typing_sent_at < throttle:
                return None
            previous, self._typing_sent_at = self._typing_sent_at, now
        try:
            return self.send_event(TYPING)
        except BaseException:
            with Connection._typing_lock:
                if self._typing_sent_at == now:
                    self._typing_sent_at = previous  # not sent: the next call may try again
            raise

    def send_read_receipt(self, message_id: str) -> SentEvent:
        """Mark a message as read."""
        return self.send_event(MESSAGE_READ, _receipt_content(message_id))

    def send_delivered_receipt(self, message_id: str) -> SentEvent:
        """Mark a message as delivered."""
        return self.send_event(MESSAGE_DELIVERED, _receipt_content(message_id))

    def acknowledge_connection(self) -> SentEvent:
        """Send the ``connection.acknowledged`` event AWS's chat clients send after connecting."""
        return self.send_event(CONNECTION_ACKNOWLEDGED)

    # -- views and authentication -------------------------------------------------------------

    def describe_view(self, view_token: str) -> View:
        """Fetch a step-by-step guide view (``DescribeView``)."""
        require_str("view_token", view_token, max_length=1000)
        return View.from_response(self.call_operation("DescribeView", ViewToken=view_token)["View"])

    def get_authentication_url(self, session_id: str, redirect_uri: str) -> str:
        """The URL where a customer authenticates (``GetAuthenticationUrl``)."""
        require_str("session_id", session_id, min_length=_SESSION_ID_LENGTH, max_length=_SESSION_ID_LENGTH)
        require_str("redirect_uri", redirect_uri, max_length=1024)
        response = self.call_operation("GetAuthenticationUrl", SessionId=session_id, RedirectUri=redirect_uri)
        return str(response["AuthenticationUrl"])

    def cancel_authentication(self, session_id: str) -> None:
        """Cancel a customer's authentication (``CancelParticipantAuthentication``)."""
        require_str("session_id", session_id, min_length=_SESSION_ID_LENGTH, max_length=_SESSION_ID_LENGTH)
        self.call_operation("CancelParticipantAuthentication", SessionId=session_id)

    def start_authentication(
        self,
        redirect_uri: str,
        *,
        stream: Optional[ChatStream] = None,
        timeout: Optional[float] = 60.0,
        session_id: Optional[str] = None,
    ) -> AuthenticationSession:
        """Wait for the ``authentication.initiated`` event and get the sign-in URL.

        Returns an :class:`~connectparticipant_ext.authentication.AuthenticationSession`:
        show its ``url`` to the customer, then ``wait()`` for the outcome (or ``cancel()``).
        See :func:`connectparticipant_ext.authentication.start_authentication`.
        """
        from .authentication import start_authentication

        return start_authentication(self, redirect_uri, stream=stream, timeout=timeout, session_id=session_id)

    def authenticate(
        self,
        redirect_uri: str,
        *,
        stream: Optional[ChatStream] = None,
        on_url: Optional[Callable[[str], object]] = None,
        timeout: Optional[float] = 300.0,
        session_id: Optional[str] = None,
    ) -> AuthenticationResult:
        """Run a customer authentication: wait for the request, get the URL, wait for the outcome.

        ``on_url(url)`` is called with the sign-in URL for the customer; the typed outcome is
        returned. See :func:`connectparticipant_ext.authentication.authenticate`.
        """
        from .authentication import authenticate

        return authenticate(self, redirect_uri, stream=stream, on_url=on_url, timeout=timeout, session_id=session_id)

    # -- interactive messages -----------------------------------------------------------------

    def reply_to(self, template: InteractiveTemplate, choice: Any, client_token: Optional[str] = None) -> SentMessage:
        """Answer an interactive message the way AWS's chat widget does.

        ``template`` is ``item.interactive``; ``choice`` is one of its elements, timeslots or
        actions (see :func:`connectparticipant_ext.interactive.build_reply` for what each
        template takes). The choice is checked before anything is sent.
        """
        from .interactive import build_reply

        reply = build_reply(template, choice)
        return self.send_message(reply.content, content_type=reply.content_type, client_token=client_token)

    # -- transcript, attachments, stream ------------------------------------------------------

    @property
    def transcript(self) -> TranscriptCollectionManager:
        """The chat's transcript as a lazy, chainable collection (see :mod:`.transcript`)."""
        if self._transcript is None:
            from .transcript import TranscriptCollectionManager

            self._transcript = TranscriptCollectionManager(self)
        return self._transcript

    def Attachment(self, attachment_id: str) -> _attachments.Attachment:  # noqa: N802 - boto3 resource style
        """An attachment of this chat, by id."""
        from .attachments import Attachment

        return Attachment(require_str("attachment_id", attachment_id, max_length=256), connection=self)

    def upload_attachment(
        self,
        source: Union[str, os.PathLike[str], bytes, bytearray, memoryview, IO[bytes]],
        *,
        name: Optional[str] = None,
        content_type: Optional[str] = None,
        client_token: Optional[str] = None,
        progress: Optional[ProgressCallback] = None,
    ) -> _attachments.Attachment:
        """Send a file: check it, start the upload, PUT the bytes, complete it.

        See :func:`connectparticipant_ext.attachments.upload_attachment`.
        """
        from .attachments import upload_attachment

        return upload_attachment(
            self, source, name=name, content_type=content_type, client_token=client_token, progress=progress
        )

    def start_attachment_upload(
        self, name: str, size: int, content_type: str, *, client_token: Optional[str] = None
    ) -> AttachmentUpload:
        """The first step of an upload, for callers who want the steps one by one."""
        from .attachments import AttachmentUpload

        return AttachmentUpload.start(self, name, size, content_type, client_token=client_token)

    def stream(
        self,
        history: bool = False,
        since: Optional[str] = None,
        *,
        partial_messages: bool = False,
        receipts: bool = False,
        **settings: Any,
    ) -> ChatStream:
        """The chat live over the websocket; see :class:`connectparticipant_ext.stream.ChatStream`.

        Args:
            history: first the transcript so far, then live items.
            since: first what came after this item id, then live items.
            partial_messages: also yield a Lex streamed reply as it grows.
            receipts: send delivered receipts for other participants' messages, batched.
            settings: the stream's other settings (``heartbeat_interval``,
                ``receipt_throttle``, ``on_state_change``, ...), checked here.
        """
        from .live import ChatStream

        return ChatStream(
            self, history=history, since=since, partial_messages=partial_messages, receipts=receipts, **settings
        )

    def astream(
        self,
        history: bool = False,
        since: Optional[str] = None,
        *,
        partial_messages: bool = False,
        receipts: bool = False,
        **settings: Any,
    ) -> AsyncChatStream:
        """The chat live for asyncio; see :class:`connectparticipant_ext.AsyncChatStream`.

        The same options as :meth:`stream`, checked here, before any network call::

            async with conn.astream(history=True) as stream:
                async for item in stream:
                    ...
        """
        from .live import AsyncChatStream

        return AsyncChatStream(
            self, history=history, since=since, partial_messages=partial_messages, receipts=receipts, **settings
        )

    # -- the end ------------------------------------------------------------------------------

    def disconnect(self) -> None:
        """Leave the chat (``DisconnectParticipant``). Calling it again does nothing."""
        if self._state is ConnectionState.CLOSED:
            return
        try:
            self.call_operation("DisconnectParticipant", ClientToken=str(uuid.uuid4()))
        except ConnectionClosedError:
            return
        except AccessDeniedError:
            logger.debug("DisconnectParticipant was refused: the participant had already left")
        self._close("it was disconnected")


def _receipt_content(message_id: str) -> str:
    require_str("message_id", message_id, max_length=256)
    return json.dumps({"messageId": message_id})


def _require_json(name: str, content: str) -> None:
    try:
        _json.loads(content)
    except _json.JSONNestingError:
        raise InvalidArgumentError(f"{name} nests deeper than {_json.MAX_DEPTH} levels of JSON") from None
    except ValueError:
        raise InvalidArgumentError(f"{name} must be valid JSON for content_type application/json") from None


def _require_interactive_response(name: str, content: str) -> None:
    """An interactive response is a JSON object whose ``action``, if any, is not empty (AWS's widget
    sends only such objects, ``action: " "`` where it has none: "empty string is not allowed")."""
    try:
        data = _json.loads(content)
    except ValueError:  # malformed, or nested deeper than _json.MAX_DEPTH
        data = None
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"{name} must be a JSON object for content_type {_wire.INTERACTIVE_RESPONSE}")
    if "action" in data and not (isinstance(data["action"], str) and data["action"]):
        raise InvalidArgumentError(f"{name}'s action must be a non-empty string in an interactive response")


def _describe_ids(response: Mapping[str, Any]) -> str:
    ids = [f"{key}={response[key]}" for key in ("Id", "AttachmentId") if key in response]
    if "Transcript" in response:
        ids.append(f"items={len(response['Transcript'])}")
    return (" " + " ".join(ids)) if ids else ""
