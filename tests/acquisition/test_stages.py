"""Stages against reference computations: plain loops and textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from instrumentkit.acquisition import stages
from instrumentkit.acquisition.stages import (
    PSD,
    BlockAverage,
    Decimate,
    FFTMagnitude,
    FindPeaks,
    Polynomial,
    RunningAverage,
    Scale,
    SubtractDark,
    chain,
)

RNG = np.random.default_rng(42)


def in_blocks(stage: stages.Stage, data: np.ndarray, cuts: list[int]) -> np.ndarray:
    """Feed `data` to `stage` cut at `cuts` and join the outputs."""
    return np.concatenate([stage(part) for part in np.split(data, cuts)])


CUTS = [1, 2, 50, 51, 400, 999]  # empty, one-row and odd-sized blocks


@pytest.mark.parametrize("window", [1, 3, 16])
def test_running_average_matches_a_loop_across_blocks(window: int) -> None:
    data = 1e6 + RNG.normal(size=(1000, 3))  # on an offset, where precision matters
    expected = np.array([data[i : i + window].mean(axis=0) for i in range(1000 - window + 1)])
    result = in_blocks(RunningAverage(window), data, CUTS)
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("window", [2, 5])
def test_running_average_fed_one_row_at_a_time(window: int) -> None:
    data = RNG.normal(size=(40, 2))
    expected = np.array([data[i : i + window].mean(axis=0) for i in range(40 - window + 1)])
    stage = RunningAverage(window)
    result = np.concatenate([stage(data[i : i + 1]) for i in range(40)])
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12)


def test_block_average_carries_leftover_rows() -> None:
    data = RNG.normal(size=(1003, 2))
    expected = np.array([data[i : i + 10].mean(axis=0) for i in range(0, 1000, 10)])
    stage = BlockAverage(10)
    np.testing.assert_allclose(in_blocks(stage, data, CUTS), expected, atol=1e-12)
    stage.reset()
    assert stage(data[:5]).shape == (0, 2)


def test_block_average_of_spectra_records() -> None:
    spectra = RNG.poisson(100, size=(12, 64)).astype(float)
    averaged = BlockAverage(4)(spectra)
    np.testing.assert_allclose(averaged[1], (spectra[4] + spectra[5] + spectra[6] + spectra[7]) / 4)


def test_decimate_keeps_the_phase_across_blocks() -> None:
    data = np.arange(1000.0)
    np.testing.assert_array_equal(in_blocks(Decimate(7), data, CUTS), data[::7])


def test_decimate_with_antialias_is_a_causal_fir_then_subsampling() -> None:
    data = RNG.normal(size=(1000, 2))
    stage = Decimate(4, antialias=True)
    taps = signal.firwin(81, 0.25, window="hamming")
    # Direct formula: y[n] = sum_k b[k] x[n - k], then every 4th sample.
    filtered = np.stack([np.convolve(data[:, c], taps)[:1000] for c in range(2)], axis=1)
    result = in_blocks(stage, data, CUTS)
    np.testing.assert_allclose(result, filtered[::4], atol=1e-12)
    scipy_way = signal.decimate(data, 4, ftype="fir", zero_phase=False, axis=0)
    np.testing.assert_allclose(result, scipy_way, atol=1e-12)


def test_decimate_within_records() -> None:
    records = RNG.normal(size=(3, 100))
    np.testing.assert_array_equal(Decimate(5, axis=-1)(records), records[:, ::5])
    stage = Decimate(5, axis=-1, antialias=True)
    np.testing.assert_allclose(
        stage(records), signal.decimate(records, 5, ftype="fir", zero_phase=False), atol=1e-12
    )


def test_subtract_dark_broadcasts_over_a_batch() -> None:
    spectra = RNG.normal(1000, 10, size=(5, 128))
    darks = RNG.normal(100, 1, size=(8, 128))
    result = SubtractDark(darks)(spectra)
    reference = darks.sum(axis=0) / 8
    for row in range(5):
        np.testing.assert_allclose(
            result[row], [spectra[row, i] - reference[i] for i in range(128)]
        )
    with pytest.raises(ValueError, match="128 points"):
        SubtractDark(darks)(spectra[:, :10])


def test_polynomial_calibration_and_scaling() -> None:
    x = RNG.uniform(-2, 2, size=(50, 4))
    c2, c1, c0 = 0.5, -3.0, 7.0
    np.testing.assert_allclose(Polynomial([c2, c1, c0])(x), c0 + c1 * x + c2 * x**2)
    np.testing.assert_allclose(Scale(1e3, offset=-5.0)(x), x * 1000 - 5.0)
    with pytest.raises(ValueError, match="coefficients"):
        Polynomial([])


def test_chain_composes_and_resets() -> None:
    data = RNG.normal(size=(100, 1))
    pipeline = chain(Scale(2.0), BlockAverage(10), Polynomial([1.0, 1.0]))
    assert isinstance(pipeline, stages.Stage)
    expected = data.reshape(10, 10, 1).mean(axis=1) * 2 + 1
    np.testing.assert_allclose(pipeline(data[:95]), expected[:9])
    pipeline.reset()  # the 5 waiting rows are dropped
    np.testing.assert_allclose(pipeline(data), expected)


def test_fft_magnitude_matches_the_dft_formula() -> None:
    points = 128
    n = np.arange(points)
    records = np.stack([3.0 * np.sin(2 * np.pi * 10 * n / points), RNG.normal(size=points)])
    raw = FFTMagnitude(window=None, scaling="none")(records)
    k = np.arange(points // 2 + 1)[:, None]
    dft = np.abs(np.exp(-2j * np.pi * k * n / points) @ records.T).T  # X[k] = sum x[n] e^-2πikn/N
    np.testing.assert_allclose(raw, dft, atol=1e-9)
    amplitude = FFTMagnitude()(records)
    assert amplitude[0, 10] == pytest.approx(3.0)
    assert FFTMagnitude.frequencies(points, 1e-3)[10] == pytest.approx(10 / (points * 1e-3))


def test_psd_matches_a_segment_by_segment_periodogram() -> None:
    fs, nperseg = 1000.0, 64
    records = RNG.normal(size=(2, 640))
    result = PSD(fs, nperseg=nperseg, noverlap=0)(records)
    window = signal.get_window("hann", nperseg)
    expected = np.zeros((2, nperseg // 2 + 1))
    for row in range(2):
        for start in range(0, 640, nperseg):
            segment = records[row, start : start + nperseg]
            segment = segment - segment.mean()
            spectrum = np.abs(np.fft.rfft(segment * window)) ** 2 / (fs * (window**2).sum())
            spectrum[1:-1] *= 2  # one-sided: fold negative frequencies
            expected[row] += spectrum / 10
    np.testing.assert_allclose(result, expected, rtol=1e-10)
    assert PSD(fs, nperseg=nperseg).frequencies(640)[1] == pytest.approx(fs / nperseg)


def local_maxima(record: np.ndarray) -> list[int]:
    return [i for i in range(1, len(record) - 1) if record[i - 1] < record[i] > record[i + 1]]


def test_find_peaks_gives_a_fixed_size_table_like_a_plain_loop() -> None:
    x = np.linspace(400, 700, 301)
    lines = [(450.0, 5.0), (500.0, 9.0), (610.0, 2.0), (650.0, 7.0)]
    record = sum(h * np.exp(-0.5 * ((x - c) / 3.0) ** 2) for c, h in lines)
    flat = np.zeros_like(record)
    table = FindPeaks(3, x=x)(np.stack([record, flat]))
    assert table.dtype == stages.PEAK_DTYPE
    assert table.shape == (2, 3)
    maxima = local_maxima(record)
    highest = sorted(sorted(maxima, key=lambda i: record[i])[-3:])
    np.testing.assert_array_equal(table["index"][0], highest)
    np.testing.assert_allclose(table["height"][0], record[highest])
    np.testing.assert_allclose(table["position"][0], [450.0, 500.0, 650.0], atol=0.05)
    assert table["index"][1].tolist() == [-1, -1, -1]
    assert np.isnan(table["height"][1]).all()
    one = FindPeaks(5, height=4.0, interpolate=False)(record)
    assert one.shape == (5,)
    assert one["index"][:3].tolist() == [50, 100, 250]
    assert one["position"][:3].tolist() == [50.0, 100.0, 250.0]
    assert one["index"][3] == -1
