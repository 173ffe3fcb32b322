"""The exception tree: one base, botocore compatibility, one translation point."""

from __future__ import annotations

import pickle

import pytest
from botocore.exceptions import ClientError

import connectparticipant_ext
from connectparticipant_ext import exceptions
from connectparticipant_ext.exceptions import ServiceError, error_class_for, map_client_errors

from _helpers import client_error

SERVICE_CODES = {
    "AccessDeniedException": exceptions.AccessDeniedError,
    "ConflictException": exceptions.ConflictError,
    "InternalServerException": exceptions.InternalServerError,
    "ResourceNotFoundException": exceptions.ResourceNotFoundError,
    "ServiceQuotaExceededException": exceptions.ServiceQuotaExceededError,
    "ThrottlingException": exceptions.ThrottlingError,
    "ValidationException": exceptions.ValidationError,
}


@pytest.mark.parametrize(("code", "cls"), SERVICE_CODES.items())
def test_each_code_maps_to_its_class(code, cls):
    with pytest.raises(cls) as info:
        with map_client_errors():
            raise client_error(code, "nope")
    error = info.value
    assert isinstance(error, ClientError) and isinstance(error, connectparticipant_ext.ConnectParticipantError)
    assert error.code == code
    assert error.operation_name == "SendMessage"
    assert isinstance(error.__cause__, ClientError)
    assert "nope" in str(error)


def test_unknown_code_is_a_service_error():
    with pytest.raises(ServiceError) as info:
        with map_client_errors():
            raise client_error("BrandNewException")
    assert type(info.value) is ServiceError
    assert error_class_for("BrandNewException") is ServiceError


def test_except_client_error_still_catches():
    try:
        with map_client_errors():
            raise client_error("ThrottlingException")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ThrottlingException"
    else:
        pytest.fail("not raised")


def test_service_errors_pickle():
    error = exceptions.ValidationError({"Error": {"Code": "ValidationException", "Message": "m"}}, "GetTranscript")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is exceptions.ValidationError
    assert again.response == error.response


def test_local_errors_and_argument_errors():
    assert issubclass(exceptions.InvalidArgumentError, ValueError)
    assert issubclass(exceptions.InvalidArgumentTypeError, TypeError)
    assert issubclass(exceptions.AttachmentTooLargeError, (exceptions.AttachmentError, ValueError))
    assert issubclass(exceptions.UnsupportedAttachmentTypeError, ValueError)
    for name in (
        "ConnectionClosedError",
        "ConnectionExpiredError",
        "StreamError",
        "AttachmentError",
        "AttachmentUploadError",
        "AttachmentRejectedError",
    ):
        cls = getattr(connectparticipant_ext, name)
        assert issubclass(cls, connectparticipant_ext.ConnectParticipantError)
        assert cls.__doc__ and cls.__doc__.startswith("Raised when")


def test_every_class_is_drawn_in_the_module_docstring():
    for name in exceptions.__all__:
        obj = getattr(exceptions, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert name in exceptions.__doc__


def test_public_names_are_sorted_and_importable():
    names = connectparticipant_ext.__all__
    assert names == sorted(names, key=lambda n: (n.startswith("_"), n))
    for name in names:
        assert hasattr(connectparticipant_ext, name)


def test_every_error_class_lives_in_exceptions_and_old_imports_still_work():
    from connectparticipant_ext import _demo, authentication

    assert authentication.AuthenticationError is exceptions.AuthenticationError
    assert authentication.AuthenticationTimeoutError is exceptions.AuthenticationTimeoutError
    assert connectparticipant_ext.AuthenticationError is exceptions.AuthenticationError
    assert _demo.DemoError is exceptions.DemoError
    assert issubclass(exceptions.AuthenticationTimeoutError, (exceptions.AuthenticationError, TimeoutError))
    for cls in (exceptions.AuthenticationError, exceptions.AuthenticationTimeoutError, exceptions.DemoError):
        assert cls.__module__ == "connectparticipant_ext.exceptions"
        assert cls.__doc__ and cls.__doc__.startswith("Raised when")
        assert cls.__name__ in exceptions.__all__
    library = [
        obj
        for module in _library_modules()
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, connectparticipant_ext.ConnectParticipantError)
    ]
    assert {cls.__module__ for cls in library} == {"connectparticipant_ext.exceptions"}


def _library_modules():
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(connectparticipant_ext.__path__, "connectparticipant_ext."):
        if ".testing" in info.name or info.name.endswith(("django", "_pytest_plugin")):
            continue  # the backend keeps its own errors; django needs settings
        yield importlib.import_module(info.name)


def test_map_client_errors_is_call_error_from_as_a_context_manager():
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
    from botocore.parsers import ResponseParserError

    with pytest.raises(exceptions.ServiceUnreachableError, match="StartContactStreaming could not reach") as info:
        with map_client_errors("StartContactStreaming"):
            raise EndpointConnectionError(endpoint_url="https://connect.us-east-1.amazonaws.com")
    assert isinstance(info.value.__cause__, EndpointConnectionError)
    with pytest.raises(exceptions.ServiceUnreachableError, match="ReadTimeoutError"):
        with map_client_errors():
            raise ReadTimeoutError(endpoint_url="https://x")
    with pytest.raises(exceptions.MalformedResponseError, match="CreateParticipant"):
        with map_client_errors("CreateParticipant"):
            raise ResponseParserError("junk")
    with pytest.raises(KeyError):  # may be the block's own code: not botocore's to translate
        with map_client_errors("CreateParticipant"):
            raise KeyError("x")
