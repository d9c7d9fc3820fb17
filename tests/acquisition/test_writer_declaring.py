"""RunWriter's declaring phase and its status: names, kinds, refusals, what the entry says."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest

from instrumentkit._axis_array import AxisArray
from instrumentkit.acquisition import RunWriter
from instrumentkit.acquisition._axis_arrays import AxisArrayStream
from instrumentkit.acquisition._readings import ReadingStream
from instrumentkit.acquisition._records import ArrayStream, SpectrumStream, WaveformStream
from instrumentkit.acquisition._sweep_grid import FieldSpec, SweepGrid, SweepPoint
from instrumentkit.acquisition._sweep_stream import SweepStream
from instrumentkit.data import Reading, Spectrum, Waveform


def exactly(message: str) -> str:
    """A `match=` pattern for this whole message and nothing else."""
    return f"^{re.escape(message)}$"


def text(dataset: h5py.Dataset) -> str:
    return dataset.asstr()[()]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "run.h5"


def test_status_follows_the_phases_and_start_records_when_the_run_began(path: Path) -> None:
    run = RunWriter(path, flush_interval=None)
    assert run.status == "created"
    with h5py.File(path, "r", swmr=True) as f:
        assert text(f["entry/status"]) == "created"
    began = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456Z
    run.start(began)
    assert run.status == "running"
    with h5py.File(path, "r", swmr=True) as f:
        assert text(f["entry/status"]) == "running"
        start = datetime.fromisoformat(text(f["entry/start_time"]))
    assert start == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=timezone.utc)
    with pytest.raises(RuntimeError, match=f"{path}: cannot start twice after start"):
        run.start()
    run.close()
    assert run.status == "completed"
    assert repr(run) == f"<RunWriter {str(path)!r} completed, streams []>"


def test_flush_needs_a_started_open_run(path: Path) -> None:
    run = RunWriter(path)
    with pytest.raises(RuntimeError) as caught:
        run.flush()
    assert str(caught.value) == f"{path}: flush() needs a started, open run (created)"
    run.start()
    run.close()
    with pytest.raises(RuntimeError, match=r"needs a started, open run \(completed\)"):
        run.flush()


def test_names_are_declared_once_and_never_shadow_the_entry(path: Path) -> None:
    with RunWriter(path) as run:
        run.add_instrument("dmm", idn="x", driver="y", settings={})
        with pytest.raises(
            ValueError, match=exactly(f"{path}: instrument 'dmm' is already declared")
        ):
            run.add_instrument("dmm", idn="x", driver="y", settings={})
        run.add_readings("volts", "v", "V", instrument="dmm")
        with pytest.raises(
            ValueError, match=exactly(f"{path}: stream 'volts' is already declared")
        ):
            run.add_readings("volts", "v", "V")
        for name, where in [("start_time", "start_time"), ("instrument_dmm", "instrument_dmm")]:
            used = (f"{path}: {name!r} would be /entry/{where}, which the run file already uses; "
                    "choose another name")  # fmt: skip
            with pytest.raises(ValueError, match=exactly(used)):
                run.add_readings(name, "v", "V")
        assert list(run.streams) == ["volts"]
        run.streams.clear()  # a copy: the writer's own list is untouched
        assert list(run.streams) == ["volts"]
        run.start()
    with h5py.File(path, "r") as f:
        assert f["entry/volts"].attrs["instrument"] == "dmm"
        assert f["entry/volts"].attrs["long_name"] == "volts"
        assert f["entry/volts"].attrs["kind"] == "readings"


def test_a_stream_that_fails_to_declare_leaves_no_group(path: Path) -> None:
    with RunWriter(path) as run:
        with pytest.raises(ValueError, match="must be distinct"):
            run.add_readings("dmm", ["v", "time"], ["V", "s"])
        assert run.streams == {}
        stream = run.add_readings("dmm", ["v"], ["V"])  # the name is free again
        run.start()
        stream.append(Reading.single(2.0, "v", "V", timestamp_ns=5))
    with h5py.File(path, "r") as f:
        assert sorted(f["entry/dmm"]) == ["time", "v"]
        assert f["entry"].attrs["default"] == "dmm"


@pytest.mark.parametrize(("chosen", "default"), [(None, "first"), ("second", "second")])
def test_the_entry_plots_the_chosen_stream_else_the_first(
    path: Path, chosen: str | None, default: str
) -> None:
    with RunWriter(path, default_stream=chosen) as run:
        run.add_readings("first", "v", "V")
        run.add_readings("second", "v", "V")
        run.add_readings("third", "v", "V")
    with h5py.File(path, "r") as f:
        assert f["entry"].attrs["default"] == default


def test_add_stream_declares_the_kind_of_its_first_record(path: Path) -> None:
    first = Reading(np.ones((1, 1), np.float32), np.array([5]), ("p",), ("hPa",), np.zeros((1, 1)))
    trace = Waveform(np.zeros(8, np.float32), 0.0, 1.0, "CH2", units="mV", x_units="ns",
                     raw=np.zeros(8, np.int16), gain=1.0)  # fmt: skip
    spectrum = Spectrum(np.linspace(400, 700, 6), np.zeros(6, np.float32), units="W/nm",
                        wavelength_units="um")  # fmt: skip
    grid = SweepGrid(("v",), (np.array([0.0, 1.0]),), ("V",), ("smu.level",))
    point = SweepPoint(grid, (0,), (FieldSpec("dmm.value", "A", "dmm current"),), (1.0,))
    with RunWriter(path) as run:
        streams = {
            "gauge": run.add_stream("gauge", first, instrument="tpg"),
            "scope": run.add_stream("scope", trace, monotonic=True, instrument="dso"),
            "plain": run.add_stream("plain", Waveform(np.zeros(8), 0.0, 1.0, "CH1")),
            "spec": run.add_stream("spec", spectrum, monotonic=True, instrument="usb"),
            "fft": run.add_stream(
                "fft",
                AxisArray(np.zeros(4), {"f": (np.arange(4.0), "Hz")}),
                monotonic=True,
                instrument="lockin",
            ),
            "image": run.add_stream(
                "image", np.zeros((2, 3), np.uint16), monotonic=True, instrument="cam"
            ),
            "iv": run.add_stream("iv", point, instrument="smu"),
        }
        with pytest.raises(TypeError, match=exactly("cannot declare stream 'text' from a str")):
            run.add_stream("text", "hello")  # type: ignore[arg-type]
        kinds = {name: type(stream) for name, stream in streams.items()}
        assert kinds == {"gauge": ReadingStream, "scope": WaveformStream, "plain": WaveformStream,
                         "spec": SpectrumStream, "fft": AxisArrayStream, "image": ArrayStream,
                         "iv": SweepStream}  # fmt: skip
        monotonic = {name for name, stream in streams.items() if stream.has_monotonic}
        assert monotonic == {"scope", "spec", "fft", "image"}
    with h5py.File(path, "r") as f:
        entry = f["entry"]
        instruments = {name: entry[name].attrs["instrument"] for name in streams}
        assert instruments == {"gauge": "tpg", "scope": "dso", "plain": "", "spec": "usb",
                               "fft": "lockin", "image": "cam", "iv": "smu"}  # fmt: skip
        assert entry["gauge/status"].dtype.kind == "i"
        assert entry["gauge/p"].dtype == np.float32
        assert entry["gauge/p"].attrs["units"] == "hPa"
        assert entry["scope/y"].dtype == np.float32
        assert entry["scope/y"].attrs["units"] == "mV"
        assert entry["scope/dx"].attrs["units"] == "ns"
        assert entry["scope/raw"].dtype == np.int16
        assert entry["scope/y"].shape == (0, 8)
        assert "raw" not in entry["plain"]
        assert entry["spec/intensities"].dtype == np.float32
        assert entry["spec/intensities"].attrs["units"] == "W/nm"
        assert entry["spec/wavelength"].attrs["units"] == "um"
        np.testing.assert_array_equal(entry["spec/wavelength"], np.linspace(400, 700, 6))
        assert entry["image/data"].dtype == np.uint16
        assert entry["image/data"].shape == (0, 2, 3)
        np.testing.assert_array_equal(entry["iv/v"], [0.0, 1.0])
        assert entry["iv/dmm.value"].attrs["units"] == "A"
        assert [entry[k].attrs["kind"] for k in ("gauge", "scope", "spec", "image", "iv")] == [
            "readings", "waveforms", "spectra", "arrays", "sweep"]  # fmt: skip


def test_end_settings_only_for_declared_instruments(path: Path) -> None:
    run = RunWriter(path)
    run.add_instrument("dmm", idn="x", driver="y", settings={"nplc": 1})
    run.start()
    with pytest.raises(KeyError, match="no instrument 'psu' was declared"):
        run.record_settings_end("psu", {})
    # An instrument whose start timed out has no group: its end snapshot is left out.
    run.close(settings_end={"psu": {"level": 1.0}, "dmm": {"nplc": 10}})
    with h5py.File(path, "r") as f:
        assert text(f["entry/instrument_dmm/settings_end"]) == '{"nplc": 10}'
        assert "instrument_psu" not in f["entry"]


def test_a_bad_close_status_is_refused_and_the_run_stays_open(path: Path) -> None:
    run = RunWriter(path)
    dmm = run.add_readings("dmm", "v", "V")
    run.start()
    with pytest.raises(
        ValueError, match=exactly("status must be 'completed' or 'aborted', not 'done'")
    ):
        run.close("done")  # type: ignore[arg-type]
    dmm.append(Reading.single(3.0, "v", "V"))
    run.close("aborted", "operator")
    with h5py.File(path, "r") as f:
        assert (text(f["entry/status"]), text(f["entry/reason"])) == ("aborted", "operator")
        assert f["entry/dmm/v"][:].tolist() == [3.0]


def test_a_bad_end_snapshot_still_closes_the_file(path: Path) -> None:
    run = RunWriter(path)
    run.add_instrument("dmm", idn="x", driver="y", settings={})
    run.start()
    with pytest.raises(TypeError, match="not iterable"):
        run.close(settings_end={"dmm": 5})  # type: ignore[dict-item]
    # (the file still says "running": the refusal came before its end was written)
    assert h5py.is_hdf5(path)
    with h5py.File(path, "r") as f:  # closed: opens without swmr
        assert "entry" in f
    run.close()  # already closed: nothing happens


def test_nothing_is_declared_after_start(path: Path) -> None:
    with RunWriter(path) as run:
        run.start()
        late = "{}: cannot {} after start(); HDF5 SWMR readers break when objects are created "
        late += "while streaming, so declare everything first"
        with pytest.raises(RuntimeError, match=exactly(late.format(path, "add an instrument"))):
            run.add_instrument("dmm", idn="x", driver="y", settings={})
        with pytest.raises(RuntimeError, match=exactly(late.format(path, "add a stream"))):
            run.add_arrays("image", (2,))


def test_an_instrument_records_its_name_resource_and_what_its_codes_mean(path: Path) -> None:
    with RunWriter(path) as run:
        run.add_readings("instrument_tpg", "p", "hPa")
        taken = (f"{path}: 'tpg' would be /entry/instrument_tpg, which the run file already "
                 "uses; choose another name")  # fmt: skip
        with pytest.raises(ValueError, match=exactly(taken)):
            run.add_instrument("tpg", idn="x", driver="y", settings={})
        run.add_instrument("Lake Shore", idn="LSCI,MODEL336", driver="lakeshore.Model336",
                           settings={}, status_meanings={1: "invalid reading"})  # fmt: skip
        run.add_instrument("dmm", idn="x", driver="y", settings={})
        run.add_readings("temperature", "A", "K", status=True, instrument="Lake Shore")
        run.add_readings("volts", "v", "V", status=True, instrument="dmm")
        run.add_readings("own", "v", "V", status=True, instrument="Lake Shore",
                         status_meanings={2: "over range"})  # fmt: skip
    with h5py.File(path, "r") as f:
        group = f["entry/instrument_Lake Shore"]
        assert text(group["name"]) == "Lake Shore"
        assert text(group["resource"]) == ""  # none given
        flags = f["entry/temperature/status"].attrs
        assert flags["flag_values"].tolist() == [0, 1]
        assert flags["flag_meanings"] == "valid invalid_reading"
        assert f["entry/volts/status"].attrs["flag_meanings"] == "valid"
        assert f["entry/own/status"].attrs["flag_meanings"] == "valid over_range"


def test_spectra_arrays_and_axis_arrays_keep_what_they_were_declared_with(path: Path) -> None:
    with RunWriter(path, flush_interval=0.0) as run:
        spectra = run.add_spectra("spec", [400.0, 500.0], dtype=np.float32, instrument="usb")
        images = run.add_arrays("image", (2,), np.int8, instrument="cam")
        fft = AxisArray(np.zeros(3), {"f": (np.arange(3.0), "Hz")})
        plain = run.add_axis_arrays("fft", fft, instrument="lockin")
        timed = run.add_axis_arrays("fft2", fft, monotonic=True)
        run.start()
        # flush_interval=0: every append is past the interval, so each flushes at once
        spectra.append(Spectrum(np.array([400.0, 500.0]), np.array([1.0, 2.0])))
        images.append(np.array([1, 2], np.int8), timestamp_ns=5)
        plain.append(fft)
        assert (spectra.rows_written, images.rows_written, plain.rows_written) == (1, 1, 1)
        assert (plain.has_monotonic, timed.has_monotonic) == (False, True)
    with h5py.File(path, "r") as f:
        entry = f["entry"]
        assert entry["spec/intensities"].attrs["units"] == "counts"
        assert entry["spec/wavelength"].attrs["units"] == "nm"
        assert entry["spec/intensities"].dtype == np.float32
        assert entry["image/data"].attrs["long_name"] == "image"
        assert [entry[k].attrs["instrument"] for k in ("spec", "image", "fft", "fft2")] == [
            "usb", "cam", "lockin", ""]  # fmt: skip


def test_the_defaults_and_a_file_the_system_will_not_create(path: Path) -> None:
    run = RunWriter(path)
    assert (run.flush_interval, run.fsync, run.min_free_bytes) == (1.0, False, 64 * 1024 * 1024)
    run.close()
    with h5py.File(path, "r") as f:
        assert text(f["entry/run_config"]) == ""  # none given
        assert text(f["entry/metadata"]) == "{}"
    # /proc takes no new files, even from root; no margin, so HDF5 is the one to refuse.
    with pytest.raises(
        OSError, match=r"^\[Errno 2\] cannot create run file /proc/run\.h5: "
    ) as caught:
        RunWriter("/proc/run.h5", min_free_bytes=0)
    assert caught.value.errno == 2
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_fsync_after_every_flush_and_at_close_only_when_asked(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    with RunWriter(path, fsync=True) as run:
        handle = run._file.id.get_vfd_handle()
        run.start()
        assert synced == [handle]  # the file as declared
        run.flush()
        assert synced == [handle, handle]
    assert synced == [handle] * 3
    synced.clear()
    with RunWriter(path, overwrite=True) as run:
        run.start()
        run.flush()
    assert synced == []


def test_appends_flush_only_once_the_interval_has_passed(path: Path) -> None:
    with RunWriter(path, flush_interval=3600.0) as run:
        dmm = run.add_readings("dmm", "v", "V")
        run.start()
        dmm.append(Reading.single(1.0, "v", "V"))
        assert dmm.rows_written == 0  # within the hour: still buffered
        assert run.maybe_flush() is False
    with RunWriter(path, flush_interval=None, overwrite=True) as run:
        dmm = run.add_readings("dmm", "v", "V")
        run.start()
        dmm.append(Reading.single(1.0, "v", "V"))
        assert run.maybe_flush() is False  # never by itself
        assert dmm.rows_written == 0


def test_a_compressed_run_claims_room_for_compression_overhead(path: Path) -> None:
    for compression, compressed in [("gzip", True), (None, False)]:
        with RunWriter(path, compression=compression, overwrite=True) as run:
            assert run._room.compressed is compressed


def test_what_each_kind_is_declared_with_by_default(path: Path) -> None:
    grid = SweepGrid(("v",), (np.array([0.0, 1.0]),), ("V",), ("smu.level",))
    point = SweepPoint(grid, (0,), (FieldSpec("dmm.value", "A", "dmm current"),), (1.0,))
    with RunWriter(path) as run:
        streams = [
            run.add_readings("voltage", "voltage", "V"),  # one channel, named by a string
            run.add_waveforms("scope", 4),
            run.add_spectra("spec", [1.0, 2.0]),
            run.add_arrays("image", (2,)),
            run.add_sweep("iv", point),
        ]
        assert [stream.has_monotonic for stream in streams] == [False] * 5
        assert run.add_sweep("iv2", point, monotonic=True).has_monotonic
    with h5py.File(path, "r") as f:
        entry = f["entry"]
        assert sorted(entry["voltage"]) == ["time", "voltage"]
        assert entry["scope/y"].attrs["units"] == "V"
        assert entry["scope/dx"].attrs["units"] == "s"
        assert entry["scope"].attrs["channel"] == ""
        assert entry["image/data"].attrs["units"] == ""
