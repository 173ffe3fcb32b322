"""The in-memory Amazon Connect chat: one backend per account and region, moto style.

Chats are created on the Connect side (``start_chat_contact``, ``create_participant``,
``stop_contact``; message streaming and participant timers in their mixins) and used through the
eleven Participant Service operations. This module holds :class:`ChatBackend` with those
operations and moto's :data:`chat_backends`. The request checks the models state are made
before an operation runs (:mod:`.validation`, from :mod:`.responses`); an operation checks what
the models say only in prose. The chat's state is in :mod:`.state`, what operations and
controls share in :mod:`.base`, tokens in :mod:`.tokens`, the test controls in :mod:`.controls`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any, Optional

from moto.core.base_backend import BackendDict

from .base import ChatBackendBase, bare_instance_id
from .contact_streaming import ContactStreaming
from .controls import ChatControls
from .exceptions import (
    AccessDeniedException,
    ConflictException,
    InvalidParameterException,
    InvalidRequestException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from .state import (
    CHAT_REHYDRATED,
    CONNECTION_ACKNOWLEDGED,
    EVENT_CONTENT_TYPES,
    INTERACTIVE,
    INTERACTIVE_RESPONSE,
    MAX_CONTENT_LENGTH,
    MESSAGE_CONTENT_TYPES,
    MESSAGE_DELIVERED,
    MESSAGE_METADATA,
    MESSAGE_READ,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    SUPPORTED_MESSAGING_CONTENT_TYPES,
    TYPING,
    Chat,
    ChatParticipant,
    ChatSettings,
    ConnectionGrant,
    UploadRecord,
    iso,
    parse_iso,
    utcnow,
)
from .tokens import CONNECTION_TOKEN, encode_token
from .webrtc import WebRTCMeetings

__all__ = ["ChatBackend", "chat_backends"]



def _request_key(
    contact_id: str, participant_id: str, operation: str, client_token: str, request: dict[str, Any]
) -> tuple[str, ...]:
    """What a participant's retry is recognised by: its ClientToken *and* what it asks for
    (see :meth:`ChatBackend._idempotently`)."""
    return (contact_id, participant_id, operation, client_token, json.dumps(request, sort_keys=True, default=str))

class ChatBackend(ChatControls, ContactStreaming, WebRTCMeetings, ChatBackendBase):
    """Amazon Connect chats of one account and region.

    The Connect-side operations (``start_chat_contact``, ``create_participant``,
    ``stop_contact``, ``start_contact_streaming``, ``stop_contact_streaming``,
    ``update_participant_role_config``) and the eleven Participant Service operations; the
    switches tests use come from :class:`~connectparticipant_ext.testing.controls.ChatControls`.
    """

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._secret = os.urandom(16)

    def reset(self) -> None:
        from .websocket import shutdown_hub

        self._stop_timers()
        shutdown_hub()
        super().reset()

    # == Connect side ==========================================================================

    def start_chat_contact(
        self,
        instance_id: str,
        contact_flow_id: str,
        participant_details: dict[str, Any],
        initial_message: Optional[dict[str, Any]] = None,
        attributes: Optional[dict[str, str]] = None,
        chat_duration_in_minutes: Optional[int] = None,
        persistent_chat: Optional[dict[str, Any]] = None,
        client_token: Optional[str] = None,
        supported_messaging_content_types: Optional[list[str]] = None,
        disconnect_on_customer_exit: Optional[list[str]] = None,
        related_contact_id: Optional[str] = None,
        connection_types: Optional[list[str]] = None,
        segment_attributes: Optional[dict[str, Any]] = None,
        customer_id: Optional[str] = None,
        participant_configuration: Optional[dict[str, Any]] = None,
        chat_streaming_configuration: Optional[dict[str, Any]] = None,
    ) -> dict[str, Any]:
        # The model's constraints were checked before the call (responses.py); what follows are
        # the rules its documentation writes in prose. The Connect API answers them with
        # InvalidParameterException/InvalidRequestException (its model has no ValidationException).
        # The request as given, for the ClientToken check (taken before any local is bound).
        request = {k: v for k, v in locals().items() if k not in ("self", "client_token")}
        self._check_instance(instance_id)
        minutes = 25 * 60 if chat_duration_in_minutes is None else chat_duration_in_minutes
        supported = frozenset(supported_messaging_content_types or ["text/plain"])
        if "text/plain" not in supported or not supported <= SUPPORTED_MESSAGING_CONTENT_TYPES:
            raise InvalidParameterException(
                "SupportedMessagingContentTypes must contain text/plain and only supported types"
            )
        if initial_message is not None:
            if initial_message["ContentType"] not in MESSAGE_CONTENT_TYPES:
                raise InvalidParameterException("InitialMessage.ContentType is not a supported message content type")
            if len(initial_message["Content"].encode("utf-8")) > MAX_CONTENT_LENGTH:
                raise InvalidParameterException("InitialMessage.Content must have at most 16384 bytes of UTF-8")
        _check_attributes(attributes or {})
        _check_segment_attributes(segment_attributes or {}, supported)
        if persistent_chat and related_contact_id:
            raise InvalidRequestException("You cannot provide both RelatedContactId and PersistentChat")
        source: Optional[Chat] = None
        if persistent_chat:
            rehydration = persistent_chat.get("RehydrationType")
            if rehydration is None:
                raise InvalidParameterException("PersistentChat.RehydrationType is required for persistent chat")
            source = self._rehydration_source(rehydration, persistent_chat.get("SourceContactId"))
        topic = None
        if chat_streaming_configuration is not None:
            # The same refusals as StartContactStreaming, before anything is created.
            topic = self._check_topic(chat_streaming_configuration["StreamingEndpointArn"])

        def create() -> dict[str, Any]:
            chat = self._new_chat(str(uuid.uuid4()), instance_id, timedelta(minutes=minutes))
            chat.attributes = dict(attributes or {})
            chat.supported_content_types = supported
            chat.disconnect_flow = bool(disconnect_on_customer_exit)
            response: dict[str, Any] = {}
            if source is not None:
                chat.initial_contact_id = source.initial_contact_id
                chat.previous_contact_ids = [source.contact_id, *source.previous_contact_ids]
                chat.copy_past_items(source.items)
                response["ContinuedFromContactId"] = source.contact_id
            customer = self._participant_token(chat, "CUSTOMER", participant_details["DisplayName"])
            self.chats[chat.contact_id] = chat
            if topic is not None:
                # "Setting this parameter returns a StreamingId in the response, and you do not
                # need to call StartContactStreaming" (StartChatContact ChatStreamingConfiguration):
                # the stream covers the chat from its first item.
                response["StreamingId"] = self._stream_to(chat, topic)
            # The customer joins when the chat starts, whatever its client later sends as
            # ConnectParticipant (AWS's clients' fixtures; see tests/fidelity).
            customer.joined = True
            chat.add_item("EVENT", PARTICIPANT_JOINED, customer)
            chat.rehydration_pending = source is not None
            if initial_message is not None:
                chat.add_item("MESSAGE", initial_message["ContentType"], customer, initial_message["Content"])
            response.update(
                ContactId=chat.contact_id, ParticipantId=customer.participant_id, ParticipantToken=customer.token
            )
            # ConnectionTypes: "WEBSOCKET and CONNECTION_CREDENTIALS are the values this operation
            # acts on. No other value returns connection information" (StartChatContact).
            wanted = [t for t in connection_types or [] if t in ("WEBSOCKET", "CONNECTION_CREDENTIALS")]
            if wanted:
                response.update(self.create_participant_connection(customer.token, wanted, False))
            return response

        if not client_token:
            return create()
        response = dict(self._once(("StartChatContact", client_token), request, create, InvalidRequestException))
        if "Websocket" in response and self.chats[response["ContactId"]].ended:
            # "When you retry a request with the same ClientToken, the response repeats the
            # original contact and can omit a websocket URL if the chat has already ended."
            del response["Websocket"]
        return response

    def _check_instance(self, instance_id: str) -> None:
        """Refuse an InstanceId that moto's connect backend does not know (see ChatSettings)."""
        strict = self.settings.require_known_instance
        if strict is False:
            return
        from moto.connect.models import connect_backends

        instances = getattr(connect_backends[self.account_id][self.region_name], "instances", {})
        if (strict or instances) and bare_instance_id(instance_id) not in instances:
            raise ResourceNotFoundException(f"instance {instance_id} does not exist")

    def _rehydration_source(self, rehydration: str, source_contact_id: Optional[str]) -> Chat:
        """The past contact a persistent chat continues (PersistentChat in the StartChatContact reference)."""
        source = self.chats.get(source_contact_id or "")
        if source is None:
            raise ResourceNotFoundException("SourceContactId does not name a chat contact of this instance")
        if rehydration == "ENTIRE_PAST_SESSION":
            if source.initial_contact_id != source.contact_id:
                raise InvalidRequestException("ENTIRE_PAST_SESSION takes the initial contact id of the past session")
            session = [c for c in self.chats.values() if c.initial_contact_id == source.contact_id and c.ended]
            if not session:
                raise InvalidRequestException("the past chat session has no ended contact")
            source = max(session, key=lambda c: c.started_at)
        if not source.ended:
            raise InvalidRequestException("the source contact of a persistent chat must have ended")
        return source

    def create_participant(
        self, instance_id: str, contact_id: str, participant_details: dict[str, Any], client_token: Optional[str] = None
    ) -> dict[str, Any]:
        chat = self._connect_chat(instance_id, contact_id)
        role = participant_details.get("ParticipantRole") or "CUSTOM_BOT"
        if role != "CUSTOM_BOT":
            # "The only valid value for ParticipantRole is CUSTOM_BOT for chat contact" (connect model).
            raise InvalidRequestException(f"ParticipantRole {role} cannot be added to a chat contact; only CUSTOM_BOT")
        display_name = participant_details.get("DisplayName") or role.title()
        request = {"instance_id": instance_id, "participant_details": participant_details}
        return self._add_participant(chat, role, display_name, client_token, request)

    def stop_contact(self, contact_id: str, instance_id: str) -> None:
        """End a chat: each agent still in it leaves (``participant.left``), then ``chat.ended``.

        The agent's "End chat" is a StopContact (amazon-connect-chatjs README, "End Chat":
        ``contact.destroy()`` -> "StopContact API"), and a chat a customer saw end that way reads
        "AGENT :: participant.left" then "chat.ended" (tamdilip/whatsapp-amazonconnect-chat
        issue #3); no source shows a customer's participant.left there. That StopContact from
        elsewhere sends the same is inferred.

        Stopping a chat that has already ended changes nothing and succeeds: "Chat and task
        contacts can be terminated in any state", and ContactNotFoundException "applies to
        Voice calls only, not to Chat or Task contacts" (StopContact API reference).
        """
        chat = self._instance_chat(instance_id, contact_id)
        with chat.lock:
            if chat.ended:
                return
            for agent in [p for p in chat.active_participants() if p.role == "AGENT"]:
                agent.left = True
                chat.add_item("EVENT", PARTICIPANT_LEFT, agent)
        self._end_chat(chat)

    # == Participant side ======================================================================

    def _grant(self, token: Optional[str]) -> tuple[ConnectionGrant, Chat, ChatParticipant]:
        grant = self.connection_tokens.get(token or "")
        if grant is None or grant.revoked or grant.expires_at <= self._now():
            raise AccessDeniedException()
        chat = self.chats[grant.contact_id]
        participant = chat.participants[grant.participant_id]
        if chat.ended or participant.left:
            raise AccessDeniedException("The chat has ended or the participant has left.")
        return grant, chat, participant

    def create_participant_connection(
        self, participant_token: Optional[str], types: list[str], connect_participant: Optional[bool]
    ) -> dict[str, Any]:
        from .websocket import get_hub

        participant = self.participant_tokens.get(participant_token or "")
        if participant is None or participant.token_expires_at <= self._now():
            raise AccessDeniedException()
        chat = self.chats[participant.contact_id]
        if chat.ended or participant.left:
            raise AccessDeniedException("The chat has ended or the participant has left.")
        # Type is optional (chatjs agent sessions send Type=null, ConnectParticipant=true).
        response: dict[str, Any] = {}
        expires_at = self._now() + self.settings.connection_lifetime
        if "CONNECTION_CREDENTIALS" in types:
            token = encode_token(CONNECTION_TOKEN, self.account_id, self.region_name)
            self.connection_tokens[token] = ConnectionGrant(
                token, chat.contact_id, participant.participant_id, expires_at
            )
            response["ConnectionCredentials"] = {"ConnectionToken": token, "Expiry": iso(expires_at)}
        if "WEBSOCKET" in types:
            # The websocket server keeps the wall clock (state.Clock): so does its deadline.
            connect_by = utcnow() + self.settings.websocket_connect_timeout
            hub = get_hub()
            chat.add_listener(_HubPublisher(chat.key))
            url = _register_websocket(hub, chat.key, participant.participant_id, connect_by, self.settings)
            response["Websocket"] = {"Url": url, "ConnectionExpiry": iso(connect_by)}
            if chat.rehydration_pending and participant.role == "CUSTOMER":
                # A persistent chat tells the customer's first socket it was rehydrated
                # (chat.rehydrated: pushed, not one of the events GetTranscript keeps).
                chat.rehydration_pending = False
                chat.add_item("EVENT", CHAT_REHYDRATED, None, store=False, sender="system")
        if connect_participant and not participant.joined:
            participant.joined = True
            chat.add_item("EVENT", PARTICIPANT_JOINED, participant)
            self._timers_joined(chat)
        if "WEBRTC_CONNECTION" in types:
            response["WebRTCConnection"] = self._webrtc_connection(chat, participant)
        self._watch_authentication(chat)
        return response

    def send_message(
        self, connection_token: Optional[str], content_type: str, content: str, client_token: Optional[str]
    ) -> dict[str, Any]:
        _, chat, participant = self._grant(connection_token)
        if content_type not in MESSAGE_CONTENT_TYPES:
            raise ValidationException(f"ContentType {content_type!r} is not supported for messages")
        if content_type not in chat.supported_content_types:
            raise ValidationException(
                f"ContentType {content_type!r} is not in the contact's SupportedMessagingContentTypes"
            )
        _check_content_bytes(content)
        if content_type == "application/json":
            try:
                json.loads(content)
            except ValueError:
                raise ValidationException("Content is not valid JSON") from None
        if content_type == INTERACTIVE_RESPONSE:
            _check_interactive_response(content)

        def send() -> dict[str, Any]:
            item = chat.add_item("MESSAGE", content_type, participant, content)
            self._timers_message(chat, participant)
            return {"Id": item["Id"], "AbsoluteTime": item["AbsoluteTime"]}

        request = {"ContentType": content_type, "Content": content}
        return dict(self._idempotently(chat, participant, "SendMessage", client_token, request, send))

    def _idempotently(
        self,
        chat: Chat,
        participant: ChatParticipant,
        operation: str,
        client_token: Optional[str],
        request: dict[str, Any],
        make: Callable[[], Any],
    ) -> Any:
        """:meth:`_once` for a participant's call: a ClientToken is the participant's own, and
        a retry may come on a renewed connection token (so the token is not part of ``request``).

        A ClientToken reused with other parameters is a new request here, not a refused one:
        AWS's own clients depend on it. amazon-connect-chatjs (since 1.3.0, still in 5.0.0,
        ``src/core/MessageReceiptsUtil.js``) sends every read receipt of a chat with the
        ClientToken ``INCOMING_READ_RECEIPT`` and every delivered one with
        ``INCOMING_DELIVERED_RECEIPT``, and its receipts reach the other side one message after
        another, so the service keys a retry on the token *and* what was asked.
        """
        if not client_token:
            return make()
        key = _request_key(chat.contact_id, participant.participant_id, operation, client_token, request)
        return self._once(key, request, make, ValidationException)

    def send_event(
        self, connection_token: Optional[str], content_type: str, content: Optional[str], client_token: Optional[str]
    ) -> dict[str, Any]:
        _, chat, participant = self._grant(connection_token)
        if content_type not in EVENT_CONTENT_TYPES:
            raise ValidationException(f"ContentType {content_type!r} is not a supported event")
        if content is not None:
            _check_content_bytes(content)
        target: Optional[dict[str, Any]] = None
        if content_type in (MESSAGE_DELIVERED, MESSAGE_READ):
            if len(chat.active_participants()) > 2:
                # "Message receipts are not supported when there are more than two active
                # participants in the chat" (SendEvent API reference).
                raise ConflictException("Message receipts are not supported with more than two active participants")
            try:
                message_id = json.loads(content or "")["messageId"]
            except (ValueError, KeyError, TypeError):
                raise ValidationException('a receipt needs Content {"messageId": "..."}') from None
            target = chat.message(message_id) if isinstance(message_id, str) else None
            if target is None or target["Type"] not in ("MESSAGE", "ATTACHMENT"):
                raise ValidationException("messageId does not name a message of this chat")

        def send() -> dict[str, Any]:
            if content_type == TYPING:  # pushed live, not kept (GetTranscript lists the kept events)
                item = chat.add_item("EVENT", TYPING, participant, content, store=False)
            elif target is not None:
                item = self._record_receipt(chat, participant, target, content_type)
            else:
                # connection.acknowledged: "no longer maintained since December 31, 2024" (SendEvent
                # ContentType) but still listed, so accepted and kept out of the transcript.
                item = chat.add_item("EVENT", CONNECTION_ACKNOWLEDGED, participant, content, store=False)
            return {"Id": item["Id"], "AbsoluteTime": item["AbsoluteTime"]}

        request = {"ContentType": content_type, "Content": content}
        return dict(self._idempotently(chat, participant, "SendEvent", client_token, request, send))

    def _record_receipt(
        self, chat: Chat, participant: ChatParticipant, target: dict[str, Any], content_type: str
    ) -> dict[str, Any]:
        with chat.lock:
            moment = iso(self._now())
            # A streamed (Lex) reply already has MessageMetadata (MessageCompleted, ...)
            metadata = target.setdefault("MessageMetadata", {})
            metadata.setdefault("MessageId", target["Id"])
            receipts = metadata.setdefault("Receipts", [])
            receipt = next((r for r in receipts if r["RecipientParticipantId"] == participant.participant_id), None)
            if receipt is None:
                receipt = {"RecipientParticipantId": participant.participant_id}
                receipts.append(receipt)
            if content_type == MESSAGE_READ:
                receipt.setdefault("DeliveredTimestamp", moment)
                receipt["ReadTimestamp"] = moment
            else:
                receipt.setdefault("DeliveredTimestamp", moment)
            snapshot = json.loads(json.dumps({"MessageId": metadata["MessageId"], "Receipts": receipts}))
            return chat.add_item(
                "MESSAGEMETADATA", MESSAGE_METADATA, participant, store=False, sender="none", MessageMetadata=snapshot
            )

    def disconnect_participant(self, connection_token: Optional[str], client_token: Optional[str]) -> None:
        """The participant leaves. Its websocket is not closed: the chat goes on pushing to it
        until ``chat.ended`` (amazon-connect-chatjs 4.0 CHANGELOG: the connection ends when the
        server sends chatEnded, so disconnect flows can send surveys).

        A retry with the ClientToken of a call that succeeded succeeds again, although the
        participant has left by then (the token makes the call idempotent)."""
        grant = self.connection_tokens.get(connection_token or "")
        if client_token and grant is not None:
            key = _request_key(grant.contact_id, grant.participant_id, "DisconnectParticipant", client_token, {})
            with self._lock:
                if key in self._idempotent:
                    return
        _, chat, participant = self._grant(connection_token)
        self._idempotently(chat, participant, "DisconnectParticipant", client_token, {}, lambda: self._leave(chat, participant))

    # -- transcript ----------------------------------------------------------------------------

    def _sign(self, payload: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{body}.{mac}"

    def _unsign(self, token: str) -> dict[str, Any]:
        body, _, mac = token.rpartition(".")
        expected = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()[:32]
        # Bytes, not str: compare_digest refuses a str that is not ASCII (a forged token may be).
        if not body or not hmac.compare_digest(mac.encode(), expected.encode()):
            raise ValidationException("NextToken is not valid")
        payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body))
        return payload

    def get_transcript(
        self,
        connection_token: Optional[str],
        contact_id: Optional[str],
        max_results: Optional[int],
        next_token: Optional[str],
        scan_direction: Optional[str],
        sort_order: Optional[str],
        start_position: Optional[dict[str, Any]],
    ) -> dict[str, Any]:
        _, own_chat, _ = self._grant(connection_token)
        chat = own_chat
        size = 10 if max_results is None else max_results
        # "Default: BACKWARD when no StartPosition is provided, FORWARD with StartPosition."
        given = {k: v for k, v in (start_position or {}).items() if v is not None}
        direction = scan_direction or ("FORWARD" if given else "BACKWARD")
        sort = sort_order or "DESCENDING"
        if contact_id and contact_id != own_chat.contact_id:
            if contact_id not in own_chat.previous_contact_ids or contact_id not in self.chats:
                # Not a contact of this chain: an empty page, not an error (GetTranscript cannot
                # answer ResourceNotFoundException; a capture in amazon-connect-chatjs issue #28
                # shows 200 with "Transcript": [] for another contact's id).
                return {"InitialContactId": own_chat.initial_contact_id, "Transcript": []}
            chat = self.chats[contact_id]
        with chat.lock:
            count = len(chat.items)
            if next_token:
                state = self._unsign(next_token)
                if state.get("c") != chat.contact_id or state.get("d") != direction:
                    raise ValidationException("NextToken does not belong to this request")
                start = int(state["p"])
            else:
                found = self._start_index(chat, direction, start_position)
                if found is None:  # an unknown StartPosition: an empty page, not an error
                    return {"InitialContactId": chat.initial_contact_id, "Transcript": []}
                start = found
            if direction == "FORWARD":
                positions = list(range(max(start, 0), min(start + size, count)))
                following = start + size if start + size < count else None
            else:
                start = min(start, count - 1)
                positions = list(range(start, max(start - size, -1), -1))
                following = start - size if start - size >= 0 else None
            page = [self._served(chat.items[p]) for p in positions]
        if (sort == "ASCENDING") != (direction == "FORWARD"):
            page.reverse()
        response: dict[str, Any] = {"InitialContactId": chat.initial_contact_id, "Transcript": page}
        if size and following is not None:
            response["NextToken"] = self._sign({"c": chat.contact_id, "d": direction, "p": following})
        return response

    def _start_index(self, chat: Chat, direction: str, start_position: Optional[dict[str, Any]]) -> Optional[int]:
        given = {k: v for k, v in (start_position or {}).items() if v is not None}
        if len(given) > 1:
            raise ValidationException("StartPosition takes exactly one of Id, AbsoluteTime, MostRecent")
        count = len(chat.items)
        if not given:
            if direction == "FORWARD":
                raise ValidationException("ScanDirection FORWARD needs a StartPosition")
            return count - 1
        if "Id" in given:
            # An unknown Id gives an empty page (the AWS iOS SDK's ChatService reads an empty
            # response as "invalid StartPosition").
            return chat.position_of(str(given["Id"]))
        if "AbsoluteTime" in given:
            moment = _start_time(given["AbsoluteTime"])
            return chat.first_at_or_after(moment) if direction == "FORWARD" else chat.last_at_or_before(moment)
        if "MostRecent" in given:
            recent = int(given["MostRecent"])
            position = max(count - recent, 0)
            return position if direction == "FORWARD" else min(position, count - 1)
        raise ValidationException("StartPosition takes one of Id, AbsoluteTime, MostRecent")

    def _served(self, item: dict[str, Any]) -> dict[str, Any]:
        """An item as GetTranscript shows it now (attachment status may still be pending)."""
        if item["Type"] != "ATTACHMENT":
            return item
        shown = dict(item)
        attachments = []
        for entry in item.get("Attachments", []):
            record = self.uploads.get(entry["AttachmentId"])
            status = record.status if record else entry.get("Status")
            if record is not None and record.pending_reads > 0:
                record.pending_reads -= 1
                status = "IN_PROGRESS"
                if record.pending_reads == 0:
                    self._push_verdict(record)
            attachments.append({**entry, "Status": status})
        shown["Attachments"] = attachments
        return shown

    # -- attachments ---------------------------------------------------------------------------

    def start_attachment_upload(
        self,
        connection_token: Optional[str],
        content_type: str,
        size: int,
        name: str,
        client_token: Optional[str],
    ) -> dict[str, Any]:
        from . import storage

        _, chat, participant = self._grant(connection_token)
        extension = os.path.splitext(name)[1].lower()
        if extension not in self.settings.allowed_extensions:
            raise ValidationException(f"attachments of type {extension or '(none)'} are not allowed")
        if size > self.settings.max_attachment_size:
            # An oversize file is a ValidationException; ServiceQuotaExceededException means too
            # many attachments on the contact.
            raise ValidationException(
                f"the attachment is larger than the limit of {self.settings.max_attachment_size} bytes"
            )
        limit = self.settings.max_attachments_per_contact
        if limit is not None and sum(1 for u in self.uploads.values() if u.contact_id == chat.contact_id) >= limit:
            raise ServiceQuotaExceededException(f"the contact has reached its limit of {limit} attachments")

        def start() -> dict[str, Any]:
            attachment_id = str(uuid.uuid4())
            record = UploadRecord(attachment_id, chat.contact_id, participant.participant_id, name, size, content_type)
            self.uploads[attachment_id] = record
            expires_at = self._now() + timedelta(minutes=5)
            url, headers = storage.presigned_put(
                self,
                record,
                expires_in=300,
                initial_contact_id=chat.initial_contact_id,
                organization_id=chat.instance_id,
            )
            return {
                "AttachmentId": attachment_id,
                "UploadMetadata": {"Url": url, "UrlExpiry": iso(expires_at), "HeadersToInclude": headers},
            }

        request = {"ContentType": content_type, "AttachmentSizeInBytes": size, "AttachmentName": name}
        return dict(self._idempotently(chat, participant, "StartAttachmentUpload", client_token, request, start))

    def complete_attachment_upload(
        self, connection_token: Optional[str], attachment_ids: list[str], client_token: Optional[str]
    ) -> None:
        from . import storage

        _, chat, participant = self._grant(connection_token)
        record = self.uploads.get(attachment_ids[0])
        if (
            record is None
            or record.contact_id != chat.contact_id
            or record.participant_id != participant.participant_id
        ):
            # CompleteAttachmentUpload's model lists no ResourceNotFoundException: an id that
            # is not this participant's upload is invalid input (the real message is unknown).
            raise ValidationException("The AttachmentId does not name an upload of this participant.")

        def complete() -> bool:
            if record.completed:
                raise ConflictException("the attachment upload is already complete")
            stored = storage.stored_object(self, record)
            if stored is None:
                raise ValidationException("the attachment's bytes were not uploaded")
            size, metadata = stored
            if size != record.size:
                raise ValidationException(f"the upload has {size} bytes; {record.size} were declared")
            if metadata.get("contact_id") != record.contact_id:
                # The presigned URL is signed over HeadersToInclude (storage.check_presigned_put),
                # so bytes that arrived another way (not through that URL) lack its metadata.
                raise ValidationException("the upload did not carry the headers in HeadersToInclude")
            record.completed = True
            record.status = self.settings.attachment_verdict
            record.pending_reads = self.settings.attachment_pending_reads
            entry = {
                "ContentType": record.content_type,
                "AttachmentId": record.attachment_id,
                "AttachmentName": record.name,
                # With scanning (pending reads), the verdict comes later: see _push_verdict.
                "Status": "IN_PROGRESS" if record.pending_reads > 0 else record.status,
            }
            # ATTACHMENT items have no top-level ContentType (AWS's clients' fixtures).
            item = chat.add_item("ATTACHMENT", "", participant, Attachments=[entry])
            record.item_id = item["Id"]
            return True

        request = {"AttachmentIds": list(attachment_ids)}
        self._idempotently(chat, participant, "CompleteAttachmentUpload", client_token, request, complete)

    def get_attachment(
        self,
        connection_token: Optional[str],
        attachment_id: str,
        url_expiry_in_seconds: Optional[int],
        disposition: Optional[str],
    ) -> dict[str, Any]:
        from . import storage

        _, chat, participant = self._grant(connection_token)
        if participant.role == "CUSTOM_BOT":
            # "The participant role CUSTOM_BOT is not permitted to access attachments" (GetAttachment).
            raise AccessDeniedException("A CUSTOM_BOT participant cannot access attachments.")
        record = self.uploads.get(attachment_id)
        chats = {chat.contact_id, *chat.previous_contact_ids}
        if record is None or not record.completed or record.contact_id not in chats:
            # GetAttachment's model lists no ResourceNotFoundException: an unknown id is invalid
            # input (the real message is unknown).
            raise ValidationException("The AttachmentId does not name an attachment of this chat.")
        if record.status == "REJECTED":
            raise ValidationException("the attachment was rejected")
        expires_in = 300 if url_expiry_in_seconds is None else url_expiry_in_seconds
        url = storage.presigned_get(self, record, expires_in, disposition or "ATTACHMENT")
        return {
            "Url": url,
            "UrlExpiry": iso(self._now() + timedelta(seconds=expires_in)),
            "AttachmentSizeInBytes": record.size,
        }

    # -- views and authentication ----------------------------------------------------------------

    def describe_view(self, connection_token: Optional[str], view_token: str) -> dict[str, Any]:
        self._grant(connection_token)
        view = self.views.get(view_token)
        if view is None:
            raise ResourceNotFoundException("no view with that ViewToken")
        return {"View": view}

    def get_authentication_url(
        self, connection_token: Optional[str], session_id: str, redirect_uri: str
    ) -> dict[str, Any]:
        _, chat, _ = self._grant(connection_token)
        return self._authentication_url(chat, session_id, redirect_uri)

    def cancel_participant_authentication(self, connection_token: Optional[str], session_id: str) -> None:
        _, chat, _ = self._grant(connection_token)
        self._cancel_authentication(chat, session_id)


class _HubPublisher:
    """Listener that pushes a chat's items to its websockets; equal per chat, so added once."""

    def __init__(self, key: Hashable) -> None:
        self.key = key

    def __call__(self, item: dict[str, Any]) -> None:
        from .websocket import get_hub

        get_hub().publish(self.key, item)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _HubPublisher) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


def _check_content_bytes(content: str) -> None:
    """Content is at most 16,384 bytes of UTF-8 (SendMessage/SendEvent Content: "Maximum of 16,384
    bytes for all content types"; the model's ``max`` counts characters)."""
    if len(content.encode("utf-8")) > MAX_CONTENT_LENGTH:
        raise ValidationException("Content must have at most 16384 bytes of UTF-8")


def _check_interactive_response(content: str) -> None:
    """An interactive response is a JSON object whose ``action``, when present, is not empty.

    AWS's widget (amazon-connect-chat-interface ``ChatSession.js``,
    ``alterOutgoingMessageForViewsIfRequired``) sends ``action: " "`` with the note "empty
    string is not allowed", and sends these responses only as JSON objects (``helper.js``,
    ``InteractiveMessage.js``). The service's own message for a refusal is not documented.
    """
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValidationException("An interactive response must be a JSON object.")
    action = data.get("action")
    if "action" in data and (not isinstance(action, str) or not action):
        raise ValidationException("An interactive response's action must be a non-empty string.")


def _start_time(value: str) -> datetime:
    """StartPosition.AbsoluteTime: "specified in ISO 8601 format: yyyy-MM-ddThh:mm:ss.SSSZ"
    (GetTranscript model). A time without a zone designator names no instant, so it is refused."""
    if not _ISO_INSTANT.fullmatch(value):
        raise ValidationException(
            "StartPosition.AbsoluteTime must be an ISO 8601 time with a zone designator, such as "
            "2019-11-08T02:41:28.172Z"
        )
    try:
        return parse_iso(value)
    except ValueError:
        raise ValidationException("StartPosition.AbsoluteTime is not a valid time") from None


_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})")

_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_-]+")
MAX_ATTRIBUTES_BYTES = 32768


def _check_attributes(attributes: dict[str, str]) -> None:
    """StartChatContact Attributes: "There can be up to 32,768 UTF-8 bytes across all key-value
    pairs per contact. Attribute keys can include only alphanumeric, dash, and underscore
    characters" (connect model; prose, so not in the shape's constraints)."""
    for key in attributes:
        if not _ATTRIBUTE_KEY.fullmatch(key):
            raise InvalidParameterException(
                "Attribute keys can include only alphanumeric, dash, and underscore characters"
            )
    total = sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in attributes.items())
    if total > MAX_ATTRIBUTES_BYTES:
        raise InvalidParameterException(
            f"Attributes hold {total} UTF-8 bytes; at most {MAX_ATTRIBUTES_BYTES} are allowed per contact"
        )


_GUIDE_TYPES = frozenset({INTERACTIVE, INTERACTIVE_RESPONSE})


def _check_segment_attributes(segment_attributes: dict[str, Any], supported: frozenset[str]) -> None:
    """StartChatContact SegmentAttributes: "The types application/vnd.amazonaws.connect.message.interactive
    and application/vnd.amazonaws.connect.message.interactive.response must be present in the
    SupportedMessagingContentTypes field of this API in order to set SegmentAttributes as
    { "connect:Subtype": {"valueString" : "connect:Guide" }}" (connect model). The same text says
    keys "can include only alphanumeric, -, and _", yet its own key ``connect:Subtype`` holds a
    colon; which keys the service refuses is unclear, so keys are not checked."""
    subtype = segment_attributes.get("connect:Subtype") or {}
    if subtype.get("ValueString") == "connect:Guide" and not _GUIDE_TYPES <= supported:
        raise InvalidParameterException(
            "SegmentAttributes connect:Subtype connect:Guide needs SupportedMessagingContentTypes with "
            "application/vnd.amazonaws.connect.message.interactive and its .response type"
        )




def _register_websocket(
    hub: Any, chat_key: Hashable, participant_id: str, connect_by: datetime, settings: ChatSettings
) -> str:
    """A websocket URL from the hub: openable until ``connect_by``, each socket closed after the
    max lifetime, or sooner when idle (API Gateway's limits, see ChatSettings).

    The hub gets the limits it takes (``max_lifetime``, ``idle_timeout``); an older hub only the
    connect deadline.
    """
    import inspect

    parameters = inspect.signature(hub.register).parameters
    limits = {
        name: value
        for name, value in (
            ("max_lifetime", settings.websocket_max_lifetime),
            ("idle_timeout", settings.websocket_idle_timeout),
        )
        if name in parameters
    }
    return str(hub.register(chat_key, participant_id, connect_by, **limits))


chat_backends = BackendDict(ChatBackend, "connect")
"""moto's per-account, per-region store of :class:`ChatBackend` objects."""
