"""Physics checked on the data a host receives: scope traces, spectra, sensors.

The scope and spectrometer are the small test models of conftest.py, read through the
real transports; the data are turned back into volts and nanometres the way a driver
would, then compared with the configured sources.
"""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.sim import ManualClock, create, physics

RECORD = 10_000


def scope_trace(session, channel: int = 1, bits: int = 8) -> tuple[np.ndarray, np.ndarray, dict]:
    """(times, volts, preamble) of one acquisition, decoded from the codes as a driver does."""
    session.write(f":WAV:SOUR CHAN{channel};:WAV:BITS {bits}")
    points, dt, lsb, center, position = (float(v) for v in session.query(":WAV:PRE?").split(","))
    codes = session.query_block(":WAV:DATA?", dtype=np.int8 if bits == 8 else np.int16)
    assert codes.size == int(points)
    volts = center + codes.astype(np.float64) * lsb
    times = (np.arange(codes.size) - round(position * points)) * dt
    return times, volts, {"dt": dt, "lsb": lsb, "codes": codes}


def sine_fit(times: np.ndarray, volts: np.ndarray) -> tuple[float, float, float]:
    """(frequency, amplitude, offset): FFT peak refined by parabolic interpolation, then LSQ."""
    dt = times[1] - times[0]
    spectrum = np.abs(np.fft.rfft((volts - volts.mean()) * np.hanning(volts.size)))
    k = int(np.argmax(spectrum[1:])) + 1
    left, mid, right = np.log(spectrum[k - 1 : k + 2])
    shift = 0.5 * (left - right) / (left - 2 * mid + right)
    frequency = (k + shift) / (volts.size * dt)
    basis = np.column_stack(
        [
            np.sin(2 * np.pi * frequency * times),
            np.cos(2 * np.pi * frequency * times),
            np.ones_like(times),
        ]
    )
    (a, b, c), *_ = np.linalg.lstsq(basis, volts, rcond=None)
    return frequency, float(np.hypot(a, b)), float(c)


@pytest.fixture
def scope(connect):
    device = create(
        "test-scope",
        seed=11,
        sources={
            1: {
                "shape": "sine",
                "amplitude": 0.8,
                "frequency": 2000.0,
                "offset": 0.1,
                "noise": 0.004,
            },
            2: {"shape": "square", "amplitude": 0.3, "frequency": 500.0},
        },
    )
    session = connect(device)
    session.write(":TIM:SCAL 1e-3;:ACQ:POIN 10000;:CHAN1:SCAL 0.25;:CHAN2:SCAL 0.1")
    return device, session


def test_scope_trace_frequency_and_amplitude_match_the_source(scope):
    _, session = scope
    times, volts, info = scope_trace(session)
    assert info["lsb"] == pytest.approx(2.5 / 256)
    frequency, amplitude, offset = sine_fit(times, volts)
    assert frequency == pytest.approx(2000.0, rel=1e-3)
    assert amplitude == pytest.approx(0.8, abs=info["lsb"])
    assert offset == pytest.approx(0.1, abs=info["lsb"])


def test_16_bit_codes_resolve_the_amplitude_256_times_finer(scope):
    _, session = scope
    times, volts, info = scope_trace(session, bits=16)
    assert info["codes"].dtype == np.int16
    assert info["lsb"] == pytest.approx(2.5 / 65536)
    _, amplitude, _ = sine_fit(times, volts)
    assert amplitude == pytest.approx(0.8, abs=2e-3)  # noise-limited now, not ADC-limited


def test_traces_are_trigger_aligned_at_the_trigger_position(scope):
    device, session = scope
    session.write(":TRIG:LEV 0.5;:TRIG:POS 0.25")
    traces, triggered = [], []
    for _ in range(3):
        traces.append(scope_trace(session)[1])
        triggered.append(device.last_record.triggered)
    assert triggered == [True, True, True]
    pre = RECORD // 4
    for volts in traces:
        # The rising edge through 0.5 V sits at the trigger index.
        assert volts[pre - 3 : pre].mean() < 0.5 < volts[pre : pre + 3].mean()
        assert np.all(np.diff(volts[pre - 20 : pre + 20 : 10]) > 0)
    # Random start phases, yet the records line up sample for sample (up to noise).
    assert np.abs(traces[0] - traces[1]).max() < 0.08
    assert np.abs(traces[0] - traces[2]).max() < 0.08


def test_no_trigger_level_crossing_free_runs(scope):
    device, session = scope
    session.write(":TRIG:LEV 5")
    scope_trace(session)
    assert not device.last_record.triggered


def test_signal_beyond_the_screen_clips_at_the_end_codes(scope):
    _, session = scope
    session.write(":CHAN1:SCAL 0.01")  # 0.1 V full screen for a 0.8 V sine
    _, volts, info = scope_trace(session)
    codes = info["codes"]
    assert codes.min() == -128
    assert codes.max() == 127
    assert np.mean((codes == -128) | (codes == 127)) > 0.8
    assert volts.max() <= 0.05
    assert volts.min() >= -0.05


def test_square_wave_sits_on_its_two_levels(scope):
    _, session = scope
    _, volts, info = scope_trace(session, channel=2)
    high, low = volts[volts > 0], volts[volts < 0]
    assert high.size == pytest.approx(low.size, rel=0.05)
    assert np.median(high) == pytest.approx(0.3, abs=info["lsb"])
    assert np.median(low) == pytest.approx(-0.3, abs=info["lsb"])


def test_adc_round_trip_and_clipping():
    adc = physics.ADC(bits=8, full_scale=2.0, center=0.5)
    volts = np.linspace(-0.49, 1.49, 1000)
    assert np.abs(adc.decode(adc.encode(volts)) - volts).max() <= adc.lsb / 2 + 1e-12
    assert adc.encode([-10.0, 10.0]).tolist() == [-128, 127]
    unsigned = physics.ADC(bits=8, full_scale=2.0, unsigned=True)
    assert unsigned.encode([-10.0, 0.0, 10.0]).tolist() == [0, 128, 255]
    assert unsigned.dtype == np.uint8


# -- spectrometer
@pytest.fixture
def spectrometer(connect):
    clock = ManualClock()
    device = create("test-spectrometer", seed=5, clock=clock)
    return device, connect(device), clock


def exposure(session, seconds: float, *, shutter: bool = True) -> np.ndarray:
    session.write(f":EXP:TIME {seconds};:SHUT {'ON' if shutter else 'OFF'}")
    return session.query_block(":SPEC?", dtype=np.uint16).astype(np.float64)


def test_spectrum_lines_appear_at_their_wavelengths(spectrometer):
    _, session, _ = spectrometer
    coefficients = [float(c) for c in session.query(":CAL:COEF?").split(",")]
    counts = exposure(session, 0.5)
    wavelengths = np.polynomial.polynomial.polyval(np.arange(counts.size), coefficients)
    for centre in (450.0, 560.0):
        window = np.abs(wavelengths - centre) < 4.0
        signal = counts[window] - np.median(counts)
        found = np.sum(wavelengths[window] * signal) / np.sum(signal)
        assert found == pytest.approx(centre, abs=0.05)


def test_reply_leaves_after_the_integration_time(spectrometer):
    _, session, clock = spectrometer
    exposure(session, 2.0)
    assert clock.now() == pytest.approx(2.0)
    exposure(session, 0.5)
    assert clock.now() == pytest.approx(2.5)


def test_dark_counts_scale_with_integration_time(spectrometer):
    device, session, _ = spectrometer
    short, long = exposure(session, 0.5, shutter=False), exposure(session, 5.0, shutter=False)
    dark_rate = device.spectrograph.dark_rate
    assert short.mean() == pytest.approx(dark_rate * 0.5, rel=0.02)
    assert long.mean() == pytest.approx(dark_rate * 5.0, rel=0.02)
    # Shot noise and read noise add in quadrature.
    read = device.spectrograph.read_noise
    assert long.std() == pytest.approx(np.sqrt(dark_rate * 5.0 + read**2), rel=0.1)


def test_long_exposures_saturate_and_say_so(spectrometer):
    _, session, _ = spectrometer
    counts = exposure(session, 0.05)
    assert session.query(":SAT?") == "0"
    assert counts.max() < 65535
    counts = exposure(session, 30.0)
    assert session.query(":SAT?") == "1"
    assert counts.max() == 65535
    assert np.count_nonzero(counts == 65535) > 3  # a flat top, not a single hot pixel


def test_wavelength_polynomial():
    spectrograph = physics.Spectrograph(pixels=4, wavelength_coefficients=(400.0, 0.5, 0.01))
    assert spectrograph.wavelengths().tolist() == [400.0, 400.51, 401.04, 401.59]


# -- sensors
def test_temperature_drift_and_noise_statistics(connect):
    clock = ManualClock(start=100.0)
    device = create("test-thermometer", seed=2, clock=clock)
    session = connect(device)
    values = session.query_values("FETC:ARR? 400")
    times = np.arange(400.0)
    slope, intercept = np.polyfit(times, values, 1)
    assert slope == pytest.approx(0.01, rel=0.05)
    assert intercept == pytest.approx(300.0, abs=0.01)
    assert np.std(values - (slope * times + intercept)) == pytest.approx(0.02, rel=0.15)


def test_random_walk_spreads_with_the_square_root_of_time():
    rng = np.random.default_rng(4)
    runs = np.array(
        [physics.Drift(value=0.0, wander=0.1).read_many(np.arange(101.0), rng) for _ in range(400)]
    )
    assert runs[:, 100].std() == pytest.approx(0.1 * np.sqrt(100), rel=0.15)
    assert runs[:, 25].std() == pytest.approx(0.1 * np.sqrt(25), rel=0.15)


def test_multimeter_noise_falls_with_nplc_and_overloads_past_range():
    rng = np.random.default_rng(9)
    meter = physics.Multimeter(source=physics.Source(shape="dc", amplitude=0.0, offset=1.0))
    times = np.zeros(5000)
    fast = meter.measure(times, rng, range_=10.0, nplc=0.1)
    slow = meter.measure(times, rng, range_=10.0, nplc=10.0)
    assert fast.mean() == pytest.approx(1.0, abs=1e-4)
    assert fast.std() / slow.std() == pytest.approx(10.0, rel=0.1)
    assert meter.measure([0.0], rng, range_=0.1)[0] == 9.9e37


def test_power_meter_reads_true_power_only_at_the_right_wavelength():
    rng = np.random.default_rng(1)
    meter = physics.PowerMeter(power=physics.Drift(value=2e-3), wavelength=850.0, noise=1e-3)
    right = meter.measure(np.arange(1000.0), rng, set_wavelength=850.0).mean()
    wrong = meter.measure(np.arange(1000.0), rng, set_wavelength=1300.0).mean()
    assert right == pytest.approx(2e-3, rel=1e-3)
    ratio = physics.photodiode_responsivity(850.0) / physics.photodiode_responsivity(1300.0)
    assert wrong == pytest.approx(2e-3 * ratio, rel=1e-3)
    assert physics.PowerMeter.to_dbm(1e-3) == pytest.approx(0.0)
