"""Stages at their edges: refusals, resets, short blocks, odd record lengths, peak shapes.

test_stages.py checks each stage against a reference computation on ordinary data; these
tests take the cases a reference loop rarely meets, with values worked out by hand.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from instrumentkit.acquisition.stages import (
    PSD,
    BlockAverage,
    Decimate,
    FFTMagnitude,
    FindPeaks,
    Polynomial,
    RunningAverage,
    SubtractDark,
)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RunningAverage(0), "RunningAverage window must be >= 1, got 0"),
        (lambda: BlockAverage(0), "BlockAverage size must be >= 1, got 0"),
        (lambda: Decimate(0), "Decimate factor must be >= 1, got 0"),
        (lambda: Decimate(2, axis=1), "Decimate axis must be 0 (across blocks) or -1 (within "
         "records)"),
        (lambda: Polynomial([[1.0, 2.0]]), "Polynomial needs a 1-D sequence of coefficients"),
        (lambda: Polynomial([]), "Polynomial needs a 1-D sequence of coefficients"),
        (lambda: FindPeaks(0), "FindPeaks max_peaks must be >= 1, got 0"),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"must be|needs") as caught:
        make()  # type: ignore[operator]
    assert str(caught.value) == message


def test_the_smallest_parameters_are_accepted() -> None:
    column = np.array([[1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(RunningAverage(1)(column), column)
    np.testing.assert_array_equal(BlockAverage(1)(column), column)
    np.testing.assert_array_equal(Decimate(1)(column), column)
    np.testing.assert_array_equal(Decimate(1, antialias=True)(column), column)  # no filter
    assert Decimate(1, antialias=True).taps is None
    np.testing.assert_array_equal(Polynomial([2.0])(column), [[2.0], [2.0], [2.0]])


def test_a_running_average_waits_for_a_full_window_and_forgets_on_reset() -> None:
    stage = RunningAverage(3)
    first = stage(np.array([[1], [2]]))  # integers in, shorter than the window
    assert first.shape == (0, 1)
    assert first.dtype == np.float64
    np.testing.assert_array_equal(stage(np.array([[6]])), [[3.0]])  # (1 + 2 + 6) / 3
    np.testing.assert_array_equal(stage(np.array([[10], [20]])), [[6.0], [12.0]])
    stage.reset()
    assert stage(np.array([[10], [20]])).shape == (0, 1)  # the old rows are gone
    np.testing.assert_array_equal(stage(np.array([[30], [0], [3]])), [[20.0], [50 / 3], [11.0]])


def test_a_decimation_restarts_its_phase_on_reset() -> None:
    stage = Decimate(3)
    np.testing.assert_array_equal(stage(np.arange(4.0)), [0.0, 3.0])
    np.testing.assert_array_equal(stage(np.arange(4.0, 8.0)), [6.0])
    stage.reset()
    np.testing.assert_array_equal(stage(np.arange(4.0)), [0.0, 3.0])
    filtered = Decimate(2, antialias=True)
    once = filtered(np.ones(50))
    filtered.reset()  # the filter starts from rest again: the same output
    np.testing.assert_array_equal(filtered(np.ones(50)), once)
    assert once[0] == pytest.approx(filtered.taps[0])  # a causal filter from rest


def test_a_block_average_forgets_its_leftover_rows_on_reset() -> None:
    stage = BlockAverage(2)
    np.testing.assert_array_equal(stage(np.array([1.0, 3.0, 100.0])), [2.0])
    stage.reset()
    np.testing.assert_array_equal(stage(np.array([5.0, 7.0])), [6.0])


def test_a_dark_reference_of_one_record_or_a_batch_and_a_new_one_later() -> None:
    stage = SubtractDark([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(stage(np.array([[10.0, 10.0, 10.0]])), [[9.0, 8.0, 7.0]])
    stage.dark = [[0.0, 0.0, 0.0], [2.0, 4.0, 6.0]]  # a batch: averaged
    np.testing.assert_array_equal(stage.dark, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(stage(np.array([4.0, 4.0, 4.0])), [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="dark") as caught:
        stage(np.zeros((2, 4)))
    assert str(caught.value) == "dark reference has 3 points, records (4,)"


@pytest.mark.parametrize("points", [8, 9])
def test_fft_amplitude_of_a_constant_and_of_a_nyquist_tone(points: int) -> None:
    n = np.arange(points)
    constant = FFTMagnitude(window=None)(np.full(points, 2.5))
    assert constant[0] == pytest.approx(2.5)  # DC once, not twice
    np.testing.assert_allclose(constant[1:], 0.0, atol=1e-12)
    alternating = FFTMagnitude(window=None)(1.5 * (-1.0) ** n)
    if points % 2 == 0:  # on the Nyquist bin: also once, not twice
        assert alternating[-1] == pytest.approx(1.5)
    else:  # no Nyquist bin: the last bin is an ordinary one, doubled as all others
        raw = np.abs(np.fft.rfft(1.5 * (-1.0) ** n))
        assert alternating[-1] == pytest.approx(2 * raw[-1] / points)


def test_a_hann_window_keeps_a_bin_centred_tone_at_its_amplitude() -> None:
    n = np.arange(64)
    magnitude = FFTMagnitude()(4.0 * np.cos(2 * np.pi * 8 * n / 64))
    assert magnitude[8] == pytest.approx(4.0)
    assert magnitude[7] == pytest.approx(2.0)  # hann spreads half into each neighbour


def test_a_psd_of_records_shorter_than_a_segment_uses_one_segment() -> None:
    fs = 100.0
    record = np.array([1.0, -1.0, 1.0, -1.0])
    density = PSD(fs, nperseg=256, window="boxcar", scaling="spectrum")(record)
    assert density.shape == (3,)
    # A one-segment boxcar "spectrum" is |X[k]|^2 / N^2, one-sided: the tone at fs/2 is
    # all power 1 (Nyquist once), nothing at DC.
    np.testing.assert_allclose(density, [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(PSD(fs, nperseg=256).frequencies(4), [0.0, 25.0, 50.0])


def test_peak_positions_are_refined_through_a_parabola_onto_the_axis() -> None:
    i = np.arange(21.0)
    record = 100.0 - (i - 10.3) ** 2  # a parabola: the refinement is exact
    table = FindPeaks(1)(record)
    assert table["index"][0] == 10
    assert table["position"][0] == pytest.approx(10.3)
    assert table["height"][0] == record[10]
    on_axis = FindPeaks(1, x=np.linspace(500.0, 520.0, 21))(record)
    assert on_axis["position"][0] == pytest.approx(510.3)
    plain = FindPeaks(1, interpolate=False, x=np.linspace(500.0, 520.0, 21))(record)
    assert plain["position"][0] == 510.0


def test_a_flat_topped_peak_sits_in_the_middle_of_its_top() -> None:
    table = FindPeaks(2)(np.array([0.0, 1.0, 3.0, 3.0, 3.0, 1.0, 0.0, 2.0, 0.0]))
    assert table["index"].tolist() == [3, 7]
    assert table["position"].tolist() == [3.0, 7.0]  # no curvature: no shift, no NaN
    assert table["prominence"].tolist() == [3.0, 2.0]


def test_only_the_highest_peaks_are_kept_in_axis_order_and_criteria_apply() -> None:
    record = np.zeros(20)
    record[[3, 7, 11, 15]] = [2.0, 5.0, 1.0, 5.0]
    table = FindPeaks(2, interpolate=False)(record)
    assert table["index"].tolist() == [7, 15]
    assert table["height"].tolist() == [5.0, 5.0]
    assert table["prominence"].tolist() == [5.0, 5.0]
    tall = FindPeaks(4, prominence=1.5, interpolate=False)(record)
    assert tall["index"].tolist() == [3, 7, 15, -1]
    batch = FindPeaks(1, interpolate=False)(np.stack([record, record[::-1]])[None])
    assert batch.shape == (1, 2, 1)
    assert batch["index"].tolist() == [[[15], [12]]]  # of equal heights, the later one


def test_peaks_next_to_the_ends_are_refined_too() -> None:
    # find_peaks never reports the end samples themselves; one sample in, a parabola
    # through the neighbours still moves the peak: 1 + 0.5 (1 - 2) / (1 - 10 + 2) = 1 + 1/14
    table = FindPeaks(2)(np.array([1.0, 5.0, 2.0, 0.0, 2.0, 5.0, 1.0]))
    assert table["index"].tolist() == [1, 5]
    np.testing.assert_allclose(table["position"], [1 + 1 / 14, 5 - 1 / 14])


def test_a_psd_cuts_records_into_256_point_segments_by_default() -> None:
    # fs = 256 Hz on 256-point segments: 1 Hz bins, so a 32 Hz sine sits on bin 32. Welch's
    # "spectrum" with a periodic hann window gives it its power A^2 / 2 there and a quarter
    # of that in each neighbour (hann's DFT is N/2 at 0 and -N/4 at +-1 bin).
    fs, amplitude = 256.0, 2.0
    record = amplitude * np.sin(2 * np.pi * 32.0 * np.arange(1024) / fs)
    stage = PSD(fs, scaling="spectrum")
    spectrum = stage(record)
    assert spectrum.shape == (129,)
    assert spectrum[32] == pytest.approx(amplitude**2 / 2)
    assert spectrum[[31, 33]] == pytest.approx([amplitude**2 / 8] * 2)
    np.testing.assert_allclose(np.delete(spectrum, [31, 32, 33]), 0.0, atol=1e-20)
    np.testing.assert_allclose(stage.frequencies(1024), np.arange(129.0))
    # float32 records come out as float64 too (welch itself would keep float32)
    single = stage(record.astype(np.float32)[None])
    assert single.dtype == np.float64
    assert single[0, 32] == pytest.approx(amplitude**2 / 2, rel=1e-6)


def test_peaks_of_any_prominence_are_reported_by_default() -> None:
    table = FindPeaks(3, interpolate=False)(np.array([0.0, 0.5, 0.0, 3.0, 0.0]))
    assert table["index"].tolist() == [1, 3, -1]
    assert table["prominence"][:2].tolist() == [0.5, 3.0]


def test_of_many_equal_heights_at_the_cut_the_later_peaks_are_kept() -> None:
    heights = np.ones(40)
    tall = [0, 3, 7, 12, 20, 27, 33, 39]  # eight peaks of 3.0 for five places
    heights[tall] = 3.0
    record = np.zeros(81)
    record[1::2] = heights  # peak k at sample 2k + 1
    table = FindPeaks(5, interpolate=False)(record)
    assert table["index"].tolist() == [2 * k + 1 for k in tall[-5:]]


def test_integer_records_are_refined_without_wrapping_around() -> None:
    # uint8 differences wrap (5 - 7 = 254); the parabola must see -2:
    # 2 + 0.5 (5 - 7) / (5 - 18 + 7) = 2 + 1/6
    table = FindPeaks(1)(np.array([0, 5, 9, 7, 0], dtype=np.uint8))
    assert table["index"][0] == 2
    assert table["height"][0] == 9.0
    assert table["position"][0] == pytest.approx(2 + 1 / 6)


def test_a_flat_top_three_samples_wide_refines_without_a_warning() -> None:
    # left == mid == right: the parabola's 0 / 0 is computed and discarded quietly
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = FindPeaks(1)(np.array([0.0, 1.0, 1.0, 1.0, 0.0]))
    assert table["index"][0] == 2
    assert table["position"][0] == 2.0


def test_a_block_average_of_float32_rows_is_taken_in_float64() -> None:
    rows = np.array([[0.1], [0.2], [0.7], [0.3]], dtype=np.float32)
    averaged = BlockAverage(2)(rows)
    assert averaged.dtype == np.float64
    wide = rows.astype(np.float64)
    assert averaged[:, 0].tolist() == [(wide[0, 0] + wide[1, 0]) / 2, (wide[2, 0] + wide[3, 0]) / 2]


def test_an_antialiased_decimation_of_a_single_record() -> None:
    # axis=-1 on one 1-D record: scipy.signal.decimate's FIR (firwin(20 q + 1, 1 / q,
    # hamming)) run causally, then every q-th sample
    from scipy import signal

    record = np.sin(np.arange(100) / 3.0)
    taps = signal.firwin(41, 0.5, window="hamming")
    out = Decimate(2, antialias=True, axis=-1)(record)
    np.testing.assert_allclose(out, signal.lfilter(taps, 1.0, record)[::2])


def test_a_dark_of_the_wrong_length_for_one_record_names_both_lengths() -> None:
    with pytest.raises(ValueError, match=r"^dark reference has 3 points, records \(5,\)$"):
        SubtractDark([0.0, 0.0, 0.0])(np.zeros(5))


def test_one_peak_is_the_fewest_kept_and_it_is_the_highest() -> None:
    record = np.array([0.0, 1.0, 0.0, 3.0, 0.0, 2.0, 0.0])
    table = FindPeaks(1, interpolate=False)(record)  # one record: one row of one peak
    assert table.shape == (1,)
    assert (int(table["index"][0]), float(table["height"][0])) == (3, 3.0)
