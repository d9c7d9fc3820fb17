"""docs/recording.md's worked example, run as written on the simulated lab's DMM."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from instrumentkit.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "recording.md"


def snippet(first_line: str) -> str:
    blocks = re.findall(r"^ *```python\n(.*?)^ *```", DOC.read_text(), re.DOTALL | re.MULTILINE)
    (found,) = [b for b in blocks if b.lstrip().startswith(first_line)]
    indent = len(found) - len(found.lstrip(" "))
    return "\n".join(line[indent:] for line in found.splitlines()) + "\n"


def test_record_on_the_bench_commit_and_test_in_ci(lab, tmp_path, monkeypatch):
    bench = snippet("# record_dmm.py")
    assert '"TCPIP::192.168.1.20::INSTR"' in bench
    bench = bench.replace('"TCPIP::192.168.1.20::INSTR"', repr(lab["dmm"]))  # the lab's DMM
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests/recordings").mkdir(parents=True)
    exec(compile(bench, "record_dmm.py", "exec"), {})
    command = (
        "instrumentkit record to-sim tests/recordings/dmm.rec.yaml -o tests/recordings/dmm.yaml"
    )
    assert command in DOC.read_text()
    result = CliRunner().invoke(main, command.split()[1:])
    assert result.exit_code == 0, result.output
    (tmp_path / "tests/test_dmm_recorded.py").write_text(snippet("# tests/test_dmm_recorded.py"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "2 passed" in done.stdout, done.stdout + done.stderr


def test_the_worked_example_fails_when_the_driver_sends_other_bytes(lab, tmp_path, monkeypatch):
    bench = snippet("# record_dmm.py").replace('"TCPIP::192.168.1.20::INSTR"', repr(lab["dmm"]))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests/recordings").mkdir(parents=True)
    exec(compile(bench, "record_dmm.py", "exec"), {})
    changed = snippet("# tests/test_dmm_recorded.py").replace("range=10, nplc=1", "range=1, nplc=1")
    (tmp_path / "tests/test_dmm_recorded.py").write_text(changed)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", "-k", "session"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "1 failed" in done.stdout, done.stdout
    assert "expected (recording): b'VOLT:DC:RANG 10\\n'" in done.stdout
    assert "actual   (program):   b'VOLT:DC:RANG 1\\n'" in done.stdout
