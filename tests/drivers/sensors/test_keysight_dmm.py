"""Keysight 34461A/34465A: exact bytes, pyvisa-sim round trips, and the simulated lab."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import Keysight34461A, Keysight34465A
from instrumentkit.drivers.keysight.dmm344xx import DMMFunction
from instrumentkit.drivers.keysight.dmm344xx_sim import Keysight34461AModel, Keysight34465AModel
from instrumentkit.errors import (
    ConnectionFailed,
    InstrumentReportedError,
    ProtocolError,
    Timeout,
    ValidationError,
)
from instrumentkit.interfaces import Sensor
from instrumentkit.sim import ManualClock, serve
from instrumentkit.sim.physics import Source
from instrumentkit.testing import check_driver, expected_protocol


def _block(text: str) -> bytes:
    payload = text.encode()
    return b"#" + str(len(str(len(payload)))).encode() + str(len(payload)).encode() + payload


# -- exact protocol
def test_configure_sends_function_range_and_nplc():
    pairs = [('FUNC "RES"', None), ("RES:RANG 10000.0", None), ("RES:NPLC 1", None)]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        dmm.configure("resistance", range=1e4, nplc=1)


def test_configure_autorange():
    pairs = [('FUNC "CURR:AC"', None), ("CURR:AC:RANG:AUTO ON", None)]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        dmm.configure(DMMFunction.AC_CURRENT, range="auto")


@pytest.mark.parametrize(
    ("function", "options"),
    [
        ("dc_voltage", {"nplc": 0.5}),  # not an integration time the 34461A has
        ("dc_voltage", {"range": 7}),
        ("frequency", {"range": 10}),  # no range setting at all
        ("ac_voltage", {"nplc": 1}),  # AC has no NPLC
        ("capacitance", {"range": 1e-3}),
        ("no_such_function", {}),
    ],
)
def test_configure_refuses_before_sending_anything(function, options):
    with expected_protocol(Keysight34461A, []) as dmm, pytest.raises(ValidationError):
        dmm.configure(function, **options)


def test_34465a_accepts_its_own_ranges_and_nplc():
    pairs = [('FUNC "CURR"', None), ("CURR:DC:RANG 1e-06", None), ("CURR:DC:NPLC 0.006", None)]
    with expected_protocol(Keysight34465A, pairs) as dmm:
        dmm.configure("dc_current", range=1e-6, nplc=0.006)
    with expected_protocol(Keysight34461A, []) as dmm, pytest.raises(ValidationError):
        dmm.configure("dc_current", range=1e-6)


def test_read_many_is_one_buffered_burst():
    readings = "+1.0E+00,+2.0E+00,+3.0E+00"
    pairs = [
        ("FUNC?", '"VOLT"'),
        ("VOLT:DC:NPLC?", "+1.00000000E+00"),
        ("SAMP:COUN 3", None),
        ("INIT", None),
        ("*OPC?", "1"),
        ("R?", _block(readings) + b"\n"),
        ("SAMP:COUN 1", None),
    ]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        reading = dmm.read_many(3)
    assert reading.values[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert reading.units == ("V",)
    assert np.all(np.diff(reading.timestamps_ns) >= 0)


@pytest.mark.parametrize("n", [0, -1, 10_001, 2.5])
def test_read_many_refuses_counts_beyond_memory_before_sending(n):
    with expected_protocol(Keysight34461A, []) as dmm, pytest.raises(ValidationError):
        dmm.read_many(n)


def test_34465a_memory_is_larger():
    with expected_protocol(Keysight34465A, []) as dmm, pytest.raises(ValidationError):
        dmm.read_many(50_001)


def test_read_many_reports_a_short_memory():
    pairs = [
        ("FUNC?", '"VOLT"'),
        ("VOLT:DC:NPLC?", "+1.0E+01"),
        ("SAMP:COUN 3", None),
        ("INIT", None),
        ("*OPC?", "1"),
        ("R?", _block("+1.0E+00") + b"\n"),
        ("SAMP:COUN 1", None),
    ]
    with (
        expected_protocol(Keysight34461A, pairs) as dmm,
        pytest.raises(ProtocolError, match="asked for 3 readings, memory held 1"),
    ):
        dmm.read_many(3)


def test_read_returns_every_sample_counted():
    pairs = [("FUNC?", '"RES"'), ("READ?", "+1.0E+03,+1.1E+03")]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        reading = dmm.read()
    assert reading.values.shape == (2, 1)
    assert reading.units == ("ohm",)


@pytest.mark.parametrize(
    ("token", "function", "units"),
    [
        ('"PER"', DMMFunction.PERIOD, "s"),
        ('"CONT"', DMMFunction.CONTINUITY, "ohm"),
        ('"DIOD"', DMMFunction.DIODE, "V"),
        ('"VOLT:RAT"', DMMFunction.DC_VOLTAGE_RATIO, "1"),
    ],
)
def test_every_truevolt_function_reads_back_with_its_units(token, function, units):
    pairs = [("FUNC?", token), ("FUNC?", token), ("READ?", "+2.5E-03")]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        assert dmm.function is function
        reading = dmm.read()
    assert reading.units == (units,)
    assert reading.values.tolist() == [[2.5e-3]]


def test_ratio_is_configured_on_the_dc_voltage_range_and_nplc():
    pairs = [('FUNC "VOLT:RAT"', None), ("VOLT:DC:RANG 10", None), ("VOLT:DC:NPLC 10", None)]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        dmm.configure("dc_voltage_ratio", range=10, nplc=10)


def test_a_function_the_driver_does_not_know_still_reads_and_snapshots():
    pairs = [("FUNC?", '"XRAY"'), ("FUNC?", '"XRAY"'), ("READ?", "+1.0E+00")]
    with expected_protocol(Keysight34465A, pairs, name="dmm") as dmm:
        with pytest.warns(
            ik.parameters.UnknownChoiceWarning, match=r"dmm: function reads '\"XRAY\"'"
        ):
            function = dmm.function
        assert isinstance(function, ik.UnknownChoice)
        assert function.raw == '"XRAY"'
        with pytest.warns(ik.parameters.UnknownChoiceWarning):
            reading = dmm.read()
        assert reading.units == ("",)
        assert reading.values.tolist() == [[1.0]]
        with pytest.raises(ValidationError, match="does not know this token"):
            dmm.function = function


@pytest.mark.parametrize(("token", "units"), [('"PER"', "s"), ('"XRAY"', "")])
def test_read_many_in_a_function_without_nplc_asks_for_none(token, units):
    pairs = [
        ("FUNC?", token),  # no NPLC query follows: period has an aperture, XRAY nothing known
        ("SAMP:COUN 2", None),
        ("INIT", None),
        ("*OPC?", "1"),
        ("R?", _block("+1.0E-03,+1.1E-03") + b"\n"),
        ("SAMP:COUN 1", None),
    ]
    with expected_protocol(Keysight34461A, pairs) as dmm, warnings.catch_warnings():
        warnings.simplefilter("ignore", ik.parameters.UnknownChoiceWarning)
        reading = dmm.read_many(2)
    assert reading.units == (units,)
    assert reading.values[:, 0].tolist() == [1.0e-3, 1.1e-3]


def test_snapshot_keeps_an_unknown_function_as_its_token():
    with (
        expected_protocol(Keysight34461A, [("FUNC?", '"XRAY"')]) as dmm,
        pytest.warns(ik.parameters.UnknownChoiceWarning),
    ):
        entry = type(dmm).function.snapshot_entry(dmm)
    assert entry == {"value": '"XRAY"', "units": "", "unknown_token": True}


@pytest.mark.parametrize("reply", ["", "nan", "+1.0E+00,NAN", "1e999", "-inf", "+1.0E+00,,"])
def test_garbage_readings_are_protocol_errors_showing_the_bytes(reply):
    pairs = [("FUNC?", '"VOLT"'), ("READ?", reply)]
    with (
        expected_protocol(Keysight34461A, pairs) as dmm,
        pytest.raises(ProtocolError, match=r"command 'READ\?'.*b'"),
    ):
        dmm.read()


def test_an_overload_is_kept_as_the_meter_sends_it():
    pairs = [("FUNC?", '"VOLT"'), ("READ?", "+9.90000000E+37")]
    with expected_protocol(Keysight34461A, pairs) as dmm:
        assert dmm.read().values.tolist() == [[9.9e37]]


def test_remove_readings():
    with expected_protocol(Keysight34461A, [("DATA:REM? 2", "+1.5E+00,+2.5E+00")]) as dmm:
        assert dmm.remove_readings(2).tolist() == [1.5, 2.5]
    with expected_protocol(Keysight34461A, []) as dmm, pytest.raises(ValidationError):
        dmm.remove_readings(0)


# -- pyvisa-sim: every setting round-trips, and a refused value never reaches it
SETTINGS = [
    ("voltage_range", 1, 7),
    ("voltage_autorange", False, "maybe"),
    ("nplc", 100, 50),
    ("voltage_ac_range", 750, 1000),
    ("voltage_ac_autorange", False, 3),
    ("current_range", 3, 5),
    ("current_autorange", False, None),
    ("current_nplc", 0.2, 0.3),
    ("current_ac_range", 0.01, 20),
    ("current_ac_autorange", False, "x"),
    ("resistance_range", 1e6, 2e6),
    ("resistance_autorange", False, "x"),
    ("resistance_nplc", 1, 2),
    ("four_wire_resistance_range", 100, 50),
    ("four_wire_resistance_autorange", False, "x"),
    ("four_wire_resistance_nplc", 0.02, 0.01),
    ("temperature_nplc", 10, 11),
    ("capacitance_range", 1e-5, 1e-3),
    ("capacitance_autorange", False, "x"),
    ("sample_count", 10, 0),
    ("trigger_count", 5, 1.5),
    ("trigger_source", "bus", "sometimes"),
    ("function", DMMFunction.CAPACITANCE, "smell"),
]


@pytest.mark.parametrize(("name", "good", "bad"), SETTINGS, ids=[s[0] for s in SETTINGS])
@pytest.mark.parametrize("driver", [Keysight34461A, Keysight34465A])
def test_every_setting_round_trips_on_pyvisa_sim(sim_instrument, driver, name, good, bad):
    dmm = sim_instrument(driver)
    before = getattr(dmm, name)
    setattr(dmm, name, good)
    assert getattr(dmm, name) == good
    setattr(dmm, name, before)
    with pytest.raises(ValidationError, match=f"{name} = "):
        setattr(dmm, name, bad)
    assert getattr(dmm, name) == before
    assert dmm.drain_errors() == []


def test_pyvisa_sim_queues_what_the_driver_refuses(sim_instrument):
    dmm = sim_instrument(Keysight34461A)
    dmm.session.write("CURR:DC:NPLC 0.3")
    assert dmm.drain_errors() == [(-113, "Undefined header")]
    dmm.session.write("CURR:DC:NPLC 0.2")
    assert dmm.drain_errors() == []


@pytest.mark.parametrize("driver", [Keysight34461A, Keysight34465A])
def test_conformance_on_pyvisa_sim(driver):
    check_driver(driver)


# -- the simulated lab over TCP
@pytest.fixture
def lab_dmm(over_tcp):
    model = Keysight34461AModel(clock=ManualClock(), seed=11)
    return model, over_tcp(Keysight34461A, model, timeout=0.5)


def test_ik_open_identifies_the_model_over_tcp():
    with serve({"dmm": Keysight34465AModel(clock=ManualClock(), seed=1)}) as lab:
        found = ik.open(lab.resource("dmm"))
        try:
            assert type(found) is Keysight34465A
            assert found.read().units == ("V",)
        finally:
            found.close()


def test_conformance_on_the_lab_model(lab_dmm):
    _model, dmm = lab_dmm
    check_driver(Keysight34461A, dmm)
    assert isinstance(dmm, Sensor)


def test_reads_the_configured_source(lab_dmm):
    model, dmm = lab_dmm
    model.sources["VOLT"] = Source(shape="dc", amplitude=0.0, offset=2.5)
    reading = dmm.read()
    assert reading.value == pytest.approx(2.5, abs=1e-3)
    model.sources["RES"] = Source(shape="dc", amplitude=0.0, offset=4700.0)
    dmm.configure("resistance", range=1e4, nplc=10)
    assert dmm.read().value == pytest.approx(4700.0, abs=0.5)
    assert dmm.units == ("ohm",)


def test_noise_falls_with_integration_time(lab_dmm):
    _model, dmm = lab_dmm
    dmm.configure("dc_voltage", range=10, nplc=0.02)
    fast = dmm.read_many(400).values[:, 0]
    dmm.nplc = 100
    slow = dmm.read_many(400).values[:, 0]
    assert fast.mean() == pytest.approx(1.0, abs=1e-3)
    assert slow.mean() == pytest.approx(1.0, abs=1e-4)
    # 2 ppm of 10 V at 1 PLC, scaled by 1/sqrt(NPLC): sqrt(5000) ~ 70 times apart
    assert fast.std() > 20 * slow.std()
    assert fast.std() == pytest.approx(2e-5 / np.sqrt(0.02), rel=0.2)


def test_range_turns_autorange_off_and_overloads(lab_dmm):
    _model, dmm = lab_dmm
    dmm.configure("dc_voltage", range=0.1)
    assert dmm.voltage_autorange is False
    assert dmm.read().value == pytest.approx(9.9e37)
    dmm.configure("dc_voltage", range="auto")
    assert dmm.voltage_autorange is True
    assert dmm.read().value == pytest.approx(1.0, abs=1e-3)


def test_buffered_reads_leave_memory_empty_and_one_sample(lab_dmm):
    _model, dmm = lab_dmm
    reading = dmm.read_many(50)
    assert reading.values.shape == (50, 1)
    assert dmm.sample_count == 1
    assert dmm.memory_count == 0
    dmm.sample_count = 4
    dmm.session.write("INIT")
    dmm.wait()
    assert dmm.memory_count == 4
    assert dmm.remove_readings(3).shape == (3,)
    assert dmm.memory_count == 1


def test_a_lost_reply_is_a_timeout_naming_the_command(lab_dmm):
    model, dmm = lab_dmm
    model.faults.inject("no_reply", on="READ?")
    with pytest.raises(Timeout, match="READ\\?"):
        dmm.read()


def test_a_garbled_reply_is_a_protocol_error(lab_dmm):
    model, dmm = lab_dmm
    model.faults.inject("garble", on="READ?")
    with pytest.raises(ProtocolError):
        dmm.read()


def test_a_dropped_connection_is_reported(lab_dmm):
    model, dmm = lab_dmm
    model.faults.inject("drop", on="*IDN?")
    with pytest.raises(ConnectionFailed):
        dmm.idn  # noqa: B018


def test_queued_instrument_errors_are_raised(lab_dmm):
    model, dmm = lab_dmm
    model.faults.inject("error", on="INIT", code=-200, message="Execution error")
    dmm.session.write("INIT")
    with pytest.raises(InstrumentReportedError, match="-200"):
        dmm.check_errors()


def test_measure_voltage_autoranges_on_the_lab(lab_dmm):
    model, dmm = lab_dmm
    model.sources["VOLT"] = Source(shape="dc", amplitude=0.0, offset=-42.0)
    dmm.configure("resistance")
    assert dmm.voltage == pytest.approx(-42.0, abs=1e-3)
    assert dmm.function is DMMFunction.DC_VOLTAGE


def test_queries_other_drivers_ask_are_answered_after_the_manual(lab_dmm):
    """What QCoDeS' Keysight344xxA asks when it opens and in its snapshot."""
    _model, dmm = lab_dmm
    query = dmm.session.query
    assert query("*OPT?") == "0,0"
    assert query("SYST:LFR?") == "50"
    dmm.session.write('DISP:TEXT "hello"')
    assert query("DISPlay:WINDow:TEXT?") == '"hello"'
    dmm.session.write("DISP:TEXT:CLE")
    assert query("DISP:TEXT?") == '""'
    dmm.session.write("SAMP:TIM 0.5")
    assert float(query("SAMP:TIM?")) == 0.5
    assert float(query("SAMP:TIM? MIN")) == 1e-3
    dmm.voltage_range = 10
    dmm.nplc = 10
    assert float(query("SENS:VOLT:DC:RES?")) == pytest.approx(10 * 1e-6)
    assert query("TRIG:SLOP?") == "NEG"
    assert query("SENS:VOLT:ZERO:AUTO?") == "1"


def test_the_34465a_answers_its_aperture_and_level_trigger_settings(over_tcp):
    model = Keysight34465AModel(clock=ManualClock(), seed=11)
    dmm = over_tcp(Keysight34465A, model, timeout=0.5)
    assert dmm.session.query("*OPT?") == "DIG,MEM"
    assert dmm.session.query("SENS:VOLT:APER:ENAB?") == "0"
    dmm.session.write("TRIG:LEV 0.25;:SAMP:COUN:PRET 10")
    assert float(dmm.session.query("TRIG:LEV?")) == 0.25
    assert dmm.session.query("SAMP:COUN:PRET?") == "10"
