"""The test controls of the chat backend: switches and actors a public API call cannot reach.

:class:`ChatControls` is mixed into :class:`~connectparticipant_ext.testing.models.ChatBackend`
(which keeps the service's operations, moto style): fault injection, failing uploads, revoked
tokens, views, the attachment verdict, the other side of a chat (:meth:`~ChatControls.join_as_agent`)
and the websocket switches.
"""

from __future__ import annotations

import random
import threading
import uuid
from typing import TYPE_CHECKING, Any, Optional, cast

from .exceptions import InternalServerException, ThrottlingException
from .state import Chat, ChatSettings, ConnectionGrant

if TYPE_CHECKING:
    from .agent import BackendAgent
    from .models import ChatBackend

__all__ = ["ChatControls"]


class _FaultPlan:
    def __init__(self, throttling: float, internal: float, seed: Optional[int], operations: Optional[set[str]]) -> None:
        self.throttling = throttling
        self.internal = internal
        self.operations = operations
        self.random = random.Random(seed)
        self.lock = threading.Lock()

    def check(self, operation: str) -> None:
        if self.operations is not None and operation not in self.operations:
            return
        with self.lock:
            roll = self.random.random()
        if roll < self.throttling:
            raise ThrottlingException()
        if roll < self.throttling + self.internal:
            raise InternalServerException()


class ChatControls:
    """Test switches and actors of a :class:`~connectparticipant_ext.testing.models.ChatBackend`."""

    account_id: str
    region_name: str
    settings: ChatSettings
    chats: dict[str, Chat]
    connection_tokens: dict[str, ConnectionGrant]
    views: dict[str, dict[str, Any]]
    _faults: Optional[_FaultPlan]
    _upload_failures: list[int]
    _lock: threading.RLock

    @property
    def attachment_verdict(self) -> str:
        """What completed attachments become, ``"APPROVED"`` (the default) or ``"REJECTED"``."""
        return self.settings.attachment_verdict

    @attachment_verdict.setter
    def attachment_verdict(self, verdict: str) -> None:
        if verdict not in ("APPROVED", "REJECTED"):
            raise ValueError("attachment_verdict must be APPROVED or REJECTED")
        self.settings.attachment_verdict = verdict

    def inject_faults(
        self,
        throttling: float = 0.0,
        internal: float = 0.0,
        seed: Optional[int] = None,
        operations: Optional[list[str]] = None,
    ) -> None:
        """Make a fraction of participant calls fail before they take effect.

        Args:
            throttling: fraction answered with ThrottlingException (429).
            internal: fraction answered with InternalServerException (500).
            seed: makes the sequence of failures repeatable.
            operations: limit faults to these operation names (e.g. ``["SendMessage"]``).
        """
        if not 0 <= throttling <= 1 or not 0 <= internal <= 1 or throttling + internal > 1:
            raise ValueError("fault fractions must be between 0 and 1 and add up to at most 1")
        self._faults = _FaultPlan(throttling, internal, seed, set(operations) if operations else None)

    def clear_faults(self) -> None:
        """Stop injecting faults."""
        self._faults = None

    def check_faults(self, operation: str) -> None:
        faults = self._faults
        if faults is not None:
            faults.check(operation)

    def fail_next_uploads(self, count: int = 1, status: int = 500) -> None:
        """Make the next ``count`` PUTs to attachment upload URLs fail with ``status``."""
        with self._lock:
            self._upload_failures.extend([status] * count)

    def take_upload_failure(self) -> Optional[int]:
        with self._lock:
            return self._upload_failures.pop(0) if self._upload_failures else None

    def revoke_connection_token(self, token: str) -> None:
        """Make a connection token be refused (AccessDeniedException) from now on."""
        with self._lock:
            grant = self.connection_tokens.get(token)
            if grant is None:
                raise KeyError("no such connection token in this backend")
            grant.revoked = True

    def register_view(
        self,
        name: str = "View",
        template: str = "<p>view</p>",
        actions: Optional[list[str]] = None,
        input_schema: str = "{}",
        version: int = 1,
    ) -> str:
        """Register a step-by-step guide view; returns the view token DescribeView takes."""
        view_id = str(uuid.uuid4())
        token = f"view-{uuid.uuid4().hex}"
        self.views[token] = {
            "Id": view_id,
            "Arn": f"arn:aws:connect:{self.region_name}:{self.account_id}:instance/views/{view_id}",
            "Name": name,
            "Version": version,
            "Content": {"InputSchema": input_schema, "Template": template, "Actions": list(actions or [])},
        }
        return token

    def get_chat(self, contact_id: str) -> Chat:
        """A chat by contact id (``chat.items`` are the stored items in wire format)."""
        try:
            return self.chats[contact_id]
        except KeyError:
            raise KeyError(f"no chat with contact id {contact_id!r}") from None

    def bulk_add_messages(
        self, contact_id: str, count: int, *, participant_id: Optional[str] = None, content: str = "message {n}"
    ) -> None:
        """Append ``count`` text messages quickly (for benchmarks and paging tests)."""
        chat = self.get_chat(contact_id)
        participant = chat.participants[participant_id] if participant_id else next(iter(chat.participants.values()))
        for n in range(count):
            chat.add_item("MESSAGE", "text/plain", participant, content.format(n=n))

    @property
    def _backend(self) -> ChatBackend:
        """This object as the backend it is mixed into (for the controls that call operations)."""
        return cast("ChatBackend", self)

    def join_as_agent(self, contact_id: str, display_name: str = "Agent", role: str = "AGENT") -> BackendAgent:
        """Add a participant to a chat and connect it, for a test to act as the other side.

        The same steps as ``connect.create_participant`` and ``CreateParticipantConnection``
        (``ConnectParticipant=True``), straight on the backend; see :class:`BackendAgent`.
        """
        from .agent import BackendAgent

        backend = self._backend
        created = backend.create_participant("", contact_id, {"ParticipantRole": role, "DisplayName": display_name})
        token = created["ParticipantCredentials"]["ParticipantToken"]
        connection = backend.create_participant_connection(token, ["CONNECTION_CREDENTIALS"], True)
        return BackendAgent(
            backend, contact_id, created["ParticipantId"], connection["ConnectionCredentials"]["ConnectionToken"]
        )

    def drop_websockets(self, contact_id: Optional[str] = None) -> int:
        """Abruptly close open websockets (of one chat, or of every chat). Returns how many."""
        from .websocket import get_hub

        key = self.get_chat(contact_id).key if contact_id else None
        return get_hub().drop_sockets(key)

    def answer_heartbeats(self, answer: bool) -> None:
        """Switch the websocket server's heartbeat answers on or off."""
        from .websocket import get_hub

        get_hub().answer_heartbeats = answer
