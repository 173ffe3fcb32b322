"""Safe file names for files written from names the service sends."""

from __future__ import annotations

import unicodedata

_FORBIDDEN = set('<>:"|?*')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
_MAX_NAME_BYTES = 255


def safe_filename(name: object, default: str = "attachment") -> str:
    """Turn a name from the service into a plain file name that stays inside its directory.

    Keeps only the last path component (``/`` and ``\\`` both count as separators), drops
    control characters (NUL included) and characters Windows forbids, strips leading and
    trailing dots and spaces (no ``..``, no hidden files), avoids Windows device names and
    keeps the name within 255 bytes, preserving the extension.
    """
    text = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable() and ch not in _FORBIDDEN)
    text = text.strip(" .")
    if not text:
        return default
    stem = text.partition(".")[0]
    if stem.upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return _truncate(text)


def _truncate(text: str) -> str:
    if len(text.encode("utf-8")) <= _MAX_NAME_BYTES:
        return text
    stem, dot, ext = text.rpartition(".")
    suffix = (dot + ext) if dot and len(ext) <= 16 else ""
    base = stem if suffix else text
    budget = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    while len(base.encode("utf-8")) > budget:
        base = base[:-1]
    return base + suffix
