"""examples/spectrum_scan.py runs on the simulated lab and writes what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "spectrum_scan.py"


@pytest.mark.parametrize(
    ("arguments", "points", "units"),
    [
        (["--instrument", "usb4000", "--integration-ms", "10", "--dark"], 3648, "counts"),
        (["--instrument", "aq6370"], 1001, "dBm"),
    ],
)
def test_scan_writes_spectra(tmp_path, arguments, points, units):
    output = tmp_path / "scan.h5"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments, "--count", "3", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 spectra" in result.stdout
    with h5py.File(output, "r") as f:
        data = f["entry/data"]
        assert data["intensities"].shape == (3, points)
        assert data["intensities"].attrs["units"] == units
        assert data["wavelengths"].attrs["units"] == "nm"
        assert np.all(np.diff(data["timestamps_ns"][:]) >= 0)
        settings = json.loads(f["entry/instrument/spectrometer"].attrs["settings"])
        assert "averages" in settings
        if "--dark" in arguments:
            assert data["intensities"].attrs["dark_corrected"]
            assert data["dark"].shape == (points,)
            # Dark-corrected: what is left between the lines is the lamp's faint baseline.
            assert abs(float(np.median(data["intensities"][:]))) < 50
