"""RunWriter: layout, appends of every stream kind, phases, errors, compression."""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np
import pytest

from instrumentkit.acquisition import RunWriter
from instrumentkit.data import Reading, Spectrum, Waveform
from instrumentkit.errors import ConfigError


def text(dataset: h5py.Dataset) -> str:
    return dataset.asstr()[()]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "run.h5"


def test_entry_records_identity_times_config_and_status(path: Path) -> None:
    with RunWriter(path, config_text="streams: [dmm]\n", metadata={"sample": "Si-7"}) as run:
        run.add_instrument(
            "dmm", idn="KEYSIGHT,34461A,MY1,A.02", driver="keysight.Keysight34461A",
            settings={"nplc": 10.0, "range": np.float64(10)}, resource="TCPIP::1.2.3.4::INSTR",
        )  # fmt: skip
        run.start()
        run.close("completed", settings_end={"dmm": {"nplc": 1.0, "range": 10.0}})
    with h5py.File(path, "r") as f:
        entry = f["entry"]
        assert entry.attrs["NX_class"] == "NXentry"
        assert f.attrs["default"] == "entry"
        assert uuid.UUID(text(entry["entry_identifier"])).version == 4
        assert text(entry["program_name"]) == "instrumentkit"
        assert entry["program_name"].attrs["version"]
        start = datetime.fromisoformat(text(entry["start_time"]))
        end = datetime.fromisoformat(text(entry["end_time"]))
        assert start.tzinfo is not None
        assert start <= end
        assert text(entry["status"]) == "completed"
        assert text(entry["reason"]) == ""
        assert text(entry["run_config"]) == "streams: [dmm]\n"
        assert json.loads(text(entry["metadata"])) == {"sample": "Si-7"}
        dmm = entry["instrument_dmm"]
        assert dmm.attrs["NX_class"] == "NXinstrument"
        assert text(dmm["idn"]) == "KEYSIGHT,34461A,MY1,A.02"
        assert text(dmm["driver"]) == "keysight.Keysight34461A"
        assert text(dmm["resource"]) == "TCPIP::1.2.3.4::INSTR"
        assert json.loads(text(dmm["settings_start"])) == {"nplc": 10.0, "range": 10.0}
        assert json.loads(text(dmm["settings_end"])) == {"nplc": 1.0, "range": 10.0}


def test_readings_single_samples_and_blocks_land_in_order(path: Path) -> None:
    first = Reading.single([1.5, 300.0], ("voltage", "temperature"), ("V", "K"), timestamp_ns=7)
    stamps = np.arange(100, 100 + 600_000, dtype=np.int64)
    values = np.column_stack([np.arange(600_000.0), -np.arange(600_000.0)])
    with RunWriter(path) as run:
        stream = run.add_stream("sensor", first, monotonic=True)
        run.start()
        stream.append(first, monotonic=0.25)
        for lo in range(0, 600_000, 50_000):  # crosses the buffer capacity several times
            block = Reading(values[lo : lo + 50_000], stamps[lo : lo + 50_000], first.channels,
                            first.units)  # fmt: skip
            stream.append(block, monotonic=np.full(50_000, 1.0))
        assert stream.rows == 600_001
    with h5py.File(path, "r") as f:
        group = f["entry/sensor"]
        assert group.attrs["NX_class"] == "NXdata"
        assert group.attrs["signal"] == "voltage"
        assert list(group.attrs["auxiliary_signals"]) == ["temperature"]
        assert list(group.attrs["axes"]) == ["time"]
        np.testing.assert_array_equal(group["time"][:], np.concatenate([[7], stamps]))
        assert group["time"].attrs["start"] == "1970-01-01T00:00:00+00:00"
        np.testing.assert_array_equal(group["voltage"][:], np.concatenate([[1.5], values[:, 0]]))
        np.testing.assert_array_equal(group["temperature"][1:], values[:, 1])
        assert group["temperature"].attrs["units"] == "K"
        np.testing.assert_array_equal(group["monotonic"][:3], [0.25, 1.0, 1.0])


def test_every_data_set_has_units_long_name_and_time_scale(path: Path) -> None:
    waveform = Waveform(np.zeros(100), x0=-1e-3, dx=1e-5, channel="CH1",
                        raw=np.zeros(100, np.int8))  # fmt: skip
    spectrum = Spectrum(np.linspace(400, 800, 64), np.zeros(64), integration_time=0.1)
    with RunWriter(path) as run:
        run.add_readings("dmm", "voltage", "V", status=True)
        run.add_stream("scope", waveform, monotonic=True)
        run.add_stream("spectrometer", spectrum)
        run.add_arrays("image", (4, 5), np.uint16, units="counts")
        run.start()
    with h5py.File(path, "r") as f:
        for group in (g for g in f["entry"].values() if g.attrs.get("NX_class") == "NXdata"):
            for name, dataset in group.items():
                assert {"units", "long_name"} <= set(dataset.attrs), dataset.name
                if name not in ("time", "monotonic", "wavelength", "sample"):
                    assert dataset.dims[0]["time"] == group["time"]
        scope = f["entry/scope"]
        assert scope["y"].dims[0]["monotonic"] == scope["monotonic"]
        assert scope["y"].dims[1]["sample"] == scope["sample"]
        assert list(scope.attrs["axes"]) == ["time", "sample"]
        spectra = f["entry/spectrometer"]
        assert spectra["intensities"].dims[1]["wavelength"] == spectra["wavelength"]
        assert spectra.attrs["wavelength_indices"] == 1
        assert spectra["wavelength"].attrs["units"] == "nm"


def test_codes_are_stored_with_the_line_that_scales_them(path: Path) -> None:
    codes = np.arange(-6, 6, dtype=">i2").reshape(3, 4)
    waves = [
        Waveform.from_codes(codes[i], 0.01 * (i + 1), 0.5 - i, 0.0, 1e-6, "CH1") for i in range(3)
    ]
    with RunWriter(path) as run:
        scope = run.add_stream("scope", waves[0])
        run.start()
        scope.append(waves[0])
        scope.extend(waves[1:])
        scope.append_block(codes[:1] * 2.0, timestamps_ns=[5], x0=0.0, dx=1e-6, raw=codes[:1])
    with h5py.File(path, "r") as f:
        group = f["entry/scope"]
        raw, gain, bias = group["raw"][:], group["gain"][:], group["bias"][:]
        np.testing.assert_array_equal(gain[:3], [0.01, 0.02, 0.03])
        np.testing.assert_array_equal(bias[:3], [0.5, -0.5, -1.5])
        assert np.isnan(gain[3])  # the block did not say how its codes scale
        assert np.isnan(bias[3])
        np.testing.assert_allclose(group["y"][:3], raw[:3] * gain[:3, None] + bias[:3, None])
        assert group["gain"].attrs["units"] == "V/count"
        assert raw.dtype == np.dtype(">i2")
        # Per-record columns are chunked like the stream's records (4-point int16 codes:
        # 8192 records a chunk), not 32768 rows (256 KiB) up front.
        assert group["y"].chunks == (8192, 4)
        assert group["gain"].chunks == (8192,)
        assert group["time"].chunks == (8192,)


def test_waveforms_one_by_one_in_lists_and_as_blocks(path: Path) -> None:
    rng = np.random.default_rng(1)
    traces = rng.normal(size=(9, 1000))
    codes = (traces * 20).astype(np.int8)
    waves = [
        Waveform(traces[i], x0=-5e-4 + i, dx=1e-6, channel="CH2", timestamp_ns=1000 + i,
                 raw=codes[i])
        for i in range(4)
    ]  # fmt: skip
    with RunWriter(path, compression="gzip") as run:
        scope = run.add_stream("scope", waves[0])
        run.start()
        scope.append(waves[0])
        scope.extend(waves[1:4])
        scope.append_block(traces[4:], timestamps_ns=np.arange(2000, 2005), x0=0.0, dx=2e-6,
                           raw=codes[4:])  # fmt: skip
    with h5py.File(path, "r") as f:
        group = f["entry/scope"]
        np.testing.assert_array_equal(group["y"][:], traces)
        np.testing.assert_array_equal(group["raw"][:], codes)
        np.testing.assert_array_equal(group["x0"][:4], [-5e-4, 1 - 5e-4, 2 - 5e-4, 3 - 5e-4])
        np.testing.assert_array_equal(group["dx"][:], [1e-6] * 4 + [2e-6] * 5)
        np.testing.assert_array_equal(
            group["time"][:], [1000, 1001, 1002, 1003, *range(2000, 2005)]
        )
        assert group.attrs["channel"] == "CH2"
        assert group["y"].chunks == (32, 1000)  # 256 KiB of records
        assert group["x0"].chunks == (1024,)  # the floor, not 32768 rows of 8 bytes
        assert (group["y"].compression, group["y"].shuffle) == ("gzip", True)


def test_spectra_keep_axis_exposure_and_flags(path: Path) -> None:
    axis = np.linspace(200.0, 1100.0, 2048)
    counts = np.arange(3 * 2048, dtype=np.float64).reshape(3, 2048)
    spectra = [
        Spectrum(axis, counts[0], integration_time=0.01, timestamp_ns=5),
        Spectrum(axis.copy(), counts[1], saturated=True, dark_corrected=True, timestamp_ns=6),
        Spectrum(axis, counts[2], integration_time=0.02, timestamp_ns=7),
    ]
    with RunWriter(path) as run:
        stream = run.add_stream("spec", spectra[0])
        run.start()
        stream.append(spectra[0])
        stream.extend(spectra[1:])
        with pytest.raises(ValueError, match="another wavelength axis"):
            stream.append(Spectrum(axis + 1.0, counts[0]))
    with h5py.File(path, "r") as f:
        group = f["entry/spec"]
        np.testing.assert_array_equal(group["wavelength"][:], axis)
        np.testing.assert_array_equal(group["intensities"][:], counts)
        np.testing.assert_array_equal(group["integration_time"][:], [0.01, np.nan, 0.02])
        np.testing.assert_array_equal(group["saturated"][:], [False, True, False])
        np.testing.assert_array_equal(group["dark_corrected"][:], [False, True, False])
        np.testing.assert_array_equal(group["time"][:], [5, 6, 7])


def test_arrays_of_a_structured_dtype(path: Path) -> None:
    peak = np.dtype([("index", np.int64), ("height", np.float64)])
    table = np.array([(3, 0.5), (9, 2.0)], dtype=peak)
    with RunWriter(path) as run:
        peaks = run.add_arrays("peaks", (2,), peak)
        run.start()
        peaks.append(table, timestamp_ns=11)
        peaks.append_block(np.stack([table, table[::-1]]), timestamps_ns=[12, 13])
    with h5py.File(path, "r") as f:
        data = f["entry/peaks/data"][:]
        assert data.dtype == peak
        np.testing.assert_array_equal(data[2], table[::-1])
        np.testing.assert_array_equal(f["entry/peaks/time"][:], [11, 12, 13])


def test_bad_blocks_are_refused_and_leave_the_stream_untouched(path: Path) -> None:
    with RunWriter(path) as run:
        dmm = run.add_readings("dmm", ["a", "b"], ["V", "V"])
        scope = run.add_waveforms("scope", 100)
        run.start()
        with pytest.raises(ValueError, match=r"shape \(samples, 2\)"):
            dmm.append_block(np.arange(3), np.zeros((3, 1)))
        with pytest.raises(ValueError, match="channels"):
            dmm.append(Reading.single(1.0, "c", "V"))
        with pytest.raises(ValueError, match="100-point"):
            scope.append(Waveform(np.zeros(99), 0.0, 1.0, "CH1"))
        with pytest.raises(ValueError, match="timestamps"):
            scope.append_block(np.zeros((2, 100)), timestamps_ns=[1], x0=0.0, dx=1.0)
        with pytest.raises(ValueError, match="monotonic=True"):
            dmm.append(Reading.single([1.0, 2.0], ("a", "b"), "V"), monotonic=1.0)
        assert (dmm.rows, scope.rows) == (0, 0)


def test_phases_declare_then_stream(path: Path) -> None:
    run = RunWriter(path)
    stream = run.add_readings("dmm", "v", "V")
    with pytest.raises(RuntimeError, match="start"):
        stream.append(Reading.single(1.0, "v", "V"))
    run.start()
    with pytest.raises(RuntimeError, match="after start"):
        run.add_readings("late", "v", "V")
    with pytest.raises(RuntimeError, match="after start"):
        run.add_instrument("late", idn="x", driver="y", settings={})
    stream.append(Reading.single(1.0, "v", "V"))
    run.close()
    with pytest.raises(RuntimeError, match="ended"):
        stream.append(Reading.single(2.0, "v", "V"))
    with h5py.File(path, "r") as f:
        assert f["entry/dmm/v"][:].tolist() == [1.0]


def test_a_run_closed_before_start_is_still_complete(path: Path) -> None:
    with RunWriter(path) as run:
        run.add_readings("dmm", "v", "V")
    with h5py.File(path, "r") as f:
        assert text(f["entry/status"]) == "completed"
        assert datetime.fromisoformat(text(f["entry/start_time"])).tzinfo is not None
        assert f["entry/dmm/v"].shape == (0,)


def test_an_exception_in_the_with_block_aborts_and_keeps_the_data(path: Path) -> None:
    def measure_then_fail() -> None:
        with RunWriter(path) as run:
            stream = run.add_readings("dmm", "v", "V")
            run.start()
            stream.append_block(np.arange(5), np.ones((5, 1)))
            _ = 1 / 0

    with pytest.raises(ZeroDivisionError):
        measure_then_fail()
    with h5py.File(path, "r") as f:
        assert text(f["entry/status"]) == "aborted"
        assert text(f["entry/reason"]) == "ZeroDivisionError: division by zero"
        assert f["entry/dmm/v"][:].tolist() == [1.0] * 5
        assert text(f["entry/end_time"])


def test_existing_files_are_kept_unless_overwrite(path: Path) -> None:
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=str(path)):
        RunWriter(path)
    assert path.read_bytes() == b"precious"
    RunWriter(path, overwrite=True).close()
    assert h5py.is_hdf5(path)


def test_missing_and_unwritable_output_folders_fail_before_anything_is_written(
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError, match=r"output directory .*nowhere"):
        RunWriter(tmp_path / "nowhere" / "run.h5")
    # /proc refuses new files even for root, where permission bits would not.
    with pytest.raises(OSError, match=r"run\.h5"):
        RunWriter("/proc/run.h5")


def test_reason_and_end_settings_are_cut_to_their_reserved_room(path: Path) -> None:
    with RunWriter(path) as run:
        run.add_instrument("dmm", idn="x", driver="y", settings={}, settings_capacity=100)
        run.start()
        run.close("aborted", "é" * 5000, settings_end={"dmm": {"blob": "x" * 500}})
    with h5py.File(path, "r") as f:
        reason = text(f["entry/reason"])
        assert reason == "é" * 2048  # 4096 bytes, cut between characters
        end = json.loads(text(f["entry/instrument_dmm/settings_end"]))
        assert "exceeds the 100 bytes reserved" in end["error"]


def test_flush_interval_and_maybe_flush(path: Path) -> None:
    with RunWriter(path, flush_interval=None, fsync=True) as run:
        run.start()
        assert run.maybe_flush() is False
        run.flush()
    with RunWriter(path, flush_interval=0.0, overwrite=True) as run:
        stream = run.add_readings("dmm", "v", "V")
        run.start()
        stream.append(Reading.single(1.0, "v", "V"))  # the interval is over: flushes
        assert stream.rows_written == 1
        assert run.maybe_flush() is True


def test_blosc_compression_round_trips(path: Path) -> None:
    pytest.importorskip("hdf5plugin")
    ramp = np.arange(100_000, dtype=np.float64).reshape(1000, 100)
    with RunWriter(path, compression="blosc") as run:
        stream = run.add_arrays("ramp", (100,))
        run.start()
        stream.append_block(ramp, timestamps_ns=np.arange(1000))
    with h5py.File(path, "r") as f:
        dataset = f["entry/ramp/data"]
        assert dataset.id.get_create_plist().get_filter(0)[0] == 32001  # Blosc
        np.testing.assert_array_equal(dataset[:], ramp)
        assert dataset.id.get_storage_size() < ramp.nbytes / 3


def test_compression_errors_are_config_errors(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown compression 'zip'"):
        RunWriter(path, compression="zip")  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "hdf5plugin", None)  # as if it were not installed
    with pytest.raises(ConfigError, match="hdf5plugin"):
        RunWriter(path, compression="blosc")
    assert not path.exists()


def test_a_disk_without_room_is_refused_before_the_file_is_created(path: Path) -> None:
    with pytest.raises(OSError, match=r"cannot start, only .* MB left") as error:
        RunWriter(path, min_free_bytes=10**18)
    assert error.value.errno == 28  # ENOSPC
    assert not path.exists()
    assert "no file was created" in str(error.value)
    assert "rows up to the last flush" not in str(error.value)  # there are none


def test_blocks_larger_than_the_buffer_go_straight_to_the_file(path: Path) -> None:
    with RunWriter(path) as run:
        dmm = run.add_readings("dmm", "v", "V")
        scope = run.add_waveforms("scope", 100_000)
        run.start()
        big = dmm.capacity * 2 + 3
        dmm.append_block(np.arange(5), np.zeros((5, 1)))
        dmm.append_block(np.arange(big), np.arange(big, dtype=float)[:, None])
        assert dmm.rows_written == 5 + big  # the buffer was written first, then the block
        traces = np.arange(scope.capacity * 3 * 100_000, dtype=float).reshape(-1, 100_000)
        scope.append_block(traces, timestamps_ns=np.arange(len(traces)), x0=0.0, dx=1.0)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["entry/dmm/v"][5:], np.arange(big))
        np.testing.assert_array_equal(f["entry/scope/y"][:], traces)
        assert f["entry/scope/y"].chunks[1] < 100_000  # a row larger than a chunk is split


@pytest.mark.skipif(sys.platform != "linux", reason="room is claimed with Linux fallocate")
def test_disk_room_is_claimed_ahead_while_writing_and_given_back_at_close(path: Path) -> None:
    with RunWriter(path, min_free_bytes=0) as run:
        scope = run.add_waveforms("scope", 5000)
        run.start()
        scope.append_block(np.ones((10, 5000)), timestamps_ns=np.arange(10), x0=0.0, dx=1e-6)
        run.flush()
        during = os.stat(path)
        # Blocks past the end belong to the file: HDF5 writes into them, no one else can.
        assert during.st_blocks * 512 >= during.st_size + 1024 * 1024
    after = os.stat(path)
    assert after.st_blocks * 512 < after.st_size + 64 * 1024
