"""An agent that joins every chat of the local backend, shows that it types, then answers.

``connectparticipant-ext serve --agent echo`` runs it, so a customer-side app (the Django
example, ``connectparticipant-ext chat``) has someone to talk to without a line of code::

    from connectparticipant_ext.testing.echo import EchoAgents

    with EchoAgents(delay=0.5):           # every chat started from now on gets an agent
        ...

For each new chat it calls :meth:`ChatBackend.join_as_agent` and listens to the chat
(:meth:`Chat.add_listener`). For each customer message it sends a typing event, waits ``delay``
seconds, sends a read receipt and answers ``"Echo: <the message>"``; for an attachment it
answers with the file's name. It leaves nothing behind when the chat ends.

The receipt waits with the answer because a real agent's receipt never arrives in the instant
the message is written: the agent's client gets the message over its websocket first, then
calls SendEvent (amazon-connect-chatjs ``src/core/MessageReceiptsUtil.js``). AWS's chat widget
relies on that: it drops a receipt for a message whose Id it does not know yet, and it learns
the Id from its own SendMessage answer (amazon-connect-chat-interface
``src/components/Chat/ChatSession.js``, ``_handleMessageReceipt``), so a receipt sent as the
message arrived was often lost (no "Read" under the message).

New chats are found by looking at the backends every ``poll_interval`` seconds (the backend
has no "chat started" hook), so an agent joins within that time of ``StartChatContact``.

Each chat is answered on its own schedule: its messages are answered one after another, each
``delay`` after its typing event, but one chat's backlog never holds up another's answer (thirty
messages in one chat, then one in another: the second chat's answer comes after ``delay``, while
the first is still being worked through). One worker thread keeps every chat's next deadline in
a heap and sleeps until the earliest; nothing is sent from inside the backend's listener call.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .agent import BackendAgent
    from .models import ChatBackend
    from .state import Chat

__all__ = ["EchoAgents", "echo_reply"]

logger = logging.getLogger(__name__)

_CUSTOMER = "CUSTOMER"


def echo_reply(item: dict[str, Any]) -> Optional[str]:
    """The echo agent's answer to a chat item, or None when it does not answer it."""
    if item.get("ParticipantRole") != _CUSTOMER:
        return None
    if item.get("Type") == "MESSAGE":
        return f"Echo: {item.get('Content', '')}"
    if item.get("Type") == "ATTACHMENT":
        names = ", ".join(str(a.get("AttachmentName", "?")) for a in item.get("Attachments") or ())
        return f"Thanks, I got {names}."
    return None


def _all_backends() -> Iterator[ChatBackend]:
    from .models import chat_backends

    # Plain dict views: moto's BackendDict would create an account on a missing key.
    for regions in list(dict.values(chat_backends)):
        yield from list(dict.values(regions))


class EchoAgents:
    """Give every chat of the local backend an agent that types, then echoes; see the module doc.

    Args:
        delay: seconds between the typing event and the answer.
        poll_interval: how often to look for new chats.
        display_name: the agent's name in the chat.
        reply: what to answer to an item (default :func:`echo_reply`); None sends nothing.
        backends: the backends to watch (default: every account's and region's).
    """

    def __init__(
        self,
        *,
        delay: float = 1.0,
        poll_interval: float = 0.1,
        display_name: str = "Echo agent",
        reply: Callable[[dict[str, Any]], Optional[str]] = echo_reply,
        backends: Optional[Callable[[], Iterator[ChatBackend]]] = None,
    ) -> None:
        for name, value in (("delay", delay), ("poll_interval", poll_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number of seconds, 0 or more")
        self.delay = float(delay)
        self.poll_interval = max(0.01, float(poll_interval))
        self.display_name = display_name
        self._reply = reply
        self._backends = backends or _all_backends
        self._seen: set[Hashable] = set()
        self._ready = threading.Condition(threading.Lock())
        self._waiting: dict[Hashable, deque[tuple[BackendAgent, dict[str, Any]]]] = {}
        """Per chat: the customer's items not yet being answered, oldest first."""
        self._busy: set[Hashable] = set()
        """Chats with an answer under way (typing sent, the reply not yet)."""
        self._due: list[tuple[float, int, Hashable, BackendAgent, str, str]] = []
        """Heap of (monotonic deadline, n, chat, agent, item id, reply): the receipts and replies to send."""
        self._counter = itertools.count()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.joined = 0
        """How many chats an agent has joined."""

    def __repr__(self) -> str:
        return f"EchoAgents(joined={self.joined}, delay={self.delay})"

    def start(self) -> EchoAgents:
        # Chats that exist already get no agent: only those started from now on.
        self._seen.update(chat.key for backend in self._backends() for chat in list(backend.chats.values()))
        for target, name in ((self._watch, "echo-watch"), (self._answer, "echo-answer")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> EchoAgents:
        return self.start()

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.stop()

    # -- threads -----------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                for backend in self._backends():
                    for chat in list(backend.chats.values()):
                        if chat.key not in self._seen:
                            self._seen.add(chat.key)
                            self._join(backend, chat)
            except Exception:  # a development tool: log and keep watching
                logger.exception("the echo agent could not look at the chats")

    def _join(self, backend: ChatBackend, chat: Chat) -> None:
        if chat.ended:
            return
        try:
            agent = backend.join_as_agent(chat.contact_id, display_name=self.display_name)
        except Exception as exc:  # the chat ended in between, say
            logger.info("the echo agent could not join chat %s: %s", chat.contact_id, type(exc).__name__)
            return
        self.joined += 1

        def listener(item: dict[str, Any]) -> None:
            # Called by the backend while it adds the item: only hand it over.
            if item.get("ParticipantRole") == _CUSTOMER and item.get("Type") in ("MESSAGE", "ATTACHMENT"):
                with self._ready:
                    self._waiting.setdefault(chat.key, deque()).append((agent, item))
                    self._ready.notify()
            elif str(item.get("ContentType", "")).endswith("chat.ended"):
                chat.remove_listener(listener)

        chat.add_listener(listener)
        # What the customer sent before the agent joined (an initial message) is answered too.
        for item in list(chat.items):
            listener(item)

    def _answer(self) -> None:
        while True:
            work = self._next_work()
            if work is None:
                return
            starts, replies = work
            for key, agent, item in starts:
                self._begin(key, agent, item)
            for key, agent, item_id, text in replies:
                self._finish(key, agent, item_id, text)

    def _next_work(
        self,
    ) -> Optional[
        tuple[list[tuple[Hashable, BackendAgent, dict[str, Any]]], list[tuple[Hashable, BackendAgent, str, str]]]
    ]:
        """Wait for answers to begin (an idle chat with a waiting item) or replies that are due."""
        with self._ready:
            while not self._stop.is_set():
                starts = []
                for key, waiting in self._waiting.items():
                    if key not in self._busy and waiting:
                        self._busy.add(key)
                        starts.append((key, *waiting.popleft()))
                now = time.monotonic()
                replies = []
                while self._due and self._due[0][0] <= now:
                    _, _, key, agent, item_id, text = heapq.heappop(self._due)
                    replies.append((key, agent, item_id, text))
                if starts or replies:
                    return starts, replies
                self._ready.wait(self._due[0][0] - now if self._due else None)
            return None

    def _begin(self, key: Hashable, agent: BackendAgent, item: dict[str, Any]) -> None:
        """Show the agent typing, and schedule the receipt and reply ``delay`` from now."""
        try:
            text = self._reply(item)
            if text is None:
                self._done(key)
                return
            agent.typing()
        except Exception as exc:  # the chat ended or the agent left: nothing to answer
            logger.info("the echo agent did not answer: %s", type(exc).__name__)
            self._done(key)
            return
        with self._ready:
            heapq.heappush(
                self._due, (time.monotonic() + self.delay, next(self._counter), key, agent, str(item["Id"]), text)
            )

    def _finish(self, key: Hashable, agent: BackendAgent, item_id: str, text: str) -> None:
        try:
            agent.read(item_id)
        except Exception as exc:  # refused with more than two participants (as the service does)
            logger.info("the echo agent sent no read receipt: %s", type(exc).__name__)
        try:
            agent.send(text)
        except Exception as exc:  # the chat ended or the agent left meanwhile
            logger.info("the echo agent did not answer: %s", type(exc).__name__)
        self._done(key)

    def _done(self, key: Hashable) -> None:
        """The chat's answer is out: its next waiting item may begin."""
        with self._ready:
            self._busy.discard(key)
            if not self._waiting.get(key, True):
                del self._waiting[key]
            self._ready.notify()
