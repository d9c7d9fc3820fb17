"""examples/scope_capture.py runs as a lab script would and its file holds the waveforms."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "scope_capture.py"


@pytest.mark.parametrize("model", ["keysight-dsox3034t", "rigol-ds1054z"])
def test_capture_writes_every_waveform_in_volts(tmp_path, model):
    output = tmp_path / "capture.h5"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--model", model, "--count", "4", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "4 captures" in done.stdout
    with h5py.File(output, "r") as file:
        assert file.attrs["idn"].split(",")[1] in ("DSOX3034T", "DS1054Z")
        settings = json.loads(file.attrs["settings"])
        assert settings["channels"]["1"]["scale"]["value"] == 0.5
        stamps = file["waveforms/timestamps_ns"][:]
        assert np.all(np.diff(stamps) > 0)
        (sine_name, square_name) = sorted(k for k in file["waveforms"] if k != "timestamps_ns")
        sine = file[f"waveforms/{sine_name}/volts"]
        square = file[f"waveforms/{square_name}/volts"]
        assert sine.shape[0] == square.shape[0] == 4
        assert sine.attrs["units"] == "V"
        assert sine.attrs["dx"] > 0
        # The simulated lab's default sources: a 1 V sine on 1, a 0..1 V square on 2.
        for trace in sine[:]:
            assert trace.max() == pytest.approx(1.0, abs=0.05)
            assert trace.min() == pytest.approx(-1.0, abs=0.05)
        assert square[:].min() == pytest.approx(0.0, abs=0.05)
        assert square[:].max() == pytest.approx(1.0, abs=0.05)
        raw = file[f"waveforms/{sine_name}/raw"]
        assert raw.shape == sine.shape
        assert raw.dtype.kind in "iu"


def test_refuses_a_resource_that_is_not_a_scope(tmp_path):
    from instrumentkit.drivers.keysight import Keysight34461A
    from instrumentkit.simfiles import sim_path

    command = [sys.executable, str(SCRIPT), "--resource", Keysight34461A.sim_resource]
    command += ["--backend", f"{sim_path(Keysight34461A)}@sim", "--output", str(tmp_path / "x.h5")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "Keysight34461A, not an oscilloscope" in done.stderr
    assert not (tmp_path / "x.h5").exists()
