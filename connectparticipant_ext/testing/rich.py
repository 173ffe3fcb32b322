"""Rich chat content in the backend: interactive messages, customer authentication, WebRTC.

:class:`RichControls` is mixed into :class:`~connectparticipant_ext.testing.ChatBackend`. It
gives tests three controls and the state behind three operations:

* :meth:`~RichControls.send_interactive` sends a template as a Lex bot does: a ``MESSAGE``
  with content type ``application/vnd.amazonaws.connect.message.interactive``, role ``SYSTEM``.
* :meth:`~RichControls.start_authentication` plays an *Authenticate Customer* flow block: it
  sends ``authentication.initiated`` with ``{"SessionId": ...}`` and opens the one-minute window
  in which ``GetAuthenticationUrl`` is accepted (botocore's documentation of that operation);
  :meth:`~RichControls.finish_authentication` sends the outcome (``succeeded``, ``failed``,
  ``timeout``, ``expired`` or ``cancelled``, the content types of amazon-connect-chatjs
  ``src/constants.js``); ``CancelParticipantAuthentication`` sends ``cancelled``.
* ``CreateParticipantConnection`` with ``WEBRTC_CONNECTION`` answers botocore's
  ``WebRTCConnection`` shape: one Chime meeting per chat (``MeetingId``, ``MediaPlacement``
  URLs, ``MeetingFeatures``) and one attendee per participant (``AttendeeId``, ``JoinToken``).

Where the public sources are silent the backend chooses, and says so here:

* ``GetAuthenticationUrl`` for a session that was never initiated on this chat, that has
  finished, or whose window has passed is refused with ``ValidationException`` (the operation
  documents AccessDenied, InternalServer, Throttling and Validation; the real message is
  unknown). ``CancelParticipantAuthentication`` for such a session too.
* The outcome events carry ``{"SessionId": ...}`` like the initiated event; AWS's widget reads
  no content from them. An outcome event without one (``emit_event``) ends the chat's latest
  open session.
* Authentication events are pushed on the websocket and not kept in the transcript (the
  GetTranscript reference lists the event types a transcript keeps; these are not among them).
* Sessions are read from the events, so ``emit_event(contact_id, "authentication.initiated",
  '{"SessionId": "<36 characters>"}')`` opens one too.
* Nothing ends a session by itself when its window passes: a test says how it ends with
  :meth:`~RichControls.finish_authentication` (``"timeout"``/``"expired"`` included).
* A chat contact answers ``WEBRTC_CONNECTION`` as a WebRTC contact would; the service's
  answer for a chat that has no call is not documented.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlencode

from .exceptions import ValidationException

if TYPE_CHECKING:
    from .state import Chat, ChatParticipant

__all__ = ["AUTHENTICATION_OUTCOMES", "INTERACTIVE_CONTENT_TYPE", "RichControls"]

EVENT_PREFIX = "application/vnd.amazonaws.connect.event."
INTERACTIVE_CONTENT_TYPE = "application/vnd.amazonaws.connect.message.interactive"
AUTHENTICATION_INITIATED = EVENT_PREFIX + "authentication.initiated"
AUTHENTICATION_OUTCOMES = ("succeeded", "failed", "timeout", "expired", "cancelled")
"""The outcome events' content-type suffixes (amazon-connect-chatjs ``CONTENT_TYPE.authentication*``)."""

_OUTCOME_ALIASES = {"successful": "succeeded", "success": "succeeded", "canceled": "cancelled"}
GET_URL_WINDOW = timedelta(seconds=60)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _AuthSession:
    def __init__(self, session_id: str, contact_id: str, window: timedelta) -> None:
        self.session_id = session_id
        self.contact_id = contact_id
        self.initiated_at = _utcnow()
        self.window = window
        self.outcome: Optional[str] = None
        self.urls_issued = 0


class _RichState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.auth: dict[str, _AuthSession] = {}
        self.windows: dict[str, timedelta] = {}  # contact id -> the window of its next session
        self.meetings: dict[str, dict[str, Any]] = {}
        self.attendees: dict[tuple[str, str], dict[str, Any]] = {}


class _AuthenticationWatcher:
    """A chat listener that keeps the authentication sessions the chat's events start and end.

    Sessions are read from the events themselves, so an ``authentication.initiated`` sent with
    ``emit_event`` (content ``{"SessionId": ...}``) opens a session just as
    :meth:`RichControls.start_authentication` does. Equal per state and chat, so added once.
    """

    def __init__(self, state: _RichState, contact_id: str) -> None:
        self.state = state
        self.contact_id = contact_id

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _AuthenticationWatcher)
            and other.state is self.state
            and other.contact_id == self.contact_id
        )

    def __hash__(self) -> int:
        return hash((id(self.state), self.contact_id))

    def __call__(self, item: dict[str, Any]) -> None:
        content_type = item.get("ContentType") or ""
        if not content_type.startswith(EVENT_PREFIX + "authentication."):
            return
        session_id = _session_id(item.get("Content"))
        name = content_type[len(EVENT_PREFIX + "authentication.") :]
        with self.state.lock:
            if name == "initiated":
                if session_id is not None:
                    window = self.state.windows.pop(self.contact_id, GET_URL_WINDOW)
                    self.state.auth[session_id] = _AuthSession(session_id, self.contact_id, window)
                return
            if name not in AUTHENTICATION_OUTCOMES:
                return
            if session_id is None:  # an outcome that names no session ends the chat's latest open one
                open_sessions = [
                    s for s in self.state.auth.values() if s.contact_id == self.contact_id and s.outcome is None
                ]
                session = open_sessions[-1] if open_sessions else None
            else:
                session = self.state.auth.get(session_id)
            if session is not None and session.outcome is None:
                session.outcome = name


def _session_id(content: Any) -> Optional[str]:
    try:
        data = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        return None
    session_id = data.get("SessionId") if isinstance(data, dict) else None
    return session_id if isinstance(session_id, str) and session_id else None


class RichControls:
    """Interactive messages, the authentication sequence and WebRTC answers of the chat backend."""

    account_id: str
    region_name: str
    chats: dict[str, Chat]

    @property
    def _rich(self) -> _RichState:
        # Created on first use; moto's reset() re-runs __init__ on a cleared __dict__, so it goes too.
        state = self.__dict__.get("_rich_state")
        if state is None:
            state = self.__dict__.setdefault("_rich_state", _RichState())
        return state  # type: ignore[no-any-return]

    def watch_authentication(self, chat: Chat) -> None:
        """Keep the chat's authentication sessions from its events (called when a participant connects)."""
        chat.add_listener(_AuthenticationWatcher(self._rich, chat.contact_id))

    def _chat_for_control(self, contact_id: str) -> Chat:
        try:
            chat = self.chats[contact_id]
        except KeyError:
            raise KeyError(f"no chat with contact id {contact_id!r}") from None
        if chat.ended:
            raise ValueError(f"the chat {contact_id!r} has ended")
        return chat

    # -- interactive messages ------------------------------------------------------------------

    def send_interactive(self, contact_id: str, template: Union[dict[str, Any], str], display_name: str = "BOT") -> str:
        """Send an interactive message as a Lex bot does; returns its item id.

        Args:
            contact_id: the chat.
            template: the template dict (``{"templateType": ..., "version": "1.0", "data":
                {"content": {...}}}``) or its JSON.
            display_name: the sender's display name (role ``SYSTEM``).
        """
        if isinstance(template, str):
            try:
                parsed = json.loads(template)
            except ValueError:
                raise ValueError("template must be a JSON object") from None
        else:
            parsed = template
        if not isinstance(parsed, dict) or not isinstance(parsed.get("templateType"), str):
            raise ValueError("template must be a dict with a templateType")
        if not isinstance(parsed.get("data"), dict):
            raise ValueError("template must have a data object (data.content holds the template's fields)")
        content = template if isinstance(template, str) else json.dumps(template)
        # The admin guide: SendMessage checks only that the whole string is under 20 KB.
        if len(content.encode("utf-8")) > 20 * 1024:
            raise ValueError("an interactive message must be under 20 KB")
        chat = self._chat_for_control(contact_id)
        item = chat.add_item("MESSAGE", INTERACTIVE_CONTENT_TYPE, None, content, DisplayName=display_name)
        return str(item["Id"])

    # -- authentication ----------------------------------------------------------------------

    def start_authentication(self, contact_id: str, url_window: Union[float, timedelta] = GET_URL_WINDOW) -> str:
        """Play an Authenticate Customer block: send ``authentication.initiated``; returns the session id.

        Args:
            contact_id: the chat.
            url_window: how long after this event ``GetAuthenticationUrl`` is accepted (seconds
                or a timedelta; the service's is one minute).
        """
        window = url_window if isinstance(url_window, timedelta) else timedelta(seconds=float(url_window))
        if window <= timedelta(0):
            raise ValueError("url_window must be positive")
        chat = self._chat_for_control(contact_id)
        self.watch_authentication(chat)
        session_id = str(uuid.uuid4())
        with self._rich.lock:
            self._rich.windows[contact_id] = window
        # Pushed live, not kept: GetTranscript's reference lists the event types a transcript keeps,
        # and authentication events are not among them.
        chat.add_item("EVENT", AUTHENTICATION_INITIATED, None, json.dumps({"SessionId": session_id}), store=False)
        return session_id

    def finish_authentication(self, session_id: str, outcome: str) -> str:
        """End an authentication session with an outcome event; returns the event's item id.

        Args:
            session_id: from :meth:`start_authentication`.
            outcome: ``"succeeded"``, ``"failed"``, ``"timeout"``, ``"expired"`` or
                ``"cancelled"`` (``"successful"`` and ``"canceled"`` are accepted too).
        """
        name = _OUTCOME_ALIASES.get(outcome.lower(), outcome.lower()) if isinstance(outcome, str) else ""
        if name not in AUTHENTICATION_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(AUTHENTICATION_OUTCOMES)}; got {outcome!r}")
        with self._rich.lock:
            session = self._rich.auth.get(session_id)
            if session is None:
                raise KeyError(f"no authentication session {session_id!r}")
            if session.outcome is not None:
                raise ValueError(f"authentication session {session_id!r} already ended ({session.outcome})")
        chat = self._chat_for_control(session.contact_id)
        content = json.dumps({"SessionId": session_id})
        item = chat.add_item("EVENT", EVENT_PREFIX + "authentication." + name, None, content, store=False)
        return str(item["Id"])

    def authentication_sessions(self, contact_id: str) -> list[dict[str, Any]]:
        """The chat's authentication sessions, oldest first: id, outcome, URLs issued."""
        with self._rich.lock:
            return [
                {"SessionId": s.session_id, "Outcome": s.outcome, "UrlsIssued": s.urls_issued}
                for s in self._rich.auth.values()
                if s.contact_id == contact_id
            ]

    def _open_auth_session(self, chat: Chat, session_id: str) -> _AuthSession:
        session = self._rich.auth.get(session_id)
        if session is None or session.contact_id != chat.contact_id:
            raise ValidationException("The authentication session is not valid for this participant.")
        if session.outcome is not None:
            raise ValidationException("The authentication session has already ended.")
        return session

    def authentication_url(self, chat: Chat, session_id: str, redirect_uri: str) -> dict[str, Any]:
        """``GetAuthenticationUrl``'s answer, after the operation checked the token and lengths."""
        with self._rich.lock:
            session = self._open_auth_session(chat, session_id)
            if _utcnow() - session.initiated_at > session.window:
                raise ValidationException(
                    "GetAuthenticationUrl must be called within one minute of the authentication.initiated event."
                )
            session.urls_issued += 1
        # The operation's documentation: the URL "contains the authorize endpoint for the Cognito UserPool".
        query = urlencode(
            {
                "response_type": "code",
                "client_id": f"chat{self.account_id}",
                "redirect_uri": redirect_uri,
                "state": session_id,
                "scope": "openid",
            }
        )
        host = f"connect-chat-{self.account_id}.auth.{self.region_name}.amazoncognito.com"
        return {"AuthenticationUrl": f"https://{host}/oauth2/authorize?{query}"}

    def cancel_authentication(self, chat: Chat, session_id: str) -> None:
        """``CancelParticipantAuthentication``: the flow's opted-out branch, a ``cancelled`` event."""
        with self._rich.lock:
            self._open_auth_session(chat, session_id)
        content = json.dumps({"SessionId": session_id})
        chat.add_item("EVENT", EVENT_PREFIX + "authentication.cancelled", None, content, store=False)

    # -- WebRTC ------------------------------------------------------------------------------

    def webrtc_connection(self, chat: Chat, participant: ChatParticipant) -> dict[str, Any]:
        """The ``WebRTCConnection`` of a participant: the chat's meeting and its own attendee."""
        region = _chime_region(self.region_name)
        with self._rich.lock:
            meeting = self._rich.meetings.get(chat.contact_id)
            if meeting is None:
                meeting_id = str(uuid.uuid4())
                meeting = {
                    "MeetingId": meeting_id,
                    "MediaPlacement": {
                        "AudioHostUrl": f"{os.urandom(16).hex()}.k.m3.{region}.app.chime.aws:3478",
                        "AudioFallbackUrl": f"wss://haxrp.m3.{region}.app.chime.aws:443/calls/{meeting_id}",
                        "SignalingUrl": f"wss://signal.m3.{region}.app.chime.aws/control/{meeting_id}",
                        "EventIngestionUrl": f"https://data.svc.{region}.ingest.chime.aws/v1/client-events",
                    },
                    "MeetingFeatures": {"Audio": {"EchoReduction": "AVAILABLE"}},
                }
                self._rich.meetings[chat.contact_id] = meeting
            key = (chat.contact_id, participant.participant_id)
            attendee = self._rich.attendees.get(key)
            if attendee is None:
                attendee = {
                    "AttendeeId": str(uuid.uuid4()),
                    "JoinToken": base64.b64encode(os.urandom(48)).decode("ascii"),
                }
                self._rich.attendees[key] = attendee
            return {"Meeting": json.loads(json.dumps(meeting)), "Attendee": dict(attendee)}


def _chime_region(region_name: str) -> str:
    """Chime's short region code in its hostnames (us-east-1 -> ue1), as its media URLs show."""
    parts = region_name.split("-")
    if len(parts) == 3 and parts[2].isdigit():
        return f"{parts[0][0]}{parts[1][0]}{parts[2]}"
    return region_name
