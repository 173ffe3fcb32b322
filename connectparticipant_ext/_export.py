"""Writing transcript items out: a readable table, JSON Lines or CSV, one item at a time.

The writers consume an iterator lazily, so exporting a long chat never holds it in memory.
Text meant for a terminal has control characters replaced (see :mod:`._terminal`): a chat
message must not be able to move the cursor, clear the screen or fake other lines. CSV cells
are neutralised against formula injection for whatever spreadsheet opens the file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Callable, Optional, TextIO

from ._terminal import escape_controls, escape_json_controls, printable
from ._time import format_time
from ._wire import MESSAGE_METADATA_ITEM_TYPE
from .models import TranscriptItem

__all__ = ["CSV_COLUMNS", "FORMATS", "describe", "neutralise_formula", "printable", "write_transcript"]

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

_CONTENT_WIDTH = 200

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula (OWASP's CSV injection rule)."""


def neutralise_formula(cell: str) -> str:
    """``cell`` with a ``'`` in front when it starts like a formula, so a spreadsheet shows it
    as text (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``) instead of evaluating it."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def describe(item: TranscriptItem) -> str:
    """What a person reading a transcript wants to see for this item, on one line."""
    if item.is_attachment:
        names = ", ".join(f"{a.name or a.id} ({a.status or 'pending'}, id {a.id})" for a in item.attachments)
        return f"[attachment] {names}"
    if item.is_message:
        return item.content or ""
    if item.type == MESSAGE_METADATA_ITEM_TYPE and item.message_metadata is not None:
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
    """The item's cells, each neutralised (ids and names come from the chat's participants too)."""
    cells = [
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
    return [neutralise_formula(cell) for cell in cells]


def write_transcript(
    items: Iterable[TranscriptItem],
    out: TextIO,
    fmt: str = "text",
    *,
    on_item: Optional[Callable[[int], None]] = None,
    terminal: bool = False,
) -> int:
    """Write ``items`` to ``out`` in ``fmt`` (``text``, ``jsonl`` or ``csv``); return the count.

    ``jsonl`` writes each item's service dict (``item.raw``) unchanged, one JSON object per
    line; ``csv`` writes :data:`CSV_COLUMNS` with a header, every cell that starts like a
    formula prefixed with ``'``; ``text`` writes a table for people, control characters shown
    as text. ``terminal=True`` (``out`` is a terminal) also escapes the control characters of
    ``csv`` cells and the ones JSON leaves raw in ``jsonl`` (the JSON value stays the same).
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
            row = _csv_row(item)
            writer.writerow([escape_controls(cell) for cell in row] if terminal else row)
        elif fmt == "jsonl":
            line = json.dumps(item.raw, ensure_ascii=False, sort_keys=True)
            out.write((escape_json_controls(line) if terminal else line) + "\n")
        else:
            out.write(_text_line(item) + "\n")
        count += 1
        if on_item is not None:
            on_item(count)
    return count
