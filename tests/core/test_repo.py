"""The README's two commands are the ones the project really uses."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "./scripts/test.sh" in readme
    assert re.search(r"^exec bash scripts/test\.sh\s*$", ci, re.MULTILINE)


def test_torch_is_pinned_to_the_tested_cpu_build() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    setup = (ROOT / "scripts" / "setup.sh").read_text("utf-8")
    assert '"torch==2.13.0"' in pyproject
    assert '"torch==2.13.0"' in setup
