"""The Connect API calls that start and stop a chat's message streaming."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from .._validation import require_str
from ..exceptions import InvalidArgumentError, MalformedResponseError, map_client_errors

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["start", "stop"]

_MAX_ARN = 350  # ChatStreamingEndpointARN: 1..350 characters
_MAX_STREAMING_ID = 100


def _require_topic_arn(topic_arn: Any) -> str:
    arn = require_str("topic_arn", topic_arn, max_length=_MAX_ARN)
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not all(parts[3:]):
        raise InvalidArgumentError(
            "topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>); "
            f"got one with {len(parts)} parts"
        )
    if parts[5].endswith(".fifo"):
        raise InvalidArgumentError(
            "topic_arn names an SNS FIFO topic; Amazon Connect streams chats to standard topics only"
        )
    return arn


def start(
    connect_client: BaseClient,
    instance_id: str,
    contact_id: str,
    topic_arn: str,
    *,
    client_token: Optional[str] = None,
) -> str:
    """Stream a chat's items to a standard SNS topic (``connect.start_contact_streaming``).

    Args:
        connect_client: a boto3 ``connect`` client (IAM credentials; the call is signed).
        instance_id: the Amazon Connect instance id.
        contact_id: the chat's contact id (the one StartChatContact returned).
        topic_arn: a standard SNS topic in the instance's Region whose access policy lets
            ``connect.amazonaws.com`` publish.
        client_token: idempotency token; a random one when omitted. Pass your own (for
            example derived from the contact id) to make a retried start safe.

    Returns:
        The ``StreamingId``, which :func:`stop` takes.

    Raises:
        InvalidArgumentError: a bad argument, or a FIFO topic, before any call.
        ServiceError: the service refused (``InvalidRequestException``,
            ``InvalidParameterException``, ``ResourceNotFoundException``,
            ``LimitExceededException`` for a third topic on one contact).
        ServiceUnreachableError: the Connect API could not be reached (after botocore's retries).
    """
    require_str("instance_id", instance_id, max_length=100)
    require_str("contact_id", contact_id, max_length=256)
    _require_topic_arn(topic_arn)
    token = str(uuid.uuid4()) if client_token is None else require_str("client_token", client_token, max_length=500)
    with map_client_errors("StartContactStreaming"):
        response = connect_client.start_contact_streaming(
            InstanceId=instance_id,
            ContactId=contact_id,
            ChatStreamingConfiguration={"StreamingEndpointArn": topic_arn},
            ClientToken=token,
        )
    streaming_id = response.get("StreamingId") if isinstance(response, Mapping) else None
    if not isinstance(streaming_id, str) or not streaming_id:
        raise MalformedResponseError("StartContactStreaming", "StreamingId is missing or not a string")
    return streaming_id


def stop(connect_client: BaseClient, instance_id: str, contact_id: str, streaming_id: str) -> None:
    """Stop streaming a chat (``connect.stop_contact_streaming``).

    Optional: streaming ends with the chat. Use it to stop while the chat goes on.
    """
    require_str("instance_id", instance_id, max_length=100)
    require_str("contact_id", contact_id, max_length=256)
    require_str("streaming_id", streaming_id, max_length=_MAX_STREAMING_ID)
    with map_client_errors("StopContactStreaming"):
        connect_client.stop_contact_streaming(InstanceId=instance_id, ContactId=contact_id, StreamingId=streaming_id)
