"""The command line in-process against mock_aws: exports that keep the old file, usage errors that name
flags, strict stdin, the download bar.

In a module of its own: test_cli.py's ``chat`` fixture (a local server) hides the plugin's."""

from __future__ import annotations

import io
from typing import Any

import pytest


@pytest.fixture
def in_process(participant: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``main`` in this process, against mock_aws, with a participant token in the environment."""
    from connectparticipant_ext.cli import main

    monkeypatch.setenv("CONNECT_PARTICIPANT_TOKEN", participant.token)
    return main


def test_a_refused_export_leaves_the_old_file_untouched(in_process, tmp_path, capsys, monkeypatch):
    from connectparticipant_ext import ThrottlingError
    from connectparticipant_ext.transcript import TranscriptCollection

    out = tmp_path / "export.jsonl"
    out.write_text("the previous export\n")
    pages_served: list[int] = []
    original = TranscriptCollection.pages

    def failing_halfway(self):
        for page in original(self):
            pages_served.append(len(page))
            yield page
        raise ThrottlingError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "GetTranscript")

    monkeypatch.setattr(TranscriptCollection, "pages", failing_halfway)
    assert in_process(["transcript", "--format", "jsonl", "-o", str(out)]) == 1
    assert pages_served  # some items were written before the failure
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["export.jsonl"]  # no temporary file left
    monkeypatch.setattr(TranscriptCollection, "pages", original)
    assert in_process(["transcript", "--format", "jsonl", "-o", str(out)]) == 0
    assert "participant.joined" in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["export.jsonl"]


def test_an_invalid_since_is_a_usage_error(in_process, capsys):
    assert in_process(["transcript", "--since", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert "--since" in err and "yesterday" in err and "ISO 8601" in err


def test_messages_name_flags_not_python_arguments(in_process, capsys, tmp_path):
    assert in_process(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and "allow_remote" not in err
    existing = tmp_path / "taken.txt"
    existing.write_text("keep")
    assert in_process(["download", "att-1", str(existing)]) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and "overwrite=True" not in err
    assert existing.read_text() == "keep"
    assert in_process(["upload", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_access_denied_on_connect_hints_at_the_token(in_process, capsys, participant, monkeypatch):
    monkeypatch.setenv("CONNECT_PARTICIPANT_TOKEN", "not-a-real-token")
    assert in_process(["send", "hello"]) == 1
    err = capsys.readouterr().err
    assert "AccessDeniedException from CreateParticipantConnection" in err
    assert "participant token is wrong or not from this endpoint" in err


def test_send_dash_decodes_stdin_strictly(in_process, capsys, monkeypatch):
    class Stdin(io.TextIOWrapper):
        pass

    monkeypatch.setattr(
        "sys.stdin", Stdin(io.BytesIO(b"caf\xe9 latin-1\n"), encoding="utf-8", errors="surrogateescape")
    )
    assert in_process(["send", "-"]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", Stdin(io.BytesIO("café\n".encode()), encoding="utf-8"))
    assert in_process(["send", "-"]) == 0


def test_the_download_bar_shows_the_file_name(in_process, participant, tmp_path, capsys, monkeypatch):
    from connectparticipant_ext import cli

    attachment = participant.create_connection().upload_attachment(b"abc", name="invoice.txt")
    labels: list[str] = []

    class Recording(cli.Progress):
        def __init__(self, label: str, **kwargs: Any) -> None:
            labels.append(label)
            super().__init__(label, **kwargs)

    monkeypatch.setattr(cli, "Progress", Recording)
    assert in_process(["download", attachment.id, str(tmp_path)]) == 0
    assert labels == ["downloading invoice.txt"]
