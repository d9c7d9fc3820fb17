"""Every scope driver on its simulated-lab model over real TCP (`TCPIP::127.0.0.1::<port>::SOCKET`).

Traces are checked against the signal the model was given (frequency, amplitude, offset
within ADC resolution) and against the model's own record, point by point; faults on the
wire must come back as instrumentkit errors naming the instrument and the command.
"""

from __future__ import annotations

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import KeysightInfiniiVision
from instrumentkit.drivers.keysight.infiniivision_sim import DSOX3034TModel
from instrumentkit.drivers.rigol import RigolDS1000Z
from instrumentkit.drivers.rigol.ds1000z_sim import DS1054ZModel
from instrumentkit.drivers.tektronix import TektronixMSO4000, TektronixTDS2000
from instrumentkit.drivers.tektronix.mso4000_sim import MSO4104Model
from instrumentkit.drivers.tektronix.tds2000_sim import TDS2024CModel
from instrumentkit.sim import serve
from instrumentkit.testing import check_driver

SINE = {"shape": "sine", "amplitude": 0.8, "frequency": 2e3, "offset": 0.2}
SQUARE = {"shape": "square", "amplitude": 0.5, "frequency": 5e3}

FAMILIES = {
    "tds2024c": (TektronixTDS2000, TDS2024CModel, "CURVe?"),
    "mso4104": (TektronixMSO4000, MSO4104Model, "CURVe?"),
    "dsox3034t": (KeysightInfiniiVision, DSOX3034TModel, ":WAVeform:DATA?"),
    "ds1054z": (RigolDS1000Z, DS1054ZModel, ":WAV:DATA?"),
}

WIDE_FORMATS = {  # settings that switch each driver to 16-bit transfers, both byte orders
    "tds2024c": [
        {"data_width": 2, "data_encoding": "ribinary"},
        {"data_width": 2, "data_encoding": "srpbinary"},
    ],
    "mso4104": [
        {"data_width": 2, "data_encoding": "sribinary"},
        {"data_width": 2, "data_encoding": "rpbinary"},
    ],
    "dsox3034t": [
        {"waveform_format": "word", "byte_order": "msb_first", "unsigned": True},
        {"waveform_format": "word", "byte_order": "lsb_first", "unsigned": False},
    ],
    "ds1054z": [{"waveform_format": "word"}],
}


@pytest.fixture(params=sorted(FAMILIES))
def family(request):
    return request.param


@pytest.fixture
def lab(family):
    driver, model_class, _ = FAMILIES[family]
    model = model_class(seed=7, sources={1: SINE, 2: SQUARE})
    with serve({"scope": model}) as served, driver.open(served.resource("scope")) as scope:
        yield scope, model


def configure(scope) -> None:
    """Same set-up on every family: 0.5 V/div, 200 us/div, rising edge at 0.2 V on ch1."""
    scope.channels[1].scale = 0.5
    scope.timebase_scale = 2e-4
    scope.trigger_source = 1
    scope.trigger_slope = "rising"
    if isinstance(scope, TektronixMSO4000):
        scope.channels[1].trigger_level = 0.2
    else:
        scope.trigger_level = 0.2


def acquire(scope) -> None:
    scope.single()
    scope.wait_for_acquisition(timeout=5)
    if isinstance(scope, RigolDS1000Z):
        scope.waveform_mode = "raw"  # the memory, point for point (the screen is decimated)


def rising_crossings(t, y, level):
    """Times where y crosses `level` upwards, linearly interpolated."""
    index = np.flatnonzero((y[:-1] < level) & (y[1:] >= level))
    fraction = (level - y[index]) / (y[index + 1] - y[index])
    return t[index] + fraction * (t[index + 1] - t[index])


def test_trace_is_the_signal_in_volts(lab):
    scope, model = lab
    configure(scope)
    acquire(scope)
    waveform = scope.fetch(1)
    lsb = waveform.gain
    assert waveform.units == "V"
    assert len(waveform) == model.record_points()
    # Point by point: the model's true volts, to within half a code.
    truth = model.last.volts[1]
    assert np.max(np.abs(waveform.y - truth)) <= lsb / 2 + 1e-12
    # And what a user measures: offset, amplitude and frequency of the source.
    t, y = waveform.t, waveform.y
    design = np.column_stack(
        [np.sin(2e3 * 2 * np.pi * t), np.cos(2e3 * 2 * np.pi * t), np.ones_like(t)]
    )
    (a, b, offset), *_ = np.linalg.lstsq(design, y, rcond=None)
    assert np.hypot(a, b) == pytest.approx(0.8, abs=lsb)
    assert offset == pytest.approx(0.2, abs=lsb)
    period = np.diff(rising_crossings(t, y, 0.2)).mean()
    assert 1 / period == pytest.approx(2e3, rel=2e-3)
    np.testing.assert_array_equal(waveform.raw.shape, waveform.y.shape)


def test_time_axis_puts_the_trigger_at_zero(lab):
    scope, model = lab
    configure(scope)
    acquire(scope)
    waveform = scope.fetch(1)
    np.testing.assert_allclose(waveform.t, model.last.times, rtol=0, atol=waveform.dx * 1e-6)
    assert waveform.dx == pytest.approx(model.sample_interval(), rel=1e-6)
    # At t = 0 the trace crosses the trigger level going up.
    zero = int(np.argmin(np.abs(waveform.t)))
    slope = 0.8 * 2 * np.pi * 2e3 * waveform.dx
    assert waveform.y[zero] == pytest.approx(0.2, abs=waveform.gain + slope)
    assert waveform.y[zero + 5] > waveform.y[zero - 5]


def test_sixteen_bit_transfers_in_both_byte_orders(lab, family):
    scope, model = lab
    configure(scope)
    acquire(scope)
    narrow = scope.fetch(1)
    for settings in WIDE_FORMATS[family]:
        for name, value in settings.items():
            setattr(scope, name, value)
        wide = scope.fetch(1)
        assert wide.raw.dtype.itemsize == 2
        assert np.max(np.abs(wide.y - model.last.volts[1])) <= wide.gain / 2 + 1e-12
        assert np.max(np.abs(wide.y - narrow.y)) <= narrow.gain


def test_fetch_all_reads_two_channels_of_one_record(lab):
    scope, model = lab
    configure(scope)
    acquire(scope)
    sine, square = scope.fetch_all([1, 2])
    assert (len(sine), len(square)) == (len(model.last.times),) * 2
    np.testing.assert_allclose(square.y, model.last.volts[2], atol=square.gain)
    assert square.y.min() == pytest.approx(-0.5, abs=square.gain)
    assert square.y.max() == pytest.approx(0.5, abs=square.gain)


def test_untriggered_single_times_out_saying_what_it_waited_for(lab):
    scope, _ = lab
    configure(scope)
    scope.trigger_mode = "normal"
    if isinstance(scope, TektronixMSO4000):
        scope.channels[1].trigger_level = 3.0
    else:
        scope.trigger_level = 3.0  # above the 1 V peak: no edge, no acquisition
    scope.single()
    with pytest.raises(ik.Timeout, match=r"waited 0\.2 s for the") as caught:
        scope.wait_for_acquisition(timeout=0.2)
    assert caught.value.instrument == scope.name
    scope.stop()


@pytest.mark.parametrize(
    ("kind", "error", "says"),
    [
        ("truncate", ik.Timeout, "bytes arrived"),
        ("no_reply", ik.Timeout, "no complete reply"),
        ("drop", ik.ConnectionFailed, "closed by the instrument"),
    ],
)
def test_faults_mid_fetch_are_clear_errors(family, kind, error, says):
    driver, model_class, data_command = FAMILIES[family]
    model = model_class(seed=1, sources={1: SINE})
    with serve({"scope": model}) as served, driver.open(served.resource("scope")) as scope:
        configure(scope)
        acquire(scope)
        scope.session.timeout = 0.3
        model.faults.inject(kind, on=data_command)
        with pytest.raises(error, match=says) as caught:
            scope.fetch(1)
        assert caught.value.instrument == served.resource("scope")
    assert data_command in caught.value.command  # Tektronix: one message with the preamble


def test_rigol_deep_memory_arrives_in_chunks_over_tcp():
    model = DS1054ZModel(seed=3, sources={1: SINE})
    with serve({"scope": model}) as served, RigolDS1000Z.open(served.resource("scope")) as scope:
        configure(scope)
        scope.record_length = 1_200_000
        acquire(scope)
        waveform = scope.fetch(1)
        assert len(waveform) == 1_200_000
        lsb = waveform.gain
        assert np.max(np.abs(waveform.y - model.last.volts[1])) <= lsb / 2 + 1e-12
        # The model refuses what the driver never asks: more than 250,000 points per read.
        scope.session.write(":WAV:STAR 1;:WAV:STOP 300000")
        scope.session.write(":WAV:DATA?")
        assert scope.drain_errors()[0][0] == -222


def test_rigol_screen_mode_gives_1200_points_over_12_divisions():
    model = DS1054ZModel(seed=3, sources={1: SINE})
    with serve({"scope": model}) as served, RigolDS1000Z.open(served.resource("scope")) as scope:
        configure(scope)
        scope.single()
        scope.wait_for_acquisition(timeout=5)
        waveform = scope.fetch(1)
    assert len(waveform) == 1200
    assert waveform.dx == pytest.approx(2e-4 * 12 / 1200)
    assert waveform.t[0] == pytest.approx(-6 * 2e-4, abs=waveform.dx)


def test_registry_identifies_each_model_over_tcp(family):
    driver, model_class, _ = FAMILIES[family]
    with (
        serve({"scope": model_class(seed=1)}) as served,
        ik.open(served.resource("scope")) as scope,
    ):
        assert type(scope) is driver
        check_driver(driver, instrument=scope)


def test_through_pyvisa_py_as_well():
    model = DSOX3034TModel(seed=2, sources={1: SINE})
    with serve({"scope": model}) as served:
        resource = served.resource("scope")
        with KeysightInfiniiVision.open(resource, backend="@py") as scope:
            configure(scope)
            scope.record_length = 100_000
            scope.waveform_format = "word"
            acquire(scope)
            waveform = scope.fetch(1)
    assert len(waveform) == 100_000
    assert np.max(np.abs(waveform.y - model.last.volts[1])) <= waveform.gain / 2 + 1e-12
