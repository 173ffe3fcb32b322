"""The pytest plugin the package registers (``pytest11`` entry point).

With moto installed (the ``local`` or ``test`` extra), it loads
:mod:`connectparticipant_ext.testing.plugin`: the chat backend is registered with moto and
its fixtures are available. Without moto it does nothing, so a plain install of the library
never breaks the test-suite of the project it is installed into.
"""

from __future__ import annotations

try:
    import moto  # noqa: F401
except ImportError:  # a plain install: no backend, no fixtures
    pytest_plugins: list[str] = []
else:
    pytest_plugins = ["connectparticipant_ext.testing.plugin"]
