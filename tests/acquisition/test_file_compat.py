"""Run files open in the readers labs have: HDF5 1.14 (HDFView, h5dump, MATLAB, h5py 3.11)
and NeXus tools (nexusformat), and `open_run` still reads files written by 0.1.0.

Every file is walked in a subprocess, every dataset read in full and every attribute
decoded, so a reader that crashes fails the test with its exit code (fixtures in
tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from instrumentkit.acquisition import Pipeline, Run, RunWriter, SensorSource, SweepSource, open_run
from instrumentkit.acquisition.synthetic import SyntheticSensor
from instrumentkit.cli import main
from instrumentkit.data import Reading, Waveform

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "tests" / "data" / "run-0.1.0.h5"


def main_job(folder: Path) -> Path:
    """The README's main command, shortened to one second."""
    out = folder / "main.h5"
    example = str(ROOT / "examples" / "simulated_lab.yaml")
    result = CliRunner().invoke(main, ["acquire", example, "-o", str(out), "--duration", "1"])
    assert result.exit_code == 0, result.output
    return out


def script_run(folder: Path) -> Path:
    """A lab script's Run: readings, a waveform and an array, declared by first records."""
    out = folder / "script.h5"
    with Run(out) as run:
        for i in range(5):
            run.append("temperature", Reading.single([4.2 + i, np.nan], ("A", "B"), "K",
                                                    status=[0, 1]))  # fmt: skip
            run.append("trace", Waveform(np.sin(np.arange(64) + i), x0=0.0, dx=1e-6, channel="1"))
            run.append("spectrum", np.arange(8.0) * i)
    return out


def sweep_run(folder: Path) -> Path:
    """A 1-D sweep (SweepSource, a grid on its axis) beside a logging sensor."""
    out = folder / "sweep.h5"
    readers = {"dmm": SyntheticSensor("dmm")}
    sweep = SweepSource("bias", np.linspace(0.0, 1.0, 5), set=lambda value: None,
                        readers=readers, stream="iv", units="V")  # fmt: skip
    log = SensorSource(SyntheticSensor("log"), rate=100, count=10)
    result = Pipeline([sweep, log], out).run()
    assert result.status == "completed", result.reason
    return out


def every_kind_gzip(folder: Path) -> Path:
    """Readings with status, raw waveforms, spectra and arrays, gzip-compressed: the
    generator of tests/data/run-0.1.0.h5, run with today's writer."""
    spec = importlib.util.spec_from_file_location("make_run", ROOT / "tests/data/make_run_0_1_0.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = folder / "every-kind.h5"
    module.main(str(out))
    return out


RUNS = {  # file -> (stream NeXus tools plot, its signal)
    "main job": (main_job, "scope_ch1", "y"),
    "script Run": (script_run, "temperature", "A"),
    "sweep": (sweep_run, "iv", "dmm.value"),  # against the axis "bias"
    "every kind, gzip": (every_kind_gzip, "dmm", "reading"),
}


@pytest.fixture(scope="module")
def run_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("compat")
    return {name: make(folder) for name, (make, _, _) in RUNS.items()}


@pytest.mark.parametrize("name", RUNS)
def test_every_object_reads_back_with_hdf5_1_14(
    name: str, run_files: dict[str, Path], old_hdf5: Any, current_hdf5: Any
) -> None:
    old, new = old_hdf5(run_files[name]), current_hdf5(run_files[name])
    assert old["h5py"]["hdf5"].startswith("1.14.")
    counts = ("groups", "datasets", "attributes", "values")
    assert {k: old["h5py"][k] for k in counts} == {k: new["h5py"][k] for k in counts}
    assert old["h5py"]["datasets"] > 10
    assert old["h5py"]["attributes"] > 50


@pytest.mark.parametrize("name", RUNS)
def test_nexus_tools_find_the_default_plot(
    name: str, run_files: dict[str, Path], old_hdf5: Any, current_hdf5: Any
) -> None:
    _, stream, signal = RUNS[name]
    for walk in (current_hdf5, old_hdf5):
        walked = walk(run_files[name])
        nexus = walked["nexus"]
        assert nexus["values"] == walked["h5py"]["values"]  # nexusformat read every field
        assert nexus["plottable"] == f"/entry/{stream}"
        assert nexus["signal"] == signal
        assert nexus["axes"][0] in ("time", "bias")
        assert nexus["fields"] > 10


def test_instruments_and_streams_sit_directly_under_the_entry(run_files: dict[str, Path]) -> None:
    import h5py

    with h5py.File(run_files["main job"], "r") as f:
        assert f.attrs["default"] == "entry"
        entry = f["entry"]
        assert entry.attrs["default"] == "scope_ch1"  # the first stream the config declares
        classes = {key: entry[key].attrs.get("NX_class") for key in entry
                   if isinstance(entry[key], h5py.Group)}  # fmt: skip
        assert classes == {
            "instrument_scope": "NXinstrument", "instrument_spectrometer": "NXinstrument",
            "instrument_dmm": "NXinstrument", "instrument_temperature": "NXinstrument",
            "scope_ch1": "NXdata", "scope_ch2": "NXdata", "spectrometer": "NXdata",
            "dmm": "NXdata", "temperature": "NXdata", "errors": "NXdata",
        }  # fmt: skip
    with open_run(run_files["main job"]) as run:
        assert set(run.instruments) == {"scope", "spectrometer", "dmm", "temperature"}
        assert run.instruments["dmm"].idn.startswith("Keysight")
        assert set(run.streams) == {"scope_ch1", "scope_ch2", "spectrometer", "dmm",
                                    "temperature", "errors"}  # fmt: skip


def test_the_default_stream_can_be_chosen(tmp_path: Path) -> None:
    import h5py

    with RunWriter(tmp_path / "run.h5", default_stream="b") as writer:
        writer.add_readings("a", "x", "V")
        writer.add_readings("b", "x", "V")
        writer.start()
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f["entry"].attrs["default"] == "b"


@pytest.mark.parametrize("name", ["status", "run_config", "instrument_dmm"])
def test_a_stream_may_not_take_a_name_the_entry_uses(tmp_path: Path, name: str) -> None:
    with RunWriter(tmp_path / "run.h5") as writer:
        writer.add_instrument("dmm", idn="", driver="", settings={})
        writer.add_readings("dmm", "v", "V")  # beside its instrument: a different name
        with pytest.raises(ValueError, match=f"would be /entry/{name}, which the run file"):
            writer.add_readings(name, "v", "V")


def test_files_written_by_0_1_0_still_read(tmp_path: Path) -> None:
    """tests/data/run-0.1.0.h5 was written by 0.1.0 itself (tests/data/make_run_0_1_0.py)."""
    rows, points = 6, 16
    index = np.arange(rows)
    with open_run(LEGACY) as run:
        assert run.program_version == "0.1.0"
        assert (run.status, run.reason) == ("aborted", "stopped by the test")
        assert run.start_time is not None
        assert run.end_time is not None
        assert run.config_text == "stop: {duration: 1}\n"
        assert run.metadata == {"sample": "Si-7"}
        dmm_record = run.instruments["dmm"]
        assert dmm_record.idn == "KEYSIGHT,34461A,MY1,A.02"
        assert dmm_record.resource == "TCPIP::127.0.0.1::5025::SOCKET"
        assert (dmm_record.settings_start, dmm_record.settings_end) == ({"nplc": 10.0},
                                                                        {"nplc": 1.0})  # fmt: skip
        assert run.streams == ("dmm", "peaks", "scope_ch1", "spectrometer")
        dmm = run["dmm"]
        assert (dmm.kind, dmm.signals) == ("readings", ("reading", "aux"))
        assert (dmm.units["reading"], dmm.units["aux"]) == ("V", "A")
        np.testing.assert_array_equal(dmm.time, index * 1000)
        np.testing.assert_array_equal(dmm["aux"], -index * 1.0)
        np.testing.assert_array_equal(dmm.monotonic, index * 0.1)
        assert dmm["status"][2].tolist() == [0, 1]
        scope = run["scope_ch1"]
        np.testing.assert_array_equal(scope["raw"], index[:, None] + np.arange(points))
        np.testing.assert_allclose(scope.sample_times()[0], -1e-3 + np.arange(points) * 1e-6)
        spectra = run["spectrometer"]
        np.testing.assert_array_equal(spectra.axes["wavelength"], np.linspace(400, 700, points))
        assert spectra["saturated"].tolist() == [False, False, False, True, False, False]
        np.testing.assert_array_equal(run["peaks"].data[:, 0], index + 500.0)
        assert run.to_xarray("dmm")["reading"].attrs["units"] == "V"


def test_status_codes_carry_their_meanings_as_cf_flags(run_files: dict[str, Path]) -> None:
    import h5py

    # The Lake Shore of the main job: inputs without a sensor read NaN with status bit 1.
    with h5py.File(run_files["main job"], "r") as f:
        status = f["entry/temperature/status"]
        assert status.attrs["flag_values"].dtype == np.int16
        assert status.attrs["flag_values"].tolist() == [0, 1, 16, 32, 64, 128]
        assert status.attrs["flag_meanings"] == (
            "valid invalid_reading temperature_underrange temperature_overrange "
            "sensor_units_zero sensor_units_overrange"
        )
    with open_run(run_files["main job"]) as run:
        temperature = run["temperature"]
        assert temperature.status_meanings[1] == "invalid_reading"
        codes = np.unique(temperature["status"])
        assert set(codes.tolist()) <= set(temperature.status_meanings)
        assert run["dmm"].status_meanings == {}  # no status codes, no flags
    with open_run(run_files["script Run"]) as run:  # no instrument to say: 0 is still valid
        assert run["temperature"].status_meanings == {0: "valid"}


def test_meanings_given_to_the_writer_become_one_word_each(tmp_path: Path) -> None:
    with RunWriter(tmp_path / "run.h5") as writer:
        writer.add_instrument("gauge", idn="", driver="", settings={},
                              status_meanings={5: "no sensor", 2: "over-range (high)"})  # fmt: skip
        writer.add_stream("gauge", Reading.single([1.0], "p", "hPa", status=[0]),
                          instrument="gauge")  # fmt: skip
        writer.add_readings("own", "p", "hPa", status=True, status_meanings={3: "bad"})
        writer.start()
    with open_run(tmp_path / "run.h5") as run:
        assert run["gauge"].status_meanings == {0: "valid", 2: "over-range_high", 5: "no_sensor"}
        assert run["own"].status_meanings == {0: "valid", 3: "bad"}
