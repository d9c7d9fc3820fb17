"""`instrumentkit acquire`, `inspect` and `plot` on the simulated lab, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from instrumentkit.acquisition import open_run
from instrumentkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "simulated_lab.yaml"


def small_config(tmp_path: Path, **stop: float) -> Path:
    """A quick run on two devices of the default lab."""
    config = {
        "lab": "default",
        "instruments": {"spectrometer": {"device": "spectrometer"}, "dmm": {"device": "dmm"}},
        "streams": {
            "spectrometer": {"instrument": "spectrometer", "rate": 10},
            "dmm": {"instrument": "dmm", "rate": 50},
        },
        "stop": stop or {"duration": 0.5},
        "output": {"path": str(tmp_path / "run.h5")},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_the_example_runs_and_says_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    code, output = invoke("acquire", str(EXAMPLE), "-o", str(out), "--duration", "1")
    assert code == 0, output
    assert "Starting the default simulated lab" in output
    assert "Run completed: duration of 1 s reached" in output
    assert f"file     {out}" in output
    assert f"instrumentkit inspect {out}" in output
    with open_run(out) as run:
        assert run.status == "completed"
        assert {"scope_ch1", "scope_ch2", "spectrometer", "dmm", "temperature"} <= set(run.streams)
        assert run["scope_ch1"]["y"].shape[1] == 1200
        assert all(len(run[s]) > 0 for s in run.streams if s != "errors")
        assert "lab: default" in run.config_text
        assert run.instruments["dmm"].idn.startswith("Keysight Technologies,34461A")
    for stream in ("scope_ch1", "spectrometer", "dmm", "temperature"):
        assert stream in output


def test_a_bad_config_is_one_line_and_exit_2_before_anything_starts(tmp_path: Path) -> None:
    path = small_config(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["streams"]["dmm"]["rate"] = -5
    path.write_text(yaml.safe_dump(config))
    code, output = invoke("acquire", str(path))
    assert code == 2
    assert output.strip().count("\n") == 0
    assert f"Error: {path} field 'streams.dmm.rate': Input should be greater than 0" in output
    assert not (tmp_path / "run.h5").exists()


def test_an_existing_file_needs_overwrite(tmp_path: Path) -> None:
    path = small_config(tmp_path)
    (tmp_path / "run.h5").write_bytes(b"precious")
    code, output = invoke("acquire", str(path))
    assert code == 2
    assert "already exists" in output
    assert (tmp_path / "run.h5").read_bytes() == b"precious"
    code, output = invoke("acquire", str(path), "--overwrite", "-q")
    assert code == 0, output
    assert "Run completed" in output


def test_max_readings_from_the_config(tmp_path: Path) -> None:
    path = small_config(tmp_path, max_readings=12)
    code, output = invoke("acquire", str(path))
    assert code == 0, output
    assert "max_readings of 12 reached" in output
    with open_run(tmp_path / "run.h5") as run:
        assert sum(len(run[s]) for s in run.streams if s != "errors") == 12


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("recorded")
    code, output = invoke("acquire", str(small_config(tmp_path)), "-q")
    assert code == 0, output
    return tmp_path / "run.h5"


def test_inspect_shows_status_instruments_streams_shapes_units(recorded: Path) -> None:
    code, output = invoke("inspect", str(recorded))
    assert code == 0, output
    assert "status   completed (duration of 0.5 s reached)" in output
    assert "dmm: Keysight34461A  Keysight Technologies,34461A" in output
    assert "spectrometer: spectra," in output
    assert "wavelength" in output
    assert "[nm]" in output
    assert "errors: none" in output


def test_inspect_json(recorded: Path) -> None:
    code, output = invoke("inspect", str(recorded), "--json")
    assert code == 0, output
    info = json.loads(output)
    assert info["status"] == "completed"
    spectra = info["streams"]["spectrometer"]
    assert spectra["kind"] == "spectra"
    assert spectra["datasets"]["intensities"]["shape"][1] == 3648
    assert spectra["datasets"]["wavelength"]["units"] == "nm"
    assert info["streams"]["dmm"]["datasets"]["reading"]["units"] == "V"
    assert info["errors"] == []


@pytest.mark.parametrize("stream", ["spectrometer", "dmm"])
def test_plot_writes_an_image(recorded: Path, tmp_path: Path, stream: str) -> None:
    target = tmp_path / f"{stream}.png"
    code, output = invoke("plot", str(recorded), stream, "-o", str(target))
    assert code == 0, output
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_refuses_unknown_streams_and_records(recorded: Path, tmp_path: Path) -> None:
    code, output = invoke("plot", str(recorded), "scope", "-o", str(tmp_path / "x.png"))
    assert code == 1
    assert "has no stream 'scope'; streams: " in output
    code, output = invoke("plot", str(recorded), "spectrometer", "--record", "9999")
    assert code == 1
    assert "--record 9999 is outside" in output


def test_plot_without_matplotlib_says_how_to_get_it(
    recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    code, output = invoke("plot", str(recorded), "dmm")
    assert code == 1
    assert "plot needs matplotlib: pip install 'instrumentkit[plot]'" in output


@pytest.mark.parametrize(
    ("stop_signal", "reason"),
    [
        (signal.SIGINT, "interrupted by the user (Ctrl-C)"),
        (signal.SIGTERM, "terminated (SIGTERM)"),
    ],
)
def test_ctrl_c_or_sigterm_stops_cleanly_marks_the_file_aborted_and_exits_130(
    tmp_path: Path, stop_signal: signal.Signals, reason: str
) -> None:
    path = small_config(tmp_path, duration=60)
    command = [sys.executable, "-m", "instrumentkit", "acquire", str(path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait for the run to be recording
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("[") and "readings" in line:
                break
        process.send_signal(stop_signal)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert process.returncode == 130, output
    assert f"Run aborted: {reason}" in output
    with open_run(tmp_path / "run.h5") as run:
        assert run.status == "aborted"
        assert run.reason == reason
        assert len(run["dmm"]) > 0
        assert run.end_time is not None


def test_a_sweep_from_the_config_steps_sets_and_reads(tmp_path: Path) -> None:
    config = {
        "lab": "default",
        "instruments": {"pm": {"device": "power-meter"},
                        "dmm": {"device": "dmm", "settings": {"nplc": 0.2}}},
        "streams": {"response": {"kind": "sweep", "instrument": "pm", "parameter": "wavelength",
                                 "values": {"start": 500, "stop": 1000, "num": 6},
                                 "read": ["pm", "dmm"]}},
        "output": {"path": str(tmp_path / "sweep.h5")},
    }  # fmt: skip
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    code, output = invoke("acquire", str(path))
    assert code == 0, output
    assert "Recording 1 source into" in output
    assert "until every stream is done" in output
    assert "Run completed: every source finished" in output
    assert "6 points" in output  # of the sweep's grid
    with open_run(tmp_path / "sweep.h5") as run:
        sweep = run["response"]
        assert sweep.kind == "sweep"
        assert sweep.signals == ("pm.power", "dmm.reading")  # on the wavelength axis
        assert sweep.attrs["axes"].tolist() == ["wavelength"]
        assert sweep.units["wavelength"] == "nm"
        assert sweep.units["pm.power"] == "W"
        np.testing.assert_array_equal(sweep["wavelength"], [500, 600, 700, 800, 900, 1000])
        assert run.instruments["pm"].settings_end["wavelength"]["value"] == 1000
