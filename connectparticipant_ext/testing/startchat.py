"""``POST /start-chat`` on the local server: the contract of AWS's start-chat Lambda behind API Gateway.

AWS's chat widget, and the chat examples AWS publishes, start a chat through a small public
API: API Gateway (a ``POST`` method with a Lambda proxy integration, and an ``OPTIONS`` method
answered by API Gateway itself for CORS) in front of a Lambda function that calls
``connect.startChatContact``. The local server answers the same request with the same response,
so the widget runs against ``serve`` unchanged but for its endpoint settings.

Source: amazon-connect/amazon-connect-chat-ui-examples at commit f3d0d47a,
``cloudformationTemplates/startChatContactAPI/js/startChatContact.js`` (the function, Node.js
with the AWS SDK for JavaScript v2) and ``cloudformation.yaml`` beside it (the API). The
function, step by step, and so this module:

* The body is parsed as JSON. ``InstanceId`` and ``ContactFlowId`` are taken from it when
  present and not ``== ""`` in JavaScript's loose sense, else from the deployment (here
  ``serve --instance-id`` / ``--contact-flow-id``).
* ``ParticipantDetails.DisplayName`` becomes the participant's name and the contact attribute
  ``customerName``: the body's own ``Attributes`` are not read.
* ``SupportedMessagingContentTypes`` and ``ChatDurationInMinutes`` are passed when truthy (in
  JavaScript's sense: ``[]`` is, ``0`` is not); ``PersistentChat`` (its ``RehydrationType`` and
  ``SourceContactId`` only) when both are truthy. The SDK adds a fresh ``ClientToken``.
* Success: 200, ``{"data": {"startChatResult": <the response>, "featurePermissions": {...}}}``
  with ``MESSAGING_MARKDOWN`` in the permissions when the body's content types are a list.
* An error from the service: the error's HTTP status, ``{"data": {"Error": <the SDK v2 error>}}``
  (the enumerable fields of an SDK v2 service error, ``lib/util.js`` ``error()`` and
  ``lib/event_listeners.js`` in aws/aws-sdk-js: ``message``, ``code``, ``time``,
  ``requestId``, ``statusCode``, ``retryable`` and, for an error the SDK would not retry,
  ``retryDelay``).
* Anything else that fails (no body, a body that is not JSON, no ``ParticipantDetails``, a
  parameter the SDK's validator refuses before sending: missing or of the wrong JSON type) ends
  with a response without a status code, which API Gateway answers with 502 and
  ``{"message": "Internal server error"}``.

Where this differs: the function answers ``Access-Control-Allow-Origin: *``; the local server
names the request's origin instead, and only for the origins it allows (see
:class:`~connectparticipant_ext.testing.server.AccessPolicy`). The SDK retries an error it
deems retryable up to three times; the backend is called once (it would answer the same).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Optional

import attrs
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID

__all__ = ["PATH", "StartChatDefaults", "no_such_method", "preflight", "start_chat"]

PATH = "/start-chat"
"""Where the local server answers (AWS's widget is given it as its ``apiGatewayEndpoint``)."""

LAMBDA_HEADERS = {
    "Content-Type": "application/json",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Allow-Headers": "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token",
}
"""The headers the function answers with (besides ``Access-Control-Allow-Origin``)."""

PREFLIGHT_HEADERS = {
    "Content-Type": "application/json",
    "Access-Control-Allow-Headers": "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token",
    "Access-Control-Allow-Methods": "POST,OPTIONS",
}
"""API Gateway's ``OPTIONS`` answer (a MOCK integration, empty body), besides the origin."""

_GATEWAY_FAILURE = (502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}')
_NO_SUCH_METHOD = (403, {"Content-Type": "application/json"}, b'{"message":"Missing Authentication Token"}')
_THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "TransactionInProgressException",
        "EC2ThrottledException",
    }
)
"""SDK v2's ``throttledError`` codes (``lib/service.js``), which it retries."""

Answer = tuple[int, dict[str, str], bytes]


@attrs.frozen(kw_only=True)
class StartChatDefaults:
    """What the deployment fills in: the function's ``INSTANCE_ID``, ``CONTACT_FLOW_ID`` and ``REGION``."""

    instance_id: str
    contact_flow_id: str
    region: str = "us-east-1"
    account_id: str = DEFAULT_ACCOUNT_ID


class _FunctionFailedError(Exception):
    """The function fails without an answer of its own (API Gateway's 502)."""


@lru_cache(maxsize=1)
def _operation() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("connect").operation_model("StartChatContact")


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int, float),
    "long": (int, float),
    "boolean": (bool,),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
}


def _sdk_refuses(value: Any, shape: Any) -> bool:
    """Whether SDK v2's parameter validator refuses ``value`` before sending it.

    Its default validation (``paramValidation: true``) checks required members and JSON types
    (``lib/param_validator.js``); the model it ships has no lengths or ranges to check.
    """
    expected = _JSON_TYPES.get(shape.type_name)
    if expected is not None and (
        not isinstance(value, expected) or (isinstance(value, bool) and shape.type_name != "boolean")
    ):
        return True
    if shape.type_name == "structure":
        if any(value.get(name) is None for name in shape.required_members):
            return True
        return any(
            name not in shape.members or (member is not None and _sdk_refuses(member, shape.members[name]))
            for name, member in value.items()
        )
    if shape.type_name == "list":
        return any(item is not None and _sdk_refuses(item, shape.member) for item in value)
    if shape.type_name == "map":
        return any(item is not None and _sdk_refuses(item, shape.value) for item in value.values())
    return False


def _js_string(value: Any) -> Optional[str]:
    """JavaScript's ToString of a JSON value, as far as telling ``""`` apart needs."""
    if value is None:
        return ""  # inside an array, null joins as ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(_js_string(item) or "" for item in value)
    return None  # numbers, booleans and objects are never ""


def _loosely_empty(value: Any) -> bool:
    """``value == ""`` in JavaScript, for a JSON value (``0``, ``false``, ``[]``, ``[""]`` are)."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float)):
        return value == 0
    return _js_string(value) == ""


def _truthy(value: Any) -> bool:
    """JavaScript's truthiness of a JSON value (an empty list or object is truthy)."""
    if isinstance(value, (list, dict)):
        return True
    return bool(value)


def _request(body: bytes, defaults: StartChatDefaults) -> tuple[dict[str, Any], Any]:
    """The StartChatContact parameters the function builds from ``body``, and the body."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _FunctionFailedError("the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise _FunctionFailedError("the body is not an object")
    details = parsed.get("ParticipantDetails")
    if details is None:
        raise _FunctionFailedError("no ParticipantDetails")
    name = details.get("DisplayName") if isinstance(details, dict) else None
    instance_id = parsed.get("InstanceId", "")
    flow_id = parsed.get("ContactFlowId", "")
    params: dict[str, Any] = {
        "InstanceId": defaults.instance_id if _loosely_empty(instance_id) else instance_id,
        "ContactFlowId": defaults.contact_flow_id if _loosely_empty(flow_id) else flow_id,
        "Attributes": {"customerName": name},
        "ParticipantDetails": {"DisplayName": name},
        "ClientToken": str(uuid.uuid4()),
    }
    for key in ("SupportedMessagingContentTypes", "ChatDurationInMinutes"):
        if _truthy(parsed.get(key)):
            params[key] = parsed[key]
    persistent = parsed.get("PersistentChat")
    if (
        _truthy(persistent)
        and isinstance(persistent, dict)
        and _truthy(persistent.get("RehydrationType"))
        and _truthy(persistent.get("SourceContactId"))
    ):
        params["PersistentChat"] = {
            "RehydrationType": persistent["RehydrationType"],
            "SourceContactId": persistent["SourceContactId"],
        }
    if _sdk_refuses(params, _operation().input_shape):
        raise _FunctionFailedError("the SDK's parameter validation")
    return params, parsed


def _sdk_error(error: JsonRESTError) -> dict[str, Any]:
    """The error as SDK v2 builds it and ``JSON.stringify`` writes it (see the module's notes)."""
    status = int(error.code)
    code = error.error_type.split(":")[0]
    retryable = status >= 500 or status == 429 or code in _THROTTLING_CODES or code == "ExpiredTokenException"
    now = datetime.now(timezone.utc)
    found: dict[str, Any] = {
        "message": error.message,
        "code": code,
        "time": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "requestId": str(uuid.uuid4()),
        "statusCode": status,
        "retryable": retryable,
    }
    if not retryable:  # the SDK's RETRY_CHECK sets it while retries remain: never after the last
        found["retryDelay"] = random.random() * 100  # noqa: S311 - calculateRetryDelay's jitter, not a secret
    return found


def start_chat(body: bytes, defaults: StartChatDefaults) -> Answer:
    """The answer to ``POST /start-chat`` with ``body`` (status, headers, body), before CORS."""
    from . import get_chat_backend
    from .responses import call_connect_operation

    try:
        params, parsed = _request(body, defaults)
    except _FunctionFailedError:
        return _GATEWAY_FAILURE
    backend = get_chat_backend(defaults.account_id, defaults.region)
    try:
        result = call_connect_operation(backend, "StartChatContact", params)
    except JsonRESTError as error:
        payload = {"data": {"Error": _sdk_error(error)}}
        return int(error.code), dict(LAMBDA_HEADERS), json.dumps(payload).encode()
    output = _operation().output_shape.members
    permissions: dict[str, bool] = {}
    types = parsed.get("SupportedMessagingContentTypes")
    if isinstance(types, list):
        permissions["MESSAGING_MARKDOWN"] = "text/markdown" in types
    data = {"startChatResult": {k: v for k, v in result.items() if k in output}, "featurePermissions": permissions}
    return 200, dict(LAMBDA_HEADERS), json.dumps({"data": data}).encode()


def preflight() -> Answer:
    """API Gateway's answer to ``OPTIONS /start-chat``, before the origin is named."""
    return 200, dict(PREFLIGHT_HEADERS), b""


def no_such_method() -> Answer:
    """API Gateway's answer to a method the API does not define (``GET /start-chat``)."""
    return _NO_SUCH_METHOD
