"""AxisArray streams: what a lab script derives (an FFT, a map), stored against its own axes."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import instrumentkit as ik
from instrumentkit.acquisition import Run, open_run
from instrumentkit.cli import main

FREQS = np.fft.rfftfreq(256, d=1e-3)  # 129 frequencies, 0 to 500 Hz


def spectrum_of(step: int) -> ik.AxisArray:
    signal = np.sin(2 * np.pi * (50 + 10 * step) * np.arange(256) * 1e-3)
    magnitude = np.abs(np.fft.rfft(signal)) / 128
    return ik.AxisArray(magnitude, {"frequency": (FREQS, "Hz")}, units="V", long_name="|FFT|")


@pytest.fixture
def fft_run(tmp_path: Path) -> Path:
    path = tmp_path / "fft.h5"
    with Run(path) as run:
        for step in range(3):
            run.append("fft", spectrum_of(step))
    return path


def test_an_fft_is_stored_as_nxdata_against_its_frequency_axis(fft_run: Path) -> None:
    with h5py.File(fft_run, "r") as f:
        (group,) = [g for g in _groups(f) if g.attrs.get("long_name") == "fft"]
        assert group.attrs["NX_class"] == "NXdata"
        assert group.attrs["signal"] == "data"
        assert list(group.attrs["axes"]) == ["time", "frequency"]
        assert group.attrs["frequency_indices"] == 1
        assert set(group) == {"time", "monotonic", "data", "frequency"}  # nothing made up
        frequency, data = group["frequency"], group["data"]
        np.testing.assert_array_equal(frequency[()], FREQS)
        assert frequency.attrs["units"] == "Hz"
        assert data.attrs["units"] == "V"
        assert data.attrs["long_name"] == "|FFT|"
        assert data.shape == (3, 129)
        assert data.dims[1].label == "frequency"
        assert data.dims[1]["frequency"] == frequency  # a dimension scale, as NeXus reads it
        peaks = FREQS[np.argmax(data[()], axis=1)]
    np.testing.assert_allclose(peaks, [50, 60, 70], atol=FREQS[1])


def test_an_fft_reads_back_as_xarray_with_its_axis_and_plots(fft_run: Path, tmp_path: Path) -> None:
    with open_run(fft_run) as run:
        assert run["fft"].kind == "axis_arrays"
        dataset = run.to_xarray("fft")
    assert dataset["data"].dims == ("time", "frequency")
    assert dataset["frequency"].attrs["units"] == "Hz"
    np.testing.assert_array_equal(dataset["frequency"].values, FREQS)
    assert float(dataset["data"].isel(time=0).idxmax("frequency")) == pytest.approx(50, abs=4)
    target = tmp_path / "fft.png"
    result = CliRunner().invoke(main, ["plot", str(fft_run), "fft", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_xarray_dataarray_is_appended_as_it_is(tmp_path: Path) -> None:
    grid = xr.DataArray(
        np.arange(12.0).reshape(3, 4),
        dims=("y", "x"),
        coords={"y": ("y", [0.0, 0.5, 1.0], {"units": "mm"}), "x": ("x", [1, 2, 3, 4])},
        attrs={"units": "counts"},
        name="map",
    )
    path = tmp_path / "map.h5"
    with Run(path) as run:
        run.append("map", grid)
        run.append("map", grid * 2)
    with open_run(path) as f:
        stream = f["map"]
        np.testing.assert_array_equal(stream.data, [grid.values, 2 * grid.values])
        assert (stream.units["y"], stream.units["x"], stream.units["data"]) == ("mm", "", "counts")
        np.testing.assert_array_equal(stream.axes["x"], [1, 2, 3, 4])
        assert stream.long_names["data"] == "map"


def test_records_on_other_axes_or_of_another_kind_are_refused_in_words(tmp_path: Path) -> None:
    with Run(tmp_path / "fft.h5") as run:
        run.append("fft", spectrum_of(0))
        run.start()
        shifted = ik.AxisArray(np.zeros(129), {"frequency": (FREQS + 1, "Hz")}, units="V")
        expected = r"on the axes frequency \[Hz\] \(129 points\), fixed by its first record"
        with pytest.raises(ik.ValidationError, match=expected):
            run.append("fft", shifted)
        with pytest.raises(ik.ValidationError, match="'fft' holds AxisArrays of shape"):
            run.append("fft", np.zeros(129))
        run.append("fft", spectrum_of(1))
        assert run.rows["fft"] == 2


@pytest.mark.parametrize(
    ("values", "axes", "message"),
    [
        (np.zeros((2, 3)), {"x": np.arange(3)}, r"needs 2 axes \(one per dimension"),
        (np.zeros(3), {"x": np.arange(4)}, r"axis 'x' has \(4,\) values for a dimension of 3"),
        (np.zeros(3), {"time": np.arange(3)}, "must be distinct and none of"),
        (np.array(["a", "b"]), {"x": np.arange(2)}, "values must be numbers"),
    ],
)
def test_an_axis_array_that_does_not_hold_together_is_refused(
    values: np.ndarray, axes: dict[str, np.ndarray], message: str
) -> None:
    with pytest.raises(ik.ValidationError, match=message):
        ik.AxisArray(values, axes)


def _groups(f: h5py.File) -> list[h5py.Group]:
    found: list[h5py.Group] = []
    f.visititems(lambda name, obj: found.append(obj) if isinstance(obj, h5py.Group) else None)
    return found
