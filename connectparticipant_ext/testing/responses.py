"""HTTP in, backend call, JSON out: the request side of the chat backend.

Participant Service requests carry no SigV4 signature; the token in ``X-Amz-Bearer`` says
which backend (account, region) and chat they belong to. Connect requests are signed, and
moto's usual account/region detection applies. Both are dispatched from moto's URL maps
in-process and from the local server alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from .exceptions import InvalidRequestException, ValidationException
from .models import CONNECTION_TOKEN, PARTICIPANT_TOKEN, ChatBackend, chat_backends, find_backend

__all__ = ["ConnectChatResponse", "ConnectParticipantResponse", "handle_participant_request"]

Response = tuple[int, dict[str, str], str]

_OPERATIONS: dict[tuple[str, str], str] = {
    ("POST", "/participant/connection"): "CreateParticipantConnection",
    ("POST", "/participant/message"): "SendMessage",
    ("POST", "/participant/event"): "SendEvent",
    ("POST", "/participant/transcript"): "GetTranscript",
    ("POST", "/participant/start-attachment-upload"): "StartAttachmentUpload",
    ("POST", "/participant/complete-attachment-upload"): "CompleteAttachmentUpload",
    ("POST", "/participant/attachment"): "GetAttachment",
    ("POST", "/participant/disconnect"): "DisconnectParticipant",
    ("POST", "/participant/authentication-url"): "GetAuthenticationUrl",
    ("POST", "/participant/cancel-authentication"): "CancelParticipantAuthentication",
}
_VIEWS_PREFIX = "/participant/views/"


def _json(status: int, payload: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(payload)


def _error(error: JsonRESTError) -> Response:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error.error_type}
    return int(error.code), headers, error.get_body()


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _operation(method: str, path: str) -> tuple[str, dict[str, str]]:
    if method == "GET" and path.startswith(_VIEWS_PREFIX) and len(path) > len(_VIEWS_PREFIX):
        return "DescribeView", {"ViewToken": unquote(path[len(_VIEWS_PREFIX) :])}
    operation = _OPERATIONS.get((method, path.rstrip("/")))
    if operation is None:
        raise ValidationException(f"no Participant Service operation at {method} {path}")
    return operation, {}


def handle_participant_request(
    method: str, path: str, headers: Mapping[str, str], body: bytes | str, region: Optional[str] = None
) -> Response:
    """Serve one Participant Service request: ``(status, headers, body)``.

    ``region``: the region the request was addressed to, if known (see :func:`find_backend`).
    """
    try:
        operation, path_params = _operation(method.upper(), path)
        params: dict[str, Any] = json.loads(body or "{}") if body else {}
        if not isinstance(params, dict):
            raise ValidationException("the request body must be a JSON object")
        params.update(path_params)
        token = _header(headers, "X-Amz-Bearer")
        kind = PARTICIPANT_TOKEN if operation == "CreateParticipantConnection" else CONNECTION_TOKEN
        backend = find_backend(token, kind, region)
        backend.check_faults(operation)
        result = _HANDLERS[operation](backend, token, params)
        return _json(200, result if result is not None else {})
    except JsonRESTError as error:
        return _error(error)
    except ValueError:
        return _error(ValidationException("the request body is not valid JSON"))


def _int(params: Mapping[str, Any], name: str) -> Optional[int]:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationException(f"{name} must be an integer")
    return value


_Handler = Callable[[ChatBackend, Optional[str], dict[str, Any]], Optional[dict[str, Any]]]

_HANDLERS: dict[str, _Handler] = {
    "CreateParticipantConnection": lambda b, t, p: b.create_participant_connection(
        t, list(p.get("Type") or []), p.get("ConnectParticipant")
    ),
    "SendMessage": lambda b, t, p: b.send_message(
        t, p.get("ContentType", ""), p.get("Content", ""), p.get("ClientToken")
    ),
    "SendEvent": lambda b, t, p: b.send_event(t, p.get("ContentType", ""), p.get("Content"), p.get("ClientToken")),
    "GetTranscript": lambda b, t, p: b.get_transcript(
        t,
        p.get("ContactId"),
        _int(p, "MaxResults"),
        p.get("NextToken"),
        p.get("ScanDirection"),
        p.get("SortOrder"),
        p.get("StartPosition"),
    ),
    "StartAttachmentUpload": lambda b, t, p: b.start_attachment_upload(
        t,
        p.get("ContentType", ""),
        p.get("AttachmentSizeInBytes", 0),
        p.get("AttachmentName", ""),
        p.get("ClientToken"),
    ),
    "CompleteAttachmentUpload": lambda b, t, p: b.complete_attachment_upload(
        t, list(p.get("AttachmentIds") or []), p.get("ClientToken")
    ),
    "GetAttachment": lambda b, t, p: b.get_attachment(
        t, p.get("AttachmentId", ""), _int(p, "UrlExpiryInSeconds"), p.get("UrlContentDisposition")
    ),
    "DisconnectParticipant": lambda b, t, p: b.disconnect_participant(t, p.get("ClientToken")),
    "DescribeView": lambda b, t, p: b.describe_view(t, p["ViewToken"]),
    "GetAuthenticationUrl": lambda b, t, p: b.get_authentication_url(
        t, p.get("SessionId", ""), p.get("RedirectUri", "")
    ),
    "CancelParticipantAuthentication": lambda b, t, p: b.cancel_participant_authentication(t, p.get("SessionId", "")),
}


# The service's own hosts name the region (participant.connect.<region>.amazonaws.com[.cn]).
_AWS_HOST = re.compile(r"participant\.connect(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")


class ConnectParticipantResponse:
    """moto's handler signature ``(request, full_url, headers)`` for participant URLs."""

    @classmethod
    def dispatch(cls, request: Any, full_url: str, headers: Any) -> Response:
        body = request.get_data() if hasattr(request, "get_data") else (getattr(request, "body", b"") or b"")
        url = urlsplit(full_url)
        match = _AWS_HOST.fullmatch(url.hostname or "")
        region = match.group(1) if match else None
        return handle_participant_request(request.method, url.path, dict(request.headers), body, region)


class ConnectChatResponse(BaseResponse):
    """The chat operations of the Connect API, added to moto's ``connect`` service."""

    def __init__(self) -> None:
        super().__init__(service_name="connect")

    @classmethod
    def dispatch(cls, request: Any, full_url: str, headers: Any) -> Response:
        self = cls()
        self.setup_class(request, full_url, headers)
        try:
            return self._route()
        except JsonRESTError as error:
            return _error(error)

    @property
    def backend(self) -> ChatBackend:
        return chat_backends[self.get_current_account()][self.region]

    def _params(self) -> dict[str, Any]:
        try:
            params = json.loads(self.body or "{}")
        except ValueError:
            raise InvalidRequestException("the request body is not valid JSON") from None
        if not isinstance(params, dict):
            raise InvalidRequestException("the request body must be a JSON object")
        return params

    def _route(self) -> Response:
        path = self.path.rstrip("/")
        params = self._params()
        if self.method == "PUT" and path.endswith("/contact/chat"):
            return _json(
                200,
                self.backend.start_chat_contact(
                    params.get("InstanceId", ""),
                    params.get("ContactFlowId", ""),
                    params.get("ParticipantDetails") or {},
                    params.get("InitialMessage"),
                    params.get("Attributes"),
                    params.get("ChatDurationInMinutes"),
                    params.get("PersistentChat"),
                    params.get("ClientToken"),
                    params.get("SupportedMessagingContentTypes"),
                    params.get("DisconnectOnCustomerExit"),
                    params.get("RelatedContactId"),
                    params.get("ConnectionTypes"),
                ),
            )
        if self.method == "POST" and path.endswith("/contact/create-participant"):
            return _json(
                200,
                self.backend.create_participant(
                    params.get("InstanceId", ""),
                    params.get("ContactId", ""),
                    params.get("ParticipantDetails") or {},
                    params.get("ClientToken"),
                ),
            )
        if self.method == "POST" and path.endswith("/contact/stop"):
            self.backend.stop_contact(params.get("ContactId", ""), params.get("InstanceId", ""))
            return _json(200, {})
        raise InvalidRequestException(f"no Connect chat operation at {self.method} {path}")
