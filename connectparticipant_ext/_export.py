"""Writing transcript items out: a readable table, JSON Lines or CSV, one item at a time.

The writers consume an iterator lazily, so exporting a long chat never holds it in memory.
Text meant for a terminal has control characters replaced: a chat message must not be able
to move the cursor, clear the screen or fake other lines.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from typing import Callable, Optional, TextIO

from ._time import format_time
from .models import TranscriptItem

FORMATS = ("text", "jsonl", "csv")

CSV_COLUMNS = (
    "id",
    "absolute_time",
    "type",
    "content_type",
    "participant_role",
    "display_name",
    "participant_id",
    "content",
    "attachments",
    "contact_id",
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTENT_WIDTH = 200


def printable(text: object) -> str:
    """``text`` made safe for one terminal line: control characters shown, newlines as ``⏎``."""
    value = "" if text is None else str(text)
    value = value.replace("\r\n", "\n").replace("\n", " ⏎ ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def describe(item: TranscriptItem) -> str:
    """What a person reading a transcript wants to see for this item, on one line."""
    if item.is_attachment:
        names = ", ".join(f"{a.name or a.id} ({a.status or 'pending'})" for a in item.attachments)
        return f"[attachment] {names}"
    if item.is_message:
        return item.content or ""
    if item.type == "MESSAGEMETADATA" and item.message_metadata is not None:
        kinds = sorted(
            {
                "read" if r.read_at else "delivered"
                for r in item.message_metadata.receipts
                if r.read_at or r.delivered_at
            }
        )
        return f"[{'/'.join(kinds) or 'receipt'}] message {item.message_metadata.message_id}"
    if item.event_name:
        return f"[{item.event_name}]" + (f" {item.content}" if item.content else "")
    return f"[{item.type}] {item.content or ''}".rstrip()


def _who(item: TranscriptItem) -> str:
    name = item.display_name or item.participant_id or ""
    return f"{name} ({item.participant_role})" if item.participant_role else name


def _text_line(item: TranscriptItem) -> str:
    when = item.absolute_time.strftime("%Y-%m-%d %H:%M:%S") if item.absolute_time else "-"
    content = printable(describe(item))
    if len(content) > _CONTENT_WIDTH:
        content = content[: _CONTENT_WIDTH - 1] + "…"
    return f"{when}  {printable(_who(item))[:32]:<32}  {content}"


def _csv_row(item: TranscriptItem) -> list[str]:
    return [
        item.id,
        format_time(item.absolute_time) if item.absolute_time else "",
        item.type,
        item.content_type or "",
        item.participant_role or "",
        item.display_name or "",
        item.participant_id or "",
        item.content or "",
        ";".join(a.name or a.id for a in item.attachments),
        item.contact_id or "",
    ]


def write_transcript(
    items: Iterable[TranscriptItem],
    out: TextIO,
    fmt: str = "text",
    *,
    on_item: Optional[Callable[[int], None]] = None,
) -> int:
    """Write ``items`` to ``out`` in ``fmt`` (``text``, ``jsonl`` or ``csv``); return the count.

    ``jsonl`` writes each item's service dict (``item.raw``) unchanged, one JSON object per
    line; ``csv`` writes :data:`CSV_COLUMNS` with a header; ``text`` writes a table for people.
    ``on_item(count)`` is called after each item (a progress indicator).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    count = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    elif fmt == "text":
        out.write(f"{'time (UTC)':<19}  {'who':<32}  what\n")
    for item in items:
        if writer is not None:
            writer.writerow(_csv_row(item))
        elif fmt == "jsonl":
            out.write(json.dumps(item.raw, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            out.write(_text_line(item) + "\n")
        count += 1
        if on_item is not None:
            on_item(count)
    return count
