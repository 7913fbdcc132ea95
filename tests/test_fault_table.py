"""The fault table (``scripts/fault_table.py``): every long-running command, every injected fault,
ends in a clear error with nothing lost, a resumed run, or an accepted (converted) input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {"fbnet data build", "fbnet data build --runner beam", "train.py",
            "fbnet interpolate", "export.py"}  # fmt: skip


@pytest.mark.slow
def test_fault_table_rows_are_all_clear_errors_resumes_or_accepted(tmp_path: Path) -> None:
    pytest.importorskip("apache_beam")
    report = tmp_path / "faults.json"
    done = subprocess.run(
        [sys.executable, "scripts/fault_table.py", "--work", str(tmp_path / "work"),
         "--json", str(report)],
        cwd=REPO, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert report.exists(), done.stderr[-3000:]
    rows = json.loads(report.read_text())
    failed = [row for row in rows if row["verdict"].startswith("FAIL")]
    assert not failed, (failed, done.stderr[-3000:])
    assert done.returncode == 0, done.stderr[-3000:]
    assert {row["command"] for row in rows} == COMMANDS
    faults = {(row["command"], row["fault"]) for row in rows}
    for command in COMMANDS:
        assert any(f.startswith("kill -9") for c, f in faults if c == command), command
        assert any(f.startswith("full disk") for c, f in faults if c == command), command
    kill = next(r for r in rows if r["command"] == "train.py" and r["fault"].startswith("kill"))
    assert kill["verdict"] == "resumed", kill
    errors = [r for r in rows if r["verdict"] == "clear error, nothing lost" and r["exit_code"]]
    assert errors and all(r["names_it"] for r in errors if r["names_it"] is not None)
    assert sum(r["exit_code"] not in (0, None) for r in rows) >= 15
