"""A boto3-style, object-oriented layer over the Amazon Connect Participant Service.

>>> from connectparticipant_ext import ChatService
>>> chat = ChatService(region_name="us-east-1")
>>> chat
ChatService(region_name='us-east-1')
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._logging import install_redaction
from .attachments import Attachment, AttachmentLimits, AttachmentUpload, AttachmentUploadState
from .connection import Connection, ConnectionState
from .events import ChatEvent
from .exceptions import (
    AccessDeniedError,
    AttachmentError,
    AttachmentRejectedError,
    AttachmentTooLargeError,
    AttachmentUploadError,
    ConflictError,
    ConnectionClosedError,
    ConnectionExpiredError,
    ConnectParticipantError,
    InternalServerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    MalformedResponseError,
    ResourceNotFoundError,
    ServiceError,
    ServiceQuotaExceededError,
    StreamError,
    StreamingPayloadError,
    ThrottlingError,
    UnsupportedAttachmentTypeError,
    ValidationError,
)
from .models import MessageMetadata, Receipt, SentEvent, SentMessage, TranscriptItem, View, ViewContent, Websocket
from .participant import Participant
from .service import ChatService
from .stream import ChatStream, StreamState
from .transcript import TranscriptCollection, TranscriptCollectionManager

install_redaction()

__all__ = [
    "AccessDeniedError",
    "Attachment",
    "AttachmentError",
    "AttachmentLimits",
    "AttachmentRejectedError",
    "AttachmentTooLargeError",
    "AttachmentUpload",
    "AttachmentUploadError",
    "AttachmentUploadState",
    "ChatEvent",
    "ChatService",
    "ChatStream",
    "ConflictError",
    "ConnectParticipantError",
    "Connection",
    "ConnectionClosedError",
    "ConnectionExpiredError",
    "ConnectionState",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "MalformedResponseError",
    "MessageMetadata",
    "Participant",
    "Receipt",
    "ResourceNotFoundError",
    "SentEvent",
    "SentMessage",
    "ServiceError",
    "ServiceQuotaExceededError",
    "StreamError",
    "StreamState",
    "StreamingPayloadError",
    "ThrottlingError",
    "TranscriptCollection",
    "TranscriptCollectionManager",
    "TranscriptItem",
    "UnsupportedAttachmentTypeError",
    "ValidationError",
    "View",
    "ViewContent",
    "Websocket",
    "__version__",
]
