"""examples/log_sensors.py runs on the simulated lab and saves what every sensor read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "log_sensors.py"

EXPECTED = {
    "dmm": (["V"], 1.0),
    "power": (["W"], 1e-3),
    "temperature": (["K", "K", "K", "K"], 4.2),
    "gauge": (["mbar", "mbar"], 1e-6),
    "board": (["degC", "%"], 23.0),
}


def test_logs_every_simulated_sensor(tmp_path):
    output = tmp_path / "sensors.h5"
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--duration",
            "1.2",
            "--interval",
            "0.2",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"saved to {output}" in result.stdout
    with h5py.File(output, "r") as run:
        assert run.attrs["end_time_ns"] > run.attrs["start_time_ns"]
        assert set(run) == set(EXPECTED)
        for name, (units, first_value) in EXPECTED.items():
            group = run[name]
            values = group["values"][()]
            stamps = group["timestamps_ns"][()]
            assert list(group["values"].attrs["units"]) == units
            assert values.shape[0] >= 3
            assert values.shape == group["status"].shape
            assert stamps.shape == (values.shape[0],)
            assert np.all(np.diff(stamps) > 0)
            assert np.allclose(values[:, 0], first_value, rtol=0.05)
            json.loads(group.attrs["settings"])
        temperature_status = run["temperature"]["status"][()]
        assert (temperature_status[:, 3] == 1).all()  # input D has no sensor
        assert np.isnan(run["temperature"]["values"][:, 3]).all()


def test_board_needs_its_config():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--board", "loop://"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--board-config" in result.stderr
