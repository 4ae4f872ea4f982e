"""``gradtrace export``, run in this process (torch is already imported here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtrace.cli import main

QUICK = "x = torch.tensor(2.0, requires_grad=True)\ny = x**2 + 3*x + 1\ny.backward()\n"


FORMATS = [("g.json", b'"nodes"'), ("g.dot", b"digraph"), ("g.graphml", b"<graphml"),
           ("g.node-link.json", b'"directed"')]


@pytest.mark.parametrize(("name", "marker"), FORMATS)
def test_export_writes_each_format(tmp_path: Path, name: str, marker: bytes) -> None:
    out = tmp_path / name
    assert main(["export", QUICK, "-o", str(out)]) == 0
    assert marker in out.read_bytes()


def test_export_reads_a_file_and_writes_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "p.py"
    program.write_text(QUICK, encoding="utf-8")
    assert main(["export", f"@{program}", "--format", "dot"]) == 0
    assert "digraph" in capsys.readouterr().out


def test_export_reports_errors_with_their_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "x = 1\nimport os", "--lang", "ko"]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "not_allowed" in err
