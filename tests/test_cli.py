"""The command line through its real entry points, against ``connectparticipant-ext serve``."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _helpers import TIMEOUT, Chat, cli_env, free_port, run_cli, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture
def chat(server: str) -> Chat:
    return Chat(server)


def test_demo_runs_a_whole_chat_on_the_embedded_backend():
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "embedded local backend" in out
    assert "HelpBot: Thanks, I can help with that" in out
    assert "[attachment] receipt.txt (APPROVED, id " in out
    assert "Demo finished" in out
    assert "CPT." not in out and "CCT." not in out and "X-Amz-" not in out


def test_demo_against_the_server_given(server: str):
    result = run_cli("demo", "--endpoint-url", server)
    assert result.returncode == 0, result.stderr
    assert f"Using {server}" in result.stdout


def test_python_dash_m_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "connectparticipant_ext", "--version"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0 and "connectparticipant-ext 0." in result.stdout


def test_send_prints_the_id_and_is_idempotent_with_a_client_token(chat: Chat):
    first = chat.run("send", "hello there", "--client-token", "form-1")
    again = chat.run("send", "hello there", "--client-token", "form-1")
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.strip() == again.stdout.strip()
    messages = [i for i in chat.transcript() if i["Type"] == "MESSAGE"]
    assert [m["Content"] for m in messages] == ["hello there"]
    assert messages[0]["Id"] == first.stdout.strip()


def test_send_reads_stdin_with_a_dash(chat: Chat):
    assert chat.run("send", "-", input="from stdin\nline two").returncode == 0
    # the newline that ends what echo or a file gives is not part of the message
    assert chat.run("send", "-", "--content-type", "application/json", input='{"order": 42}\n').returncode == 0
    contents = [i["Content"] for i in chat.transcript() if i["Type"] == "MESSAGE"]
    assert contents == ["from stdin\nline two", '{"order": 42}']


def test_transcript_formats_and_output_file(chat: Chat, tmp_path: Path):
    for n in range(3):
        chat.run("send", f"message {n}")
    items = chat.transcript()
    assert [i["Content"] for i in items if i["Type"] == "MESSAGE"] == ["message 0", "message 1", "message 2"]

    as_csv = chat.run("transcript", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["id"] for r in rows] == [i["Id"] for i in items]

    text = chat.run("transcript")
    assert "Ann (CUSTOMER)" in text.stdout and "message 2" in text.stdout

    target = tmp_path / "chat.jsonl"
    written = chat.run("transcript", "--format", "jsonl", "-o", str(target))
    assert written.returncode == 0 and written.stdout == ""
    assert [json.loads(line)["Id"] for line in target.read_text().splitlines()] == [i["Id"] for i in items]
    assert f"wrote {len(items)} items" in written.stderr

    limited = chat.run("transcript", "--format", "jsonl", "--limit", "2")
    assert len(limited.stdout.splitlines()) == 2


def test_text_output_cannot_be_driven_by_hostile_content(chat: Chat):
    chat.run("send", "evil\x1b[2J\rfake line\nsecond")
    text = chat.run("transcript").stdout
    assert "\x1b" not in text and "\r" not in text
    assert "evil\\x1b[2J\\x0dfake line ⏎ second" in text


def test_upload_and_download_round_trip(chat: Chat, tmp_path: Path):
    source = tmp_path / "notes.txt"
    source.write_bytes(b"line one\nline two\n")
    uploaded = chat.run("upload", str(source), "--wait", "10")
    assert uploaded.returncode == 0, uploaded.stderr
    attachment_id, name, status = uploaded.stdout.strip().split("\t")
    assert (name, status) == ("notes.txt", "APPROVED")

    downloads = tmp_path / "downloads"
    downloaded = chat.run("download", attachment_id, str(downloads) + os.sep)
    assert downloaded.returncode == 0, downloaded.stderr
    path = Path(downloaded.stdout.strip())
    assert path.parent == downloads and path.read_bytes() == source.read_bytes()

    explicit = tmp_path / "copy.txt"
    explicit.write_text("taken")
    refused = chat.run("download", attachment_id, str(explicit))
    assert refused.returncode == 1 and "overwrite" in refused.stderr
    assert chat.run("download", attachment_id, str(explicit), "--overwrite").returncode == 0
    assert explicit.read_bytes() == source.read_bytes()


def test_upload_is_refused_before_any_call_when_the_type_is_not_allowed(chat: Chat, tmp_path: Path):
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ")
    result = chat.run("upload", str(bad))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and ".exe" in result.stderr and "allowed attachment types" in result.stderr
    assert "Traceback" not in result.stderr


def test_disconnect_then_every_command_fails_cleanly(chat: Chat):
    assert chat.run("send", "bye").returncode == 0
    assert chat.run("disconnect").returncode == 0
    after = chat.run("send", "too late")
    assert after.returncode == 1
    assert after.stderr.startswith("connectparticipant-ext: error: AccessDeniedException")
    assert "Traceback" not in after.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_a_traceback_without_secrets(chat: Chat, where: str):
    chat.run("disconnect")
    args = ("--debug", "send", "too late") if where == "before" else ("send", "too late", "--debug")
    result = chat.run(*args)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert chat.participant_token not in result.stderr
    assert "CCT." not in result.stderr and "CPT." not in result.stderr


def test_demo_against_a_local_server_needs_no_credentials(server: str, tmp_path: Path):
    env = cli_env(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    result = run_cli("demo", "--endpoint-url", server, env=env)
    assert result.returncode == 0, result.stderr


def test_output_cut_short_by_the_reader_is_not_an_error():
    command = [sys.executable, "-m", "connectparticipant_ext", "demo"]
    process = subprocess.Popen(command, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=TIMEOUT) == 0, err
    assert first.startswith("Using") and "error" not in err


def test_without_moto_demo_and_serve_say_what_to_install():
    code = "import sys; sys.modules['moto'] = None; from connectparticipant_ext.cli import main; sys.exit(main(sys.argv[1:]))"
    for command in (["demo"], ["serve", "--port", "0"]):
        result = subprocess.run(
            [sys.executable, "-c", code, *command], env=cli_env(), capture_output=True, text=True, timeout=TIMEOUT
        )
        assert result.returncode == 2
        assert result.stderr.strip() == (
            "connectparticipant-ext: error: the local backend needs moto: install the 'local' extra"
            " (in the clone: pip install -e '.[local]')"
        )


def test_connection_token_from_a_named_variable(chat: Chat):
    from connectparticipant_ext import ChatService

    conn = (
        ChatService(region_name="us-east-1", endpoint_url=chat.endpoint_url)
        .Participant(chat.participant_token)
        .create_connection(websocket=False)
    )
    env = cli_env(MY_CONNECTION=conn.token)
    result = chat.run("send", "restored", "--connection-token-env", "MY_CONNECTION", env=env)
    assert result.returncode == 0, result.stderr
    assert conn.token not in result.stdout + result.stderr
    assert [i["Content"] for i in chat.transcript() if i["Type"] == "MESSAGE"] == ["restored"]


def test_missing_tokens_are_a_one_line_usage_error(server: str):
    result = run_cli("send", "hi", "--endpoint-url", server, input="")
    assert result.returncode == 2
    assert "CONNECT_PARTICIPANT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    named = run_cli("send", "hi", "--endpoint-url", server, "--participant-token-env", "NOPE", input="")
    assert named.returncode == 2 and "NOPE is not set" in named.stderr


def test_a_token_on_the_command_line_works_with_a_warning(chat: Chat):
    result = chat.run("send", "argv", "--participant-token", chat.participant_token, env=cli_env())
    assert result.returncode == 0
    assert "warning" in result.stderr and "visible to other users" in result.stderr


def test_chat_starts_a_chat_on_the_local_server_and_sends_each_line(server: str):
    result = run_cli("chat", "--endpoint-url", server, "--display-name", "Zoe", input="first line\nsecond line\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "Zoe: first line" in result.stdout and "Zoe: second line" in result.stdout
    assert "started a new chat contact" in result.stderr and "'Zoe'" in result.stderr
    # Leaving is reported the same way every time, after the stream has stopped showing items.
    assert result.stderr.strip().endswith("you left the chat")
    assert "[participant.left]" not in result.stdout
    assert "CPT." not in result.stdout + result.stderr and "CCT." not in result.stdout + result.stderr


def test_chat_shows_the_other_side_and_ends_with_the_chat(chat: Chat):
    agent = chat.connect.create_participant(  # the only role create_participant adds to a chat
        InstanceId="instance-1",
        ContactId=chat.contact["ContactId"],
        ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bob"},
    )["ParticipantCredentials"]["ParticipantToken"]
    from connectparticipant_ext import ChatService

    service = ChatService(region_name="us-east-1", endpoint_url=chat.endpoint_url)
    agent_conn = service.Participant(agent).create_connection(websocket=False)
    agent_conn.send_message("Hello Ann, Bob here")
    process = subprocess.Popen(
        [sys.executable, "-m", "connectparticipant_ext", "chat", "--history", "--endpoint-url", chat.endpoint_url],
        env=chat.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None
        process.stdin.write("hi Bob\n")
        process.stdin.flush()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(i.get("Content") == "hi Bob" for i in chat.transcript()):
                break
            time.sleep(0.1)
        chat.connect.stop_contact(InstanceId="instance-1", ContactId=chat.contact["ContactId"])
        process.wait(timeout=30)  # the command ends by itself with the chat, stdin still open
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Bob: Hello Ann, Bob here" in out and "Ann: hi Bob" in out
    assert "[chat.ended]" in out
    assert "the chat ended" in err
    assert chat.participant_token not in out + err


# -- bad arguments, help, and what --debug logs (more, in-process, in test_cli_reliability.py) ----------


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_bad_port(port):
    result = run_cli("serve", "--port", port)
    assert result.returncode == 2
    assert "--port" in result.stderr and "Traceback" not in result.stderr


def test_allow_remote_warns_that_the_server_is_open(monkeypatch, capsys):
    pytest.importorskip("moto")
    from connectparticipant_ext import cli
    from connectparticipant_ext.testing import server as server_module

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(server_module, "serve", lambda *a, **k: calls.append((a, k)))
    assert cli.main(["serve", "--host", "0.0.0.0", "--allow-remote", "--port", "0"]) == 0
    assert [(args, options["allow_remote"]) for args, options in calls] == [(("0.0.0.0", 0), True)]
    assert "open to the network" in capsys.readouterr().err


def test_every_subcommand_and_option_has_help():
    from connectparticipant_ext.cli import build_parser

    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subcommands.choices.items():
        assert sub.description, f"{name} has no description"
        for action in sub._actions:
            if action.option_strings and action.help is not argparse.SUPPRESS:
                assert action.help, f"{name} {action.option_strings} has no help"
    serve_help = subcommands.choices["serve"].format_help()
    from connectparticipant_ext._local import DEFAULT_PORT

    assert f"default: {DEFAULT_PORT}" in serve_help


def test_progress_labels_binary_units():
    from connectparticipant_ext._progress import _human

    assert _human(5 * 1024 * 1024) == "5.0 MiB" and _human(2048) == "2.0 KiB"


def test_serve_debug_logs_no_signing_material(tmp_path: Path):
    """``serve --debug``: botocore.auth's canonical request and signature lines are masked."""
    from connectparticipant_ext import ChatService

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "connectparticipant_ext", "--debug", "serve", "--port", str(port)],
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert process.stdout is not None
            assert f"127.0.0.1:{port}" in process.stdout.readline()
            endpoint = f"http://127.0.0.1:{port}"
            contact = Chat(endpoint).contact
            conn = (
                ChatService(region_name="us-east-1", endpoint_url=endpoint)
                .Participant(contact["ParticipantToken"])
                .create_connection()
            )
            url = conn.upload_attachment(b"abc", name="a.txt").url()
        finally:
            process.terminate()
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
    text = log.read_text()
    signature = url.rpartition("X-Amz-Signature=")[2]
    assert "Signature:" in text  # botocore.auth did log while presigning
    assert signature and signature not in text
    assert "X-Amz-Credential=" not in text
