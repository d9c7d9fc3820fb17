"""docs/adapters.md's lab script, run as written on the simulated lab."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"


def test_the_lab_script_of_the_docs_records_both_adapters(lab, tmp_path, monkeypatch):
    (code,) = re.findall(r"^```python\n(.*?)^```", DOC.read_text("utf-8"), re.S | re.M)
    swaps = {  # the hardware addresses of the page -> the simulated lab's
        '"GPIB0::16::INSTR"': f'"{lab.resource("keithley")}", read_termination="\\n", '
        'write_termination="\\n"',
        '"TCPIP::10.0.0.5::INSTR"': f'"{lab.resource("dmm65")}"',
    }
    for old, new in swaps.items():
        assert old in code, f"the snippet no longer contains {old}: update this test"
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {})
    with h5py.File(tmp_path / "bench.h5") as f:
        assert len(f["entry/k2000/voltage"]) == 10
        assert f["entry/k2000/voltage"].attrs["units"] == "V"
        assert f["entry/trace/data"].shape == (10, 100)
        np.testing.assert_allclose(f["entry/trace/time_axis"][()], np.arange(100) * 1e-3)
        assert f["entry/instrument_k2000/driver"][()].decode().startswith("pymeasure:")
