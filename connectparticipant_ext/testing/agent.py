"""The other side of a chat, driven straight through the backend: no second library needed.

A test that exercises a customer-side app (a Django view, a bot) often needs someone to
answer. :meth:`ChatBackend.join_as_agent <connectparticipant_ext.testing.ChatBackend.join_as_agent>`
adds a participant to a chat the way ``connect.create_participant`` and
``CreateParticipantConnection`` would, and returns a :class:`BackendAgent` whose calls go to
the backend's own operations: the same validation and transcript items as over the wire,
without the fault switches (the test's own actor is not the code under test).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

from .state import MESSAGE_DELIVERED, MESSAGE_READ, TYPING

if TYPE_CHECKING:
    from .base import ChatBackendBase


class ItemList(list[dict[str, Any]]):
    """The chat's items: a list that may also be called, so ``agent.items`` and
    ``agent.items()`` both read the transcript (DESIGN.md lists ``items`` among the agent's
    methods; earlier code reads it as an attribute)."""

    def __call__(self) -> list[dict[str, Any]]:
        return list(self)


class BackendAgent:
    """An agent (or bot, or supervisor) connected to one chat of a backend."""

    def __init__(self, backend: ChatBackendBase, contact_id: str, participant_id: str, connection_token: str) -> None:
        self.backend = backend
        self.contact_id = contact_id
        self.participant_id = participant_id
        self._connection_token = connection_token

    def __repr__(self) -> str:
        return f"BackendAgent(contact_id={self.contact_id!r}, participant_id={self.participant_id!r})"

    def send(self, content: str, content_type: str = "text/plain") -> str:
        """Send a message; returns its item id."""
        return str(self.backend.send_message(self._connection_token, content_type, content, None)["Id"])

    def typing(self) -> str:
        """Send a typing event; returns its item id."""
        return str(self.backend.send_event(self._connection_token, TYPING, None, None)["Id"])

    def read(self, message_id: str) -> str:
        """Send a read receipt for a message; returns the receipt item's id."""
        content = json.dumps({"messageId": message_id})
        return str(self.backend.send_event(self._connection_token, MESSAGE_READ, content, None)["Id"])

    def delivered(self, message_id: str) -> str:
        """Send a delivered receipt for a message; returns the receipt item's id."""
        content = json.dumps({"messageId": message_id})
        return str(self.backend.send_event(self._connection_token, MESSAGE_DELIVERED, content, None)["Id"])

    @property
    def items(self) -> ItemList:
        """The chat's transcript so far, oldest first, as the service's item dicts.

        Read it as an attribute (``agent.items``) or call it (``agent.items()``)."""
        return ItemList(self.backend.chats[self.contact_id].items)

    def messages(self, role: Optional[str] = None) -> list[str]:
        """The contents of the chat's messages, oldest first; only one role's if given."""
        return [
            str(item.get("Content", ""))
            for item in self.items
            if item["Type"] == "MESSAGE" and (role is None or item.get("ParticipantRole") == role)
        ]

    def leave(self) -> None:
        """Leave the chat (``DisconnectParticipant``)."""
        self.backend.disconnect_participant(self._connection_token, None)
