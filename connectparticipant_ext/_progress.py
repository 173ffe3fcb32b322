"""A one-line progress indicator for the command line, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

_REDRAW_EVERY = 0.1  # seconds


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):  # powers of 1024: the IEC names, not KB/MB
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover - the loop always returns


class Progress:
    """Redraws ``label: done/total`` on one line of ``stream`` (stderr), if it is a terminal.

    Call it as a progress callback, ``progress(done, total)`` for bytes or ``progress(count)``
    for items; call :meth:`finish` at the end. Off a terminal it writes nothing, so redirected
    output and logs stay clean.
    """

    def __init__(self, label: str, *, unit: str = "bytes", stream: Optional[TextIO] = None) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < _REDRAW_EVERY and (total is None or done < total):
            return
        self._last = now
        if self.unit == "bytes":
            text = _human(done) + (f" / {_human(total)} ({100 * done // max(total, 1)}%)" if total else "")
        else:
            text = f"{done} {self.unit}"
        self.stream.write(f"\r{self.label}: {text}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the line, if anything was drawn."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
