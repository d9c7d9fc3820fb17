"""open_run: arrays with axes and units, lazy views, xarray, files still being written."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from instrumentkit.acquisition import Run, RunWriter, open_run
from instrumentkit.data import Reading, Spectrum
from instrumentkit.errors import InstrumentError

AXIS = np.linspace(350.0, 1050.0, 256)
TRACES = np.sin(np.linspace(0, 20, 5 * 500)).reshape(5, 500)
COUNTS = np.arange(4 * 256, dtype=np.float64).reshape(4, 256)


@pytest.fixture(scope="module")
def run_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reader") / "run.h5"
    with RunWriter(path, config_text="duration: 1 s\n", metadata={"operator": "ada"}) as run:
        run.add_instrument("dmm", idn="KEYSIGHT,34461A", driver="keysight.Keysight34461A",
                           settings={"nplc": 10})  # fmt: skip
        dmm = run.add_readings("dmm", ["v", "i"], ["V", "A"], status=True, monotonic=True)
        scope = run.add_waveforms("scope", 500, channel="CH1", instrument="scope")
        spec = run.add_spectra("spec", AXIS)
        peaks = run.add_arrays("peaks", (3,), np.int32, units="pixel")
        run.start()
        dmm.append_block(np.arange(10) * 1000, np.column_stack([np.arange(10.0)] * 2) * [1, -1],
                         status=np.zeros((10, 2)), monotonic=np.arange(10) * 0.5)  # fmt: skip
        scope.append_block(TRACES, timestamps_ns=np.arange(5), x0=-1e-3, dx=[1e-6] * 5)
        spec.extend([Spectrum(AXIS, row, integration_time=0.1, timestamp_ns=9) for row in COUNTS])
        peaks.append_block(np.arange(6).reshape(2, 3), timestamps_ns=[1, 2])
        run.close(settings_end={"dmm": {"nplc": 1}})
    return path


def test_run_level_fields(run_path: Path) -> None:
    with open_run(run_path) as run:
        assert run.status == "completed"
        assert run.reason == ""
        assert run.start_time is not None
        assert run.end_time is not None
        assert run.start_time <= run.end_time
        assert run.config_text == "duration: 1 s\n"
        assert run.metadata == {"operator": "ada"}
        assert len(run.entry_identifier) == 36
        assert run.program_version
        assert run.streams == ("dmm", "peaks", "scope", "spec")
        dmm = run.instruments["dmm"]
        assert (dmm.idn, dmm.driver) == ("KEYSIGHT,34461A", "keysight.Keysight34461A")
        assert (dmm.settings_start, dmm.settings_end) == ({"nplc": 10}, {"nplc": 1})


def test_streams_come_back_as_arrays_with_units(run_path: Path) -> None:
    with open_run(run_path) as run:
        dmm = run["dmm"]
        assert (dmm.kind, dmm.signal, dmm.signals) == ("readings", "v", ("v", "i"))
        np.testing.assert_array_equal(dmm.data, np.arange(10.0))
        np.testing.assert_array_equal(dmm["i"], -np.arange(10.0))
        np.testing.assert_array_equal(dmm.time, np.arange(10) * 1000)
        np.testing.assert_array_equal(dmm.monotonic, np.arange(10) * 0.5)
        assert dmm.datetime[1] == np.datetime64(1000, "ns")
        assert (dmm.units["v"], dmm.units["i"], dmm.units["time"]) == ("V", "A", "ns")
        scope = run["scope"]
        np.testing.assert_array_equal(scope.data, TRACES)
        np.testing.assert_allclose(scope.sample_times()[2, :3], [-1e-3, -1e-3 + 1e-6, -1e-3 + 2e-6])
        assert scope.attrs["instrument"] == "scope"
        spec = run["spec"]
        np.testing.assert_array_equal(spec["wavelength"], AXIS)
        assert spec.units["wavelength"] == "nm"
        assert len(spec) == 4
        with pytest.raises(TypeError, match="not waveforms"):
            spec.sample_times()
        with pytest.raises(KeyError, match="streams"):
            run["nope"]


def test_lazy_views_read_on_demand(run_path: Path) -> None:
    with open_run(run_path, lazy=True) as run:
        intensities = run["spec"].data
        assert isinstance(intensities, h5py.Dataset)
        np.testing.assert_array_equal(intensities[1:3, :5], COUNTS[1:3, :5])
    pytest.importorskip("dask")
    with open_run(run_path, lazy="dask") as run:
        traces = run["scope"].data
        assert type(traces).__module__.startswith("dask")
        np.testing.assert_array_equal(traces.mean(axis=0).compute(), TRACES.mean(axis=0))


def test_to_xarray_has_dimensions_coordinates_and_units(run_path: Path) -> None:
    pytest.importorskip("xarray")
    with open_run(run_path) as run:
        spec = run.to_xarray("spec")
        assert spec["intensities"].dims == ("time", "wavelength")
        np.testing.assert_array_equal(spec["wavelength"].values, AXIS)
        assert spec["intensities"].attrs["units"] == "counts"
        assert spec["wavelength"].attrs["units"] == "nm"
        scope = run.to_xarray("scope")
        assert scope["y"].dims == ("time", "sample")
        np.testing.assert_array_equal(scope["dx"].values, [1e-6] * 5)
        dmm = run.to_xarray("dmm")
        assert dmm["status"].dims == ("time", "channel")
        assert list(dmm["channel"].values) == ["v", "i"]
        assert dmm["v"].attrs["units"] == "V"
        assert dmm["time"].dtype == np.dtype("datetime64[ns]")
        peaks = run.to_xarray("peaks")
        assert peaks["data"].dims == ("time", "dim_1")
    pytest.importorskip("dask")
    with open_run(run_path, lazy="dask") as run:
        lazy = run.to_xarray("scope")
        assert lazy["y"].chunks is not None
        np.testing.assert_array_equal(lazy["y"].values, TRACES)


def test_not_a_run_file(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = 1
    with pytest.raises(ValueError, match="not an instrumentkit run file"):
        open_run(path)


READER = textwrap.dedent(
    """
    import sys, time
    from instrumentkit.acquisition import open_run

    run = open_run(sys.argv[1])
    print(run.status, len(run["dmm"]), flush=True)
    sys.stdin.readline()  # the writer has appended and flushed more rows
    print(run.status, len(run["dmm"]), flush=True)
    sys.stdin.readline()  # the writer has closed the run
    deadline = time.monotonic() + 10
    while run.status == "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    print(run.status, run.reason, len(run["dmm"]), run.instruments["dmm"].settings_end,
          flush=True)
    """
)


def test_a_reader_process_follows_rows_and_sees_the_status_change(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    writer = RunWriter(path, flush_interval=None)
    writer.add_instrument("dmm", idn="x", driver="y", settings={"nplc": 1})
    dmm = writer.add_readings("dmm", "v", "V")
    writer.start()
    dmm.append(Reading.single(1.0, "v", "V"))
    writer.flush()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert reader.stdout is not None
        assert reader.stdin is not None
        assert reader.stdout.readline().split() == ["running", "1"]
        dmm.append_block(np.arange(4), np.ones((4, 1)))
        writer.flush()
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == ["running", "5"]
        writer.close("aborted", "operator stop", settings_end={"dmm": {"nplc": 2}})
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "aborted operator stop 5 {'nplc': 2}"
    finally:
        reader.kill()
        _, errors = reader.communicate(timeout=10)
    assert "Error" not in errors, errors


def test_blosc_compressed_runs_read_back(tmp_path: Path) -> None:
    pytest.importorskip("hdf5plugin")
    path = tmp_path / "blosc.h5"
    with RunWriter(path, compression="blosc") as run:
        scope = run.add_waveforms("scope", 500)
        run.start()
        scope.append_block(TRACES, timestamps_ns=np.arange(5), x0=0.0, dx=1.0)
    with open_run(path) as run:
        np.testing.assert_array_equal(run["scope"].data, TRACES)


def test_streams_are_found_by_the_name_as_given(tmp_path: Path) -> None:
    path = tmp_path / "names.h5"
    with RunWriter(path) as run:
        run.add_readings("lab/temperature", "t", "K")
    with open_run(path) as run:
        assert run.streams == ("lab_temperature",)
        assert run["lab/temperature"].name == "lab_temperature"


def test_to_xarray_without_xarray_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plain.h5"
    with Run(path) as run:
        run.append("v", 1.0)
    monkeypatch.setitem(sys.modules, "xarray", None)  # import fails as if not installed
    monkeypatch.delitem(sys.modules, "instrumentkit.acquisition._xarray", raising=False)
    with open_run(path) as f, pytest.raises(ImportError) as missing:
        f.to_xarray("v")
    assert type(missing.value) is ImportError  # not the bare ModuleNotFoundError
    assert "to_xarray() needs the optional package xarray" in str(missing.value)
    assert "pip install 'instrumentkit[xarray]'" in str(missing.value)


def test_open_run_on_a_file_that_is_not_hdf5_is_an_instrumentkit_error(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("lab: default\n")
    with pytest.raises(InstrumentError, match="is not an HDF5 file, so not a run file"):
        open_run(config)


def test_a_lazy_stream_still_reads_right_after_the_stream_is_read_again(tmp_path: Path) -> None:
    """HDF5 reads wrong data through both handles of a dataset once one of them is
    refreshed: the reader keeps one handle per dataset, however often a stream is read."""
    path = tmp_path / "many-chunks.h5"
    values = np.arange(50_000, dtype=np.float64)
    with RunWriter(path) as run:
        counter = run.add_readings("counter", ["n"], [""])
        run.start()
        counter.append_block(np.arange(values.size), values[:, None])
    with open_run(path, lazy=True) as run:
        held = run["counter"]["n"]
        np.testing.assert_array_equal(held[:], values)
        again = run["counter"]["n"]  # refreshes the dataset: must not spoil `held`
        np.testing.assert_array_equal(held[:], values)
        np.testing.assert_array_equal(again[:], values)
        assert run.status == "completed"
