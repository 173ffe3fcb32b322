"""The command line as a newcomer meets it: one endpoint setting, errors whose hints are true,
one overwrite rule, usage errors with status 2, the README's recipes. Through the real entry
point, against ``connectparticipant-ext serve``."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from _helpers import SCRIPT, TIMEOUT, Chat, cli_env, free_port, run_cli, running_server

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture
def chat(server: str) -> Chat:
    return Chat(server)


def _no_credentials(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = cli_env(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"), **extra)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    return env


def _exports(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        [found[name]] = shlex.split(value)
    return found


# -- one endpoint setting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "variables",
    [
        {"CONNECT_ENDPOINT_URL": "{url}"},
        {"AWS_ENDPOINT_URL": "{url}"},
        {"AWS_ENDPOINT_URL_CONNECT": "{url}", "AWS_ENDPOINT_URL_CONNECTPARTICIPANT": "{url}"},
    ],
    ids=["CONNECT_ENDPOINT_URL", "AWS_ENDPOINT_URL", "per-service"],
)
def test_every_command_takes_the_endpoint_from_the_environment(
    server: str, tmp_path: Path, variables: dict[str, str]
) -> None:
    env = _no_credentials(tmp_path, **{k: v.format(url=server) for k, v in variables.items()})
    started = run_cli("start", "--print-token", env=env)  # the connect client: dummy credentials on loopback
    assert started.returncode == 0, started.stderr
    env.update(_exports(started.stdout))
    assert run_cli("send", "hello from the environment", env=env).returncode == 0
    shown = run_cli("transcript", env=env)
    assert shown.returncode == 0 and "hello from the environment" in shown.stdout
    chatted = run_cli("chat", "--no-history", env=env, input="and from chat\n/quit\n")
    assert chatted.returncode == 0, chatted.stderr
    assert f"joined chat contact {env['CONNECT_CONTACT_ID']}" in chatted.stderr


def test_the_flag_wins_over_the_environment(server: str) -> None:
    env = cli_env(CONNECT_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    result = run_cli("start", "--endpoint-url", server, "--print-token", env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("where", ["--endpoint-url", "CONNECT_ENDPOINT_URL", "AWS_ENDPOINT_URL"])
def test_an_endpoint_without_a_scheme_gets_a_hint(where: str) -> None:
    if where == "--endpoint-url":
        result = run_cli("send", "hi", "--endpoint-url", "127.0.0.1:5000")
    else:
        result = run_cli("send", "hi", env=cli_env(**{where: "127.0.0.1:5000"}))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"connectparticipant-ext: error: {where} '127.0.0.1:5000' has no scheme: did you mean http://127.0.0.1:5000 ?"
    )


@pytest.mark.parametrize("command", [("send", "hi"), ("start", "--print-token")])
def test_an_unreachable_endpoint_is_named_with_the_flag_to_change_it(command: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cli(*command, "--endpoint-url", url, env=cli_env(CONNECT_PARTICIPANT_TOKEN="CPT.x.y"))
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"connectparticipant-ext: error: could not reach {url} (")
    assert "--endpoint-url" in line and "CONNECT_ENDPOINT_URL" in line


# -- hints that hold -------------------------------------------------------------------------


def test_a_participant_token_connects_again_for_as_long_as_the_chat_lasts(chat: Chat) -> None:
    for text in ("first connection", "second connection", "third connection"):
        assert chat.run("send", text).returncode == 0
    assert chat.run("disconnect").returncode == 0
    after = chat.run("send", "after leaving")
    assert after.returncode == 1
    assert "AccessDeniedException from CreateParticipantConnection" in after.stderr
    assert "the participant has left it" in after.stderr
    assert "connects again for as long as its chat lasts" in after.stderr
    assert "connects once" not in after.stderr and "already used" not in after.stderr


def test_after_the_chat_ends_both_tokens_are_refused_as_the_hints_say(chat: Chat) -> None:
    from connectparticipant_ext import ChatService

    conn = (
        ChatService(region_name="us-east-1", endpoint_url=chat.endpoint_url)
        .Participant(chat.participant_token)
        .create_connection(websocket=False)
    )
    chat.connect.stop_contact(InstanceId="instance-1", ContactId=chat.contact["ContactId"])
    by_participant = chat.run("send", "late")
    assert by_participant.returncode == 1 and "its chat has ended" in by_participant.stderr
    by_connection = chat.run("send", "late", env=cli_env(CONNECT_CONNECTION_TOKEN=conn.token))
    assert by_connection.returncode == 1
    assert "AccessDeniedException from SendMessage" in by_connection.stderr
    assert "the chat has ended or the participant has left it" in by_connection.stderr
    assert conn.token not in by_connection.stderr


def test_a_bot_downloading_an_attachment_is_told_bots_cannot(chat: Chat, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    uploaded = chat.run("upload", str(source), "--wait", "10")
    attachment_id = uploaded.stdout.split("\t")[0]
    bot = chat.run("start", "--join", chat.contact["ContactId"], "--instance-id", "instance-1", "--print-token")
    assert bot.returncode == 0, bot.stderr
    refused = chat.run("download", attachment_id, str(tmp_path / "out.txt"), env=cli_env(**_exports(bot.stdout)))
    assert refused.returncode == 1
    assert "AccessDeniedException from GetAttachment" in refused.stderr
    assert "CUSTOM_BOT participant (start --join) cannot download attachments" in refused.stderr


# -- the small ones ----------------------------------------------------------------------------


def test_the_text_transcript_shows_attachment_ids_for_download(chat: Chat, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    attachment_id = chat.run("upload", str(source), "--wait", "10").stdout.split("\t")[0]
    shown = chat.run("transcript").stdout
    assert f"[attachment] notes.txt (APPROVED, id {attachment_id})" in shown
    assert chat.run("download", attachment_id, str(tmp_path / "copy.txt")).returncode == 0


def test_download_never_replaces_a_file_without_overwrite_wherever_it_goes(chat: Chat, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("new bytes")
    attachment_id = chat.run("upload", str(source), "--wait", "10").stdout.split("\t")[0]
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    for dest in (str(folder), str(folder / "notes.txt")):
        refused = chat.run("download", attachment_id, dest)
        assert refused.returncode == 1 and "pass --overwrite to replace it" in refused.stderr
        assert (folder / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # no "notes (1).txt"
    replaced = chat.run("download", attachment_id, str(folder), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert Path(replaced.stdout.strip()) == folder / "notes.txt"
    assert (folder / "notes.txt").read_text() == "new bytes"


@pytest.mark.parametrize(
    "args",
    [
        ("transcript", "--limit", "-3"),
        ("transcript", "--limit", "many"),
        ("transcript", "--since", "yesterday"),
        ("transcript", "--contact-id", ""),
        ("send", "hi", "--content-type", "text/html"),
        ("send", "hi", "--client-token", "x" * 600),
        ("upload", "README.md", "--wait", "-1"),
        ("download", ""),
        ("start", "--print-token", "--display-name", ""),
    ],
)
def test_every_bad_flag_value_exits_with_status_2(chat: Chat, args: tuple[str, ...]) -> None:
    result = chat.run(*args, cwd=README.parent)
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert re.match(r"connectparticipant-ext( \w+)?: error: ", last), last


def test_chat_shows_what_was_said_before_you_joined_unless_told_not_to(chat: Chat) -> None:
    bot = _exports(
        chat.run(
            "start",
            "--join",
            chat.contact["ContactId"],
            "--instance-id",
            "instance-1",
            "--display-name",
            "Bo",
            "--print-token",
        ).stdout
    )
    assert chat.run("send", "said before you joined", env=cli_env(**bot)).returncode == 0
    joined = chat.run("chat", env=cli_env(**bot), input="/quit\n")
    assert joined.returncode == 0, joined.stderr
    assert f"joined chat contact {chat.contact['ContactId']}" in joined.stderr
    assert "Bo: said before you joined" in joined.stdout
    assert "Ann: [participant.joined]" in joined.stdout
    quiet = chat.run("chat", "--no-history", "--stay", input="/quit\n")
    assert quiet.returncode == 0, quiet.stderr
    assert "said before you joined" not in quiet.stdout


def test_chat_help_says_what_chat_does_without_a_token() -> None:
    shown = " ".join(run_cli("chat", "--help").stdout.split())
    assert "joins the chat of your token (or starts one on the endpoint)" in shown
    assert "with no token and an endpoint set, chat starts a new chat there as --display-name" in shown


# -- the README --------------------------------------------------------------------------------


def _readme_block(marker: str) -> str:
    """The README's ``sh`` code block that contains ``marker``."""
    blocks = re.findall(r"```(?:sh|bash)\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    [block] = [b for b in blocks if marker in b]
    return block


def test_the_readme_clone_command_names_the_folder_it_then_enters() -> None:
    text = README.read_text(encoding="utf-8")
    for clone in re.findall(r"git clone [^\n]*", text):
        match = re.fullmatch(r"git clone (?:<[^>]*>|\S+) (\S+) && cd (\S+)", clone.strip())
        assert match and match.group(1) == match.group(2), clone


def _join_recipe(endpoint: str, contact_id: str) -> str:
    block = _readme_block("--join")
    script = re.sub(r"http://127\.0\.0\.1:\d+", endpoint, block.replace("<contact id>", contact_id))
    return script.replace("connectparticipant-ext ", f"{shlex.quote(str(SCRIPT))} ")


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_the_readme_join_recipe_stops_when_start_fails(server: str) -> None:
    script = _join_recipe(server, "no-such-contact")
    result = subprocess.run(
        ["bash", "-c", script], env=cli_env(), input="/quit\n", capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode != 0
    assert "started a new chat" not in result.stderr and "joined chat" not in result.stderr
    assert result.stdout == ""


@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed")
def test_the_readme_join_recipe_joins_the_chat(server: str) -> None:
    customer = _exports(run_cli("start", "--endpoint-url", server, "--display-name", "Ann", "--print-token").stdout)
    script = _join_recipe(server, customer["CONNECT_CONTACT_ID"])
    result = subprocess.run(
        ["bash", "-c", script], env=cli_env(), input="hello Ann\n/quit\n", capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert f"joined chat contact {customer['CONNECT_CONTACT_ID']}" in result.stderr
    assert "Ann: [participant.joined]" in result.stdout and "Sam: hello Ann" in result.stdout
