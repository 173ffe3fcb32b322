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
from .authentication import (
    AuthenticationError,
    AuthenticationResult,
    AuthenticationSession,
    AuthenticationStatus,
    AuthenticationTimeoutError,
)
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
    ServiceUnreachableError,
    StreamError,
    StreamingPayloadError,
    ThrottlingError,
    UnsupportedAttachmentTypeError,
    ValidationError,
)
from .interactive import Carousel, InteractiveTemplate, ListPicker, Panel, QuickReply, TimePicker, ViewResource
from .live import AsyncChatStream, ChatStream, StreamState
from .models import MessageMetadata, Receipt, SentEvent, SentMessage, TranscriptItem, View, ViewContent, Websocket
from .participant import Participant
from .service import ChatService
from .transcript import TranscriptCollection, TranscriptCollectionManager
from .webrtc import WebRTCConnection

install_redaction()

__all__ = [
    "AccessDeniedError",
    "AsyncChatStream",
    "Attachment",
    "AttachmentError",
    "AttachmentLimits",
    "AttachmentRejectedError",
    "AttachmentTooLargeError",
    "AttachmentUpload",
    "AttachmentUploadError",
    "AttachmentUploadState",
    "AuthenticationError",
    "AuthenticationResult",
    "AuthenticationSession",
    "AuthenticationStatus",
    "AuthenticationTimeoutError",
    "Carousel",
    "ChatEvent",
    "ChatService",
    "ChatStream",
    "ConflictError",
    "ConnectParticipantError",
    "Connection",
    "ConnectionClosedError",
    "ConnectionExpiredError",
    "ConnectionState",
    "InteractiveTemplate",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "ListPicker",
    "MalformedResponseError",
    "MessageMetadata",
    "Panel",
    "Participant",
    "QuickReply",
    "Receipt",
    "ResourceNotFoundError",
    "SentEvent",
    "SentMessage",
    "ServiceError",
    "ServiceQuotaExceededError",
    "ServiceUnreachableError",
    "StreamError",
    "StreamState",
    "StreamingPayloadError",
    "ThrottlingError",
    "TimePicker",
    "TranscriptCollection",
    "TranscriptCollectionManager",
    "TranscriptItem",
    "UnsupportedAttachmentTypeError",
    "ValidationError",
    "View",
    "ViewContent",
    "ViewResource",
    "WebRTCConnection",
    "Websocket",
    "__version__",
]
