"""One ``CUSTOM_BOT`` participant per chat, joined once and restored on any worker."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from datetime import timedelta
from typing import TYPE_CHECKING, Optional

from .._time import parse_time
from .._validation import require_int, require_seconds, require_str
from .._wire import CUSTOM_BOT_ROLE
from ..exceptions import InvalidArgumentTypeError, map_client_errors
from .stores import DEFAULT_CHAT_LIFETIME, BotRecord, InMemoryTokenStore, TokenStore, utcnow

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from ..connection import Connection
    from ..service import ChatService

__all__ = ["BotParticipants"]


def _join_token(instance_id: str, contact_id: str) -> str:
    """The CreateParticipant ClientToken: the same for every worker joining one chat."""
    return "bot-" + hashlib.sha256(f"{instance_id}\x1f{contact_id}".encode()).hexdigest()[:48]


class BotParticipants:
    """One ``CUSTOM_BOT`` participant per chat, usable from any worker.

    Args:
        chat_service: the :class:`~connectparticipant_ext.ChatService` to make connections with.
        store: where the participant and connection tokens live (default: in this process).
        display_name: the bot's name in the chat.
        claim_seconds: how long a worker may take to create the participant before another
            worker takes over.
        wait_seconds: how long a worker that lost the race waits for the winner's record.
        cache_size: how many chats' connections this worker keeps in memory (least recently
            used first out); the rest are restored from the store when needed.

    :meth:`connection` joins a chat the first time any worker asks (``connect.create_participant``
    with ``ParticipantRole`` ``CUSTOM_BOT``, then CreateParticipantConnection with
    ``ConnectParticipant=True``) and later restores the connection from the store, with its
    participant, so it renews itself on whichever worker finds its token expiring.
    """

    def __init__(
        self,
        chat_service: ChatService,
        store: Optional[TokenStore] = None,
        *,
        display_name: str = "Bot",
        claim_seconds: float = 30.0,
        wait_seconds: float = 10.0,
        cache_size: int = 1024,
    ) -> None:
        from ..service import ChatService

        if not isinstance(chat_service, ChatService):
            raise InvalidArgumentTypeError("chat_service must be a ChatService")
        if store is not None and not isinstance(store, TokenStore):
            raise InvalidArgumentTypeError(
                "store must implement TokenStore (get, claim, save, update_connection, delete)"
            )
        self.chat_service = chat_service
        self.store: TokenStore = store if store is not None else InMemoryTokenStore()
        self.display_name = require_str("display_name", display_name, max_length=256)
        self.claim_seconds = require_seconds("claim_seconds", claim_seconds)
        self.wait_seconds = require_seconds("wait_seconds", wait_seconds)
        self.cache_size = require_int("cache_size", cache_size, minimum=1)
        self.owner = f"worker-{uuid.uuid4()}"
        self._connections: OrderedDict[str, Connection] = OrderedDict()
        self._shared_renewals: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BotParticipants(store={self.store!r}, chats={len(self._connections)})"

    def connection(self, connect_client: BaseClient, instance_id: str, contact_id: str) -> Connection:
        """The bot's connection to a chat: joined once across all workers, then restored."""
        require_str("instance_id", instance_id, max_length=100)
        require_str("contact_id", contact_id, max_length=256)
        with self._lock:
            cached = self._connections.get(contact_id)
            if cached is not None:
                self._connections.move_to_end(contact_id)
        if cached is not None and not cached.closed:
            self._share_renewal(contact_id, cached)
            return cached
        record = self.store.get(contact_id)
        if record is None or not record.complete:
            record = self._join(connect_client, instance_id, contact_id)
        conn = self._restore(record)
        with self._lock:
            self._connections[contact_id] = conn
            while len(self._connections) > self.cache_size:
                evicted, _ = self._connections.popitem(last=False)
                self._shared_renewals.pop(evicted, None)
        return conn

    def forget(self, contact_id: str) -> None:
        """Drop a chat from the store and this worker (call it when the chat has ended)."""
        with self._lock:
            self._connections.pop(contact_id, None)
            self._shared_renewals.pop(contact_id, None)
        self.store.delete(contact_id)

    # -- steps -----------------------------------------------------------------------------------

    def _restore(self, record: BotRecord) -> Connection:
        assert record.participant_token is not None
        participant = self.chat_service.Participant(record.participant_token)
        if record.connection_token is None:
            conn = participant.create_connection(connect_participant=False, websocket=False)
            self.store.update_connection(record.contact_id, conn.token, conn.expires_at)
            return conn
        return self.chat_service.Connection(
            record.connection_token, participant=participant, expires_at=record.connection_expires_at
        )

    def _share_renewal(self, contact_id: str, conn: Connection) -> None:
        """After this worker renewed a connection, let the others use the new token."""
        with self._lock:
            seen = self._shared_renewals.get(contact_id, 0)
            if conn.renewals == seen:
                return
            self._shared_renewals[contact_id] = conn.renewals
        self.store.update_connection(contact_id, conn.token, conn.expires_at)

    def _join(self, connect_client: BaseClient, instance_id: str, contact_id: str) -> BotRecord:
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.02
        while True:
            now = utcnow()
            claimed = self.store.claim(
                contact_id,
                self.owner,
                now + timedelta(seconds=self.claim_seconds),
                now + DEFAULT_CHAT_LIFETIME,
            )
            if claimed:
                return self._create(connect_client, instance_id, contact_id)
            record = self.store.get(contact_id)
            if record is not None and record.complete:
                return record
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"another worker claimed the bot participant of contact {contact_id} and did not finish "
                    f"within {self.wait_seconds:g} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _create(self, connect_client: BaseClient, instance_id: str, contact_id: str) -> BotRecord:
        with map_client_errors("CreateParticipant"):
            created = connect_client.create_participant(
                InstanceId=instance_id,
                ContactId=contact_id,
                ParticipantDetails={"ParticipantRole": CUSTOM_BOT_ROLE, "DisplayName": self.display_name},
                ClientToken=_join_token(instance_id, contact_id),
            )
        credentials = created["ParticipantCredentials"]
        participant = self.chat_service.Participant(credentials["ParticipantToken"])
        conn = participant.create_connection(connect_participant=True, websocket=False)
        expires_at = parse_time(credentials.get("Expiry")) or (utcnow() + DEFAULT_CHAT_LIFETIME)
        record = BotRecord(
            contact_id=contact_id,
            expires_at=expires_at,
            participant_id=created.get("ParticipantId"),
            participant_token=participant.token,
            connection_token=conn.token,
            connection_expires_at=conn.expires_at,
            owner=self.owner,
        )
        if not self.store.save(record, self.owner):
            # Our claim was taken over (we were too slow); the other worker's record wins.
            winner = self.store.get(contact_id)
            if winner is not None and winner.complete:
                return winner
        return record
