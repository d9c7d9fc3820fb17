"""A wired lab: lab-file validation, and what drivers read over the real protocols
when sources drive DUTs (SMU -> diode, supply -> thermal stage -> Lake Shore,
generator -> scope channel)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.errors import ConfigError
from instrumentkit.sim import Lab, ManualClock
from instrumentkit.sim._lab import parse_lab
from instrumentkit.sim.dut import Diode

DEVICES = [
    {"name": "smu", "model": "keithley-2400", "seed": 1},
    {"name": "psu", "model": "keysight-e36312a", "seed": 2},
    {"name": "fgen", "model": "keysight-33522b", "seed": 3},
    {"name": "scope", "model": "rigol-ds1054z", "seed": 4},
    {"name": "temperature", "model": "lakeshore-336", "seed": 5},
]
DUTS = [
    {"name": "diode", "model": "diode"},
    {"name": "stage", "model": "thermal-stage"},
    {"name": "rc", "model": "rc-lowpass"},
]


def lab_data(*wiring: dict, duts: list | None = None) -> dict:
    return {"devices": DEVICES, "duts": DUTS if duts is None else duts, "wiring": list(wiring)}


# -- validation
@pytest.mark.parametrize(
    ("wire", "field", "words"),
    [
        ({"from": "smu", "to": "dioed"}, "wiring[0].to", "no device or DUT named 'dioed'"),
        ({"from": "smuu.1", "to": "diode"}, "wiring[0].from", "no device or DUT named"),
        ({"from": "fgen.1", "to": "scope.3", "then": "scope.4"}, "wiring[0].then", "'then'"),
        ({"from": "smu"}, "wiring[0].to", "Field required"),
        ({"from": "smu", "to": "diode", "colour": "red"}, "wiring[0].colour", "Extra inputs"),
        ({"from": "psu.1", "to": "stage", "slew": 0}, "wiring[0].slew", "greater than 0"),
    ],
)
def test_lab_file_refuses_a_wire_naming_what_is_not_there(wire, field, words):
    with pytest.raises(ConfigError, match=words) as caught:
        parse_lab(lab_data(wire), source="lab.yaml")
    assert caught.value.field == field
    assert caught.value.source == "lab.yaml"


def test_lab_file_refuses_a_dut_named_like_a_device():
    with pytest.raises(ConfigError, match="'smu' is used twice"):
        parse_lab(lab_data(duts=[{"name": "smu", "model": "diode"}]))


@pytest.mark.parametrize(
    ("wire", "field", "words"),
    [
        ({"from": "fgen.1", "to": "scope.7"}, "wiring[0].to", "no port '7'; its ports: '1'"),
        ({"from": "fgen", "to": "scope.1"}, "wiring[0].from", "write 'fgen.<port>'"),
        ({"from": "scope.1", "to": "scope.2"}, "wiring[0].from", "is an input"),
        ({"from": "fgen.1", "to": "smu"}, "wiring[0].to", "smu is an output"),
        ({"from": "fgen.1", "to": "diode"}, "wiring[0].to", "diode' is a load"),
        ({"from": "smu", "to": "diode.colour"}, "wiring[0].to", "no input 'colour'"),
        ({"from": "diode", "to": "scope.1"}, "wiring[0].from", "no output to wire from"),
        ({"from": "smu", "to": "diode", "then": "scope.1"}, "wiring[0].then", "no output to"),
        ({"from": "psu.1", "to": "stage", "then": "scope.1"}, "wiring[0].then", "V, but stage"),
        ({"from": "fgen.1", "to": "temperature.A"}, "wiring[0].to", "measures K, but fgen.1"),
    ],
)
def test_lab_refuses_ports_that_do_not_exist_or_do_not_fit(wire, field, words):
    lab = Lab(parse_lab(lab_data(wire)), clock=ManualClock())
    with pytest.raises(ConfigError, match=words) as caught:
        lab.start()
    assert caught.value.field == field
    assert lab.remote_resources == {}  # refused before any device was served


def test_lab_refuses_an_input_wired_twice_and_a_drive_with_two_loads():
    twice = lab_data({"from": "fgen.1", "to": "scope.3"}, {"from": "fgen.2", "to": "scope.3"})
    with pytest.raises(ConfigError, match=r"scope.3 is already wired \(fgen.1 -> scope.3\)"):
        Lab(parse_lab(twice), clock=ManualClock()).start()
    two_loads = lab_data({"from": "smu", "to": "diode"}, {"from": "smu", "to": "stage"})
    with pytest.raises(ConfigError, match="smu is already wired") as caught:
        Lab(parse_lab(two_loads), clock=ManualClock()).start()
    assert caught.value.field == "wiring[1].from"


def test_lab_refuses_unknown_dut_models_and_parameters():
    with pytest.raises(ConfigError, match="no DUT model named 'zener'") as caught:
        Lab(parse_lab(lab_data(duts=[{"name": "d", "model": "zener"}]))).start()
    assert caught.value.field == "duts[0].model"
    bad = [{"name": "d", "model": "diode", "params": {"colour": "red"}}]
    with pytest.raises(ConfigError, match="colour") as caught:
        Lab(parse_lab(lab_data(duts=bad))).start()
    assert caught.value.field == "duts[0].params"


# -- end to end over the real protocols
def test_smu_measures_the_diode_current_and_trips_compliance():
    spec = parse_lab(lab_data({"from": "smu", "to": "diode"}))
    with Lab(spec, clock=ManualClock()) as lab, ik.open(lab.resource("smu")) as smu:
        smu.nplc = 10
        smu.current_limit = 0.01
        smu.output = True
        expected = Diode()  # the lab's diode has the default parameters
        for volts in (0.3, 0.5, 0.6):
            smu.level = volts
            assert smu.measure_current() == pytest.approx(expected.current(volts), rel=1e-3)
            assert smu.compliance_tripped() is False
        smu.level = 1.0  # the diode would draw ~0.6 A: the SMU holds 10 mA
        assert smu.measure_current() == pytest.approx(0.01, rel=1e-3)
        assert smu.compliance_tripped() is True
        assert smu.measure_voltage() == pytest.approx(expected.voltage(0.01), abs=1e-4)


def test_supply_heats_the_stage_that_the_lake_shore_reads_on_the_device_clock():
    clock = ManualClock()
    wire = {"from": "psu.1", "to": "stage", "then": "temperature.C", "slew": 1.0}
    with (
        Lab(parse_lab(lab_data(wire)), clock=clock) as lab,
        ik.open(lab.resource("psu")) as psu,
        ik.open(lab.resource("temperature")) as lakeshore,
    ):
        stage = lab.dut("stage")
        heater = psu.channels[1]
        assert lakeshore.inputs["C"].temperature == pytest.approx(295.0, abs=0.01)
        heater.current_limit = 1.0
        heater.voltage = 5.0
        heater.output = True
        assert heater.output is True  # a query: the commands were handled by now
        start = clock.now()
        clock.advance(5.0 + stage.time_constant)
        tau, c, g = stage.time_constant, stage.heat_capacity, stage.conductance
        # Slewing at 1 V/s the heater gives P = t^2 / 25 W for 5 s (integrated numerically
        # here), then 1 W: first order towards 295 K + P / G.
        ramp = np.linspace(0.0, 5.0, 200_001)
        at_5s = 295.0 + np.trapezoid(np.exp(-(5.0 - ramp) / tau) * ramp**2 / 25.0 / c, ramp)
        reading = lakeshore.inputs["C"].temperature
        settled = 295.0 + 1.0 / g
        expected = settled + (at_5s - settled) * math.exp(-(clock.now() - start - 5.0) / tau)
        assert reading == pytest.approx(expected, abs=0.01)  # the input's noise is 2 mK
        assert expected - 295.0 == pytest.approx(20.0 * (1 - math.exp(-1)), rel=0.15)
        assert heater.measured_current == pytest.approx(0.2, abs=1e-4)  # 5 V on 25 ohm


def test_generator_output_is_what_the_scope_channel_shows():
    spec = parse_lab(lab_data({"from": "fgen.1", "to": "scope.3"}))
    with (
        Lab(spec, clock=ManualClock()) as lab,
        ik.open(lab.resource("fgen")) as fgen,
        ik.open(lab.resource("scope")) as scope,
    ):
        scope.channels[3].scale = 0.5
        assert np.ptp(scope.fetch(3).y) < 0.05  # output off: 0 V and front-end noise
        output = fgen.channels[1]
        output.function = "square"
        output.frequency = 1000.0
        output.amplitude = 1.0  # Vpp into 50 ohm: twice that into the scope's 1 Mohm
        output.output = True
        fgen.wait()  # *OPC?: the generator has acted on every command before the scope reads
        trace = scope.fetch(3).y
        assert np.percentile(trace, 95) == pytest.approx(1.0, abs=0.05)
        assert np.percentile(trace, 5) == pytest.approx(-1.0, abs=0.05)
        assert np.median(scope.fetch(4).y) == pytest.approx(-0.3, abs=0.03)  # unwired: its default


def test_lockin_reads_its_sine_output_through_the_rc_filter():
    clock = ManualClock()
    wire = {"from": "lockin.ref", "to": "rc", "then": "lockin.input"}
    devices = [{"name": "lockin", "model": "stanford-sr830", "seed": 6}]
    spec = parse_lab({"devices": devices, "duts": DUTS, "wiring": [wire]})
    with Lab(spec, clock=clock) as lab, ik.open(lab.resource("lockin")) as lockin:
        rc = lab.dut("rc")
        lockin.amplitude = 0.5  # V rms
        for frequency in (100.0, rc.cutoff, 10e3):
            lockin.frequency = frequency
            assert lockin.frequency == pytest.approx(frequency, rel=1e-4)
            clock.advance(100.0)  # many output-filter time constants
            r, theta = lockin.r, lockin.theta
            w_rc = 2 * math.pi * frequency * rc.tau
            assert r == pytest.approx(0.5 / math.sqrt(1 + w_rc**2), rel=5e-3)
            assert theta == pytest.approx(-math.degrees(math.atan(w_rc)), abs=0.5)


def test_supply_level_slews_onto_a_scope_input_on_the_device_clock():
    clock = ManualClock()
    spec = parse_lab(lab_data({"from": "psu.2", "to": "scope.4", "slew": 2.0}))
    with (
        Lab(spec, clock=clock) as lab,
        ik.open(lab.resource("psu")) as psu,
        ik.open(lab.resource("scope")) as scope,
    ):
        scope.channels[4].scale = 1.0
        output = psu.channels[2]
        output.voltage = 5.0
        output.output = True
        assert output.output is True
        clock.advance(1.0)  # 2 V/s for 1 s
        assert np.median(scope.fetch(4).y) == pytest.approx(2.0, abs=0.05)
        clock.advance(1.0)
        assert np.median(scope.fetch(4).y) == pytest.approx(4.0, abs=0.05)
        output.voltage = 1.0  # back down at 2 V/s, from the 4 V reached by now
        assert output.voltage == pytest.approx(1.0)  # a query: the command was handled
        clock.advance(1.0)
        assert np.median(scope.fetch(4).y) == pytest.approx(2.0, abs=0.05)
        clock.advance(1.0)
        assert np.median(scope.fetch(4).y) == pytest.approx(1.0, abs=0.05)
        assert lab.device("scope").wired.keys() == {4}


def test_stage_temperature_reaches_the_diode_that_the_smu_measures():
    clock = ManualClock()
    spec = parse_lab(
        lab_data(
            {"from": "smu", "to": "diode"},
            {"from": "psu.1", "to": "stage"},
            {"from": "stage", "to": "diode.temperature"},
        )
    )
    with (
        Lab(spec, clock=clock) as lab,
        ik.open(lab.resource("smu")) as smu,
        ik.open(lab.resource("psu")) as psu,
    ):
        smu.nplc = 10
        smu.current_limit = 0.01
        smu.level = 0.5
        smu.output = True
        cold = smu.measure_current()
        assert cold == pytest.approx(Diode().current(0.5, kelvin=295.0), rel=1e-3)
        heater = psu.channels[1]
        heater.current_limit = 1.0
        heater.voltage = 6.0
        heater.output = True
        assert heater.output is True
        clock.advance(10 * lab.dut("stage").time_constant)  # settled: 295 K + 1.44 W / G
        kelvin = 295.0 + 6.0**2 / 25.0 / 0.05
        assert lab.dut("stage").temperature([clock.now()])[0] == pytest.approx(kelvin, abs=0.01)
        assert smu.measure_current() == pytest.approx(Diode().current(0.5, kelvin=kelvin), rel=1e-3)


def test_dmm_reads_the_supply_voltage_wired_to_its_input():
    clock = ManualClock()
    devices = [*DEVICES, {"name": "dmm", "model": "keysight-34461a", "seed": 7}]
    wire = {"from": "psu.3", "to": "dmm", "slew": 10.0}
    spec = parse_lab({"devices": devices, "wiring": [wire]})
    with (
        Lab(spec, clock=clock) as lab,
        ik.open(lab.resource("psu")) as psu,
        ik.open(lab.resource("dmm")) as dmm,
    ):
        assert dmm.voltage == pytest.approx(0.0, abs=1e-4)  # the output is off
        output = psu.channels[3]
        output.voltage = 12.5
        output.output = True
        assert output.output is True
        start = clock.now()
        clock.advance(0.3)
        volts = dmm.voltage  # taken when the integration ends: the reply's clock time
        assert volts == pytest.approx(10.0 * (clock.now() - start), abs=1e-3)
        assert 3.0 < volts < 10.0  # slewing at 10 V/s, read on the 10 V range
        clock.advance(5.0)
        assert dmm.voltage == pytest.approx(12.5, abs=1e-3)  # autorange: the 100 V range


def test_stage_heats_for_exactly_as_long_as_the_supply_was_on():
    clock = ManualClock()
    wire = {"from": "psu.1", "to": "stage", "then": "temperature.C"}
    with (
        Lab(parse_lab(lab_data(wire)), clock=clock) as lab,
        ik.open(lab.resource("psu")) as psu,
        ik.open(lab.resource("temperature")) as lakeshore,
    ):
        tau = lab.dut("stage").time_constant
        heater = psu.channels[1]
        heater.current_limit = 1.0
        heater.voltage = 5.0  # 1 W into 25 ohm: 20 K above 295 K once settled
        heater.output = True
        assert heater.output is True
        on = clock.now()
        clock.advance(tau)
        heater.output = False  # nobody read the stage meanwhile: it still heated until now
        assert heater.output is False
        off = clock.now()
        clock.advance(tau / 2)
        warmed = 20.0 * (1 - math.exp(-(off - on) / tau))
        expected = 295.0 + warmed * math.exp(-(clock.now() - off) / tau)
        assert lakeshore.inputs["C"].temperature == pytest.approx(expected, abs=0.01)
