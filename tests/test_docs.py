"""The documentation's Python examples run, as written, against the in-memory backend.

Every ``.. code-block:: python`` in ``docs/*.rst`` is executed in a fresh namespace inside
``moto.mock_aws()`` with :mod:`connectparticipant_ext.testing` imported, fake AWS credentials
in the environment and the working directory set to a temporary directory (so files an
example writes land there). A block whose first line is ``# doctest: skip`` is illustrative
only (it needs a real AWS token, a Django project, ...) and is not run.

Tests are named ``page.rst:line``, the line of the ``code-block`` directive; a failing
example's traceback points at its lines in the ``.rst`` file.
"""

from __future__ import annotations

import re
import textwrap
import threading
from pathlib import Path
from typing import NamedTuple

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
SKIP_MARKER = "# doctest: skip"
PAGES_WITH_RUNNABLE_EXAMPLES = (
    "quickstart",
    "concepts",
    "transcript",
    "attachments",
    "errors",
    "testing",
    "raw_client",
    "recipes",
)

_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. (?:code-block|code|sourcecode)::[ \t]*(?P<language>\S*)[ \t]*$")
_OPTION = re.compile(r"^[ \t]+:[\w-]+:")


class Example(NamedTuple):
    page: str
    line: int  # 1-based line of the directive
    first_code_line: int  # 1-based line of the code's first line
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def skipped(self) -> bool:
        first = next((line.strip() for line in self.code.splitlines() if line.strip()), "")
        return first == SKIP_MARKER


def extract_examples(path: Path) -> list[Example]:
    """The ``python`` code blocks of an ``.rst`` file, dedented, with their line numbers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    index = 0
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        if not match or match.group("language") not in ("python", "python3", "py"):
            index += 1
            continue
        directive_line = index + 1
        base_indent = len(match.group("indent").expandtabs())
        index += 1
        while index < len(lines) and _OPTION.match(lines[index]):
            index += 1  # :caption:, :emphasize-lines:, ...
        body: list[str] = []
        first_code_line = 0
        while index < len(lines):
            line = lines[index]
            if line.strip() and len(line.expandtabs()) - len(line.expandtabs().lstrip()) <= base_indent:
                break  # back to the directive's level: the block is over
            if line.strip() and not first_code_line:
                first_code_line = index + 1
            if first_code_line:
                body.append(line)
            index += 1
        while body and not body[-1].strip():
            body.pop()
        if body:
            examples.append(Example(path.name, directive_line, first_code_line, textwrap.dedent("\n".join(body))))
    return examples


def all_examples() -> list[Example]:
    return [example for page in sorted(DOCS.glob("*.rst")) for example in extract_examples(page)]


EXAMPLES = all_examples()
RUNNABLE = [example for example in EXAMPLES if not example.skipped]


@pytest.fixture
def docs_environment(aws_credentials, tmp_path, monkeypatch):
    """A clean process-wide state around each example: fresh shared clients, a temp cwd."""
    import connectparticipant_ext.testing  # noqa: F401  registers the chat backend with moto
    from connectparticipant_ext.service import clear_client_cache

    monkeypatch.chdir(tmp_path)
    clear_client_cache()
    threads_before = set(threading.enumerate())
    yield tmp_path
    clear_client_cache()
    # An example may hand work to a thread (a timer playing the agent): let it finish
    # inside the test, so nothing it does leaks into the next one.
    for thread in set(threading.enumerate()) - threads_before:
        if not thread.daemon:
            thread.join(timeout=30)
            assert not thread.is_alive(), f"the example left a thread running: {thread.name}"


@pytest.mark.parametrize("example", RUNNABLE, ids=[example.id for example in RUNNABLE])
def test_example_runs(example: Example, docs_environment: Path) -> None:
    from moto import mock_aws

    # Pad with newlines so that tracebacks carry the line numbers of the .rst file.
    source = "\n" * (example.first_code_line - 1) + example.code
    code = compile(source, str(DOCS / example.page), "exec")
    namespace = {"__name__": "__docs_example__"}
    with mock_aws():
        exec(code, namespace)


def test_examples_are_found() -> None:
    assert RUNNABLE, "no runnable examples found in docs/*.rst"
    pages = {example.page for example in RUNNABLE}
    missing = [page for page in PAGES_WITH_RUNNABLE_EXAMPLES if f"{page}.rst" not in pages]
    assert not missing, f"pages without a runnable example: {missing}"


def test_skip_marker_is_the_first_line() -> None:
    """``# doctest: skip`` anywhere but the first line would be a silent mistake."""
    misplaced = [
        example.id
        for example in EXAMPLES
        if not example.skipped and any(line.strip() == SKIP_MARKER for line in example.code.splitlines())
    ]
    assert not misplaced, f"'{SKIP_MARKER}' must be the first line of a block: {misplaced}"


def test_extractor_handles_options_and_nesting(tmp_path: Path) -> None:
    page = tmp_path / "page.rst"
    page.write_text(
        "Title\n=====\n\n"
        ".. code-block:: python\n   :caption: example\n\n   x = 1\n\n   y = 2\n\ntext\n\n"
        "* item\n\n  .. code-block:: python\n\n     # doctest: skip\n     z = 3\n\n"
        ".. code-block:: console\n\n   $ ls\n",
        encoding="utf-8",
    )
    first, second = extract_examples(page)
    assert (first.line, first.first_code_line, first.code) == (4, 7, "x = 1\n\ny = 2")
    assert not first.skipped
    assert second.skipped and second.code.endswith("z = 3")


def test_the_docs_build_with_only_the_docs_extra_without_a_warning_or_traceback(built_docs):
    """What ``pip install -e ".[docs]"`` and the README's sphinx command give a reader."""
    assert built_docs.returncode == 0, built_docs.output[-3000:]
    assert "Traceback" not in built_docs.output, built_docs.output[-3000:]
    assert "WARNING" not in built_docs.output, built_docs.output[-3000:]


def test_the_api_page_lists_the_pytest_plugin_and_its_fixtures(built_docs):
    import connectparticipant_ext.testing.plugin as plugin

    fixtures = [
        name
        for name, value in vars(plugin).items()
        if getattr(value, "_fixture_function_marker", None) or getattr(value, "_pytestfixturefunction", None)
    ]
    assert "mock_chat" in fixtures and "connection" in fixtures
    api = (built_docs.html / "api.html").read_text(encoding="utf-8")
    start = api.index('id="module-connectparticipant_ext.testing.plugin"')
    section = api[start : api.index('id="module-', start + 1)]
    missing = [name for name in fixtures if f">{name}<" not in section]
    assert not missing, f"fixtures the API page does not list: {missing}"


def test_no_rendered_page_shows_the_skip_marker(built_docs):
    """The Sphinx build drops ``# doctest: skip`` lines, on every page that has them."""
    marked = [p.stem for p in DOCS.glob("*.rst") if SKIP_MARKER in p.read_text(encoding="utf-8")]
    assert marked  # the source keeps the marker for the tests
    for page in marked:
        html = (built_docs.html / f"{page}.html").read_text(encoding="utf-8")
        assert "doctest: skip" not in html, page
        assert "doctest" not in html.replace("doctest_", ""), page


def test_the_first_chat_shows_its_whole_setup():
    [first_chat] = [e for e in extract_examples(DOCS / "quickstart.rst") if "create_connection" in e.code][:1]
    assert "from moto import mock_aws" in first_chat.code and "with mock_aws():" in first_chat.code
    assert "import connectparticipant_ext.testing" in first_chat.code


def test_the_readme_says_the_docs_build_needs_the_docs_extra():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    build = readme.index("python -m sphinx")
    assert '".[docs]"' in readme[max(0, build - 200) : build]
    assert "Node.js" in readme and "minutes" in readme  # what .ci/run needs and how long it takes


def _install_pages() -> list[Path]:
    root = DOCS.parent
    return [root / "README.md", *sorted(DOCS.glob("*.rst")), *sorted(DOCS.glob("examples/*/README.md"))]


def test_install_commands_install_this_repository_until_the_package_is_published():
    """The package is not on PyPI yet: ``pip install connectparticipant-ext`` installs something
    else or nothing. Every install command names the clone or a wheel built there; the PyPI name
    appears as a command only in a paragraph that says it is for once the package is published."""
    pypi_install = re.compile(r"pip install [\"']?connectparticipant-ext")
    wrong = []
    for page in _install_pages():
        for paragraph in re.split(r"\n[ \t]*\n", page.read_text(encoding="utf-8")):
            for_later = "once published" in " ".join(paragraph.split()).lower()
            for line in paragraph.splitlines():
                # a wheel file with the PyPI name beside it (for its extras) installs the wheel
                if pypi_install.search(line) and ".whl" not in line and not for_later:
                    wrong.append(f"{page.name}: {line.strip()}")
    assert not wrong, "installs from PyPI, where the package is not yet:\n" + "\n".join(wrong)
    quickstart = (DOCS / "quickstart.rst").read_text(encoding="utf-8")
    assert 'pip install -e ".[local]"' in quickstart and "pip wheel" in quickstart


# -- the changelog ------------------------------------------------------------------------------

CHANGELOG = DOCS.parent / "CHANGELOG.md"
KEEP_A_CHANGELOG_SECTIONS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
_VERSION_HEADING = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")


def _markdown_changelog():
    import importlib
    import sys

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return importlib.import_module("markdown_changelog")
    finally:
        sys.path.remove(str(DOCS / "_ext"))


def test_the_changelog_keeps_a_changelog():
    """Keep a Changelog 1.1: Unreleased first, then each version with its date, newest first,
    entries under the six kinds of change; the package's version has its section."""
    import datetime

    import connectparticipant_ext

    lines = CHANGELOG.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Changelog"
    versions = [line for line in lines if line.startswith("## ")]
    assert versions[0] == "## [Unreleased]"
    released = [_VERSION_HEADING.match(line) for line in versions[1:]]
    assert all(released), versions
    numbers = [tuple(int(part) for part in match["version"].split(".")) for match in released]
    dates = [datetime.date.fromisoformat(match["date"]) for match in released]
    assert numbers == sorted(numbers, reverse=True) and dates == sorted(dates, reverse=True)
    assert connectparticipant_ext.__version__ in [match["version"] for match in released]
    kinds = {line[4:] for line in lines if line.startswith("### ")}
    assert kinds <= set(KEEP_A_CHANGELOG_SECTIONS), kinds


def test_the_changelog_speaks_of_changes_not_of_the_work_behind_them():
    """Entries say what changed for a user; tracker references mean nothing to one."""
    text = CHANGELOG.read_text(encoding="utf-8")
    found = re.findall(r"\b(?:issues?|points?|pt)\.? ?\d+", text, flags=re.IGNORECASE)
    assert not found, found


def test_the_changelog_page_shows_changelog_md_and_nothing_else(built_docs):
    page = (DOCS / "changelog.rst").read_text(encoding="utf-8")
    assert ".. markdown-changelog:: ../CHANGELOG.md" in page
    assert not re.search(r"^\s*[*-] ", page, flags=re.MULTILINE), "entries belong in CHANGELOG.md"
    html = (built_docs.html / "changelog.html").read_text(encoding="utf-8")
    body = html[html.index('<div class="body"') : html.index('<div class="clearer"')]
    entries = [line for line in CHANGELOG.read_text(encoding="utf-8").splitlines() if line.startswith("- ")]
    assert body.count("<li>") == len(entries)
    assert "<h2>Unreleased<" in body and "<h2>0.1.0 - 2026-11-25<" in body


def test_markdown_changelog_turns_keep_a_changelog_markdown_into_rst():
    markdown_changelog = _markdown_changelog()
    rst = markdown_changelog.markdown_to_rst(
        "# Changelog\n\nIntro with a [link](https://example.com/a_b).\n\n## [Unreleased]\n\n### Added\n\n"
        "- `Connection`s and **bold**, *emphasis*, snake_case and trailing_ word,\n"
        "  a continued line with a|pipe and a \\ backslash.\n- Second entry.\n\n[Unreleased]: https://example.com\n",
        "CHANGELOG.md",
    )
    text = "\n".join(rst)
    assert "Intro with a `link <https://example.com/a_b>`__." in text
    assert "Unreleased\n----------" in text and "Added\n~~~~~" in text
    assert (
        "* ``Connection``\\ s and **bold**, *emphasis*, snake_case and trailing\\_ word, "
        "a continued line with a\\|pipe and a \\\\ backslash." in rst
    )
    assert "* Second entry." in rst
    assert "example.com\n" not in text.replace("https://example.com/a_b", "")  # link definitions dropped


@pytest.mark.parametrize(
    "markdown",
    [
        "- item\n  - nested item\n",
        "```\ncode\n```\n",
        "#### Deep heading\n",
        "| a | b |\n",
        "1. numbered\n",
        "> quote\n",
    ],
)
def test_markdown_changelog_stops_at_markdown_it_does_not_translate(markdown):
    markdown_changelog = _markdown_changelog()
    with pytest.raises(markdown_changelog.MarkdownError, match=r"CHANGELOG\.md:\d+: "):
        markdown_changelog.markdown_to_rst("# Changelog\n\n" + markdown, "CHANGELOG.md")


def test_the_raw_client_page_maps_every_operation_of_the_model():
    """Each operation botocore's model has, by its boto3 method name, in the page's table."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("connectparticipant")
    page = (DOCS / "raw_client.rst").read_text(encoding="utf-8")
    table = page[page.index("The eleven operations") : page.index("Connecting, sending, leaving")]
    rows = re.findall(r"^   \* - ``(\w+)``$", table, flags=re.MULTILINE)
    assert sorted(rows) == sorted(xform_name(name) for name in model.operation_names)
