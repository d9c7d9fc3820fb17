"""Keysight 33500B/33600A Trueform: exact commands, limits per model, function and load,
pyvisa-sim round trips, and the simulated lab's model over TCP."""

from __future__ import annotations

import math

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import (
    Keysight33500B,
    Keysight33500BOneChannel,
    Keysight33600A,
    Keysight33600AOneChannel,
)
from instrumentkit.drivers.keysight.trueform33500 import FUNCTIONS
from instrumentkit.drivers.keysight.trueform33500_sim import (
    Keysight33522BModel,
    Keysight33622AModel,
)
from instrumentkit.sim import ManualClock, serve
from instrumentkit.testing import check_driver, expected_protocol

IDN_33522B = "Keysight Technologies,33522B,MY52400001,4.00-1.19-2.00-52-00"
IDN_33512B = "Agilent Technologies,33512B,MY52400009,3.03-1.19-2.00-52-00"
IDN_33622A = "Keysight Technologies,33622A,MY53800001,A.02.01-3.15-03.64-02.00-02-01"
IDN_33611A = "Keysight Technologies,33611A,MY53800003,A.02.01-3.15-03.64-02.00-02-01"


def test_settings_send_the_manual_commands():
    pairs = [
        ("SOUR2:FREQ?", "+1.00000000000000E+03"),
        ("*IDN?", IDN_33522B),
        ("SOUR2:FUNC SQU", None),
        ("SOUR2:FUNC?", "SQU"),
        ("OUTP1 ON", None),
        ("OUTP1?", "1"),
        ("OUTP2:LOAD INF", None),
        ("OUTP2:LOAD?", "+9.9E+37"),
        ("OUTP1:LOAD 50", None),
        ("OUTP1:LOAD?", "+5.00000000000000E+01"),
        ("SOUR1:BURS:STAT ON", None),
        ("SOUR1:BURS:NCYC 5", None),
        ("SOUR1:BURS:NCYC?", "+5.00000000000000E+00"),
        ("SOUR1:BURS:MODE GAT", None),
        ("SOUR1:BURS:MODE?", "GAT"),
        ("SOUR1:VOLT:UNIT VPP", None),
    ]
    with expected_protocol(Keysight33500B, pairs) as fgen:
        fgen.channels[2].function = "square"
        assert fgen.channels[2].function == "square"
        fgen.channels[1].output = True
        assert fgen.channels[1].output is True
        fgen.channels[2].load = "high-z"
        assert fgen.channels[2].load == math.inf
        fgen.channels[1].load = 50
        assert fgen.channels[1].load == 50.0
        fgen.channels[1].burst = True
        fgen.channels[1].burst_cycles = 5
        assert fgen.channels[1].burst_cycles == 5
        fgen.channels[1].burst_mode = "gated"
        assert fgen.channels[1].burst_mode == "gated"
        fgen.channels[1].amplitude_unit = "vpp"


@pytest.mark.parametrize(
    ("frequency", "function", "accepted"),
    [("+2.00000000000000E+05", "ramp", True), ("+2.00100000000000E+05", "ramp", False),
     ("+2.00100000000000E+05", "noise", True), ("+3.00000000000000E+07", "pulse", True)],
)  # fmt: skip
def test_a_function_whose_ceiling_is_below_the_frequency_is_refused(frequency, function, accepted):
    pairs = [("SOUR1:FREQ?", frequency), ("*IDN?", IDN_33522B)]
    pairs += [(f"SOUR1:FUNC {FUNCTIONS[function]}", None)] if accepted else []
    with expected_protocol(Keysight33500B, pairs) as fgen:
        if accepted:
            fgen.channels[1].function = function
        else:
            with pytest.raises(ik.ValidationError, match="lower the frequency first"):
                fgen.channels[1].function = function


def test_frequency_is_checked_against_the_function_and_the_model_read_once():
    pairs = [
        ("SOUR1:FUNC?", "SIN"),
        ("*IDN?", IDN_33522B),  # the model, asked once for the instrument's life
        ("SOUR1:FREQ 30000000.0", None),
        ("SOUR1:FUNC?", "RAMP"),
    ]
    with expected_protocol(Keysight33500B, pairs) as fgen:
        fgen.channels[1].frequency = 30e6  # the 33522B's sine ceiling
        with pytest.raises(ik.ValidationError, match=r"frequency = 250000.0 refused.*200000"):
            fgen.channels[1].frequency = 250e3  # ramp stops at 200 kHz


@pytest.mark.parametrize(
    ("driver", "idn", "function", "frequency", "accepted"),
    [
        (Keysight33500B, IDN_33522B, "SIN", 30e6, True),
        (Keysight33500B, IDN_33522B, "SIN", 30.1e6, False),
        (Keysight33500B, IDN_33512B, "SIN", 20e6, True),
        (Keysight33500B, IDN_33512B, "SIN", 25e6, False),
        (Keysight33500B, IDN_33512B, "PULS", 20e6, True),
        (Keysight33500B, IDN_33512B, "TRI", 200e3, True),
        (Keysight33500B, IDN_33512B, "TRI", 201e3, False),
        (Keysight33600A, IDN_33622A, "SIN", 120e6, True),
        (Keysight33600A, IDN_33622A, "SQU", 100e6, True),
        (Keysight33600A, IDN_33622A, "SQU", 101e6, False),
        (Keysight33600A, IDN_33611A, "SIN", 80e6, True),
        (Keysight33600A, IDN_33611A, "SIN", 81e6, False),
        (Keysight33600A, IDN_33611A, "RAMP", 800e3, True),
        (Keysight33600A, IDN_33611A, "PULS", 51e6, False),
        (Keysight33500B, "Keysight Technologies,33599B,X,1", "SIN", 21e6, False),  # unknown: 20 MHz
    ],
)
def test_frequency_ceilings_per_model_and_function(driver, idn, function, frequency, accepted):
    pairs = [("SOUR1:FUNC?", function), ("*IDN?", idn)]
    pairs += [(f"SOUR1:FREQ {frequency}", None)] if accepted else []
    with expected_protocol(driver, pairs) as fgen:
        if accepted:
            fgen.channels[1].frequency = frequency
        else:
            with pytest.raises(ik.ValidationError, match="frequency"):
                fgen.channels[1].frequency = frequency


@pytest.mark.parametrize(
    ("load", "offset", "amplitude", "accepted"),
    [
        ("+5.00000000000000E+01", "+0.00000000000000E+00", 10.0, True),  # 5 V peak at 50 ohm
        ("+5.00000000000000E+01", "+0.00000000000000E+00", 10.01, False),
        ("+9.9E+37", "+0.00000000000000E+00", 20.0, True),  # high-Z: 10 V peak
        ("+9.9E+37", "+1.00000000000000E-01", 19.9, False),  # 0.1 + 9.95 > 10 V
        ("+5.00000000000000E+01", "+2.00000000000000E+00", 6.0, True),  # 2 + 3 = 5 V
        ("+5.00000000000000E+01", "-2.00000000000000E+00", 6.2, False),
        ("+1.50000000000000E+02", "+0.00000000000000E+00", 15.0, True),  # 10 * 150/200
        ("+1.50000000000000E+02", "+0.00000000000000E+00", 15.1, False),
        ("+5.00000000000000E+01", "+0.00000000000000E+00", 0.001, True),  # 1 mVpp floor
        ("+5.00000000000000E+01", "+0.00000000000000E+00", 0.0009, False),
        ("+9.9E+37", "+0.00000000000000E+00", 0.0015, False),  # 2 mVpp floor at high-Z
    ],
)
def test_amplitude_must_fit_the_peak_at_the_load_with_the_offset(load, offset, amplitude, accepted):
    pairs = [
        ("SOUR2:VOLT:UNIT?", "VPP"),
        ("OUTP2:LOAD?", load),
        ("SOUR2:VOLT:OFFS?", offset),
        ("*IDN?", IDN_33522B),
    ]
    pairs += [(f"SOUR2:VOLT {amplitude}", None)] if accepted else []
    with expected_protocol(Keysight33500B, pairs) as fgen:
        if accepted:
            fgen.channels[2].amplitude = amplitude
        else:
            with pytest.raises(ik.ValidationError, match="amplitude"):
                fgen.channels[2].amplitude = amplitude


def test_amplitude_in_vrms_is_refused_naming_the_unit():
    pairs = [("SOUR1:VOLT:UNIT?", "VRMS")]
    with (
        expected_protocol(Keysight33500B, pairs) as fgen,
        pytest.raises(ik.ValidationError, match="amplitude_unit = 'vpp'"),
    ):
        fgen.channels[1].amplitude = 1.0


@pytest.mark.parametrize(
    ("function", "amplitude", "offset", "accepted"),
    [
        ("SIN", "+2.00000000000000E+00", 4.0, True),  # 4 + 1 = 5 V
        ("SIN", "+2.00000000000000E+00", -4.01, False),
        ("DC", "+2.00000000000000E+00", 5.0, True),  # DC: the amplitude does not count
        ("DC", "+2.00000000000000E+00", 5.01, False),
    ],
)
def test_offset_must_fit_the_peak_with_half_the_amplitude(function, amplitude, offset, accepted):
    pairs = [("OUTP1:LOAD?", "+5.00000000000000E+01"), ("SOUR1:FUNC?", function)]
    pairs += [("SOUR1:VOLT?", amplitude)] if function != "DC" else []
    pairs += [("*IDN?", IDN_33522B)]
    pairs += [(f"SOUR1:VOLT:OFFS {offset}", None)] if accepted else []
    with expected_protocol(Keysight33500B, pairs) as fgen:
        if accepted:
            fgen.channels[1].offset = offset
        else:
            with pytest.raises(ik.ValidationError, match="offset"):
                fgen.channels[1].offset = offset


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("function", "sawtooth"),
        ("load", 0.5),
        ("load", 20_000),
        ("burst_cycles", 0),
        ("burst_cycles", 2.5),
        ("burst_mode", "infinite"),
        ("amplitude", 25.0),
        ("frequency", -1.0),
        ("output", "maybe"),
    ],
)
def test_values_no_model_accepts_are_refused_before_any_byte(name, value):
    with expected_protocol(Keysight33500B, []) as fgen, pytest.raises(ik.ValidationError):
        setattr(fgen.channels[1], name, value)


def test_one_channel_models_have_no_channel_2():
    with expected_protocol(Keysight33500BOneChannel, []) as fgen:
        assert list(fgen.source_outputs()) == ["1"]
        with pytest.raises(ik.ValidationError, match="valid ids are \\[1\\]"):
            fgen.channels[2]


def test_a_generator_is_a_source_whose_level_is_the_amplitude_in_vpp():
    pairs = [
        ("SOUR1:VOLT?", "+1.00000000000000E-01"),
        ("SOUR1:VOLT:UNIT?", "VPP"),
        ("OUTP1:LOAD?", "+5.00000000000000E+01"),
        ("SOUR1:VOLT:OFFS?", "+0.00000000000000E+00"),
        ("*IDN?", IDN_33522B),
        ("SOUR1:VOLT 2.0", None),
        ("OUTP1 OFF", None),
        ("OUTP2 OFF", None),
    ]
    with expected_protocol(Keysight33500B, pairs) as fgen:
        assert isinstance(fgen, ik.Source)
        output = fgen.source_outputs()["1"]
        assert isinstance(output, ik.SourceOutput)
        assert output.level_units == "Vpp"
        assert output.level == 0.1
        output.level = 2.0
        # The safe state is the output off, at once: no ramp through the amplitude.
        assert fgen.make_safe() == []


def test_make_safe_reports_an_output_it_cannot_turn_off_and_still_turns_off_the_next():
    # The failed write leaves the session out of step: it syncs (*OPC?) before the next one.
    with expected_protocol(Keysight33500B, [("*OPC?", "1"), ("OUTP2 OFF", None)]) as fgen:
        transport = fgen.session.transport
        passed_on = transport.write

        def drop_channel_1(data):
            if data.startswith(b"OUTP1"):
                raise ik.ConnectionFailed("link down", instrument=fgen.name)
            passed_on(data)

        transport.write = drop_channel_1
        problems = fgen.make_safe()
    assert len(problems) == 1
    assert "channel 1" in problems[0]
    assert "link down" in problems[0]


# -- pyvisa-sim
@pytest.mark.parametrize(
    ("driver", "channels"),
    [
        (Keysight33500B, [1, 2]),
        (Keysight33500BOneChannel, [1]),
        (Keysight33600A, [1, 2]),
        (Keysight33600AOneChannel, [1]),
    ],
)
def test_pyvisa_sim_round_trips(sim_instrument, driver, channels):
    fgen = sim_instrument(driver)
    assert list(fgen.channels) == channels
    for number in channels:
        channel = fgen.channels[number]
        channel.function = "square"
        channel.frequency = 12_345.5 * number
        channel.load = "high-z"
        channel.offset = -0.25
        channel.amplitude = 3.0
        channel.output = True
        channel.burst_cycles = 7
        assert channel.function == "square"
        assert channel.frequency == 12_345.5 * number
        assert channel.load == math.inf
        assert (channel.amplitude, channel.offset) == (3.0, -0.25)
        assert channel.output is True
        assert channel.burst_cycles == 7
    assert fgen.drain_errors() == []
    assert fgen.make_safe() == []
    assert all(fgen.channels[n].output is False for n in channels)


@pytest.mark.parametrize(
    "driver", [Keysight33500B, Keysight33500BOneChannel, Keysight33600A, Keysight33600AOneChannel]
)
def test_conformance(driver):
    check_driver(driver)


# -- the simulated lab
@pytest.fixture(
    params=[(Keysight33500B, Keysight33522BModel), (Keysight33600A, Keysight33622AModel)]
)
def lab(request):
    driver, model_class = request.param
    model = model_class(seed=3, clock=ManualClock())
    with serve({"fgen": model}) as served, driver.open(served.resource("fgen")) as fgen:
        yield fgen, model


def test_lab_model_emits_what_was_set(lab):
    fgen, model = lab
    channel = fgen.channels[2]
    channel.function = "sine"
    channel.frequency = 2000
    channel.amplitude = 1.0
    channel.offset = 0.25
    t = np.arange(0, 1e-3, 1e-6)
    fgen.wait()  # *OPC?: the model has handled every write before it
    np.testing.assert_array_equal(model.emitted(2, t), 0.0)  # the output is off
    channel.output = True
    fgen.wait()
    volts = model.emitted(2, t)
    np.testing.assert_allclose(volts, 0.25 + 0.5 * np.sin(2 * np.pi * 2000 * t), atol=1e-12)
    # A 1 Mohm scope input on an output set for 50 ohm sees about twice the swing.
    assert np.ptp(model.emitted(2, t, load=1e6)) == pytest.approx(2.0, rel=1e-3)
    np.testing.assert_array_equal(model.emitted(1, t), 0.0)
    assert fgen.drain_errors() == []


def test_lab_model_square_ramp_and_dc_shapes(lab):
    fgen, model = lab
    channel = fgen.channels[1]
    channel.output = True
    channel.function = "square"
    channel.amplitude = 2.0
    t = np.array([0.1e-3, 0.6e-3])  # 1 kHz: first and second half of a period
    fgen.wait()
    np.testing.assert_allclose(model.emitted(1, t), [1.0, -1.0])
    channel.function = "ramp"
    fgen.wait()
    np.testing.assert_allclose(model.emitted(1, np.array([0.0, 0.5e-3])), [-1.0, 0.0], atol=1e-12)
    channel.function = "dc"
    channel.offset = 3.0
    fgen.wait()
    np.testing.assert_allclose(model.emitted(1, t), [3.0, 3.0])


def test_lab_model_keeps_the_driven_voltage_when_the_load_changes(lab):
    fgen, _ = lab
    channel = fgen.channels[1]
    channel.amplitude = 4.0
    channel.load = "high-z"
    assert channel.amplitude == pytest.approx(8.0)
    assert channel.load == math.inf
    channel.load = 50
    assert channel.amplitude == pytest.approx(4.0)


def test_lab_model_refuses_what_the_driver_would_not_send(lab):
    fgen, _ = lab
    fgen.session.write("SOUR1:VOLT 10.5")  # beyond 10 Vpp into 50 ohm
    fgen.session.write("SOUR1:FUNC TRI;FREQ 1e6")  # beyond the ramp/triangle ceiling
    codes = [code for code, _ in fgen.drain_errors()]
    assert codes == [-222, -222]
    assert fgen.channels[1].amplitude == pytest.approx(0.1)
    assert fgen.channels[1].frequency == 1000.0
    with pytest.raises(ik.ValidationError):
        fgen.channels[1].amplitude = 10.5  # and the driver refuses it before sending


def test_lab_model_refuses_a_function_below_the_present_frequency(lab):
    fgen, _ = lab
    fgen.session.write("SOUR1:FREQ 1e6;FUNC RAMP")
    assert [code for code, _ in fgen.drain_errors()] == [-221]
    assert fgen.channels[1].function == "sine"
    with pytest.raises(ik.ValidationError, match="lower the frequency first"):
        fgen.channels[1].function = "ramp"


def test_lab_model_reads_long_forms_and_min_max(lab):
    fgen, _ = lab
    fgen.session.write("SOURce2:FUNCtion PULSe")
    fgen.session.write("OUTPut2:LOAD MAX")
    fgen.session.write("SOURce2:VOLTage:AMPLitude MIN")
    assert fgen.channels[2].function == "pulse"
    assert fgen.channels[2].load == 10_000.0
    assert fgen.channels[2].amplitude == pytest.approx(2e-3 * 10_000 / 10_050)
    assert fgen.drain_errors() == []


def test_tightened_safe_limits_cap_the_amplitude_and_ramp_to():
    pairs = [
        ("SOUR1:VOLT:UNIT?", "VPP"),
        ("OUTP1:LOAD?", "+9.9E+37"),
        ("SOUR1:VOLT:OFFS?", "+0.00000000000000E+00"),
        ("*IDN?", IDN_33522B),
        ("SOUR1:VOLT:UNIT?", "VPP"),
        ("OUTP1:LOAD?", "+9.9E+37"),
        ("SOUR1:VOLT:OFFS?", "+0.00000000000000E+00"),
        ("SOUR1:VOLT 2.0", None),
    ]
    with expected_protocol(Keysight33500B, pairs) as fgen:
        channel = fgen.channels[1]
        assert channel.safe_limits.max_level == 20.0
        channel.safe_limits = ik.SafeLimits(max_level=2.0)
        with pytest.raises(ik.ValidationError, match="beyond the safe limit"):
            channel.ramp_to(2.5)  # refused before any byte
        with pytest.raises(ik.ValidationError, match=r"safe_limits\.max_level 2 Vpp"):
            channel.amplitude = 2.5  # the instrument (high-Z) would take 20 Vpp
        channel.amplitude = 2.0
        with pytest.raises(ik.ValidationError, match="widen"):
            fgen.channels[2].safe_limits = ik.SafeLimits(max_level=25.0)
