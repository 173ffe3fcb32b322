"""How the package is laid out: modules meet at named seams, the backend's imports form no cycle,
and ``ChatBackend`` shows its operations and documented controls only.

The scans read the source (``ast``), so they see every module, including those a test run never
imports.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import botocore.session
from botocore import xform_name
from moto.core.base_backend import BaseBackend

import connectparticipant_ext
from connectparticipant_ext.testing import ChatBackend, get_chat_backend
from connectparticipant_ext.testing.base import ChatBackendBase

PACKAGE = Path(connectparticipant_ext.__file__).parent
DOCS = Path(__file__).parent.parent / "docs"

NAMEDTUPLE_API = {"_asdict", "_fields", "_make", "_replace"}
"""Public methods of named tuples (``urlsplit``'s result): the underscore only keeps them apart
from field names."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _names_defined_in(tree: ast.AST) -> set[str]:
    """Every name the module binds: functions, classes, variables, attributes it assigns."""
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            defined.add(node.attr)
    return defined


def _imported_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module an ``from ... import`` statement imports from."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def private_reaches(module: str, source: str, is_package: bool = False) -> list[str]:
    """Where ``module`` reads a private name that another module owns.

    A private attribute (``x._name``, not a dunder) is the module's own when the module binds
    that name itself: its ``self._name``, a class of its own compared with ``other._name``. One
    read on anything but ``self`` or ``cls`` of a name the module never binds is a reach into
    another module's insides, and so is ``from module import _name`` (importing a private
    *module*, ``from . import _wire``, is the package's own seam and fine).
    """
    tree = ast.parse(source)
    own = _names_defined_in(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = node.attr
            if not name.startswith("_") or name.endswith("__") or name in own or name in NAMEDTUPLE_API:
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom):
            origin = _imported_from(module, is_package, node)
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and f"{origin}.{alias.name}" not in MODULES:
                    found.append(f"{module}:{node.lineno}: from {origin} import {alias.name}")
    return found


def test_no_module_reads_another_modules_private_names():
    found = [
        reach
        for module, path in MODULES.items()
        for reach in private_reaches(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    ]
    assert found == []


def test_the_private_name_scan_sees_reaches_and_leaves_own_names_alone():
    reaching = (
        "from .connection import _method_names\ndef send(connection):\n    return connection._call('SendMessage')\n"
    )
    assert private_reaches("connectparticipant_ext.attachments", reaching) == [
        "connectparticipant_ext.attachments:1: from connectparticipant_ext.connection import _method_names",
        "connectparticipant_ext.attachments:3: connection._call",
    ]
    own = (
        "from . import _wire\n"
        "class Key:\n"
        "    def __init__(self, value):\n"
        "        self._value = value\n"
        "    def __eq__(self, other):\n"
        "        return self._value == other._value and other.__class__ is Key\n"
        "def base(url):\n"
        "    return url._replace(path='')\n"
    )
    assert private_reaches("connectparticipant_ext.events", own) == []


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str) -> set[str]:
    """The package's modules ``module`` imports when run, at its top or inside a function.

    An import inside a function counts too: it runs when the function does, and a cycle through
    it fails then (or when the import order changes). Imports under ``if TYPE_CHECKING:`` never
    run and do not count. Importing ``a.b.c`` imports its packages ``a.b`` and ``a`` as well.
    """
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    targets: set[str] = set()

    def visit(nodes: Iterable[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom):
                origin = _imported_from(module, is_package, node)
                targets.update(
                    f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in MODULES else origin for alias in node.names
                )
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            visit(ast.iter_child_nodes(node))

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    with_packages = set()
    for target in targets:
        parts = target.split(".")
        with_packages.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    # A module's own packages are already importing when it runs: no edge back to them.
    return {target for target in with_packages if target in MODULES and not module.startswith(target + ".")}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_backend_package_imports_without_a_cycle():
    backend = {module for module in MODULES if module.startswith("connectparticipant_ext.testing")}
    graph = {module: imports_of(module) & backend for module in backend}
    assert "connectparticipant_ext.testing.state" in graph["connectparticipant_ext.testing.models"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def _documented_controls() -> set[str]:
    """The ``:members:`` of ChatBackend's entry in the API reference."""
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    entry = re.search(r"\.\. autoclass:: connectparticipant_ext\.testing\.ChatBackend\n((?:   .*\n)+)", api)
    assert entry is not None
    members = re.search(r":members:((?:.|\n)*?)\n   :", entry.group(1))
    assert members is not None
    return {name.strip() for name in members.group(1).replace("\n", " ").split(",")}


def _operations() -> set[str]:
    """The snake_case names of every Participant Service and Connect operation."""
    session = botocore.session.get_session()
    return {
        xform_name(operation)
        for service in ("connectparticipant", "connect")
        for operation in session.get_service_model(service).operation_names
    }


def test_chat_backend_shows_its_operations_and_documented_controls_only():
    public = {name for name in dir(ChatBackend) if not name.startswith("_")} - set(dir(BaseBackend))
    controls = _documented_controls()
    assert public - _operations() == controls
    assert controls <= public
    assert public & _operations() >= {"start_chat_contact", "send_message", "get_transcript", "stop_contact"}


def test_chat_backend_attributes_are_the_documented_ones():
    backend = get_chat_backend()
    moto_own = set(vars(BaseBackend("us-east-1", "123456789012")))
    public = {name for name in vars(backend) if not name.startswith("_")} - moto_own
    documented = set(re.findall(r"^\s+(\w+): ", ChatBackendBase.__doc__ or "", re.MULTILINE))
    assert public == documented


LAYOUT_PAGE = DOCS / "layout.rst"
REPOSITORY = DOCS.parent


def _tree_block(page: str) -> list[str]:
    """The lines of the page's ``code-block:: text`` tree."""
    block = page.split(".. code-block:: text\n\n", 1)[1]
    return [line.strip() for line in block.split("\n\n", 1)[0].splitlines()]


def test_the_layout_page_lists_every_module_and_only_modules_that_exist():
    page = LAYOUT_PAGE.read_text(encoding="utf-8")
    listed = re.findall(r"^\* ``([\w/]+\.py)``: \S", page, re.MULTILINE)
    modules = [path.relative_to(PACKAGE).as_posix() for path in MODULES.values()]
    assert sorted(listed) == sorted(modules)
    assert len(listed) == len(set(listed))
    named = {path for path in re.findall(r"``([^`\s<>]+\.py)``", page)}
    assert {path for path in named if not (PACKAGE / path).is_file() and not (REPOSITORY / path).is_file()} == set()


def test_the_layout_pages_tree_shows_every_subpackage_and_top_level_folder_that_exists():
    tree = _tree_block(LAYOUT_PAGE.read_text(encoding="utf-8"))
    top = [line.split()[0] for line in tree if not line.startswith(("├", "└"))]
    nested = [line.split()[1] for line in tree if line.startswith(("├", "└"))]
    assert top[0] == f"{PACKAGE.name}/"
    assert all((REPOSITORY / name).is_dir() for name in top)
    subpackages = {path.parent.name + "/" for path in PACKAGE.glob("*/__init__.py")}
    assert set(nested) == subpackages


def test_the_layout_page_is_in_the_guide():
    assert "\n   layout\n" in (DOCS / "index.rst").read_text(encoding="utf-8")
