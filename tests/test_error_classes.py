"""The error classes, their bases, and the service's error codes mapped to them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import connectparticipant_ext
from connectparticipant_ext import exceptions


def test_every_error_class_and_its_bases():
    base = exceptions.ConnectParticipantError
    assert connectparticipant_ext.ConnectParticipantError is base
    service = (
        "AccessDeniedError",
        "ValidationError",
        "ThrottlingError",
        "InternalServerError",
        "ServiceQuotaExceededError",
        "ConflictError",
        "ResourceNotFoundError",
    )
    for name in service:
        cls = getattr(exceptions, name)
        assert getattr(connectparticipant_ext, name) is cls
        assert issubclass(cls, base) and issubclass(cls, ClientError), name
    local = (
        "ConnectionClosedError",
        "ConnectionExpiredError",
        "StreamError",
        "AttachmentError",
        "AttachmentTooLargeError",
        "UnsupportedAttachmentTypeError",
        "AttachmentUploadError",
        "AttachmentRejectedError",
    )
    for name in local:
        cls = getattr(exceptions, name)
        assert getattr(connectparticipant_ext, name) is cls
        assert issubclass(cls, base) and not issubclass(cls, ClientError), name
    assert issubclass(exceptions.InvalidArgumentError, ValueError)
    assert issubclass(exceptions.InvalidArgumentTypeError, TypeError)


def test_one_error_class_per_modelled_code(chat):
    model = chat.meta.client.meta.service_model
    codes = {shape.name for op in model.operation_names for shape in model.operation_model(op).error_shapes}
    assert codes == {
        "AccessDeniedException",
        "ValidationException",
        "ThrottlingException",
        "InternalServerException",
        "ServiceQuotaExceededException",
        "ConflictException",
        "ResourceNotFoundException",
    }
    for code in codes:
        error = ClientError({"Error": {"Code": code, "Message": "m"}}, "SendMessage")
        mapped = exceptions.service_error_from(error)
        assert type(mapped).__name__ == code.replace("Exception", "Error")
        assert isinstance(mapped, ClientError) and isinstance(mapped, exceptions.ConnectParticipantError)
        assert mapped.response["Error"]["Code"] == code


def test_service_errors_map_every_modelled_code(mock_chat, connection, no_backoff):
    mock_chat.inject_faults(internal=1.0, seed=2, operations=["SendMessage"])
    with pytest.raises(exceptions.InternalServerError) as error:
        connection.send_message("x")
    assert connection.token not in str(error.value) and connection.token not in repr(error.value)


def test_forward_without_start_position_is_a_validation_error_on_the_wire(connection):
    with pytest.raises(ClientError) as error:
        connection.meta.client.get_transcript(ConnectionToken=connection.token, ScanDirection="FORWARD")
    assert error.value.response["Error"]["Code"] == "ValidationException"
