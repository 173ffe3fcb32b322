"""Keep a chat connection in a web session between requests, and get it back.

A web app makes a new :class:`~connectparticipant_ext.Connection` object on every request
from what it stored. These helpers store the connection token, its expiry and (unless told
not to) the participant token, as plain JSON-serialisable strings under one key of any
``MutableMapping`` session: Django's ``request.session``, Flask's ``session``, a dict.

With the participant token stored, the restored connection renews itself when its token
nears expiry or is refused once, and it can open a live stream (a websocket URL comes from
``CreateParticipantConnection`` with ``ConnectParticipant=False``). After a request that may
have renewed the connection, :func:`update_connection` writes the new token back.

Both tokens are bearer secrets: keep such a session on the server (Django's cache or database
session engines, a server-side Flask session), never in a signed-but-readable cookie.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from .exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from .connection import Connection
    from .service import ChatService

__all__ = ["DEFAULT_SESSION_KEY", "forget_connection", "restore_connection", "store_connection", "update_connection"]

DEFAULT_SESSION_KEY = "connectparticipant_ext.connection"
"""The session key the helpers use unless given another."""


def _state(connection: Connection, with_participant: bool) -> dict[str, Optional[str]]:
    participant = connection.participant if with_participant else None
    return {
        "connection_token": connection.token,
        "expires_at": connection.expires_at.isoformat() if connection.expires_at else None,
        "participant_token": participant.token if participant is not None else None,
    }


def store_connection(
    session: MutableMapping[str, Any],
    connection: Connection,
    *,
    key: str = DEFAULT_SESSION_KEY,
    participant_token: bool = True,
) -> None:
    """Store what :func:`restore_connection` needs under ``session[key]``.

    Args:
        session: the session (any mutable mapping that can hold a dict of strings).
        connection: the connection to keep.
        key: the session key.
        participant_token: also keep the participant token, so that the restored connection
            renews itself and can open live streams. Without it, the connection lasts only as
            long as its token (about a day) and streams need a websocket URL of their own.
    """
    session[key] = _state(connection, participant_token)


def restore_connection(
    session: MutableMapping[str, Any], chat: ChatService, *, key: str = DEFAULT_SESSION_KEY
) -> Optional[Connection]:
    """The connection stored under ``session[key]``, or None when there is none.

    Raises:
        InvalidArgumentError: the stored value is not what :func:`store_connection` writes.
    """
    state = session.get(key)
    if state is None:
        return None
    if not isinstance(state, dict) or not isinstance(state.get("connection_token"), str):
        raise InvalidArgumentError(f"session[{key!r}] does not hold a stored connection")
    expires = state.get("expires_at")
    try:
        expires_at = datetime.fromisoformat(expires) if isinstance(expires, str) else None
    except ValueError:
        raise InvalidArgumentError(f"session[{key!r}] holds an unreadable expiry") from None
    participant_token = state.get("participant_token")
    participant = chat.Participant(participant_token) if isinstance(participant_token, str) else None
    return chat.Connection(state["connection_token"], participant=participant, expires_at=expires_at)


def update_connection(
    session: MutableMapping[str, Any], connection: Connection, *, key: str = DEFAULT_SESSION_KEY
) -> bool:
    """Write the connection back if it renewed itself since it was stored; True if it did."""
    state = session.get(key)
    if not isinstance(state, dict) or state.get("connection_token") == connection.token:
        return False
    session[key] = _state(connection, state.get("participant_token") is not None)
    return True


def forget_connection(session: MutableMapping[str, Any], *, key: str = DEFAULT_SESSION_KEY) -> None:
    """Remove the stored connection (the chat ended or the participant left)."""
    session.pop(key, None)
