"""Keithley 2000: exact bytes, pyvisa-sim round trips, and the simulated lab."""

from __future__ import annotations

import pytest

from instrumentkit.drivers.keithley import Keithley2000
from instrumentkit.drivers.keithley.dmm2000 import Keithley2000Function
from instrumentkit.drivers.keithley.dmm2000_sim import Keithley2000Model
from instrumentkit.errors import InstrumentReportedError, ProtocolError, Timeout, ValidationError
from instrumentkit.parameters import UnknownChoiceWarning
from instrumentkit.sim import ManualClock
from instrumentkit.sim.physics import Source
from instrumentkit.testing import check_driver, expected_protocol


def test_first_read_turns_continuous_initiation_off():
    pairs = [
        (":INIT:CONT OFF", None),
        (":SENS:FUNC?", '"VOLT:DC"'),
        (":READ?", "+1.23456789E+00"),
        (":SENS:FUNC?", '"VOLT:DC"'),
        (":READ?", "+1.23456780E+00"),
    ]
    with expected_protocol(Keithley2000, pairs) as dmm:
        assert dmm.read().value == pytest.approx(1.23456789)
        assert dmm.read().units == ("V",)


@pytest.mark.parametrize("reply", ["", "nan", "+1.0E+00,inf"])
def test_garbage_readings_are_protocol_errors(reply):
    pairs = [(":INIT:CONT OFF", None), (":SENS:FUNC?", '"VOLT:DC"'), (":READ?", reply)]
    with (
        expected_protocol(Keithley2000, pairs) as dmm,
        pytest.raises(ProtocolError, match=r"command ':READ\?'"),
    ):
        dmm.read()


def test_an_unknown_function_reads_with_empty_units():
    pairs = [(":INIT:CONT OFF", None), (":SENS:FUNC?", '"XRAY"'), (":READ?", "+1.5E+00")]
    with (
        expected_protocol(Keithley2000, pairs) as dmm,
        pytest.warns(UnknownChoiceWarning, match="XRAY"),
    ):
        reading = dmm.read()
    assert reading.units == ("",)
    assert reading.values.tolist() == [[1.5]]


def test_read_many_fills_the_trace_buffer():
    pairs = [
        (":SENS:FUNC?", '"RES"'),
        (":SENS:RES:NPLC?", "+1.000000E+00"),
        (":INIT:CONT OFF", None),
        (":FORM:ELEM READ", None),
        (":TRAC:CLE", None),
        (":TRAC:POIN 3", None),
        (":TRAC:FEED SENS", None),
        (":TRAC:FEED:CONT NEXT", None),
        (":SAMP:COUN 3", None),
        (":INIT", None),
        ("*OPC?", "1"),
        (":TRAC:DATA?", "+1.0E+03,+1.1E+03,+1.2E+03"),
        (":SAMP:COUN 1", None),
    ]
    with expected_protocol(Keithley2000, pairs) as dmm:
        reading = dmm.read_many(3)
    assert reading.values[:, 0].tolist() == [1000.0, 1100.0, 1200.0]
    assert reading.units == ("ohm",)


@pytest.mark.parametrize("n", [1, 1025, 0])
def test_read_many_refuses_what_the_buffer_cannot_hold(n):
    with expected_protocol(Keithley2000, []) as dmm, pytest.raises(ValidationError):
        dmm.read_many(n)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("voltage_range", 1011),
        ("current_range", 3.2),
        ("nplc", 0.001),
        ("nplc", 11),
        ("sample_count", 1025),
        ("buffer_size", 1),
        ("trigger_source", "whenever"),
        ("function", "smell"),
    ],
)
def test_bad_values_are_refused_before_sending(name, value):
    with expected_protocol(Keithley2000, []) as dmm, pytest.raises(ValidationError):
        setattr(dmm, name, value)


def test_readings_with_units_explain_the_format():
    pairs = [(":INIT:CONT OFF", None), (":SENS:FUNC?", '"VOLT:DC"'), (":READ?", "+1.0E+00VDC")]
    with (
        expected_protocol(Keithley2000, pairs) as dmm,
        pytest.raises(ProtocolError, match="FORM:ELEM READ"),
    ):
        dmm.read()


SETTINGS = [
    ("function", Keithley2000Function.FOUR_WIRE_RESISTANCE),
    ("voltage_range", 100.0),
    ("voltage_autorange", False),
    ("nplc", 10.0),
    ("voltage_ac_range", 10.0),
    ("voltage_ac_autorange", False),
    ("voltage_ac_nplc", 0.1),
    ("current_range", 1.0),
    ("current_autorange", False),
    ("current_nplc", 5.0),
    ("current_ac_range", 3.0),
    ("current_ac_autorange", False),
    ("current_ac_nplc", 2.0),
    ("resistance_range", 1e4),
    ("resistance_autorange", False),
    ("resistance_nplc", 0.01),
    ("four_wire_resistance_range", 1e6),
    ("four_wire_resistance_autorange", False),
    ("four_wire_resistance_nplc", 3.0),
    ("sample_count", 100),
    ("trigger_count", 9),
    ("trigger_source", "bus"),
    ("continuous_initiation", True),
    ("buffer_size", 512),
]


@pytest.mark.parametrize(("name", "value"), SETTINGS, ids=[s[0] for s in SETTINGS])
def test_every_setting_round_trips_on_pyvisa_sim(sim_instrument, name, value):
    dmm = sim_instrument(Keithley2000)
    setattr(dmm, name, value)
    assert getattr(dmm, name) == value
    assert dmm.drain_errors() == []


def test_pyvisa_sim_buffered_read_and_conformance(sim_instrument):
    check_driver(Keithley2000)
    dmm = sim_instrument(Keithley2000)
    assert dmm.read_many(5).values[:, 0].tolist() == [1.0, 1.1, 1.2, 1.3, 1.4]


# -- the simulated lab
@pytest.fixture
def lab_dmm(over_tcp):
    model = Keithley2000Model(clock=ManualClock(), seed=5)
    return model, over_tcp(Keithley2000, model, timeout=0.5)


def test_conformance_on_the_lab_model(lab_dmm):
    check_driver(Keithley2000, lab_dmm[1])


def test_power_up_refuses_read_until_continuous_initiation_is_off(over_tcp):
    model = Keithley2000Model(clock=ManualClock(), seed=5)
    dmm = over_tcp(Keithley2000, model, timeout=0.3)
    dmm.session.write(":INIT")
    with pytest.raises(InstrumentReportedError, match="-213"):
        dmm.check_errors()
    assert dmm.read().value == pytest.approx(1.0, abs=1e-3)  # the driver turned it off


def test_range_picks_the_range_holding_the_value(lab_dmm):
    model, dmm = lab_dmm
    dmm.function = "resistance"
    dmm.resistance_range = 5000
    assert dmm.resistance_range == 1e4
    assert dmm.resistance_autorange is False
    model.sources["RES"] = Source(shape="dc", amplitude=0.0, offset=2e4)
    assert dmm.read().value == pytest.approx(9.9e37)


def test_buffered_reads_measure_the_source(lab_dmm):
    model, dmm = lab_dmm
    model.sources["VOLT:DC"] = Source(shape="dc", amplitude=0.0, offset=-0.25)
    dmm.nplc = 10
    reading = dmm.read_many(1024)
    assert reading.values.shape == (1024, 1)
    assert reading.values.mean() == pytest.approx(-0.25, abs=1e-5)
    assert dmm.sample_count == 1
    assert dmm.buffer_count == 1024


def test_a_lost_reply_is_a_timeout(lab_dmm):
    model, dmm = lab_dmm
    model.faults.inject("no_reply", on=":TRAC:DATA?")
    with pytest.raises(Timeout, match="TRAC:DATA"):
        dmm.read_many(10)


def test_configure_selects_the_function_in_one_shot_mode(lab_dmm):
    """`:CONFigure:<function>` as the manual has it (and PyMeasure's driver sends): the
    function, continuous initiation off, one sample and trigger; `:CONF?` names it."""
    model, dmm = lab_dmm
    model.continuous = True
    model.sample_count = 5
    dmm.session.write(":CONF:RES")
    assert dmm.session.query(":CONF?") == '"RES"'
    assert (model.function, model.continuous, model.sample_count) == ("RES", False, 1)
    dmm.session.write(":CONF:FREQ")
    assert dmm.session.query(":CONFigure?") == '"FREQ"'


def test_settings_other_drivers_snapshot_are_answered_as_set(lab_dmm):
    _model, dmm = lab_dmm
    dmm.session.write(":SENS:VOLT:DIG 5;:SENS:CURR:AC:DET:BAND 300;:TRIG:SEQ:DEL 0.5")
    assert float(dmm.session.query(":SENS:VOLT:DIG?")) == 5
    assert float(dmm.session.query(":SENS:VOLT:REF?")) == 0
    assert float(dmm.session.query(":SENS:CURR:AC:DET:BAND?")) == 300
    assert float(dmm.session.query(":TRIG:DEL?")) == 0.5
    assert float(dmm.session.query(":SYST:BEEP:STAT?")) == 1
    assert dmm.session.query("*OPT?") == "0"
    dmm.session.write(":SENS:VOLT:DET:BAND 300")  # DC volts have no detector bandwidth
    with pytest.raises(InstrumentReportedError, match="-113"):
        dmm.check_errors()
