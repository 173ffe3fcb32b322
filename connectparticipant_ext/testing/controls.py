"""The test controls of the chat backend: switches and actors a public API call cannot reach.

:class:`ChatControls` is mixed into :class:`~connectparticipant_ext.testing.ChatBackend` (which
keeps the service's operations, moto style): fault injection, failing uploads, revoked tokens,
views, the attachment verdict, the other side of a chat (:meth:`~ChatControls.join_as_agent`),
bot replies and service events, interactive messages, the Authenticate Customer flow block, the
backend's clock and the websocket switches.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Optional, Union

from .authentication import AUTHENTICATION, AUTHENTICATION_OUTCOMES, GET_URL_WINDOW, AuthenticationSessions
from .base import ChatBackendBase
from .exceptions import InternalServerException, ThrottlingException
from .state import (
    CHAT_ENDED,
    EVENT,
    INTERACTIVE,
    MAX_CONTENT_LENGTH,
    SERVICE_EVENT_CONTENT_TYPES,
    STORED_EVENT_CONTENT_TYPES,
    Chat,
)
from .timers import ParticipantTimers
from .validation import PARTICIPANT_SERVICE, operation_model, violations

if TYPE_CHECKING:
    from .agent import BackendAgent

__all__ = ["ChatControls", "check_faults", "take_upload_failure"]

DEFAULT_VIEW_TEMPLATE = json.dumps({"Head": {"Title": "View"}, "Body": []})
"""A view template is a JSON string (the view's components); this one shows an empty view."""

_OUTCOME_ALIASES = {"successful": "succeeded", "success": "succeeded", "canceled": "cancelled"}


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


class ChatControls(AuthenticationSessions, ParticipantTimers, ChatBackendBase):
    """Test switches and actors of a :class:`~connectparticipant_ext.testing.ChatBackend`."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._faults: Optional[_FaultPlan] = None
        self._upload_failures: list[int] = []
        self._upload_failures_lock = threading.Lock()  # uploads are served on the server's threads

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

    def fail_next_uploads(self, count: int = 1, status: int = 500) -> None:
        """Make the next ``count`` PUTs to attachment upload URLs fail with ``status``."""
        with self._upload_failures_lock:
            self._upload_failures.extend([status] * count)

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
        template: str = DEFAULT_VIEW_TEMPLATE,
        actions: Optional[list[str]] = None,
        input_schema: str = "{}",
        version: int = 1,
        instance_id: str = "instance-1",
    ) -> str:
        """Register a step-by-step guide view; returns the view token DescribeView takes.

        The view is checked against the ``View`` shape DescribeView answers with (botocore's
        connectparticipant model: ``Name`` 1 to 255 characters of its pattern, ``Version`` a
        number); its ARN is a view ARN of the instance
        (``arn:aws:connect:<region>:<account>:instance/<instance id>/view/<view id>``). ``Template``
        and ``InputSchema`` are JSON strings, as the iOS SDK's fixtures show them
        (``ViewResourceTests.swift``: ``"Template": "{}"``).
        """
        view_id = str(uuid.uuid4())
        view = {
            "Id": view_id,
            "Arn": f"arn:aws:connect:{self.region_name}:{self.account_id}:instance/{instance_id}/view/{view_id}",
            "Name": name,
            "Version": version,
            "Content": {"InputSchema": input_schema, "Template": template, "Actions": list(actions or [])},
        }
        problems = violations(operation_model(PARTICIPANT_SERVICE, "DescribeView").output_shape.members["View"], view)
        if problems:
            raise ValueError("the view does not fit DescribeView's View shape: " + "; ".join(str(p) for p in problems))
        token = f"view-{uuid.uuid4().hex}"
        self.views[token] = view
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

    def join_as_agent(self, contact_id: str, display_name: str = "Agent", role: str = "AGENT") -> BackendAgent:
        """Add a participant to a chat and connect it, for a test to act as the other side.

        An agent reaches a chat through routing, not through ``connect.create_participant``
        (which adds only CUSTOM_BOT participants to a chat); this control is that route.
        It then connects the way ``CreateParticipantConnection`` (``ConnectParticipant=True``)
        would, straight on the backend; see :class:`BackendAgent`.
        """
        from .agent import BackendAgent

        token = self.add_participant(contact_id, role, display_name)["ParticipantCredentials"]["ParticipantToken"]
        participant = self.participant_tokens[token]
        connection = self.create_participant_connection(token, ["CONNECTION_CREDENTIALS"], True)
        return BackendAgent(
            self, contact_id, participant.participant_id, connection["ConnectionCredentials"]["ConnectionToken"]
        )

    def add_participant(self, contact_id: str, role: str = "AGENT", display_name: str = "Agent") -> dict[str, Any]:
        """Add an AGENT (or SUPERVISOR, CUSTOM_BOT) to a chat; the answer is shaped like CreateParticipant's.

        For a test that drives the agent's side with the library itself (``chat.Participant(token)``):
        the service gives agents their participant token through routing, which public calls
        cannot reach.
        """
        if role not in ("AGENT", "SUPERVISOR", "CUSTOM_BOT"):
            raise ValueError("role must be AGENT, SUPERVISOR or CUSTOM_BOT")
        chat = self._connect_chat(self.get_chat(contact_id).instance_id, contact_id)
        return self._add_participant(chat, role, display_name)

    def stream_bot_reply(self, contact_id: str, chunks: list[str] | tuple[str, ...]) -> str:
        """Send a Lex streamed reply ("chat message streaming"); returns its Id.

        Each chunk is pushed live as a ``MESSAGE`` item with the same Id, role SYSTEM,
        ``MessageMetadata: {"MessageCompleted": false, "ChunkNumber": n}`` (n from 1), carrying
        the next piece; then one item with ``MessageCompleted: true`` carrying the whole text,
        which is the one GetTranscript keeps. The wire shape is the one amazon-connect-chatjs 5
        stitches (src/core/PartialMessageUtil.js and its spec).
        """
        pieces = [str(chunk) for chunk in chunks]
        if not pieces or not all(pieces):
            raise ValueError("chunks must be a non-empty list of non-empty strings")
        chat = self._live_chat(contact_id)
        reply_id = str(uuid.uuid4())
        for number, piece in enumerate(pieces, start=1):
            chat.add_item(
                "MESSAGE",
                "text/plain",
                None,
                piece,
                store=False,
                item_id=reply_id,
                sender="system",
                MessageMetadata={"MessageId": reply_id, "MessageCompleted": False, "ChunkNumber": number},
            )
        chat.add_item(
            "MESSAGE",
            "text/plain",
            None,
            "".join(pieces),
            item_id=reply_id,
            sender="system",
            MessageMetadata={"MessageId": reply_id, "MessageCompleted": True},
        )
        return reply_id

    def send_flow_message(self, contact_id: str, content: str, content_type: str = "text/plain") -> str:
        """A message from the contact flow (or a bot): role SYSTEM, display name SYSTEM_MESSAGE. Returns its Id.

        Works after the customer has left a chat that runs a disconnect flow (a survey).
        """
        chat = self._live_chat(contact_id)
        if not content or len(content.encode("utf-8")) > MAX_CONTENT_LENGTH:
            raise ValueError("content must have 1 to 16384 bytes")
        return str(chat.add_item("MESSAGE", content_type, None, content, sender="system")["Id"])

    def emit_event(
        self, contact_id: str, content_type: str, content: Optional[str] = None, *, participant_id: Optional[str] = None
    ) -> str:
        """A service event (idle, returned, auto-disconnection, transfer, rehydrated, authentication.*); its Id.

        ``content_type`` is the full content type or its suffix (``"participant.idle"``); it must
        be one amazon-connect-chatjs 5 names (src/constants.js). Events the GetTranscript
        reference lists as kept (participant.invited/joined/left, chat.ended, transfer.*) are
        stored; the others are pushed on the websocket only. ``chat.ended`` ends the chat.

        With ``participant_id`` the event carries that participant's ``ParticipantId``,
        ``DisplayName`` and ``ParticipantRole`` (who went idle, came back, was renamed);
        otherwise it comes from SYSTEM.
        """
        full = content_type if content_type.startswith(EVENT) else EVENT + content_type
        if full not in SERVICE_EVENT_CONTENT_TYPES:
            raise ValueError(f"{content_type!r} is not an event the service sends")
        chat = self._live_chat(contact_id)
        about = None
        if participant_id is not None:
            about = chat.participants.get(participant_id)
            if about is None:
                raise ValueError(f"no participant {participant_id!r} in the chat")
        if full == CHAT_ENDED:
            self._end_chat(chat)
            return str(chat.items[-1]["Id"])
        kept = full in STORED_EVENT_CONTENT_TYPES
        item = chat.add_item("EVENT", full, about, content, store=kept, sender="participant" if about else "system")
        return str(item["Id"])

    def set_disconnect_flow(self, contact_id: str, enabled: bool = True) -> None:
        """Give a chat a disconnect flow: when the customer leaves, the agents are disconnected and
        the chat goes on (flow messages, a survey) until ``connect.stop_contact``. The same as
        starting it with ``DisconnectOnCustomerExit=["AGENT"]``."""
        self._live_chat(contact_id).disconnect_flow = enabled

    def _live_chat(self, contact_id: str) -> Chat:
        chat = self.get_chat(contact_id)
        if chat.ended:
            raise ValueError(f"the chat {contact_id} has ended")
        return chat

    def drop_websockets(self, contact_id: Optional[str] = None) -> int:
        """Abruptly close open websockets (of one chat, or of every chat). Returns how many."""
        from .websocket import get_hub

        key = self.get_chat(contact_id).key if contact_id else None
        return get_hub().drop_sockets(key)

    def answer_heartbeats(self, answer: bool) -> None:
        """Switch the websocket server's heartbeat answers on or off."""
        from .websocket import get_hub

        get_hub().answer_heartbeats = answer

    def finish_attachment_scans(self, contact_id: Optional[str] = None) -> int:
        """End every pending attachment scan (of one chat, or all): each verdict is pushed now.

        Returns how many verdicts were sent. A test control: with
        ``settings.attachment_pending_reads`` above 0 the verdict otherwise arrives when those
        transcript reads are used up.
        """
        done = 0
        for record in list(self.uploads.values()):
            if record.completed and record.pending_reads > 0 and contact_id in (None, record.contact_id):
                record.pending_reads = 0
                self._push_verdict(record)
                done += 1
        return done

    # -- the backend's clock ----------------------------------------------------------------------

    def advance_clock(self, by: Union[float, timedelta]) -> datetime:
        """Move the backend's clock forward and fire what falls due; returns the new time.

        Args:
            by: seconds or a timedelta (not negative).

        Token and chat expiry, the authentication URL window, participant timers
        (``connect.update_participant_role_config``: ``participant.idle``, auto-disconnection)
        and the times of new items follow the backend's clock; the websocket server keeps the
        wall clock.
        """
        delta = by if isinstance(by, timedelta) else timedelta(seconds=float(by))
        now = self._clock.advance(delta)
        self._fire_due_timers()
        return now

    # -- interactive messages ----------------------------------------------------------------------

    def send_interactive(self, contact_id: str, template: Union[dict[str, Any], str], display_name: str = "BOT") -> str:
        """Send an interactive message as a Lex bot does; returns its item id.

        The template is checked as the admin guide's "Add Amazon Lex interactive messages" page
        asks: a known ``templateType``, ``version`` "1.0", ``data.content``, the mandatory
        ``title`` and ``elements`` and the element counts (see :func:`_check_template`), and the
        whole message under 20 KB ("The SendMessage API checks only that the total size of the
        string is less than 20KB"). String lengths are not checked: they are "expected to be
        enforced by the client".

        Args:
            contact_id: the chat.
            template: the template dict (``{"templateType": ..., "version": "1.0", "data":
                {"content": {...}}}``) or its JSON.
            display_name: the sender's display name (role ``SYSTEM``).
        """
        if isinstance(template, str):
            try:
                parsed = json.loads(template)
            except ValueError:
                raise ValueError("template must be a JSON object") from None
        else:
            parsed = template
        _check_template(parsed)
        content = template if isinstance(template, str) else json.dumps(template)
        if len(content.encode("utf-8")) >= INTERACTIVE_MESSAGE_LIMIT:
            raise ValueError("an interactive message must be under 20 KB")
        chat = self._live_chat(contact_id)
        item = chat.add_item("MESSAGE", INTERACTIVE, None, content, DisplayName=display_name)
        return str(item["Id"])

    # -- the Authenticate Customer flow block ------------------------------------------------------

    def initiate_authentication(self, contact_id: str, url_window: Union[float, timedelta] = GET_URL_WINDOW) -> str:
        """Play an Authenticate Customer block: send ``authentication.initiated``; returns the session id.

        Args:
            contact_id: the chat.
            url_window: how long after this event ``GetAuthenticationUrl`` is accepted (seconds
                or a timedelta; the service's is one minute).
        """
        window = url_window if isinstance(url_window, timedelta) else timedelta(seconds=float(url_window))
        if window <= timedelta(0):
            raise ValueError("url_window must be positive")
        return self._initiate_authentication(self._live_chat(contact_id), window)

    def finish_authentication(self, session_id: str, outcome: str) -> str:
        """End an authentication session with an outcome event; returns the event's item id.

        Args:
            session_id: from :meth:`initiate_authentication`.
            outcome: ``"succeeded"``, ``"failed"``, ``"timeout"``, ``"expired"`` or
                ``"cancelled"`` (``"successful"`` and ``"canceled"`` are accepted too).
        """
        name = _OUTCOME_ALIASES.get(outcome.lower(), outcome.lower()) if isinstance(outcome, str) else ""
        if name not in AUTHENTICATION_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(AUTHENTICATION_OUTCOMES)}; got {outcome!r}")
        contact_id, ended = self._session_chat(session_id)
        if ended is not None:
            raise ValueError(f"authentication session {session_id!r} already ended ({ended})")
        chat = self._live_chat(contact_id)
        content = json.dumps({"SessionId": session_id})
        item = chat.add_item("EVENT", AUTHENTICATION + name, None, content, store=False)
        return str(item["Id"])

    def authentication_sessions(self, contact_id: str) -> list[dict[str, Any]]:
        """The chat's authentication sessions, oldest first: id, outcome, URLs issued."""
        return self._authentication_records(contact_id)


def check_faults(backend: ChatControls, operation: str) -> None:
    """Raise the injected fault due for this call of ``operation``, if any (see ``inject_faults``)."""
    faults = backend._faults
    if faults is not None:
        faults.check(operation)


def take_upload_failure(backend: ChatControls) -> Optional[int]:
    """Take the next failure status set by ``fail_next_uploads``, if any."""
    with backend._upload_failures_lock:
        return backend._upload_failures.pop(0) if backend._upload_failures else None


INTERACTIVE_MESSAGE_LIMIT = 20 * 1024
"""Admin guide, interactive messages: "the total size of the string is less than 20KB"."""

TEMPLATE_TYPES = ("ListPicker", "TimePicker", "Panel", "QuickReply", "Carousel", "ViewResource")
"""The template types the admin guide documents, and ViewResource (step-by-step guides)."""

_TITLED = ("ListPicker", "TimePicker", "Panel", "QuickReply")
_MAX_ELEMENTS = {"ListPicker": 6, "Panel": 10}
"""Admin guide: a list picker presents "a list of up to six choices"; a panel up to ten."""


def _check_template(template: Any) -> None:
    """Refuse a template a contact flow would not send (admin guide, "Add Amazon Lex interactive
    messages": "flows validate that the message format follows one of these templates"; its
    bold fields are mandatory and "All other field limits must be followed")."""
    if not isinstance(template, dict):
        raise ValueError("template must be a JSON object")
    kind = template.get("templateType")
    if kind not in TEMPLATE_TYPES:
        raise ValueError(f"templateType must be one of {', '.join(TEMPLATE_TYPES)}; got {kind!r}")
    if template.get("version") != "1.0":
        raise ValueError(f'a {kind} template needs "version": "1.0" (the only version the admin guide documents)')
    data = template.get("data")
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, dict):
        raise ValueError(f"a {kind} template needs data.content, an object with the template's fields")
    if kind in _TITLED and not (isinstance(content.get("title"), str) and content["title"]):
        raise ValueError(f"a {kind} template needs data.content.title")
    if kind in ("ListPicker", "Panel", "QuickReply", "Carousel"):
        elements = content.get("elements")
        if not isinstance(elements, list) or not elements:
            raise ValueError(f"a {kind} template needs data.content.elements, a non-empty list")
        limit = _MAX_ELEMENTS.get(kind)
        if limit is not None and len(elements) > limit:
            raise ValueError(f"a {kind} template takes at most {limit} elements; this one has {len(elements)}")
        if kind != "Carousel" and not all(isinstance(e, dict) and e.get("title") for e in elements):
            raise ValueError(f"every element of a {kind} template needs a title")
    if kind == "TimePicker":
        slots = content.get("timeslots")
        if not isinstance(slots, list) or not slots:
            raise ValueError("a TimePicker template needs data.content.timeslots, a non-empty list")
