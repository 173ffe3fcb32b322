"""Participant timers: ``connect.update_participant_role_config`` and what fires on the backend's clock.

From the Amazon Connect Administrator Guide, "Set up chat timeouts for chat participants", and
botocore's ``connect`` model (``ParticipantTimerConfiguration``):

* Four timers, set per role (``CUSTOMER``, ``AGENT``) and type: ``IDLE`` ("Mark the customer /
  agent as idle") and ``DISCONNECT_NONCUSTOMER`` ("Automatically disconnect the agent from the
  chat due to customer idleness" / "due to agent idleness"). 2 to 480 minutes; ``Unset`` deletes
  a timer; at most 6 entries, "any unique combination of role and timer type. Duplicate entries
  error out the request with a 400" (the model's checks are made before the operation runs).
* "After the timer configuration is set, it persists for the duration of the chat."
* "Timers run when both an agent and a customer are connected to the chat, or when a customer
  and a custom participant (such as a custom bot) are connected", "are first started when an
  agent/custom participant joins the chat, and are stopped if the agent/custom participant
  leaves". A chat is inactive while "no messages sent".
* "Idle timers run before auto-disconnect timers, if both are configured for a role": the
  auto-disconnect timer starts when the participant becomes idle.

The events are amazon-connect-chatjs's (``src/constants.js``, README ``onParticipantIdle``,
``onParticipantReturned``, ``onAutoDisconnection``): ``participant.idle``,
``participant.returned`` and ``participant.autodisconnection``, each with the
``ParticipantId``, ``DisplayName`` and ``ParticipantRole`` of the participant it is about; they
are pushed live, not kept (GetTranscript's list of kept events does not name them). An
auto-disconnected agent then leaves as any agent does (``participant.left``; the chat ends
unless it runs a disconnect flow).

Choices where the sources are silent, also in docs/fidelity.rst: only messages count as activity
(typing and receipts do not); a returning participant's idle and disconnect timers start again
from its message; the timers use the backend's clock, which ``advance_clock`` moves (they also
fire in real time, from a background timer, for ``serve``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Optional

from .base import ChatBackendBase
from .exceptions import InvalidParameterException
from .state import EVENT, Chat, ChatParticipant

__all__ = ["ParticipantTimers"]

IDLE = "IDLE"
DISCONNECT = "DISCONNECT_NONCUSTOMER"
PARTICIPANT_IDLE = EVENT + "participant.idle"
PARTICIPANT_RETURNED = EVENT + "participant.returned"
AUTODISCONNECTION = EVENT + "participant.autodisconnection"


class _ChatTimers:
    """The timers set on one chat and the activity they measure."""

    def __init__(self) -> None:
        self.durations: dict[tuple[str, str], timedelta] = {}  # (role, timer type) -> duration
        self.running_since: Optional[datetime] = None  # when a customer and another party were both in
        self.last_message: dict[str, datetime] = {}  # participant id -> its last message
        self.idle_since: dict[str, datetime] = {}  # participant id -> when it became idle
        self.disconnected: set[str] = set()  # participants whose idleness already disconnected the agent


class ParticipantTimers(ChatBackendBase):
    """UpdateParticipantRoleConfig and the timers it sets (a mixin of ``ChatBackend``)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._timers: dict[str, _ChatTimers] = {}
        self._alarm: Optional[threading.Timer] = None

    def update_participant_role_config(
        self, instance_id: str, contact_id: str, channel_configuration: dict[str, Any]
    ) -> dict[str, Any]:
        """UpdateParticipantRoleConfig: set or unset the chat's participant timers."""
        chat = self._connect_chat(instance_id, contact_id)
        entries = channel_configuration["Chat"]["ParticipantTimerConfigList"]
        pairs = [(entry["ParticipantRole"], entry["TimerType"]) for entry in entries]
        if len(set(pairs)) != len(pairs):
            raise InvalidParameterException(
                "ParticipantTimerConfigList takes each combination of ParticipantRole and TimerType once"
            )
        with self._lock:
            timers = self._timers.setdefault(chat.contact_id, _ChatTimers())
            for entry, pair in zip(entries, pairs):
                minutes = entry["TimerValue"].get("ParticipantTimerDurationInMinutes")
                if minutes is None:  # ParticipantTimerAction "Unset"
                    timers.durations.pop(pair, None)
                else:
                    timers.durations[pair] = timedelta(minutes=minutes)
            self._note_parties(chat, timers)
        self._fire_due_timers()
        return {}

    # -- what the operations tell the timers -----------------------------------------------------

    def _timers_joined(self, chat: Chat) -> None:
        """A participant joined: the timers start once a customer and another party are in."""
        with self._lock:
            timers = self._timers.get(chat.contact_id)
            if timers is not None:
                self._note_parties(chat, timers)
        self._arm()

    def _timers_message(self, chat: Chat, participant: ChatParticipant) -> None:
        """A participant sent a message: it is active (``participant.returned`` if it was idle)."""
        with self._lock:
            timers = self._timers.get(chat.contact_id)
            if timers is None:
                return
            timers.last_message[participant.participant_id] = self._now()
            returned = timers.idle_since.pop(participant.participant_id, None) is not None
            timers.disconnected.discard(participant.participant_id)
        if returned:
            chat.add_item("EVENT", PARTICIPANT_RETURNED, participant, store=False)
        self._arm()

    def _note_parties(self, chat: Chat, timers: _ChatTimers) -> None:
        roles = {p.role for p in chat.active_participants()}
        both = "CUSTOMER" in roles and bool(roles & {"AGENT", "CUSTOM_BOT"})
        if both and timers.running_since is None:
            timers.running_since = self._now()
        elif not both:
            timers.running_since = None

    # -- firing ----------------------------------------------------------------------------------

    def _due(self) -> Iterator[tuple[datetime, Chat, ChatParticipant, str]]:
        """Every next timer deadline: ``(when, chat, participant, timer type)``."""
        for contact_id, timers in self._timers.items():
            chat = self.chats.get(contact_id)
            if chat is None or chat.ended or timers.running_since is None:
                continue
            for participant in chat.active_participants():
                if participant.role not in ("CUSTOMER", "AGENT"):
                    continue
                start = max(timers.running_since, timers.last_message.get(participant.participant_id, timers.running_since))
                idle = timers.durations.get((participant.role, IDLE))
                idle_since = timers.idle_since.get(participant.participant_id)
                if idle is not None and idle_since is None:
                    yield start + idle, chat, participant, IDLE
                    continue
                disconnect = timers.durations.get((participant.role, DISCONNECT))
                if disconnect is not None and participant.participant_id not in timers.disconnected:
                    yield (idle_since or start) + disconnect, chat, participant, DISCONNECT

    def _fire_due_timers(self) -> int:
        """Fire every timer whose deadline has passed on the backend's clock, oldest first; how many."""
        fired = 0
        for _ in range(10_000):  # each firing changes the state it is read from: bounded, not endless
            with self._lock:
                now = self._now()
                due = [entry for entry in self._due() if entry[0] <= now]
                if not due:
                    break
                when, chat, participant, timer_type = min(due, key=lambda entry: entry[0])
                timers = self._timers[chat.contact_id]
                if timer_type == IDLE:
                    timers.idle_since[participant.participant_id] = when
                else:
                    timers.disconnected.add(participant.participant_id)  # once per idleness
            if timer_type == IDLE:
                chat.add_item("EVENT", PARTICIPANT_IDLE, participant, store=False)
            else:
                self._auto_disconnect(chat, participant)
            fired += 1
        self._arm()
        return fired

    def _auto_disconnect(self, chat: Chat, idle: ChatParticipant) -> None:
        """The agent leaves "due to customer idleness" or "due to agent idleness"."""
        agents = [idle] if idle.role == "AGENT" else [p for p in chat.active_participants() if p.role == "AGENT"]
        for agent in agents:
            chat.add_item("EVENT", AUTODISCONNECTION, agent, store=False)
            self._leave(chat, agent)

    def _arm(self) -> None:
        """Fire the next timer in real time too (for ``serve``), from one background timer."""
        with self._lock:
            if self._alarm is not None:
                self._alarm.cancel()
                self._alarm = None
            deadlines = [entry[0] for entry in self._due()]
            if not deadlines:
                return
            delay = max((min(deadlines) - self._now()).total_seconds(), 0.0)
            self._alarm = threading.Timer(delay, self._fire_due_timers)
            self._alarm.daemon = True
            self._alarm.start()

    def _stop_timers(self) -> None:
        with self._lock:
            if self._alarm is not None:
                self._alarm.cancel()
                self._alarm = None
