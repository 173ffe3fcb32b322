"""What the command line hands to a shell, a file, a spreadsheet or a terminal cannot be turned
against its user: through the real entry point, against ``serve`` or a hostile endpoint."""

from __future__ import annotations

import csv
import json
import os
import pty
import select
import shlex
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from _helpers import TIMEOUT, Chat, cli_env, run_cli, running_server, start_chat

OSC_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J\x1b[H"


class _Hostile(BaseHTTPRequestHandler):
    """Answers every call with ``answer`` (status, JSON body): a hostile or broken endpoint."""

    answer: tuple[int, dict[str, Any]] = (200, {})

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body = self.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status >= 400:
            self.send_header("x-amzn-ErrorType", str(body.get("__type", "")))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PUT = do_GET = _reply  # noqa: N815 - http.server's names

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture
def chat(server: str) -> Chat:
    return Chat(server)


@pytest.fixture
def hostile() -> Iterator[Any]:
    """An endpoint on 127.0.0.1 whose answer each test sets: ``hostile.answer = (status, body)``."""
    handler = type("Handler", (_Hostile,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{httpd.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- start --print-token -----------------------------------------------------------------------


def test_print_token_output_evaluates_to_exactly_the_values(server: str, tmp_path: Path) -> None:
    script = (
        f'out="$({shlex.quote(sys.executable)} -m connectparticipant_ext start --endpoint-url {server} --print-token)"'
        ' && eval "$out" && printf "%s\\n" "$CONNECT_CONTACT_ID" "$CONNECT_PARTICIPANT_ID" "$CONNECT_PARTICIPANT_TOKEN"'
    )
    result = subprocess.run(["bash", "-c", script], env=cli_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    contact_id, participant_id, token = result.stdout.splitlines()
    assert token.startswith("CPT.") and contact_id and participant_id
    assert f"started chat contact {contact_id}" in result.stderr


@pytest.mark.parametrize(
    "answer",
    [
        {"ContactId": "c1$(touch X)", "ParticipantId": "p1", "ParticipantToken": "CPT.abc"},
        {"ContactId": "c1", "ParticipantId": "p1;touch X", "ParticipantToken": "CPT.abc"},
        {"ContactId": "c1", "ParticipantId": "p1", "ParticipantToken": "CPT.`touch X`"},
        {"ContactId": "c1", "ParticipantId": "p1", "ParticipantToken": "CPT.x' ; touch X ; '"},
    ],
)
def test_print_token_refuses_an_answer_that_would_run_commands(hostile: Any, tmp_path: Path, answer: dict) -> None:
    hostile.answer = (200, answer)
    # The recipe as users run it: eval whatever the command printed, even when it failed.
    command = (
        f"{shlex.quote(sys.executable)} -m connectparticipant_ext start --endpoint-url {hostile.url} --print-token"
    )
    result = subprocess.run(
        ["bash", "-c", f'out="$({command})"; status=$?; eval "$out"; exit $status'],
        env=cli_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert not (tmp_path / "X").exists()
    assert result.returncode == 1
    assert result.stdout == ""
    assert "does not look like" in result.stderr and result.stderr.count("\n") == 1
    assert answer["ParticipantToken"] not in result.stderr


def test_start_join_refuses_a_contact_id_that_is_not_one(server: str) -> None:
    result = run_cli("start", "--endpoint-url", server, "--join", "c1$(touch X)", "--print-token")
    assert result.returncode == 2
    assert result.stdout == "" and "--join" in result.stderr and "not a contact id" in result.stderr


# -- start --token-file ------------------------------------------------------------------------


def test_token_file_replaces_an_existing_world_readable_file_with_a_new_owner_only_one(
    server: str, tmp_path: Path
) -> None:
    target = tmp_path / "token"
    target.write_text("old")
    os.chmod(target, 0o644)
    before = os.stat(target).st_ino
    result = run_cli("start", "--endpoint-url", server, "--token-file", str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert os.stat(target).st_ino != before  # a new file, renamed into place
    assert target.read_text().startswith("CPT.")
    assert "(mode 0600)" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["token"]  # no temporary file left


def test_token_file_refuses_a_symbolic_link(server: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "token"
    link.symlink_to(victim)
    result = run_cli("start", "--endpoint-url", server, "--token-file", str(link), "--print-token")
    assert result.returncode == 2
    assert result.stdout == ""  # refused before anything was started or printed
    assert "symbolic link" in result.stderr
    assert victim.read_text() == "precious\n" and link.is_symlink()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="making a file someone else's needs root")
def test_token_file_refuses_a_file_someone_else_owns(server: str, tmp_path: Path) -> None:
    target = tmp_path / "token"
    target.write_text("theirs\n")
    os.chown(target, 65534, 65534)
    result = run_cli("start", "--endpoint-url", server, "--token-file", str(target))
    assert result.returncode == 2
    assert "belongs to another user" in result.stderr
    assert target.read_text() == "theirs\n" and os.stat(target).st_uid == 65534


# -- CSV and terminals -------------------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(1)", "\tx", "\rx"]


def test_csv_cells_that_start_like_a_formula_are_neutralised(server: str, tmp_path: Path) -> None:
    connect = boto3.client(
        "connect", region_name="us-east-1", endpoint_url=server, aws_access_key_id="t", aws_secret_access_key="t"
    )
    contact = start_chat(connect, "=HYPERLINK(1)")
    env = cli_env(CONNECT_PARTICIPANT_TOKEN=contact["ParticipantToken"])
    for text in FORMULAS:
        assert run_cli("send", "-", "--endpoint-url", server, env=env, input=text).returncode == 0
    target = tmp_path / "chat.csv"
    assert run_cli("transcript", "--format", "csv", "-o", str(target), "--endpoint-url", server, env=env).returncode == 0
    with open(target, newline="", encoding="utf-8") as exported:
        rows = list(csv.DictReader(exported))
    messages = [r for r in rows if r["type"] == "MESSAGE"]
    assert [r["content"] for r in messages] == ["'" + text for text in FORMULAS]
    assert {r["display_name"] for r in rows} == {"'=HYPERLINK(1)"}
    kept = run_cli("transcript", "--format", "jsonl", "--endpoint-url", server, env=env)  # jsonl keeps content exactly
    assert [json.loads(line).get("Content") for line in kept.stdout.splitlines()][-len(FORMULAS) :] == FORMULAS


def _run_on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """The command with stdout on a pseudo-terminal (stderr a pipe); its exit status and output."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", *args], env=env, stdout=slave, stderr=subprocess.PIPE
    )
    os.close(slave)
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], TIMEOUT)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    process.communicate(timeout=TIMEOUT)
    return process.returncode, output.decode("utf-8")


def test_csv_and_jsonl_on_a_terminal_show_control_characters_as_text(chat: Chat) -> None:
    assert chat.run("send", f"evil{OSC_AND_CLEAR}\x9b31m done").returncode == 0
    status, shown = _run_on_a_terminal(
        "transcript", "--format", "csv", "--endpoint-url", chat.endpoint_url, env=chat.env
    )
    assert status == 0
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J" in shown
    status, shown = _run_on_a_terminal(
        "transcript", "--format", "jsonl", "--endpoint-url", chat.endpoint_url, env=chat.env
    )
    assert status == 0 and "\x9b" not in shown and "\x1b" not in shown
    [line] = [line for line in shown.splitlines() if "evil" in line]
    assert json.loads(line)["Content"] == f"evil{OSC_AND_CLEAR}\x9b31m done"  # the same JSON value
    piped = chat.run("transcript", "--format", "csv")  # to a file or a pipe: the content as it is (neutralised)
    assert f"evil{OSC_AND_CLEAR}" in piped.stdout


# -- error lines -------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_a_service_error_message_cannot_drive_the_terminal(hostile: Any, debug: bool) -> None:
    hostile.answer = (403, {"__type": "AccessDeniedException", "message": f"no{OSC_AND_CLEAR}\u202eevil"})
    env = cli_env(CONNECT_PARTICIPANT_TOKEN="CPT.abc")
    for args in (("send", "hi"), ("start", "--print-token")):
        result = run_cli(*(("--debug",) if debug else ()), *args, "--endpoint-url", hostile.url, env=env)
        assert result.returncode == 1
        assert "\x1b" not in result.stderr and "\x07" not in result.stderr and "\u202e" not in result.stderr
        last = result.stderr.splitlines()[-1]
        assert last.startswith("connectparticipant-ext: error: AccessDeniedException")
        assert "no\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H\\u202eevil" in last
