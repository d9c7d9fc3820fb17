"""Rigol DG1000Z: exact commands (`:APPLy` included), limits per model, function, load and
frequency, pyvisa-sim round trips, and the simulated lab's model over TCP."""

from __future__ import annotations

import math

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.rigol import RigolDG1000Z
from instrumentkit.drivers.rigol.dg1000z_sim import DG1062ZModel
from instrumentkit.sim import ManualClock, serve
from instrumentkit.testing import check_driver, expected_protocol

IDN_DG1062Z = "Rigol Technologies,DG1062Z,DG1ZA000000001,00.01.14"
IDN_DG1022Z = "Rigol Technologies,DG1022Z,DG1ZA000000002,00.01.14"


def test_settings_send_the_manual_commands():
    pairs = [
        (":SOUR2:FREQ?", "1.000000E+03"),
        ("*IDN?", IDN_DG1062Z),
        (":SOUR2:FUNC RAMP", None),
        (":SOUR2:FUNC?", "RAMP"),
        (":OUTP1 ON", None),
        (":OUTP1?", "ON"),
        (":OUTP2:LOAD INF", None),
        (":OUTP2:LOAD?", "INFINITY"),
        (":OUTP1:LOAD 1000", None),
        (":OUTP1:LOAD?", "1.000000E+03"),
        (":SOUR1:BURS ON", None),
        (":SOUR1:BURS?", "ON"),
        (":SOUR1:BURS:NCYC 10", None),
        (":SOUR1:BURS:NCYC?", "1.000000E+01"),
        (":SOUR1:BURS:MODE INF", None),
        (":SOUR1:BURS:MODE?", "INF"),
    ]
    with expected_protocol(RigolDG1000Z, pairs) as fgen:
        fgen.channels[2].function = "ramp"
        assert fgen.channels[2].function == "ramp"
        fgen.channels[1].output = True
        assert fgen.channels[1].output is True
        fgen.channels[2].load = math.inf
        assert fgen.channels[2].load == math.inf
        fgen.channels[1].load = 1000
        assert fgen.channels[1].load == 1000.0
        fgen.channels[1].burst = True
        assert fgen.channels[1].burst is True
        fgen.channels[1].burst_cycles = 10
        assert fgen.channels[1].burst_cycles == 10
        fgen.channels[1].burst_mode = "infinite"
        assert fgen.channels[1].burst_mode == "infinite"


def test_apply_sends_function_frequency_amplitude_and_offset_in_one_message():
    pairs = [
        (":SOUR1:VOLT:UNIT?", "VPP"),
        (":OUTP1:LOAD?", "5.000000E+01"),
        ("*IDN?", IDN_DG1062Z),
        (":SOUR1:APPL:SIN 2000.0,1.0,0.25", None),
        (":SOUR1:VOLT:UNIT?", "VPP"),
        (":OUTP1:LOAD?", "5.000000E+01"),
        (":SOUR1:FREQ?", "2.000000E+03"),
        (":SOUR1:APPL:NOIS 0.5,0.0", None),
        (":SOUR1:VOLT:UNIT?", "VPP"),
        (":OUTP1:LOAD?", "5.000000E+01"),
        (":SOUR1:FREQ?", "2.000000E+03"),
        (":SOUR1:VOLT?", "5.000000E-01"),
        (":SOUR1:APPL:DC DEF,DEF,-3.5", None),
    ]
    with expected_protocol(RigolDG1000Z, pairs) as fgen:
        fgen.channels[1].apply("sine", frequency=2000.0, amplitude=1.0, offset=0.25)
        fgen.channels[1].apply("noise", amplitude=0.5, offset=0.0)
        fgen.channels[1].apply("dc", offset=-3.5)


@pytest.mark.parametrize(
    ("function", "values", "message"),
    [
        ("sine", {"frequency": 61e6}, "frequency = 61000000.0"),  # DG1062Z sine: 60 MHz
        ("ramp", {"frequency": 1.1e6}, "frequency = 1100000.0"),
        ("sine", {"frequency": 20e6, "amplitude": 5.5}, "amplitude = 5.5"),  # derated: 5 Vpp
        ("sine", {"frequency": 40e6, "amplitude": 2.6}, "amplitude = 2.6"),  # 2.5 Vpp
        ("square", {"amplitude": 6.0, "offset": 2.5}, "amplitude = 6.0"),  # 2.5 + 3 > 5 V
        ("dc", {"offset": 5.1}, "offset = 5.1"),
        ("sawtooth", {}, "not one of"),
    ],
)
def test_apply_checks_the_new_combination_before_sending(function, values, message):
    pairs = []
    if function != "sawtooth":
        pairs = [(":SOUR1:VOLT:UNIT?", "VPP"), (":OUTP1:LOAD?", "5.000000E+01")]
        pairs += [] if "frequency" in values else [(":SOUR1:FREQ?", "1.000000E+03")]
        pairs += [] if "amplitude" in values else [(":SOUR1:VOLT?", "1.000000E+00")]
        pairs += [] if "offset" in values else [(":SOUR1:VOLT:OFFS?", "0.000000E+00")]
        pairs += [("*IDN?", IDN_DG1062Z)]
    with (
        expected_protocol(RigolDG1000Z, pairs) as fgen,
        pytest.raises(ik.ValidationError, match=message),
    ):
        fgen.channels[1].apply(function, **values)


@pytest.mark.parametrize(
    ("idn", "function", "frequency", "accepted"),
    [
        (IDN_DG1062Z, "SIN", 60e6, True),
        (IDN_DG1062Z, "SQU", 20e6, True),
        (IDN_DG1062Z, "SQU", 21e6, False),
        (IDN_DG1062Z, "PULS", 25e6, True),
        (IDN_DG1022Z, "SIN", 25e6, True),
        (IDN_DG1022Z, "SIN", 26e6, False),
        (IDN_DG1022Z, "RAMP", 500e3, True),
        (IDN_DG1022Z, "RAMP", 501e3, False),
        (IDN_DG1022Z, "HARM", 11e6, False),
    ],
)
def test_frequency_ceilings_per_model_and_function(idn, function, frequency, accepted):
    pairs = [(":SOUR2:FUNC?", function), ("*IDN?", idn)]
    pairs += [(f":SOUR2:FREQ {frequency}", None)] if accepted else []
    with expected_protocol(RigolDG1000Z, pairs) as fgen:
        if accepted:
            fgen.channels[2].frequency = frequency
        else:
            with pytest.raises(ik.ValidationError, match="frequency"):
                fgen.channels[2].frequency = frequency


@pytest.mark.parametrize(
    ("load", "frequency", "amplitude", "accepted"),
    [
        ("5.000000E+01", "1.000000E+07", 10.0, True),  # up to 10 MHz: 10 Vpp into 50 ohm
        ("5.000000E+01", "1.000000E+07", 10.1, False),
        ("5.000000E+01", "1.100000E+07", 5.0, True),  # above 10 MHz: half
        ("5.000000E+01", "1.100000E+07", 5.1, False),
        ("INFINITY", "1.000000E+03", 20.0, True),  # high-Z: twice
        ("INFINITY", "3.100000E+07", 5.0, True),  # above 30 MHz: a quarter
        ("INFINITY", "3.100000E+07", 5.1, False),
    ],
)
def test_amplitude_depends_on_the_load_and_the_frequency(load, frequency, amplitude, accepted):
    pairs = [
        (":SOUR1:VOLT:UNIT?", "VPP"),
        (":OUTP1:LOAD?", load),
        (":SOUR1:VOLT:OFFS?", "0.000000E+00"),
        ("*IDN?", IDN_DG1062Z),
        (":SOUR1:FREQ?", frequency),
    ]
    pairs += [(f":SOUR1:VOLT {amplitude}", None)] if accepted else []
    with expected_protocol(RigolDG1000Z, pairs) as fgen:
        if accepted:
            fgen.channels[1].amplitude = amplitude
        else:
            with pytest.raises(ik.ValidationError, match="amplitude"):
                fgen.channels[1].amplitude = amplitude


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("function", "triangle"),  # the DG1000Z makes triangles as a 50 % ramp
        ("load", 0),
        ("burst_cycles", 500_001),
        ("burst_mode", "external"),
        ("frequency", 70e6),
    ],
)
def test_values_no_model_accepts_are_refused_before_any_byte(name, value):
    with expected_protocol(RigolDG1000Z, []) as fgen, pytest.raises(ik.ValidationError):
        setattr(fgen.channels[2], name, value)


def test_make_safe_turns_both_outputs_off():
    with expected_protocol(RigolDG1000Z, [(":OUTP1 OFF", None), (":OUTP2 OFF", None)]) as fgen:
        assert isinstance(fgen, ik.Source)
        assert fgen.make_safe() == []


# -- pyvisa-sim
def test_pyvisa_sim_round_trips(sim_instrument):
    fgen = sim_instrument(RigolDG1000Z)
    for number in (1, 2):
        channel = fgen.channels[number]
        channel.apply("square", frequency=1e3, amplitude=2.0, offset=0.5)
        channel.function = "pulse"
        channel.frequency = 4321.5 * number
        channel.load = "high-z"
        channel.amplitude = 3.0
        channel.output = True
        channel.burst = True
        channel.burst_mode = "gated"
        assert channel.function == "pulse"
        assert channel.frequency == 4321.5 * number
        assert channel.load == math.inf
        assert channel.amplitude == 3.0
        assert channel.output is True
        assert channel.burst is True
        assert channel.burst_mode == "gated"
    assert fgen.drain_errors() == []
    assert fgen.make_safe() == []
    assert fgen.channels[1].output is False
    assert fgen.channels[2].output is False


def test_conformance():
    check_driver(RigolDG1000Z)


# -- the simulated lab
@pytest.fixture
def lab():
    model = DG1062ZModel(seed=5, clock=ManualClock())
    with serve({"fgen": model}) as served, RigolDG1000Z.open(served.resource("fgen")) as fgen:
        yield fgen, model


def test_lab_model_applies_and_emits(lab):
    fgen, model = lab
    channel = fgen.channels[1]
    channel.apply("sine", frequency=2000.0, amplitude=1.0, offset=0.1)
    channel.output = True
    assert fgen.query(":SOUR1:APPL?") == '"SIN,2.000000E+03,1.000000E+00,1.000000E-01,0.000000E+00"'
    t = np.arange(0, 1e-3, 1e-6)
    np.testing.assert_allclose(model.emitted(1, t), 0.1 + 0.5 * np.sin(2 * np.pi * 2000 * t))
    np.testing.assert_array_equal(model.emitted(2, t), 0.0)
    channel.apply("ramp", frequency=1000.0, amplitude=2.0, offset=0.0)
    fgen.wait()
    # 50 % symmetry: the DG1000Z's ramp is a triangle, rising for half a period
    np.testing.assert_allclose(model.emitted(1, np.array([0.0, 0.25e-3, 0.5e-3])), [-1, 0, 1])
    assert fgen.drain_errors() == []


def test_lab_model_refuses_an_apply_beyond_the_model_and_keeps_the_old_state(lab):
    fgen, _ = lab
    fgen.session.write(":SOUR2:APPL:SIN 50e6,5,0")  # 2.5 Vpp is the most above 30 MHz
    assert [code for code, _ in fgen.drain_errors()] == [-222]
    assert fgen.channels[2].function == "sine"
    assert fgen.channels[2].frequency == 1000.0
    assert fgen.channels[2].amplitude == pytest.approx(0.1)
    with pytest.raises(ik.ValidationError, match="amplitude"):
        fgen.channels[2].apply("sine", frequency=50e6, amplitude=5.0, offset=0.0)


def test_lab_model_load_reads_infinity_and_keeps_the_driven_voltage(lab):
    fgen, _ = lab
    channel = fgen.channels[2]
    channel.amplitude = 3.0
    channel.load = "high-z"
    assert fgen.query(":OUTP2:LOAD?") == "INFINITY"
    assert channel.load == math.inf
    assert channel.amplitude == pytest.approx(6.0)
