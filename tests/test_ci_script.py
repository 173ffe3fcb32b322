"""The CI script's own checks (``.ci/``)."""

from __future__ import annotations


def test_ci_says_in_one_line_when_node_is_missing(tmp_path):
    """Without node, npm and apt-get on PATH, .ci/need-node fails with one clear line."""
    import shutil
    import subprocess
    from pathlib import Path

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    script = Path(__file__).parent.parent / ".ci" / "need-node"
    result = subprocess.run(
        [str(bin_dir / "bash"), str(script)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Node.js and npm are needed" in result.stderr
    assert "command not found" not in result.stderr
