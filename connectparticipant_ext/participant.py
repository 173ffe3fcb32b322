"""The :class:`Participant` resource: holds the participant token and makes connections."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ._redact import redact_secret
from ._validation import require_token
from .exceptions import CALL_ERRORS, InvalidArgumentTypeError, call_error_from

if TYPE_CHECKING:
    from .connection import Connection
    from .service import ChatService

__all__ = ["Participant"]

logger = logging.getLogger(__name__)


class Participant:
    """A chat participant, identified by the participant token from ``StartChatContact``.

    The participant token is exchanged for a connection token by :meth:`create_connection`;
    the :class:`~connectparticipant_ext.Connection` keeps this participant to renew itself.
    """

    def __init__(self, token: str, *, service: ChatService) -> None:
        self._token = require_token("participant token", token)
        self._service = service

    @property
    def token(self) -> str:
        """The participant token, a secret that is never shown in ``repr`` or logs."""
        return self._token

    @property
    def service(self) -> ChatService:
        """The :class:`~connectparticipant_ext.ChatService` this participant belongs to."""
        return self._service

    @property
    def meta(self) -> Any:
        """``meta.client`` is the boto3 client underneath, as on boto3 resources."""
        return self._service.meta

    def __repr__(self) -> str:
        return f"Participant(token={redact_secret(self._token)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Participant) and other._token == self._token

    def __hash__(self) -> int:
        return hash((Participant, self._token))

    def create_connection(
        self, connect_participant: bool = True, websocket: bool = True, *, webrtc: bool = False
    ) -> Connection:
        """Exchange the participant token for a connection (``CreateParticipantConnection``).

        Args:
            connect_participant: acknowledge the participant's joining the chat; use False to
                re-create a connection for a participant that already joined.
            websocket: also ask for the websocket URL (``conn.websocket``, ``conn.stream()``).
            webrtc: also ask for the WebRTC connection (``Type`` ``WEBRTC_CONNECTION``): the
                Amazon Chime SDK meeting and attendee of an in-app/video call, as
                ``conn.webrtc`` (see :mod:`connectparticipant_ext.webrtc`).

        Returns:
            A :class:`~connectparticipant_ext.Connection` that renews itself before its token
            expires.
        """
        from .connection import Connection

        if not isinstance(webrtc, bool):
            raise InvalidArgumentTypeError(f"webrtc must be a bool, not {type(webrtc).__name__}")
        response = self.create_participant_connection(
            connect_participant=connect_participant, websocket=websocket, webrtc=webrtc
        )
        return Connection.from_response(self._service, response, participant=self, websocket_requested=websocket)

    def create_participant_connection(
        self, *, connect_participant: bool, websocket: bool, credentials: bool = True, webrtc: bool = False
    ) -> dict[str, Any]:
        """Call ``CreateParticipantConnection`` and return the raw response.

        A lower-level step used by connections (renewal) and streams (fresh websocket URLs).
        """
        if not isinstance(connect_participant, bool) or not isinstance(websocket, bool):
            raise InvalidArgumentTypeError("connect_participant and websocket must be bools")
        types = (
            (["CONNECTION_CREDENTIALS"] if credentials else [])
            + (["WEBSOCKET"] if websocket else [])
            + (["WEBRTC_CONNECTION"] if webrtc else [])
        )
        if not types:
            raise InvalidArgumentTypeError("ask for credentials, a websocket, or both")
        started = time.perf_counter()
        try:
            response: dict[str, Any] = self._service.meta.client.create_participant_connection(
                ParticipantToken=self._token, Type=types, ConnectParticipant=connect_participant
            )
        except CALL_ERRORS as exc:  # transport failures come after botocore's retries
            error = call_error_from("CreateParticipantConnection", exc)
            if error is exc:
                raise
            raise error from exc
        logger.debug(
            "CreateParticipantConnection types=%s connect_participant=%s took %.1f ms",
            ",".join(types),
            connect_participant,
            (time.perf_counter() - started) * 1000,
        )
        return response
