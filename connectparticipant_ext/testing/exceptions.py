"""The service's errors, as moto ``JsonRESTError`` subclasses with the real codes and statuses."""

from __future__ import annotations

from moto.core.exceptions import JsonRESTError

__all__ = [
    "AccessDeniedException",
    "ConflictException",
    "InternalServerException",
    "InternalServiceException",
    "InvalidParameterException",
    "InvalidRequestException",
    "LimitExceededException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "ValidationException",
]


class AccessDeniedException(JsonRESTError):
    code = 403

    def __init__(self, message: str = "You do not have sufficient access to perform this action.") -> None:
        super().__init__("AccessDeniedException", message)


class ConflictException(JsonRESTError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)


class InternalServerException(JsonRESTError):
    code = 500

    def __init__(self, message: str = "An internal error occurred (injected fault).") -> None:
        super().__init__("InternalServerException", message)


class ResourceNotFoundException(JsonRESTError):
    code = 404

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


class ServiceQuotaExceededException(JsonRESTError):
    code = 402

    def __init__(self, message: str) -> None:
        super().__init__("ServiceQuotaExceededException", message)


class ThrottlingException(JsonRESTError):
    code = 429

    def __init__(self, message: str = "Rate exceeded (injected fault).") -> None:
        super().__init__("ThrottlingException", message)


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


# -- the Connect API's errors (its model has no ValidationException) --------------------------


class InvalidRequestException(JsonRESTError):
    """Connect API: the request is not valid (e.g. a role ``create_participant`` does not add to a chat)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestException", message)


class InvalidParameterException(JsonRESTError):
    """Connect API: one or more of the specified parameters are not valid."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterException", message)


class InternalServiceException(JsonRESTError):
    """Connect API: request processing failed because of an error or failure with the service."""

    code = 500

    def __init__(self, message: str) -> None:
        super().__init__("InternalServiceException", message)


class LimitExceededException(JsonRESTError):
    """Connect API: the allowed limit for the resource has been exceeded."""

    code = 429

    def __init__(self, message: str) -> None:
        super().__init__("LimitExceededException", message)
