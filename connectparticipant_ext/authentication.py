"""Customer authentication in a chat: wait for the request, get the sign-in URL, wait for the outcome.

When a flow reaches an *Authenticate Customer* block, the service sends the customer an event
``application/vnd.amazonaws.connect.event.authentication.initiated`` whose content is JSON
holding the session id (``{"SessionId": "..."}``). The customer's client then calls
``GetAuthenticationUrl`` with that session id and a redirect URI (botocore's documentation:
"This API can only be called within one minute of receiving the authenticationInitiated
event"), shows the URL, and the outcome arrives as one more event:
``authentication.succeeded``, ``.failed``, ``.timeout``, ``.expired`` or ``.cancelled``
(``CancelParticipantAuthentication`` takes the flow's "opted out" branch).

This is what AWS's chat widget does (amazon-connect-chat-interface, ``ChatSession.js``
``_handleAuthenticationInitiated`` and ``AuthenticationMessage.js``); the event content types
are those of amazon-connect-chatjs ``src/constants.js`` (``CONTENT_TYPE.authentication*``),
whose event names are ``AUTHENTICATION_SUCCESSFUL`` ... ``AUTHENTICATION_CANCELED``.

Two shapes, one for each way an app is written::

    result = conn.authenticate(redirect_uri, stream=stream, on_url=show_link, timeout=300)
    if result.succeeded: ...

    session = conn.start_authentication(redirect_uri, stream=stream)   # waits for the request
    show_link(session.url)
    result = session.wait(timeout=300)                                   # or session.cancel()

What the public sources do not say, and this module therefore does not assume: the content
of the outcome events (the widget reads none of it; an outcome that names a different
``SessionId`` is skipped, one that names none is taken), and which error the service gives
to a ``GetAuthenticationUrl`` call outside the one-minute window (it is passed on as raised).

What it checks, since a customer acts on it: authentication events count only when they come
from the service (role ``SYSTEM``, or no role), never from a participant's role; and the
sign-in URL must be https (http only to a loopback host, for a local backend) before it is
handed to ``on_url`` or shown.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

import attrs

from . import _json, _wire
from ._local import is_loopback_host
from ._redact import redact_url
from ._validation import require_seconds, require_str
from .exceptions import AuthenticationError, AuthenticationTimeoutError, InvalidArgumentTypeError

if TYPE_CHECKING:
    from .connection import Connection
    from .models import TranscriptItem
    from .stream import ChatStream

__all__ = [
    "AUTHENTICATION_INITIATED",
    "AuthenticationError",
    "AuthenticationResult",
    "AuthenticationSession",
    "AuthenticationStatus",
    "AuthenticationTimeoutError",
    "GET_URL_WINDOW_SECONDS",
    "authentication_session_id",
    "authentication_status",
]

logger = logging.getLogger(__name__)

AUTHENTICATION_INITIATED = _wire.AUTHENTICATION_INITIATED_CONTENT_TYPE
"""The event that asks the customer to sign in; its content holds ``SessionId``."""

GET_URL_WINDOW_SECONDS = 60.0
"""GetAuthenticationUrl is accepted within one minute of the initiated event (botocore's docs)."""

SESSION_ID_LENGTH = 36


class AuthenticationStatus(enum.Enum):
    """How a customer's authentication ended; the value is the event's content-type suffix."""

    SUCCESSFUL = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    EXPIRED = "expired"
    CANCELED = "cancelled"

    @property
    def content_type(self) -> str:
        """The event's full content type, e.g. ``...event.authentication.succeeded``."""
        return _wire.event_content_type(_EVENT_NAMES[self])


_EVENT_NAMES = {
    AuthenticationStatus.SUCCESSFUL: _wire.AUTHENTICATION_SUCCEEDED,
    AuthenticationStatus.FAILED: _wire.AUTHENTICATION_FAILED,
    AuthenticationStatus.TIMEOUT: _wire.AUTHENTICATION_TIMEOUT,
    AuthenticationStatus.EXPIRED: _wire.AUTHENTICATION_EXPIRED,
    AuthenticationStatus.CANCELED: _wire.AUTHENTICATION_CANCELLED,
}
_STATUS_BY_CONTENT_TYPE = {status.content_type: status for status in AuthenticationStatus}


def _session_id_in(item: TranscriptItem) -> Optional[str]:
    try:
        content = _json.loads(item.content or "")
    except ValueError:  # not JSON, or nested too deeply
        return None
    session_id = content.get("SessionId") if isinstance(content, dict) else None
    return session_id if isinstance(session_id, str) and session_id else None


# Authentication events come from the contact flow's Authenticate Customer block, that is
# from the service: amazon-connect-chatjs README (onAuthenticationInitiated ...
# onAuthenticationCanceled: "data: {..., ParticipantRole?: string}") and src/index.d.ts
# (ParticipantRole "AGENT" | "CUSTOMER" | "SYSTEM") leave the role optional, and the flow's
# items carry role SYSTEM (amazon-connect-chat-interface ChatSession.test.js fixtures,
# DisplayName SYSTEM_MESSAGE). No participant can send one: SendEvent takes only typing,
# receipts and connection.acknowledged (the API reference). So an authentication event from a
# participant's role is not the service's, whatever its content type says, and is not believed.
_SERVICE_ROLES = frozenset({_wire.SYSTEM_ROLE})


def _from_the_service(item: TranscriptItem) -> bool:
    role = item.participant_role
    if role is None or role in _SERVICE_ROLES:
        return True
    logger.warning("an authentication event from a %s participant was ignored", role)
    return False


def authentication_session_id(item: TranscriptItem) -> Optional[str]:
    """The session id of an ``authentication.initiated`` event from the service, or None for
    any other item (an authentication event from a participant's role included)."""
    if item.content_type != AUTHENTICATION_INITIATED or not _from_the_service(item):
        return None
    return _session_id_in(item)


def authentication_status(item: TranscriptItem) -> Optional[AuthenticationStatus]:
    """The outcome an authentication event from the service reports, or None for any other
    item (an authentication event from a participant's role included)."""
    status = _STATUS_BY_CONTENT_TYPE.get(item.content_type or "")
    return status if status is not None and _from_the_service(item) else None


@attrs.frozen(kw_only=True)
class AuthenticationResult:
    """The outcome of a customer's authentication.

    ``other_items`` are the items the flow read from the stream while it waited that were
    not its own events (messages, typing, ...), in order, for the caller to handle.
    """

    status: AuthenticationStatus
    session_id: str
    item: TranscriptItem = attrs.field(repr=False)
    other_items: tuple[TranscriptItem, ...] = attrs.field(default=(), repr=False)

    @property
    def succeeded(self) -> bool:
        """True when the customer signed in."""
        return self.status is AuthenticationStatus.SUCCESSFUL


def _remaining(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _check_timeout(timeout: Optional[float]) -> Optional[float]:
    return None if timeout is None else require_seconds("timeout", timeout)


class AuthenticationSession:
    """One authentication in progress: its session id and sign-in URL; :meth:`wait` for the outcome.

    Made by :meth:`Connection.start_authentication
    <connectparticipant_ext.Connection.start_authentication>`. The URL is shown to the
    customer (it is not logged, and ``repr`` shows it without its query string).
    """

    def __init__(
        self,
        connection: Connection,
        stream: ChatStream,
        *,
        session_id: str,
        url: str,
        other_items: list[TranscriptItem],
        own_stream: bool,
    ) -> None:
        self._connection = connection
        self._stream = stream
        self.session_id = session_id
        """The session id from the ``authentication.initiated`` event."""
        self._url = url
        self._other_items = other_items
        self._own_stream = own_stream
        self._result: Optional[AuthenticationResult] = None

    def __repr__(self) -> str:
        state = self._result.status.name if self._result else "WAITING"
        return f"AuthenticationSession(session_id={self.session_id!r}, url={redact_url(self._url)!r}, state={state})"

    @property
    def url(self) -> str:
        """Where the customer signs in (``GetAuthenticationUrl``'s ``AuthenticationUrl``)."""
        return self._url

    @property
    def other_items(self) -> tuple[TranscriptItem, ...]:
        """Items read from the stream so far that were not this flow's events."""
        return tuple(self._other_items)

    @property
    def result(self) -> Optional[AuthenticationResult]:
        """The outcome once :meth:`wait` has seen it, else None."""
        return self._result

    def cancel(self) -> None:
        """Let the customer continue without signing in (``CancelParticipantAuthentication``).

        The service then sends the ``cancelled`` outcome, which :meth:`wait` returns.
        """
        self._connection.cancel_authentication(self.session_id)

    def wait(self, timeout: Optional[float] = None) -> AuthenticationResult:
        """Wait for the outcome event of this session and return it.

        Args:
            timeout: seconds to wait; None waits until the outcome or the end of the stream.

        Raises:
            AuthenticationTimeoutError: no outcome within ``timeout``.
            AuthenticationError: the stream ended (the chat ended) before an outcome came.
        """
        if self._result is not None:
            return self._result
        timeout = _check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                item = self._stream.get(timeout=_remaining(deadline))
                if item is None:
                    if self._stream.ended:
                        raise AuthenticationError(
                            "the chat stream ended before the authentication outcome arrived"
                            + (f" ({self._stream.end_reason})" if self._stream.end_reason else "")
                        )
                    raise AuthenticationTimeoutError(
                        f"no authentication outcome for session {self.session_id} within {timeout:g} s"
                        if timeout is not None
                        else f"no authentication outcome for session {self.session_id}"
                    )
                status = authentication_status(item)
                named = _session_id_in(item) if status is not None else None
                if status is None or (named is not None and named != self.session_id):
                    self._other_items.append(item)
                    continue
                self._result = AuthenticationResult(
                    status=status, session_id=self.session_id, item=item, other_items=tuple(self._other_items)
                )
                logger.info("authentication session %s ended: %s", self.session_id, status.name)
                return self._result
        finally:
            if self._own_stream and (self._result is not None or self._stream.ended):
                self._stream.close()

    def close(self) -> None:
        """Close the stream if this session opened it (``authenticate`` without ``stream=``)."""
        if self._own_stream:
            self._stream.close()


def start_authentication(
    connection: Connection,
    redirect_uri: str,
    *,
    stream: Optional[ChatStream] = None,
    timeout: Optional[float] = 60.0,
    session_id: Optional[str] = None,
) -> AuthenticationSession:
    """Wait for ``authentication.initiated``, then get the sign-in URL; see the module docs.

    Args:
        connection: the customer's connection.
        redirect_uri: where the identity provider sends the customer after signing in (1 to
            1024 characters).
        stream: the chat's open stream to read the events from. Without one, a live stream is
            opened (and closed once the outcome is in); an initiated event that came before it
            opened is then not seen, so pass your stream, or ``session_id``.
        timeout: seconds to wait for the initiated event; None waits as long as the stream runs.
        session_id: the session id of an initiated event you already read (see
            :func:`authentication_session_id`): no waiting, the URL is asked for at once.

    Raises:
        AuthenticationTimeoutError: no initiated event within ``timeout``.
        AuthenticationError: the stream ended first, or the sign-in URL the service gave is
            neither https nor http to a loopback host.
    """
    require_str("redirect_uri", redirect_uri, max_length=1024)
    timeout = _check_timeout(timeout)
    if session_id is not None:
        require_str("session_id", session_id, min_length=SESSION_ID_LENGTH, max_length=SESSION_ID_LENGTH)
    own_stream = stream is None
    if stream is None:
        stream = connection.stream()
    other_items: list[TranscriptItem] = []
    try:
        if session_id is None:
            session_id = _wait_for_initiated(stream, timeout, other_items)
        url = _checked_sign_in_url(connection.get_authentication_url(session_id, redirect_uri))
    except BaseException:
        if own_stream:
            stream.close()
        raise
    logger.info("authentication session %s: sign-in URL received", session_id)
    return AuthenticationSession(
        connection, stream, session_id=session_id, url=url, other_items=other_items, own_stream=own_stream
    )


def _checked_sign_in_url(url: str) -> str:
    """The URL GetAuthenticationUrl gave, if it is one to show a customer: https, or http to a
    loopback host (a local test backend). Anything else (``javascript:``, ``data:``, plain http
    to a remote host) is refused before it reaches ``on_url`` or a page; the message names the
    scheme only, since the URL itself carries the session."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise AuthenticationError("GetAuthenticationUrl returned something that is not a URL") from None
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback_host(host):
        return url
    raise AuthenticationError(
        f"GetAuthenticationUrl returned a {parts.scheme or 'relative'!r} URL"
        + (" to a non-loopback host" if parts.scheme == "http" else "")
        + "; only https (or http to this machine) is shown to a customer"
    )


def _wait_for_initiated(stream: ChatStream, timeout: Optional[float], other_items: list[TranscriptItem]) -> str:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        item = stream.get(timeout=_remaining(deadline))
        if item is None:
            if stream.ended:
                raise AuthenticationError("the chat stream ended before an authentication request arrived")
            raise AuthenticationTimeoutError(
                f"no authentication.initiated event within {timeout:g} s" if timeout is not None else "no event"
            )
        session_id = authentication_session_id(item)
        if session_id is not None:
            return session_id
        if item.content_type == AUTHENTICATION_INITIATED:
            logger.warning("an authentication.initiated event without a SessionId was skipped")
        other_items.append(item)


def authenticate(
    connection: Connection,
    redirect_uri: str,
    *,
    stream: Optional[ChatStream] = None,
    on_url: Optional[Callable[[str], object]] = None,
    timeout: Optional[float] = 300.0,
    session_id: Optional[str] = None,
) -> AuthenticationResult:
    """The whole flow in one call: wait for the request, get the URL, hand it over, wait for the outcome.

    Args:
        connection: the customer's connection.
        redirect_uri: where the identity provider sends the customer after signing in.
        stream: the chat's open stream (see :func:`start_authentication`).
        on_url: called with the sign-in URL as soon as it is known, to show it to the customer
            (a link in a web page, a push to an app). Without it nobody sees the URL, which
            only makes sense in tests.
        timeout: seconds for the whole flow; None waits as long as the stream runs.
        session_id: the session id of an initiated event you already read.

    Returns:
        The :class:`AuthenticationResult`: ``status``, ``succeeded``, the outcome ``item``, and
        the ``other_items`` read meanwhile.

    Raises:
        AuthenticationTimeoutError: the flow did not finish within ``timeout``.
        AuthenticationError: the stream ended first, or the sign-in URL is not one to show
            (see :func:`start_authentication`); ``on_url`` is then not called.
    """
    if on_url is not None and not callable(on_url):
        raise InvalidArgumentTypeError(f"on_url must be callable, not {type(on_url).__name__}")
    timeout = _check_timeout(timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    session = start_authentication(connection, redirect_uri, stream=stream, timeout=timeout, session_id=session_id)
    try:
        if on_url is not None:
            on_url(session.url)
        remaining = _remaining(deadline)
        if remaining is not None and remaining <= 0:
            raise AuthenticationTimeoutError(f"no authentication outcome within {timeout:g} s")
        return session.wait(timeout=remaining)
    finally:
        session.close()
