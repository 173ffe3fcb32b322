"""Run Sphinx as if only the ``docs`` extra were installed: ``python tests/_docs_only_sphinx.py ARGS``.

The test suite's virtualenv has every extra, so a docs build there cannot notice that a page
imports a package the ``docs`` extra does not bring (the pytest plugin's page and pytest,
``connectparticipant_ext.django`` and Django). This script computes the distributions the
``docs`` extra installs, transitively, from the installed metadata, makes every other
installed distribution's top-level modules unimportable (``ModuleNotFoundError``, as in a
virtualenv without them), then runs ``sphinx-build`` with ARGS. ``.ci/run`` builds the docs in
a real virtualenv with the ``docs`` extra only; this is the same check, offline, in the tests.
"""

from __future__ import annotations

import configparser
import importlib.abc
import importlib.metadata
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Optional

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "connectparticipant-ext"
SETUP_CFG = Path(__file__).resolve().parent.parent / "setup.cfg"
EXTRA = "docs"
# What any fresh virtualenv holds before the extra is installed.
VIRTUALENV_SEED = {"pip", "setuptools", "wheel"}


def project_requirements(extra: str = EXTRA) -> list[Requirement]:
    """The project's own requirements plus an extra's, read from setup.cfg (the installed
    metadata may predate the last edit)."""
    config = configparser.ConfigParser()
    config.read(SETUP_CFG, encoding="utf-8")
    lines = config["options"]["install_requires"].splitlines()
    lines += config["options.extras_require"][extra].splitlines()
    return [Requirement(line) for line in (line.strip() for line in lines) if line and not line.startswith("#")]


def distributions_of_extra(extra: str = EXTRA) -> set[str]:
    """Canonical names of the installed distributions ``pip install -e ".[extra]"`` brings in."""
    seen: set[tuple[str, frozenset[str]]] = {(canonicalize_name(PROJECT), frozenset({extra}))}
    todo = [(canonicalize_name(r.name), frozenset(r.extras)) for r in project_requirements(extra)]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            requirements = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here, so nothing of it can be imported either
        for line in requirements:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": wanted}) for wanted in extras or {""}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in seen}


def top_level_modules(distribution: importlib.metadata.Distribution) -> set[str]:
    """The names a distribution can be imported by (as ``packages_distributions()`` of 3.10+ finds them)."""
    declared = (distribution.read_text("top_level.txt") or "").split()
    if declared:
        return set(declared)
    names = {
        inspect.getmodulename(str(file)) if len(file.parts) == 1 else file.parts[0] for file in distribution.files or ()
    }
    return {name for name in names if name and "." not in name}


def modules_outside(allowed: set[str]) -> set[str]:
    """Top-level modules provided only by installed distributions that are not in ``allowed``."""
    providers: dict[str, set[str]] = {}
    for distribution in importlib.metadata.distributions():
        for module in top_level_modules(distribution):
            providers.setdefault(module, set()).add(canonicalize_name(distribution.metadata["Name"]))
    return {module for module, names in providers.items() if not names & allowed}


class NotInstalled(importlib.abc.MetaPathFinder):
    """A finder that says "not installed" for the given top-level modules."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]] = None, target: Optional[ModuleType] = None
    ) -> None:
        top = fullname.partition(".")[0]
        if top in self.modules:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not installed by the {EXTRA} extra)", name=top)
        return None


def main(argv: list[str]) -> int:
    allowed = distributions_of_extra() | VIRTUALENV_SEED
    sys.meta_path.insert(0, NotInstalled(modules_outside(allowed)))
    from sphinx.cmd.build import main as sphinx_build

    return sphinx_build(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
