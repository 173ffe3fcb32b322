"""HTTP in, backend call, JSON out: the request side of the chat backend.

Participant Service requests carry no SigV4 signature; the token in ``X-Amz-Bearer`` says
which backend (account, region) and chat they belong to. Connect requests are signed, and
moto's usual account/region detection applies. Both are dispatched from moto's URL maps
in-process and from the local server alike, and both go the same way:

1. the operation is found from the method and path, as botocore's model routes it;
2. the request (body, header and URI members) is checked against the operation's input shape
   (:mod:`.validation`): the Participant Service answers ``ValidationException``, the Connect
   API its own invalid-input error (``InvalidParameterException``, or ``InvalidRequestException``
   for an operation whose model has no ``InvalidParameterException``);
3. the backend's operation is called by keyword, moto style;
4. an error the operation's model does not list is never sent: it is logged and answered as the
   service's internal error (a bug in this backend, which the tests catch).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from . import validation
from .controls import check_faults
from .exceptions import (
    AccessDeniedException,
    InternalServerException,
    InternalServiceException,
    InvalidParameterException,
    InvalidRequestException,
    ValidationException,
)
from .models import ChatBackend, chat_backends
from .tokens import CONNECTION_TOKEN, PARTICIPANT_TOKEN, decode_token
from .validation import CONNECT, PARTICIPANT_SERVICE

__all__ = [
    "CONNECT_OPERATIONS",
    "ConnectChatResponse",
    "ConnectParticipantResponse",
    "connect_url_paths",
    "find_backend",
    "handle_participant_request",
    "invalid_input",
]

logger = logging.getLogger(__name__)

Response = tuple[int, dict[str, str], str]
Params = dict[str, Any]


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


# -- routing, from botocore's models ------------------------------------------------------------


@cache
def _routes(service: str, operations: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """``(method, path pattern, operation)`` of each operation, from its model's ``requestUri``."""
    routes = []
    for name in operations:
        http = validation.operation_model(service, name).http
        uri = http["requestUri"]
        if not re.fullmatch(r"[\w/{}-]+", uri):  # the patterns below are also moto's flask paths
            raise RuntimeError(f"unexpected requestUri {uri!r} in the {service} model")
        # A label that ends the path takes the rest of it (a view token may hold an encoded "/").
        pattern = re.sub(r"\{(\w+)\}$", r"(?P<\1>.+)", uri)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        routes.append((http["method"], re.compile(pattern + "/?"), name))
    return tuple(routes)


def _route(service: str, operations: tuple[str, ...], method: str, path: str) -> Optional[tuple[str, Params]]:
    for route_method, pattern, name in _routes(service, operations):
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return name, {key: unquote(value) for key, value in match.groupdict().items()}
    return None


def _request(service: str, operation: str, body: Params, uri: Params, headers: Mapping[str, str]) -> Params:
    """The whole input of an operation by member name: body members, then URI and header ones."""
    params = {name: value for name, value in body.items()}
    shape = validation.operation_model(service, operation).input_shape
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location == "uri":
            params[name] = uri.get(member.serialization.get("name", name))
        elif location == "header":
            params[name] = _header(headers, member.serialization.get("name", name))
        elif location is not None:
            params.pop(name, None)
    return params


def _body(raw: bytes | str, error: Callable[[str], JsonRESTError]) -> Params:
    try:
        params = json.loads(raw or "{}") if raw else {}
    except ValueError:
        # AWS answers malformed JSON with an unmodelled SerializationException; the operation's
        # modelled invalid-input error stands for it here.
        raise error("the request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise error("the request body must be a JSON object")
    return params


def invalid_input(service: str, operation: str, message: str) -> JsonRESTError:
    """The error an operation answers invalid input with, as its model lists it.

    The Participant Service: ``ValidationException``. The Connect API has none: its
    ``InvalidParameterException`` ("One or more of the specified parameters are not valid"), or
    ``InvalidRequestException`` ("The request is not valid") for an operation whose model does
    not list the former (CreateParticipant).
    """
    if service == PARTICIPANT_SERVICE:
        return ValidationException(message)
    if "InvalidParameterException" in validation.modelled_errors(service, operation):
        return InvalidParameterException(message)
    return InvalidRequestException(message)


def _validate(service: str, operation: str, params: Params) -> None:
    found = validation.check(service, operation, params)
    if found:
        raise invalid_input(service, operation, validation.validation_message(found))


def _modelled(service: str, operation: str, error: JsonRESTError) -> JsonRESTError:
    """``error`` if the operation's model lists its code; otherwise the service's internal error."""
    if error.error_type in validation.modelled_errors(service, operation):
        return error
    logger.error("%s %s answered %s, which its model does not list", service, operation, error.error_type)
    message = f"the backend answered {error.error_type}, which {operation} cannot return (a bug in the backend)"
    if service == PARTICIPANT_SERVICE:
        return InternalServerException(message)
    return InternalServiceException(message)


# -- the Participant Service ----------------------------------------------------------------------

PARTICIPANT_OPERATIONS = tuple(validation.service_model(PARTICIPANT_SERVICE).operation_names)


def find_backend(token: Optional[str], kind: str, region: Optional[str] = None) -> ChatBackend:
    """The backend a token belongs to, or AccessDeniedException for anything else.

    ``region``: the region the request was sent to, when its host names one (in-process,
    ``participant.connect.<region>.amazonaws.com``). A chat lives in one region, so another
    region's endpoint does not know its tokens. The local server passes None: its one endpoint
    serves every region, whatever region the client was made for.
    """
    decoded = decode_token(token or "")
    if decoded is None or decoded[0] != kind:
        raise AccessDeniedException()
    _, account_id, token_region = decoded
    if region is not None and region != token_region:
        raise AccessDeniedException()
    try:
        return chat_backends[account_id][token_region]
    except KeyError:
        raise AccessDeniedException() from None


_ParticipantHandler = Callable[[ChatBackend, Params], Optional[dict[str, Any]]]

_PARTICIPANT_HANDLERS: dict[str, _ParticipantHandler] = {
    "CreateParticipantConnection": lambda b, p: b.create_participant_connection(
        participant_token=p["ParticipantToken"],
        types=p.get("Type") or [],
        connect_participant=p.get("ConnectParticipant"),
    ),
    "SendMessage": lambda b, p: b.send_message(
        connection_token=p["ConnectionToken"],
        content_type=p["ContentType"],
        content=p["Content"],
        client_token=p.get("ClientToken"),
    ),
    "SendEvent": lambda b, p: b.send_event(
        connection_token=p["ConnectionToken"],
        content_type=p["ContentType"],
        content=p.get("Content"),
        client_token=p.get("ClientToken"),
    ),
    "GetTranscript": lambda b, p: b.get_transcript(
        connection_token=p["ConnectionToken"],
        contact_id=p.get("ContactId"),
        max_results=p.get("MaxResults"),
        next_token=p.get("NextToken"),
        scan_direction=p.get("ScanDirection"),
        sort_order=p.get("SortOrder"),
        start_position=p.get("StartPosition"),
    ),
    "StartAttachmentUpload": lambda b, p: b.start_attachment_upload(
        connection_token=p["ConnectionToken"],
        content_type=p["ContentType"],
        size=p["AttachmentSizeInBytes"],
        name=p["AttachmentName"],
        client_token=p["ClientToken"],
    ),
    "CompleteAttachmentUpload": lambda b, p: b.complete_attachment_upload(
        connection_token=p["ConnectionToken"], attachment_ids=p["AttachmentIds"], client_token=p["ClientToken"]
    ),
    "GetAttachment": lambda b, p: b.get_attachment(
        connection_token=p["ConnectionToken"],
        attachment_id=p["AttachmentId"],
        url_expiry_in_seconds=p.get("UrlExpiryInSeconds"),
        disposition=p.get("UrlContentDisposition"),
    ),
    "DisconnectParticipant": lambda b, p: b.disconnect_participant(
        connection_token=p["ConnectionToken"], client_token=p.get("ClientToken")
    ),
    "DescribeView": lambda b, p: b.describe_view(connection_token=p["ConnectionToken"], view_token=p["ViewToken"]),
    "GetAuthenticationUrl": lambda b, p: b.get_authentication_url(
        connection_token=p["ConnectionToken"], session_id=p["SessionId"], redirect_uri=p["RedirectUri"]
    ),
    "CancelParticipantAuthentication": lambda b, p: b.cancel_participant_authentication(
        connection_token=p["ConnectionToken"], session_id=p["SessionId"]
    ),
}


def handle_participant_request(
    method: str, path: str, headers: Mapping[str, str], body: bytes | str, region: Optional[str] = None
) -> Response:
    """Serve one Participant Service request: ``(status, headers, body)``.

    ``region``: the region the request was addressed to, if known (see :func:`find_backend`).
    """
    routed = _route(PARTICIPANT_SERVICE, PARTICIPANT_OPERATIONS, method.upper(), path)
    if routed is None:
        # Only the path's first two segments: a view's path holds its token.
        where = "/".join(path.split("/")[:3])
        return _error(ValidationException(f"no Participant Service operation at {method} {where}"))
    operation, uri = routed
    try:
        params = _request(PARTICIPANT_SERVICE, operation, _body(body, ValidationException), uri, headers)
        _validate(PARTICIPANT_SERVICE, operation, params)
        token_member = "ParticipantToken" if operation == "CreateParticipantConnection" else "ConnectionToken"
        kind = PARTICIPANT_TOKEN if operation == "CreateParticipantConnection" else CONNECTION_TOKEN
        backend = find_backend(params[token_member], kind, region)
        check_faults(backend, operation)
        result = _PARTICIPANT_HANDLERS[operation](backend, params)
        return _json(200, result if result is not None else {})
    except JsonRESTError as error:
        return _error(_modelled(PARTICIPANT_SERVICE, operation, error))


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


# -- the Connect API ------------------------------------------------------------------------------

_ConnectHandler = Callable[[ChatBackend, Params], Optional[dict[str, Any]]]

_CONNECT_HANDLERS: dict[str, _ConnectHandler] = {
    "StartChatContact": lambda b, p: b.start_chat_contact(
        instance_id=p["InstanceId"],
        contact_flow_id=p["ContactFlowId"],
        participant_details=p["ParticipantDetails"],
        initial_message=p.get("InitialMessage"),
        attributes=p.get("Attributes"),
        chat_duration_in_minutes=p.get("ChatDurationInMinutes"),
        persistent_chat=p.get("PersistentChat"),
        client_token=p.get("ClientToken"),
        supported_messaging_content_types=p.get("SupportedMessagingContentTypes"),
        disconnect_on_customer_exit=p.get("DisconnectOnCustomerExit"),
        related_contact_id=p.get("RelatedContactId"),
        connection_types=p.get("ConnectionTypes"),
        segment_attributes=p.get("SegmentAttributes"),
        customer_id=p.get("CustomerId"),
        participant_configuration=p.get("ParticipantConfiguration"),
        chat_streaming_configuration=p.get("ChatStreamingConfiguration"),
    ),
    "CreateParticipant": lambda b, p: b.create_participant(
        instance_id=p["InstanceId"],
        contact_id=p["ContactId"],
        participant_details=p["ParticipantDetails"],
        client_token=p.get("ClientToken"),
    ),
    "StopContact": lambda b, p: b.stop_contact(contact_id=p["ContactId"], instance_id=p["InstanceId"]),
    "StartContactStreaming": lambda b, p: b.start_contact_streaming(
        instance_id=p["InstanceId"],
        contact_id=p["ContactId"],
        chat_streaming_configuration=p["ChatStreamingConfiguration"],
        client_token=p["ClientToken"],
    ),
    "StopContactStreaming": lambda b, p: b.stop_contact_streaming(
        instance_id=p["InstanceId"], contact_id=p["ContactId"], streaming_id=p["StreamingId"]
    ),
    "UpdateParticipantRoleConfig": lambda b, p: b.update_participant_role_config(
        instance_id=p["InstanceId"], contact_id=p["ContactId"], channel_configuration=p["ChannelConfiguration"]
    ),
}

CONNECT_OPERATIONS = tuple(_CONNECT_HANDLERS)
"""The Connect API operations the backend serves (the rest of ``connect`` is moto's)."""


class ConnectChatResponse(BaseResponse):
    """The chat operations of the Connect API, added to moto's ``connect`` service."""

    def __init__(self) -> None:
        super().__init__(service_name="connect")

    @classmethod
    def dispatch(cls, request: Any, full_url: str, headers: Any) -> Response:
        self = cls()
        self.setup_class(request, full_url, headers)
        routed = _route(CONNECT, CONNECT_OPERATIONS, self.method, self.path)
        if routed is None:
            return _error(InvalidRequestException(f"no Connect chat operation at {self.method} {self.path}"))
        operation, uri = routed
        try:
            body = _body(self.body, lambda message: invalid_input(CONNECT, operation, message))
            params = _request(CONNECT, operation, body, uri, dict(self.headers))
        except JsonRESTError as error:
            return _error(_modelled(CONNECT, operation, error))
        try:
            return _json(200, call_connect_operation(self.backend, operation, params))
        except JsonRESTError as error:
            return _error(error)

    @property
    def backend(self) -> ChatBackend:
        return chat_backends[self.get_current_account()][self.region]


def call_connect_operation(backend: ChatBackend, operation: str, params: Params) -> dict[str, Any]:
    """Run a Connect chat operation as the service does, from its wire-named ``params``.

    The request is checked against the operation's model first, and only the errors its model
    lists come out (as :class:`JsonRESTError`). Anything that starts a chat without an HTTP
    request of its own (``serve``'s ``POST /start-chat``) goes through here too.
    """
    try:
        _validate(CONNECT, operation, params)
        result = _CONNECT_HANDLERS[operation](backend, params)
    except JsonRESTError as error:
        raise _modelled(CONNECT, operation, error) from None
    return result if result is not None else {}


def connect_url_paths() -> dict[str, Callable[..., Response]]:
    """moto ``url_paths`` entries for :data:`CONNECT_OPERATIONS`, from their models' ``requestUri``."""
    paths = {}
    for _, pattern, _ in _routes(CONNECT, CONNECT_OPERATIONS):
        paths["{0}" + pattern.pattern.removesuffix("/?") + "$"] = ConnectChatResponse.dispatch
    return paths
