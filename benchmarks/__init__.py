"""Benchmarks of connectparticipant_ext: scripts that measure and print, not tests that time.

Run them all with ``python -m benchmarks`` (``--quick`` for a short run) from the project root.
Each ``bench_*`` module has ``run(quick) -> list[Result]``; see ``docs/benchmarks.rst``.
"""
