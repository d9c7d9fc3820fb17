"""The buffering every stream shares (_streams.py): buffer size, when rows reach the file,
what a stopped stream does, the NXdata attributes and the errors of a bad block."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from instrumentkit.acquisition import RunWriter
from instrumentkit.acquisition._layout import BUFFER_BYTES
from instrumentkit.data import Reading

ROW = 65536  # float64 values: 512 KiB a row, so 7 rows (and their stamps) fill a buffer


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "run.h5"


def test_the_buffer_holds_what_fits_in_its_bytes_and_is_written_when_full(path: Path) -> None:
    with RunWriter(path, flush_interval=None) as run:
        big = run.add_arrays("big", (ROW,))
        dmm = run.add_readings("dmm", ["a", "b"], "V", monotonic=True)
        huge = run.add_arrays("huge", (BUFFER_BYTES,), np.uint8)
        run.start()
        assert big.capacity == BUFFER_BYTES // (8 * ROW + 8) == 7
        assert dmm.capacity == BUFFER_BYTES // (8 + 8 + 2 * 8)  # time, monotonic, a, b
        assert huge.capacity == 1  # a row larger than the buffer: one at a time
        for n in range(7):
            big.append(np.full(ROW, float(n)), timestamp_ns=n)
        assert (big.rows, big.rows_written, len(big)) == (7, 0, 7)
        big.append(np.full(ROW, 7.0), timestamp_ns=7)  # no room: the 7 go to HDF5 first
        assert (big.rows, big.rows_written) == (8, 7)
        big.append_block(np.zeros((7, ROW)), timestamps_ns=np.arange(7))  # 1 + 7 > 7
        assert (big.rows, big.rows_written) == (15, 8)
        assert repr(big) == "<ArrayStream 'big': 15 rows>"
    with h5py.File(path, "r") as f:
        data = f["entry/big/data"]
        assert data.shape == (15, ROW)
        np.testing.assert_array_equal(data[:8, 0], np.arange(8.0))
        np.testing.assert_array_equal(f["entry/big/time"][:8], np.arange(8))


def test_an_empty_block_changes_nothing(path: Path) -> None:
    ticks = []
    with RunWriter(path, flush_interval=0.0) as run:
        dmm = run.add_readings("dmm", "v", "V")
        run.start()
        dmm._on_append = lambda: ticks.append(1)  # the writer's flush clock
        dmm.append_block(np.zeros(0, np.int64), np.zeros((0, 1)))
        assert (dmm.rows, ticks) == (0, [])
        dmm.append_block([1], [[2.0]])
        assert (dmm.rows, ticks) == (1, [1])


def test_a_stopped_stream_refuses_appends_and_drops_its_buffer(path: Path) -> None:
    with RunWriter(path, flush_interval=None) as run:
        dmm = run.add_readings("dmm", "v", "V")
        images = run.add_arrays("image", (2,))
        run.start()
        dmm.append_block([1, 2], [[1.0], [2.0]])
        run.flush()
        dmm.append_block([3], [[3.0]])
        images.append(np.zeros(2))
        dmm.stop("the instrument went away")
        images.stop("the instrument went away")
        assert (dmm.rows, dmm.rows_written) == (2, 2)  # the buffered row is gone
        gone = "stream 'dmm': the instrument went away"
        with pytest.raises(RuntimeError, match=exactly(gone)):
            dmm.append_block([4], [[4.0]])
        with pytest.raises(RuntimeError, match=exactly(gone)):
            dmm.append(Reading.single(4.0, "v", "V"))
        with pytest.raises(RuntimeError, match="stream 'image': the instrument went away"):
            images.append(np.zeros(2))
    with h5py.File(path, "r") as f:
        assert f["entry/dmm/v"][:].tolist() == [1.0, 2.0]
        assert f["entry/image/data"].shape == (0, 2)


def test_bad_stamps_are_refused_before_anything_is_buffered(path: Path) -> None:
    with RunWriter(path) as run:
        dmm = run.add_readings("dmm", "v", "V", monotonic=True)
        plain = run.add_readings("plain", "v", "V")
        run.start()
        with pytest.raises(ValueError, match=exactly(
                "need 3 timestamps (ns since epoch), got shape (2,)")):  # fmt: skip
            dmm.append_block([1, 2], np.zeros((3, 1)))
        with pytest.raises(ValueError, match=exactly(
                "stream 'dmm': 3 rows but (2,) monotonic stamps")):  # fmt: skip
            dmm.append_block([1, 2, 3], np.zeros((3, 1)), monotonic=[0.5, 0.6])
        with pytest.raises(ValueError, match=exactly(
                "stream 'plain' was declared without monotonic=True, so it cannot store "
                "monotonic timestamps")):  # fmt: skip
            plain.append_block([1], [[1.0]], monotonic=[0.5])
        assert (dmm.rows, plain.rows) == (0, 0)
        dmm.append_block([1, 2], [[1.0], [2.0]])  # no monotonic stamps: NaN
        dmm.append_block([3, 4], [[3.0], [4.0]], monotonic=7.5)  # one for every row
    with h5py.File(path, "r") as f:
        stamps = f["entry/dmm/monotonic"][:]
    assert np.isnan(stamps[:2]).all()
    assert stamps[2:].tolist() == [7.5, 7.5]


@pytest.mark.parametrize("channels", [["a", "a"], ["a", "time"], ["monotonic"], ["status"]])
def test_channel_names_are_distinct_and_not_reserved(path: Path, channels: list[str]) -> None:
    with RunWriter(path) as run:
        refused = (f"stream '/entry/s': channel names {channels} must be distinct and none of "
                   "['monotonic', 'status', 'time']")  # fmt: skip
        with pytest.raises(ValueError, match=exactly(refused)):
            run.add_readings("s", channels, "V")
        run.add_readings("s", ["a/b", "a_c"], "V")  # cleaned names: still distinct


def test_the_nxdata_attributes_name_signal_axes_and_fill(path: Path) -> None:
    with RunWriter(path) as run:
        run.add_readings("one", "v", "V")
        run.add_readings("two", ["v", "i"], ["V", "A"], monotonic=True)
        run.add_arrays("counts", (3, 2), np.int32)
        run.add_spectra("spec", [1.0, 2.0, 3.0])
    with h5py.File(path, "r") as f:
        one, two = f["entry/one"], f["entry/two"]
        assert one.attrs["signal"] == "v"
        assert "auxiliary_signals" not in one.attrs
        assert list(two.attrs["auxiliary_signals"]) == ["i"]
        assert one.attrs["time_indices"] == 0
        assert np.isnan(one["v"].fillvalue)  # a row never written reads as missing
        assert one["time"].fillvalue == 0
        assert one["time"].attrs["units"] == "ns"
        assert one["time"].attrs["long_name"] == "wall-clock time, ns since 1970 UTC"
        assert two["monotonic"].attrs["units"] == "s"
        assert two["monotonic"].attrs["long_name"] == "monotonic clock"
        assert np.isnan(two["monotonic"].fillvalue)
        assert two["v"].dims[0].label == "time"
        assert [scale.name for scale in two["v"].dims[0].values()] == [
            "/entry/two/time", "/entry/two/monotonic"]  # fmt: skip
        assert one["v"].maxshape == (None,)
        assert one["v"].chunks[0] >= 1024
        counts = f["entry/counts"]
        assert list(counts.attrs["axes"]) == ["time", ".", "."]
        assert "._indices" not in counts.attrs
        assert counts["data"].chunks[1:] == (3, 2)
        spec = f["entry/spec"]
        assert spec["intensities"].dims[1].label == "wavelength"
        assert spec["intensities"].dims[1][0] == spec["wavelength"]
        assert spec["wavelength"].attrs["long_name"]


def test_a_block_that_exactly_fills_the_buffer_stays_buffered(path: Path) -> None:
    with RunWriter(path, flush_interval=None) as run:
        big = run.add_arrays("big", (ROW,))
        run.start()
        big.append(np.zeros(ROW), timestamp_ns=0)
        big.append_block(np.ones((6, ROW)), timestamps_ns=np.arange(1, 7))  # 1 + 6 = 7
        assert (big.rows, big.rows_written) == (7, 0)


def test_one_value_for_every_row_of_a_block_written_straight_to_the_file(path: Path) -> None:
    with RunWriter(path, flush_interval=None) as run:
        dmm = run.add_readings("dmm", "v", "V", monotonic=True)
        run.start()
        n = dmm.capacity + 10  # larger than the buffer: written at once
        dmm.append_block(np.arange(n), np.zeros((n, 1)))  # no monotonic stamps: NaN each
        dmm.append_block(np.arange(n), np.zeros((n, 1)), monotonic=2.5)  # one for all
        assert dmm.rows_written == 2 * n
    with h5py.File(path, "r") as f:
        stamps = f["entry/dmm/monotonic"][:]
    assert np.isnan(stamps[:n]).all()
    assert (stamps[n:] == 2.5).all()


def test_before_start_a_stream_says_what_to_call(path: Path) -> None:
    with RunWriter(path) as run:
        dmm = run.add_readings("dmm", "v", "V")
        not_yet = "stream 'dmm': the run has not started; call RunWriter.start() first"
        with pytest.raises(RuntimeError, match=exactly(not_yet)):
            dmm.append_block([1], [[1.0]])
    with h5py.File(path, "r") as f:
        assert f["entry/dmm/time"].dtype == np.int64  # ns since 1970 need all 64 bits
