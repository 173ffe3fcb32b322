"""Text from a chat or a service, made safe to show on a terminal.

A chat message, a display name, an attachment name or a service's error message is text
someone else wrote. Written raw to a terminal, its control characters can move the cursor,
clear the screen, set the window title (OSC), fake other lines or reorder text (bidi
overrides). Everything the command line shows that it did not write itself goes through
one of these functions.
"""

from __future__ import annotations

import codecs
import os
import re
import shutil
import threading
import unicodedata
from typing import Any, Callable, Optional, TextIO

__all__ = ["CONTROL", "ChatScreen", "LineEditor", "escape_controls", "escape_json_controls", "printable"]

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal acts on instead of showing: C0 (but tab and newline) and C1 controls,
DEL, the Unicode line and paragraph separators, and the bidi embeddings, overrides and isolates."""


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: object) -> str:
    """``text`` with each control character shown as ``\\xNN`` or ``\\uNNNN`` (tab and newline kept)."""
    value = "" if text is None else str(text)
    return CONTROL.sub(_shown, value)


def printable(text: object) -> str:
    """``text`` made safe for one terminal line: control characters shown, newlines as ``⏎``."""
    value = "" if text is None else str(text)
    value = value.replace("\r\n", "\n").replace("\n", " ⏎ ")
    return escape_controls(value)


def escape_json_controls(text: str) -> str:
    """JSON text with the control characters JSON leaves raw (DEL, C1, separators, bidi) as
    ``\\uXXXX`` escapes: the same JSON value, safe on a terminal."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# -- the chat's screen and line editor ----------------------------------------------------------


def _cell_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _tail(text: str, width: int) -> str:
    """The end of ``text`` that fits in ``width`` terminal cells, ``…`` first when cut."""
    if sum(_cell_width(ch) for ch in text) <= width:
        return text
    kept: list[str] = []
    used = 1  # the ellipsis
    for ch in reversed(text):
        used += _cell_width(ch)
        if used > width:
            break
        kept.append(ch)
    return "…" + "".join(reversed(kept))


class ChatScreen:
    """Where ``chat`` writes, from any thread.

    Chat lines go to ``out``, notices to ``err``. On a terminal (``interactive``) the last line
    of ``err`` is the prompt line: who else is typing, the prompt, and what is being typed. It is
    cleared before any other line is written and drawn again below it, so nothing typed is lost
    from view when a message arrives.
    """

    def __init__(self, out: TextIO, err: TextIO, *, interactive: bool, prompt: str = "> ") -> None:
        self._out = out
        self._err = err
        self.interactive = interactive
        self._prompt = prompt
        self._lock = threading.RLock()
        self._input = ""
        self._status = ""
        self._prompt_on = False

    def line(self, text: str) -> None:
        """A chat line on ``out`` (already made printable)."""
        self._write(self._out, text)

    def notice(self, text: str) -> None:
        """A line on ``err`` (already made printable)."""
        self._write(self._err, text)

    def show_prompt(self, on: bool = True) -> None:
        with self._lock:
            if self.interactive and self._prompt_on and not on:
                self._err.write("\r\x1b[K")
                self._err.flush()
            self._prompt_on = on
            self._draw()

    def set_input(self, text: str) -> None:
        with self._lock:
            self._input = text
            self._draw()

    def set_status(self, text: str) -> None:
        with self._lock:
            if text != self._status:
                self._status = text
                self._draw()

    def _write(self, stream: TextIO, text: str) -> None:
        with self._lock:
            if self.interactive and self._prompt_on:
                self._err.write("\r\x1b[K")
                self._err.flush()
            print(text, file=stream, flush=True)
            self._draw()

    def _draw(self) -> None:
        if not (self.interactive and self._prompt_on):
            return
        columns = max(shutil.get_terminal_size().columns, 20)
        status = f"[{self._status}] " if self._status else ""
        status = _tail(status, columns // 2) if len(status) > columns // 2 else status
        room = max(columns - len(status) - len(self._prompt) - 1, 1)
        self._err.write(f"\r\x1b[K{status}{self._prompt}{_tail(self._input, room)}")
        self._err.flush()


class LineEditor:
    """A line of input from a terminal, read key by key (the terminal in cbreak mode).

    What is typed shows on the :class:`ChatScreen`'s prompt line as it grows, and
    ``on_change(text)`` is called after each edit, so the chat can say the user is typing before
    Enter is pressed. Keys: Enter ends the line; Backspace, Ctrl+U (the whole line) and Ctrl+W
    (the last word) delete; Ctrl+D on an empty line ends the input; Ctrl+L draws the line
    again; Ctrl+C interrupts as usual (signals stay on); other control keys and escape
    sequences (arrows, function keys) are ignored. The terminal's settings are restored on exit.
    """

    def __init__(self, fd: int, screen: ChatScreen, on_change: Callable[[str], None]) -> None:
        self._fd = fd
        self._screen = screen
        self._on_change = on_change
        self._saved: Optional[list[Any]] = None
        self._text = ""
        self._escape = ""  # an escape sequence being skipped: "", "esc", "csi" or "ss3"

    def __enter__(self) -> LineEditor:
        import termios

        self._saved = termios.tcgetattr(self._fd)
        settings = termios.tcgetattr(self._fd)
        settings[3] &= ~(termios.ECHO | termios.ICANON)  # lflag: no echo, key by key; ISIG stays
        settings[6][termios.VMIN] = 1
        settings[6][termios.VTIME] = 0
        termios.tcsetattr(self._fd, termios.TCSANOW, settings)
        return self

    def __exit__(self, *exc_info: object) -> None:
        import termios

        if self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSANOW, self._saved)
            self._saved = None

    def read_lines(self, put: Callable[[Optional[str]], None]) -> None:
        """Read keys until the input ends, passing each line to ``put`` (None at the end)."""
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        try:
            while True:
                try:
                    data = os.read(self._fd, 4096)
                except OSError:  # the terminal went away
                    data = b""
                if not data:
                    return
                for key in decoder.decode(data):
                    if self._key(key, put):
                        return
        finally:
            put(None)

    def _key(self, key: str, put: Callable[[Optional[str]], None]) -> bool:
        """Handle one key; True when the input has ended."""
        if self._escape:
            self._skip_escape(key)
            return False
        before = self._text
        if key in ("\r", "\n"):
            line, self._text = self._text, ""
            self._screen.set_input("")
            put(line)
            return False
        if key == "\x04" and not self._text:  # Ctrl+D on an empty line
            return True
        if key == "\x1b":
            self._escape = "esc"
        elif key in ("\x7f", "\x08"):
            self._text = self._text[:-1]
        elif key == "\x15":  # Ctrl+U
            self._text = ""
        elif key == "\x17":  # Ctrl+W
            self._text = re.sub(r"\S*\s*$", "", self._text.rstrip(), count=1) if self._text.strip() else ""
        elif key == "\x0c":  # Ctrl+L
            self._screen.set_input(self._text)
        elif key.isprintable():
            self._text += key
        if self._text != before:
            self._screen.set_input(self._text)
            self._on_change(self._text)
        return False

    def _skip_escape(self, key: str) -> None:
        if self._escape == "esc":
            self._escape = {"[": "csi", "O": "ss3"}.get(key, "")  # else Alt+key: dropped
        elif self._escape == "ss3":
            self._escape = ""
        elif "\x40" <= key <= "\x7e":  # the final byte of a CSI sequence
            self._escape = ""
