"""Customer authentication in the backend: the sessions behind GetAuthenticationUrl and
CancelParticipantAuthentication.

An *Authenticate Customer* flow block sends ``authentication.initiated`` with
``{"SessionId": ...}`` and opens the one-minute window in which ``GetAuthenticationUrl`` is
accepted (botocore's documentation of that operation); the session ends with an outcome event
(``succeeded``, ``failed``, ``timeout``, ``expired`` or ``cancelled``, the content types of
amazon-connect-chatjs ``src/constants.js``); ``CancelParticipantAuthentication`` sends
``cancelled``. The test controls that play the flow block (``initiate_authentication``,
``finish_authentication``, ``authentication_sessions``) are in :mod:`.controls`.

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
  ``finish_authentication`` (``"timeout"``/``"expired"`` included).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any, Optional
from urllib.parse import urlencode

from .base import ChatBackendBase
from .exceptions import ValidationException
from .state import EVENT, Chat, Clock

__all__ = ["AUTHENTICATION_OUTCOMES", "AuthenticationSessions", "GET_URL_WINDOW"]

AUTHENTICATION = EVENT + "authentication."
AUTHENTICATION_INITIATED = AUTHENTICATION + "initiated"
AUTHENTICATION_OUTCOMES = ("succeeded", "failed", "timeout", "expired", "cancelled")
"""The outcome events' content-type suffixes (amazon-connect-chatjs ``CONTENT_TYPE.authentication*``)."""

GET_URL_WINDOW = timedelta(seconds=60)
"""GetAuthenticationUrl: "This API must be called within one minute of receiving the
authenticationInitiated event" (botocore's connectparticipant model)."""


class _Session:
    def __init__(self, session_id: str, contact_id: str, initiated_at: datetime, window: timedelta) -> None:
        self.session_id = session_id
        self.contact_id = contact_id
        self.initiated_at = initiated_at
        self.window = window
        self.outcome: Optional[str] = None
        self.urls_issued = 0


class _Sessions:
    """The authentication sessions of one backend, as its chats' events open and end them."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.by_id: dict[str, _Session] = {}
        self.windows: dict[str, timedelta] = {}  # contact id -> the window of its next session

    def on_event(self, contact_id: str, item: dict[str, Any]) -> None:
        content_type = item.get("ContentType") or ""
        if not content_type.startswith(AUTHENTICATION):
            return
        session_id = _session_id(item.get("Content"))
        name = content_type[len(AUTHENTICATION) :]
        with self.lock:
            if name == "initiated":
                if session_id is not None:
                    window = self.windows.pop(contact_id, GET_URL_WINDOW)
                    self.by_id[session_id] = _Session(session_id, contact_id, self.clock.now(), window)
                return
            if name not in AUTHENTICATION_OUTCOMES:
                return
            if session_id is None:  # an outcome that names no session ends the chat's latest open one
                open_sessions = [s for s in self.by_id.values() if s.contact_id == contact_id and s.outcome is None]
                session = open_sessions[-1] if open_sessions else None
            else:
                session = self.by_id.get(session_id)
            if session is not None and session.outcome is None:
                session.outcome = name


class _Watcher:
    """A chat listener feeding the chat's events to the sessions; equal per sessions and chat, so added once."""

    def __init__(self, sessions: _Sessions, contact_id: str) -> None:
        self.sessions = sessions
        self.contact_id = contact_id

    def __call__(self, item: dict[str, Any]) -> None:
        self.sessions.on_event(self.contact_id, item)

    def _key(self) -> Hashable:
        return (id(self.sessions), self.contact_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Watcher) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _session_id(content: Any) -> Optional[str]:
    try:
        data = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        return None
    session_id = data.get("SessionId") if isinstance(data, dict) else None
    return session_id if isinstance(session_id, str) and session_id else None


class AuthenticationSessions(ChatBackendBase):
    """The authentication sessions of the backend's chats (a mixin of ``ChatBackend``)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._authentication = _Sessions(self._clock)

    def _watch_authentication(self, chat: Chat) -> None:
        """Keep the chat's sessions from its events (from the first connection or initiation on)."""
        chat.add_listener(_Watcher(self._authentication, chat.contact_id))

    def _initiate_authentication(self, chat: Chat, window: timedelta) -> str:
        """Send ``authentication.initiated`` for a new session; its id."""
        self._watch_authentication(chat)
        session_id = str(uuid.uuid4())
        with self._authentication.lock:
            self._authentication.windows[chat.contact_id] = window
        # Pushed live, not kept: GetTranscript's reference lists the event types a transcript keeps,
        # and authentication events are not among them.
        chat.add_item("EVENT", AUTHENTICATION_INITIATED, None, json.dumps({"SessionId": session_id}), store=False)
        return session_id

    def _session_chat(self, session_id: str) -> tuple[str, Optional[str]]:
        """The contact id and outcome of a session (KeyError if there is none)."""
        with self._authentication.lock:
            session = self._authentication.by_id.get(session_id)
            if session is None:
                raise KeyError(f"no authentication session {session_id!r}")
            return session.contact_id, session.outcome

    def _authentication_records(self, contact_id: str) -> list[dict[str, Any]]:
        with self._authentication.lock:
            return [
                {"SessionId": s.session_id, "Outcome": s.outcome, "UrlsIssued": s.urls_issued}
                for s in self._authentication.by_id.values()
                if s.contact_id == contact_id
            ]

    def _open_session(self, chat: Chat, session_id: str) -> _Session:
        session = self._authentication.by_id.get(session_id)
        if session is None or session.contact_id != chat.contact_id:
            raise ValidationException("The authentication session is not valid for this participant.")
        if session.outcome is not None:
            raise ValidationException("The authentication session has already ended.")
        return session

    def _authentication_url(self, chat: Chat, session_id: str, redirect_uri: str) -> dict[str, Any]:
        """GetAuthenticationUrl's answer, once the operation has checked the token."""
        with self._authentication.lock:
            session = self._open_session(chat, session_id)
            if self._now() - session.initiated_at > session.window:
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

    def _cancel_authentication(self, chat: Chat, session_id: str) -> None:
        """CancelParticipantAuthentication: the flow's opted-out branch, a ``cancelled`` event."""
        with self._authentication.lock:
            self._open_session(chat, session_id)
        content = json.dumps({"SessionId": session_id})
        chat.add_item("EVENT", AUTHENTICATION + "cancelled", None, content, store=False)
