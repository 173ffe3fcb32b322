"""``connectparticipant-ext chat`` with someone on the other side: typing and receipts both ways,
on a terminal (a pseudo-terminal, keys typed one by one as a person would) and with piped input.
The other side is a bot driven through the library in this process."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from connectparticipant_ext import ChatEvent, ChatService, TranscriptItem

from _helpers import TIMEOUT, Chat, running_server

WAIT = 20.0


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture
def chat(server: str) -> Chat:
    return Chat(server)


class Seen:
    """What a background reader has collected, and a bounded wait for what a test expects."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.changed = threading.Condition()

    def add(self, value: Any) -> None:
        with self.changed:
            self.items.append(value)
            self.changed.notify_all()

    def wait_for(self, wanted: Callable[[list[Any]], Any], what: str) -> Any:
        with self.changed:
            found = self.changed.wait_for(lambda: wanted(self.items), timeout=WAIT)
        assert found, f"no {what} within {WAIT:.0f} s; saw {self.items!r}"[:3000]
        return found


@pytest.fixture
def bob(chat: Chat) -> Iterator[tuple[Any, Seen]]:
    """A CUSTOM_BOT named Bob in the chat, with everything his live stream sees."""
    token = chat.connect.create_participant(
        InstanceId="instance-1",
        ContactId=chat.contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bob"},
    )["ParticipantCredentials"]["ParticipantToken"]
    conn = ChatService(region_name="us-east-1", endpoint_url=chat.endpoint_url).Participant(token).create_connection()
    seen = Seen()
    with conn.stream() as stream:
        reader = threading.Thread(target=lambda: [seen.add(item) for item in stream], daemon=True)
        reader.start()
        yield conn, seen
        stream.close()
        reader.join(timeout=10)


def _typing_from(role: str) -> Callable[[list[TranscriptItem]], bool]:
    return lambda items: any(i.event is ChatEvent.TYPING and i.participant_role == role for i in items)


def _message(text: str) -> Callable[[list[TranscriptItem]], Any]:
    return lambda items: next((i for i in items if i.is_message and i.content == text), None)


def _read_receipt_for(message_id: str) -> Callable[[list[TranscriptItem]], bool]:
    return lambda items: any(
        i.type == "MESSAGEMETADATA"
        and i.message_metadata is not None
        and i.message_metadata.message_id == message_id
        and any(r.read_at for r in i.message_metadata.receipts)
        for i in items
    )


def test_piped_chat_shows_typing_and_receipts_and_marks_what_it_shows_read(chat: Chat, bob: Any) -> None:
    bob_conn, bob_sees = bob
    process = subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", "chat", "--endpoint-url", chat.endpoint_url],
        env=chat.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = Seen(), Seen()
    readers = [
        threading.Thread(target=lambda p=pipe, s=seen: [s.add(line) for line in p], daemon=True)
        for pipe, seen in ((process.stdout, out), (process.stderr, err))
    ]
    for reader in readers:
        reader.start()
    try:
        err.wait_for(lambda lines: any("joined chat contact" in line for line in lines), "join notice")
        err.wait_for(lambda lines: any("type a message" in line for line in lines), "the chat live")
        bob_conn.send_typing()
        err.wait_for(lambda lines: any("Bob is typing…" in line for line in lines), "Bob typing")
        said = bob_conn.send_message("hi Ann")
        out.wait_for(lambda lines: any("Bob: hi Ann" in line for line in lines), "Bob's message")
        bob_sees.wait_for(_read_receipt_for(said.id), "read receipt for what chat showed")

        assert process.stdin is not None
        process.stdin.write("hello Bob\n")
        process.stdin.flush()
        mine = bob_sees.wait_for(_message("hello Bob"), "Ann's message")
        bob_conn.send_read_receipt(mine.id)
        out.wait_for(lambda lines: any("(read by Bob: hello Bob)" in line for line in lines), "the receipt shown")
        process.stdin.write("/quit\n")
        process.stdin.flush()
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        for reader in readers:
            reader.join(timeout=TIMEOUT)
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    assert "Ann is typing" not in "".join(err.items)
    assert chat.participant_token not in "".join(out.items + err.items)


class Terminal:
    """The command on a pseudo-terminal: keys in, the screen's bytes out."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, self.slave = pty.openpty()
        self.initial_modes = termios.tcgetattr(self.slave)[3]  # local modes: ECHO, ICANON...
        self.process = subprocess.Popen(
            [sys.executable, "-m", "connectparticipant_ext", *args],
            env={**env, "TERM": "xterm", "COLUMNS": "100", "LINES": "30"},
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
        )
        self.screen = Seen()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.screen.add(chunk.decode("utf-8", "replace"))

    @property
    def text(self) -> str:
        with self.screen.changed:
            return "".join(self.screen.items)

    def wait_for_text(self, text: str) -> None:
        self.screen.wait_for(lambda chunks: text in "".join(chunks), repr(text))

    def type(self, keys: str) -> None:
        for key in keys:  # one key at a time, as a person types
            os.write(self.master, key.encode("utf-8"))
            time.sleep(0.01)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        os.close(self.master)
        os.close(self.slave)


def test_chat_on_a_terminal_sends_typing_while_you_type_and_edits_the_line(chat: Chat, bob: Any) -> None:
    bob_conn, bob_sees = bob
    terminal = Terminal(["chat", "--endpoint-url", chat.endpoint_url], chat.env)
    try:
        terminal.wait_for_text("> ")
        terminal.type("hel")
        bob_sees.wait_for(_typing_from("CUSTOMER"), "typing from the terminal before Enter")
        assert not _message("hel")(bob_sees.items)
        terminal.type("lx\x7fo\r")  # a typo, Backspace, Enter
        bob_sees.wait_for(_message("hello"), "the edited line")

        terminal.type("junk\x15")  # Ctrl+U drops the line
        terminal.type("\x1b[A\x1b[D")  # arrow keys are ignored, not typed
        terminal.type("bye now\x17all\r")  # Ctrl+W drops the last word
        bob_sees.wait_for(_message("bye all"), "the line after Ctrl+U, arrows and Ctrl+W")

        terminal.type("draft")
        bob_conn.send_typing()
        terminal.wait_for_text("[Bob is typing…] > draft")  # others' typing on the prompt line, the draft kept
        said = bob_conn.send_message("a question for you")
        terminal.wait_for_text("Bob: a question for you")
        bob_sees.wait_for(_read_receipt_for(said.id), "read receipt for what the terminal showed")
        after = terminal.text.rpartition("Bob: a question for you")[2]
        assert "> draft" in after  # drawn again below the new line
        mine = _message("hello")(bob_sees.items)
        bob_conn.send_read_receipt(mine.id)
        terminal.wait_for_text("(read by Bob: hello)")

        terminal.type("\x15\x04")  # Ctrl+U, then Ctrl+D on the empty line leaves
        assert terminal.process.wait(timeout=TIMEOUT) == 0
        terminal.wait_for_text("you left the chat")
        assert "Ann is typing" not in terminal.text  # its own typing is not someone else's
        assert "\x1b]" not in terminal.text and chat.participant_token not in terminal.text
        restored = termios.tcgetattr(terminal.slave)[3]
        assert restored == terminal.initial_modes
    finally:
        terminal.close()
    messages = [i.content for i in bob_sees.items if i.is_message and i.participant_role == "CUSTOMER"]
    assert messages == ["hello", "bye all"]
