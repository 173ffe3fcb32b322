"""Exceptions raised by connectparticipant_ext.

Every exception the library raises on purpose derives from :class:`ConnectParticipantError`,
so one ``except`` clause catches them all; callers can catch at any level::

    ConnectParticipantError
    ├── ServiceError (also botocore.exceptions.ClientError)
    │   ├── AccessDeniedError
    │   ├── ConflictError
    │   ├── InternalServerError
    │   ├── ResourceNotFoundError
    │   ├── ServiceQuotaExceededError
    │   ├── ThrottlingError
    │   └── ValidationError
    ├── ConnectionClosedError
    ├── ConnectionExpiredError
    ├── StreamError
    ├── MalformedResponseError
    ├── ServiceUnreachableError
    ├── StreamingPayloadError (also ValueError)
    ├── AttachmentError
    │   ├── AttachmentTooLargeError (also ValueError)
    │   ├── UnsupportedAttachmentTypeError (also ValueError)
    │   ├── AttachmentUploadError
    │   └── AttachmentRejectedError
    ├── AuthenticationError
    │   └── AuthenticationTimeoutError (also TimeoutError)
    ├── DemoError
    ├── InvalidArgumentError (also ValueError)
    └── InvalidArgumentTypeError (also TypeError)

Service errors keep botocore's :class:`~botocore.exceptions.ClientError` as a base, so code
written against the raw client (``except ClientError``) keeps working. What a botocore call
raises is translated in one place, :func:`call_error_from` (a ``ClientError`` to its
:class:`ServiceError` subclass, a transport failure to :class:`ServiceUnreachableError`, an
answer botocore could not parse to :class:`MalformedResponseError`); :func:`map_client_errors`
is the same translation as a context manager, for calls made outside a resource (the Connect
API calls of :mod:`connectparticipant_ext.streaming`).

Two names are also botocore's: :class:`ConnectionClosedError` (botocore's
``botocore.exceptions.ConnectionClosedError`` is a transport error, which this library reports
as :class:`ServiceUnreachableError`) and :class:`ValidationError` (botocore's
``botocore.exceptions.ValidationError`` is a local parameter check; Django has one too).
Import this module's classes by module (``from connectparticipant_ext import exceptions``) or
under an alias where both are in scope.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Literal

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.parsers import ResponseParserError

__all__ = [
    "AccessDeniedError",
    "AttachmentError",
    "AttachmentRejectedError",
    "AttachmentTooLargeError",
    "AttachmentUploadError",
    "AuthenticationError",
    "AuthenticationTimeoutError",
    "ConflictError",
    "ConnectParticipantError",
    "ConnectionClosedError",
    "ConnectionExpiredError",
    "DemoError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "MalformedResponseError",
    "ResourceNotFoundError",
    "ServiceError",
    "ServiceQuotaExceededError",
    "ServiceUnreachableError",
    "StreamError",
    "StreamingPayloadError",
    "ThrottlingError",
    "UnsupportedAttachmentTypeError",
    "ValidationError",
    "CALL_ERRORS",
    "PARSE_ERRORS",
    "TRANSPORT_ERRORS",
    "call_error_from",
    "map_client_errors",
    "service_error_from",
]


class ConnectParticipantError(Exception):
    """Raised for any failure this library reports; the base of every other class here."""


class ServiceError(ConnectParticipantError, ClientError):  # type: ignore[misc]
    """Raised when the Participant Service answers with an error.

    ``exc.response`` and ``exc.operation_name`` are botocore's, unchanged.
    """

    def __reduce__(self) -> tuple[type[ServiceError], tuple[dict[str, object], str]]:
        # botocore's ClientError pickles as a plain ClientError; ours are importable classes.
        return type(self), (self.response, self.operation_name)

    @property
    def code(self) -> str:
        """The service's error code, e.g. ``"AccessDeniedException"``."""
        return str(self.response.get("Error", {}).get("Code", ""))


class AccessDeniedError(ServiceError):
    """Raised when the service refuses a token (expired, revoked, or the chat has ended)."""


class ConflictError(ServiceError):
    """Raised when a request conflicts with the state of the chat (ConflictException)."""


class InternalServerError(ServiceError):
    """Raised when the service failed internally after botocore's retries (5xx)."""


class ResourceNotFoundError(ServiceError):
    """Raised when a named resource, such as a view, does not exist."""


class ServiceQuotaExceededError(ServiceError):
    """Raised when a request would exceed a service quota (for example attachment size)."""


class ThrottlingError(ServiceError):
    """Raised when requests are still throttled after botocore's retries."""


class ValidationError(ServiceError):
    """Raised when the service rejects a request's parameters (ValidationException)."""


class ConnectionClosedError(ConnectParticipantError):
    """Raised when a connection is used after it was disconnected or the chat ended.

    No network call is made.
    """


class ConnectionExpiredError(ConnectParticipantError):
    """Raised when a connection token has expired and there is no participant to renew it."""


class StreamError(ConnectParticipantError):
    """Raised when the live stream could not be kept up after its reconnect attempts."""


class MalformedResponseError(ConnectParticipantError):
    """Raised when the service's answer to an operation is not the shape its model promises.

    ``operation`` names the call (``"GetTranscript"``...); the message says what was wrong,
    never the values (which may hold tokens or presigned URLs).
    """

    def __init__(self, operation: str, problem: str) -> None:
        super().__init__(f"{operation} returned a malformed answer: {problem}")
        self.operation = operation


class ServiceUnreachableError(ConnectParticipantError):
    """Raised when the Participant Service could not be reached or did not answer in time,
    after botocore's own retries: a connect or read timeout (``ConnectTimeoutError``,
    ``ReadTimeoutError``), an endpoint that cannot be connected (``EndpointConnectionError``)
    or another transport failure of botocore's HTTP client.

    ``operation`` names the call; botocore's exception is chained as ``__cause__``. The message
    names the operation and the kind of failure only, never a token or URL. The call may or may
    not have taken effect (a read timeout): sends carry a ClientToken, so repeating one is safe.
    """

    def __init__(self, operation: str, kind: str) -> None:
        super().__init__(f"{operation} could not reach the service: {kind} (after botocore's retries)")
        self.operation = operation


TRANSPORT_ERRORS = (BotocoreConnectionError, HTTPClientError)
"""botocore's transport failures (timeouts, refused connections...), which
:class:`ServiceUnreachableError` wraps."""


PARSE_ERRORS = (ResponseParserError, AttributeError, KeyError, TypeError)
"""What botocore raises while parsing an answer that is not the model's shape (a structure that
is a string, say): :class:`MalformedResponseError` wraps them, chained."""


class StreamingPayloadError(ConnectParticipantError, ValueError):
    """Raised when a message-streaming payload (an SQS message, a Lambda event or an SNS
    message given to :func:`connectparticipant_ext.streaming.parse`) is malformed.

    The message names the part that is wrong (``Records[2].Sns.Message is not valid JSON``),
    never the chat's content.
    """


class AttachmentError(ConnectParticipantError):
    """Raised when an attachment cannot be sent, approved or fetched."""


class AttachmentTooLargeError(AttachmentError, ValueError):
    """Raised before any call when a file is larger than the attachment size limit."""


class UnsupportedAttachmentTypeError(AttachmentError, ValueError):
    """Raised before any call when a file's type is not among the allowed attachment types."""


class AttachmentUploadError(AttachmentError):
    """Raised when the HTTP PUT of an attachment's bytes to its upload URL fails.

    Attributes:
        status_code: the HTTP status of the answer, or ``None`` when no answer came.
        error_code: the storage service's error code (e.g. ``"AccessDenied"``), if it gave one.
    """

    def __init__(self, message: str, *, status_code: int | None = None, error_code: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code


class AttachmentRejectedError(AttachmentError):
    """Raised when the service rejected an attachment (status ``REJECTED``)."""


class AuthenticationError(ConnectParticipantError):
    """Raised when a customer authentication flow cannot go on: the chat or its stream ended
    before the authentication request or its outcome arrived, or the service's sign-in URL is
    not one to hand to a customer (see :mod:`connectparticipant_ext.authentication`)."""


class AuthenticationTimeoutError(AuthenticationError, TimeoutError):
    """Raised when the authentication request or its outcome did not come within the timeout."""


class DemoError(ConnectParticipantError):
    """Raised when ``connectparticipant-ext demo`` could not play its chat to the end: an answer
    did not arrive within the demo's wait, or the demo's bot failed."""


class InvalidArgumentError(ConnectParticipantError, ValueError):
    """Raised before any network call when an argument has a bad value."""


class InvalidArgumentTypeError(ConnectParticipantError, TypeError):
    """Raised before any network call when an argument has the wrong type."""


_ERROR_CLASSES: dict[str, type[ServiceError]] = {
    "AccessDeniedException": AccessDeniedError,
    "ConflictException": ConflictError,
    "InternalServerException": InternalServerError,
    "ResourceNotFoundException": ResourceNotFoundError,
    "ServiceQuotaExceededException": ServiceQuotaExceededError,
    "ThrottlingException": ThrottlingError,
    "ValidationException": ValidationError,
}


def error_class_for(code: str) -> type[ServiceError]:
    """The most specific :class:`ServiceError` subclass for a service error code."""
    return _ERROR_CLASSES.get(code, ServiceError)


def service_error_from(exc: ClientError) -> ServiceError:
    """The :class:`ServiceError` subclass instance for a botocore ``ClientError`` (not raised).

    Raise it ``from exc`` to keep the original chained, as :func:`map_client_errors` does.
    """
    if isinstance(exc, ServiceError):
        return exc
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return error_class_for(code)(exc.response, exc.operation_name)


CALL_ERRORS = (ClientError, *TRANSPORT_ERRORS, *PARSE_ERRORS)
"""Everything a botocore call can raise that :func:`call_error_from` translates."""


def call_error_from(operation: str, exc: BaseException) -> BaseException:
    """This library's error for what a botocore call of ``operation`` raised (not raised here).

    A transport failure becomes :class:`ServiceUnreachableError`, an answer botocore could not
    parse :class:`MalformedResponseError`, a ``ClientError`` its :class:`ServiceError` subclass
    (see :func:`service_error_from`); anything else, and an error already ours, comes back as
    it is. Raise the result ``from exc`` unless it *is* ``exc``.
    """
    if isinstance(exc, ClientError):
        return service_error_from(exc)
    if isinstance(exc, TRANSPORT_ERRORS):
        return ServiceUnreachableError(operation, type(exc).__name__)
    if isinstance(exc, PARSE_ERRORS):
        return MalformedResponseError(operation, f"botocore could not parse it ({type(exc).__name__})")
    return exc


_BOTOCORE_ERRORS = (ClientError, *TRANSPORT_ERRORS, ResponseParserError)
"""What :func:`map_client_errors` translates: the classes only botocore raises. The generic
parse errors of :data:`PARSE_ERRORS` (``KeyError``...) are left alone there, because in a
``with`` block they may come from the caller's own code rather than from botocore."""


class _ClientErrorMapper:
    """The context manager :func:`map_client_errors` returns; the one without an operation
    name is shared (it holds no state).

    A class rather than :func:`contextlib.contextmanager`: entering and leaving it costs two
    method calls instead of a generator and its wrapper.
    """

    __slots__ = ("operation",)

    def __init__(self, operation: str | None) -> None:
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, _BOTOCORE_ERRORS):
            return False  # nothing raised, or not botocore's: propagate as is
        operation = self.operation or getattr(exc, "operation_name", None) or "a botocore call"
        error = call_error_from(operation, exc)
        if error is exc:
            return False  # already ours
        raise error from exc


_CLIENT_ERROR_MAPPER = _ClientErrorMapper(None)


def map_client_errors(operation: str | None = None) -> AbstractContextManager[None]:
    """:func:`call_error_from` as a context manager, for botocore calls made in a ``with`` block.

    Use as ``with map_client_errors("StartContactStreaming"): client.start_contact_streaming(...)``.
    A ``ClientError`` becomes its :class:`ServiceError` subclass, a transport failure
    :class:`ServiceUnreachableError` naming ``operation``, an answer botocore could not parse
    :class:`MalformedResponseError`; the original is chained as ``__cause__``.
    """
    return _CLIENT_ERROR_MAPPER if operation is None else _ClientErrorMapper(operation)
