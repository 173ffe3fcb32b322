"""The typed base of the chat backend: the state its operations and controls share, and the steps
of a chat's life they all take.

:class:`~connectparticipant_ext.testing.ChatBackend` (``models.py``: the service's operations)
is built from this base and mixins that each own one part of the state, created in their own
``__init__`` (moto's ``reset()`` runs ``__init__`` again on a cleared object):

* :class:`~.authentication.AuthenticationSessions`: the sessions of the Authenticate Customer
  flow block (behind GetAuthenticationUrl and CancelParticipantAuthentication);
* :class:`~.webrtc.WebRTCMeetings`: one meeting per chat, one attendee per participant;
* :class:`~.contact_streaming.ContactStreaming`: StartContactStreaming, StopContactStreaming;
* :class:`~.timers.ParticipantTimers`: UpdateParticipantRoleConfig and its timers;
* :class:`~.controls.ChatControls`: the test controls (on top of the others, which it drives).

Each mixin subclasses this base, so ``self`` is typed everywhere without casts.
"""

from __future__ import annotations

import json
import threading
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Optional

from moto.core.base_backend import BaseBackend
from moto.core.exceptions import JsonRESTError

from .exceptions import InvalidRequestException, ResourceNotFoundException
from .state import (
    CHAT_ENDED,
    PARTICIPANT_LEFT,
    Chat,
    ChatParticipant,
    ChatSettings,
    Clock,
    ConnectionGrant,
    UploadRecord,
    iso,
)
from .tokens import PARTICIPANT_TOKEN, encode_token

__all__ = ["ChatBackendBase", "bare_instance_id"]


def bare_instance_id(instance_id: str) -> str:
    """An instance's id from its id or ARN (``arn:aws:connect:<region>:<account>:instance/<id>``)."""
    return instance_id.rsplit("instance/", 1)[-1]


class ChatBackendBase(BaseBackend, metaclass=ABCMeta):
    """The chats of one account and region, and the steps of their lives.

    Attributes (read them in tests; change them through operations and controls):
        settings: the switches of :class:`~connectparticipant_ext.testing.ChatSettings`.
        chats: contact id -> :class:`~connectparticipant_ext.testing.Chat`.
        participant_tokens: participant token -> its participant.
        connection_tokens: connection token -> its grant (participant, expiry, revoked).
        uploads: attachment id -> its upload.
        views: view token -> the view DescribeView answers.
    """

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.settings = ChatSettings()
        self.chats: dict[str, Chat] = {}
        self.participant_tokens: dict[str, ChatParticipant] = {}
        self.connection_tokens: dict[str, ConnectionGrant] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self._clock = Clock()
        self._lock = threading.RLock()
        self._idempotent: dict[tuple[str, ...], tuple[str, Any]] = {}

    def _now(self) -> datetime:
        """The backend's time: the wall clock moved on by ``advance_clock``."""
        return self._clock.now()

    # -- the operations the controls drive (ChatBackend defines them) ----------------------------

    @abstractmethod
    def create_participant_connection(
        self, participant_token: str, types: list[str], connect_participant: Optional[bool]
    ) -> dict[str, Any]:
        """CreateParticipantConnection."""

    @abstractmethod
    def send_message(
        self, connection_token: str, content_type: str, content: str, client_token: Optional[str]
    ) -> dict[str, Any]:
        """SendMessage."""

    @abstractmethod
    def send_event(
        self, connection_token: str, content_type: str, content: Optional[str], client_token: Optional[str]
    ) -> dict[str, Any]:
        """SendEvent."""

    @abstractmethod
    def disconnect_participant(self, connection_token: str, client_token: Optional[str]) -> None:
        """DisconnectParticipant."""

    # -- participants ---------------------------------------------------------------------------

    def _participant_token(self, chat: Chat, role: str, display_name: str) -> ChatParticipant:
        lifetime = self.settings.participant_token_lifetime
        expires_at = chat.expires_at if lifetime is None else min(chat.expires_at, self._now() + lifetime)
        token = encode_token(PARTICIPANT_TOKEN, self.account_id, self.region_name)
        participant = ChatParticipant(chat.contact_id, role, display_name, token, expires_at)
        chat.participants[participant.participant_id] = participant
        self.participant_tokens[token] = participant
        return participant

    def _once(
        self,
        key: tuple[str, ...],
        request: dict[str, Any],
        make: Callable[[], Any],
        mismatch: Callable[[str], JsonRESTError],
    ) -> Any:
        """Run ``make`` once per ClientToken (``key``); a retry gets the first answer.

        "A unique, case-sensitive identifier that you provide to ensure the idempotency of the
        request ... see Making retries safe with idempotent APIs" (every ClientToken of both
        models). That article (Amazon Builders' Library) has the service compare a retry's
        parameters with the first request's and refuse a mismatch rather than answer a request
        that was not made; the code of that refusal is not documented for Amazon Connect, so
        ``mismatch`` (the operation's modelled invalid-request error) makes it.
        """
        fingerprint = json.dumps(request, sort_keys=True, default=str)
        with self._lock:
            stored = self._idempotent.get(key)
            if stored is None:
                stored = self._idempotent[key] = (fingerprint, make())
            elif stored[0] != fingerprint:
                raise mismatch(
                    "The ClientToken was already used for a request with different parameters; "
                    "use a new ClientToken for a new request."
                )
            return stored[1]

    def _add_participant(
        self,
        chat: Chat,
        role: str,
        display_name: str,
        client_token: Optional[str] = None,
        request: Optional[dict[str, Any]] = None,
    ) -> dict[str, Any]:
        """A new participant of ``chat``, answered as CreateParticipant answers."""

        def create() -> dict[str, Any]:
            participant = self._participant_token(chat, role, display_name)
            return {
                "ParticipantCredentials": {
                    "ParticipantToken": participant.token,
                    "Expiry": iso(participant.token_expires_at),
                },
                "ParticipantId": participant.participant_id,
            }

        if not client_token:
            return create()
        key = ("CreateParticipant", chat.contact_id, client_token)
        return dict(self._once(key, request or {}, create, InvalidRequestException))

    # -- chats ------------------------------------------------------------------------------------

    def _instance_chat(self, instance_id: str, contact_id: str) -> Chat:
        """The chat ``contact_id`` of instance ``instance_id`` (an id or ARN), or ResourceNotFoundException."""
        chat = self.chats.get(contact_id)
        if chat is None or chat.instance_id != bare_instance_id(instance_id):
            raise ResourceNotFoundException(f"contact {contact_id} does not exist in instance {instance_id}")
        return chat

    def _connect_chat(self, instance_id: str, contact_id: str) -> Chat:
        """A chat of the instance that has not ended (InvalidRequestException once it has)."""
        chat = self._instance_chat(instance_id, contact_id)
        if chat.ended:
            raise InvalidRequestException(f"contact {contact_id} has ended")
        return chat

    def _end_chat(self, chat: Chat) -> None:
        from .websocket import get_hub

        with chat.lock:
            if chat.ended:
                return
            chat.add_item("EVENT", CHAT_ENDED, None, sender="none")
            chat.ended = True
        if chat.listeners:
            get_hub().end_chat(chat.key)

    def _leave(self, chat: Chat, participant: ChatParticipant) -> None:
        """``participant`` leaves ``chat`` (participant.left), with what follows from it."""
        with chat.lock:
            if participant.left:
                return
            participant.left = True
            chat.add_item("EVENT", PARTICIPANT_LEFT, participant)
        if participant.role == "CUSTOMER":
            if chat.disconnect_flow:
                # DisconnectOnCustomerExit: the agents are disconnected, the chat goes on in
                # the disconnect flow until it stops the contact.
                for other in list(chat.participants.values()):
                    if other.role == "AGENT" and other.joined and not other.left:
                        self._leave(chat, other)
            else:
                self._end_chat(chat)
        elif participant.role == "AGENT" and not chat.disconnect_flow:
            # The agent leaving ends the chat by default: participant.left, then chat.ended.
            self._end_chat(chat)

    def _push_verdict(self, record: UploadRecord) -> None:
        """Send the scan verdict of an attachment over the websocket, as a second ATTACHMENT item.

        "Amazon Connect will send the result (APPROVED | REJECTED) of the scanned attachment as
        a message in the websocket" (amazon-connect/amazon-connect-chatjs,
        ``docs/attachment-scanner-feature.md``, whose example is an ``ATTACHMENT`` item with the
        attachment's entry and its new ``Status``). The item reuses the first item's Id: AWS's
        chat widget (amazon-connect-chat-interface, ``ChatSession._addItemsToTranscript``)
        replaces an item by Id, so the verdict takes the IN_PROGRESS item's place, and
        GetTranscript shows the one item with its current status. That the Id is the same is
        inferred from that client, not documented.
        """
        chat = self.chats.get(record.contact_id)
        if chat is None or record.item_id is None:
            return
        with chat.lock:
            position = chat.position_of(record.item_id)
            if position is None:
                return
            stored = chat.items[position]
            pushed = dict(stored)
            pushed["Attachments"] = [
                {**entry, "Status": record.status} if entry.get("AttachmentId") == record.attachment_id else entry
                for entry in stored.get("Attachments", [])
            ]
            for listener in list(chat.listeners):
                listener(pushed)

    def _new_chat(self, contact_id: str, instance_id: str, duration: timedelta) -> Chat:
        return Chat(self, contact_id, bare_instance_id(instance_id), duration, self._clock)
