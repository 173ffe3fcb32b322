"""Safe file names for files written from names the service sends."""

from __future__ import annotations

import unicodedata

_FORBIDDEN = set('<>:"|?*')
# Windows device names, with or without an extension: COM0-9 and LPT0-9 include the superscript
# digits ¹ ² ³, and the console has CONIN$ and CONOUT$ (Microsoft's "Naming Files, Paths, and
# Namespaces").
_DIGITS = "0123456789\u00b9\u00b2\u00b3"
_WINDOWS_RESERVED = (
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {f"COM{d}" for d in _DIGITS} | {f"LPT{d}" for d in _DIGITS}
)
_MAX_EXTENSION = 16
_MAX_NAME_BYTES = 255


def safe_filename(name: object, default: str = "attachment") -> str:
    """Turn a name from the service into a plain file name that stays inside its directory.

    Keeps only the last path component (``/`` and ``\\`` both count as separators), drops
    control characters (NUL included) and characters Windows forbids, strips leading and
    trailing dots and spaces from the name and its stem (no ``..``, no hidden files), avoids
    Windows device names (``CON``, ``COM1``, ``COM¹``, ``CONIN$``...) and keeps the name within
    255 bytes, preserving the extension. A name that is only an extension keeps it:
    ``" .. .txt"`` becomes ``attachment.txt``.
    """
    text = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable() and ch not in _FORBIDDEN)
    text = text.rstrip(" .")  # Windows drops trailing dots and spaces: "a.txt. " is "a.txt"
    stem, dot, extension = text.rpartition(".")
    if not dot or not extension or len(extension) > _MAX_EXTENSION or " " in extension:
        stem, extension = text, ""
    stem = stem.strip(" .")
    if not stem:
        if not extension:
            return default
        stem = default
    text = stem + ("." + extension if extension else "")
    if stem.partition(".")[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
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
