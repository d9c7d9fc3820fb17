"""Keithley 2400 and 2450: exact bytes, pyvisa-sim round trips, and the simulated lab."""

from __future__ import annotations

import math

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers._load_sim import Diode
from instrumentkit.drivers.keithley import Keithley2400, Keithley2450
from instrumentkit.drivers.keithley._smu import setting_range
from instrumentkit.drivers.keithley.smu2400_sim import Keithley2400Model
from instrumentkit.drivers.keithley.smu2450_sim import Keithley2450Model
from instrumentkit.errors import InstrumentReportedError, ProtocolError, ValidationError
from instrumentkit.parameters import UnknownChoiceWarning
from instrumentkit.testing import expected_protocol

SETUP_2400 = [
    (":SENS:FUNC:CONC ON", None),
    (':SENS:FUNC "VOLT","CURR"', None),
    (":FORM:ELEM VOLT,CURR,STAT", None),
]


def test_2400_read_sets_up_elements_once_and_flags_compliance_from_the_status_word():
    pairs = [
        *SETUP_2400,
        (":READ?", "+1.000000E+00,+1.000000E-03,+2.252800E+04"),  # bits 11, 12, 14
        (":READ?", "+9.500000E-01,+1.050000E-03,+2.253600E+04"),  # + bit 3: compliance
    ]
    with expected_protocol(Keithley2400, pairs) as smu:
        first = smu.read()
        second = smu.read()
    assert first.values.tolist() == [[1.0, 1e-3]]
    assert first.units == ("V", "A")
    assert first.status.tolist() == [[0, 0]]
    assert second.status.tolist() == [[1, 1]]


# The 2400 manual's status-word table (2400S-900-01, section 18, :FORMat:ELEMents STATus):
# bit 0 OFLO 1, 1 filter 2, 2 front terminals 4, 3 compliance 8, 4 OVP 16, 5 math 32,
# 6 null 64, 7 limits 128, 11 V-Meas 2048, 12 I-Meas 4096, 13 ohms-Meas 8192,
# 14 V-Sour 16384, 15 I-Sour 32768, 16 range compliance 65536, 22 remote sense 4194304.
# The sums below are worked out by hand from it.
STATUS_WORDS = [
    ("+2.253200E+04", 0),  # 4 + 2048 + 4096 + 16384: front, V and I measured, V sourced
    ("+2.254000E+04", 1),  # the same + 8, in (real) compliance
    ("+8.806800E+04", 0),  # 22532 + 65536: range compliance is not the compliance limit
    ("+2.277500E+04", 0),  # 22528 + 1 + 2 + 4 + 16 + 32 + 64 + 128: every low bit but 3
    ("+4.233228E+06", 1),  # 4 + 8 + 2048 + 4096 + 32768 + 4194304: I sourced, 4-wire
    ("+8.000000E+00", 1),  # bit 3 alone
]


@pytest.mark.parametrize(("word", "compliance"), STATUS_WORDS)
def test_2400_compliance_is_bit_3_of_the_manuals_status_word(word, compliance):
    """The status element is the 24-bit word sent as a decimal number (here in the
    2400's float format); only bit 3, "in real compliance", marks the row."""
    reply = f"+2.000000E+00,+1.000000E-03,{word}"
    with expected_protocol(Keithley2400, [*SETUP_2400, (":READ?", reply)]) as smu:
        reading = smu.read()
    assert reading.values.tolist() == [[2.0, 1e-3]]
    assert reading.status.tolist() == [[compliance, compliance]]


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        ("", "expected 'voltage,current,status', got ''"),
        ("+1.0E+00,+1.0E-03", "expected 'voltage,current,status', got '\\+1.0E\\+00,"),
        ("+1.0E+00,nan,+0.0E+00", "reply holds a value that is not a finite number: '\\+1.0"),
    ],
)
def test_2400_garbage_readings_are_protocol_errors(reply, match):
    with (
        expected_protocol(Keithley2400, [*SETUP_2400, (":READ?", reply)]) as smu,
        pytest.raises(ProtocolError, match=match) as caught,
    ):
        smu.read()
    assert (caught.value.instrument, caught.value.command) == ("expected-protocol", ":READ?")


@pytest.mark.parametrize("reply", ["2", "", "ON"])
def test_a_trip_reply_that_is_not_0_or_1_is_a_protocol_error(reply):
    pairs = [(":SOUR:FUNC?", "VOLT"), (":SENS:CURR:PROT:TRIP?", reply)]
    with (
        expected_protocol(Keithley2400, pairs) as smu,
        pytest.raises(ProtocolError, match=f"expected 0 or 1, got '{reply}'") as caught,
    ):
        smu.compliance_tripped()
    assert caught.value.instrument == "expected-protocol"
    assert caught.value.command == ":SENS:CURR:PROT:TRIP?"


def test_2400_resistance_with_no_current_is_infinite():
    reply = "+1.000000E+00,+0.000000E+00,+2.252800E+04"
    with expected_protocol(Keithley2400, [*SETUP_2400, (":READ?", reply)]) as smu:
        assert smu.measure_resistance() == math.inf


def test_2400_read_many_rows_dtypes_and_status():
    replies = ["+1.0E+00,+1.0E-03,+2.2528E+04", "+9.5E-01,+1.05E-03,+2.2536E+04"]
    pairs = [*SETUP_2400, *((":READ?", reply) for reply in replies)]
    with expected_protocol(Keithley2400, pairs) as smu:
        many = smu.read_many(2)
    assert many.values.tolist() == [[1.0, 1e-3], [0.95, 1.05e-3]]
    assert many.status.tolist() == [[0, 0], [1, 1]]
    assert (many.values.dtype, many.status.dtype) == (np.float64, np.int16)
    assert many.timestamps_ns.dtype == np.int64
    with expected_protocol(Keithley2400, [*SETUP_2400, (":READ?", replies[0])]) as smu:
        assert smu.read_many(1).status.dtype == np.int16


@pytest.mark.parametrize("n", [0, 10_001, 2.5, "3"])
def test_2400_read_many_refuses_a_bad_count_before_sending(n):
    with (
        expected_protocol(Keithley2400, []) as smu,
        pytest.raises(ValidationError, match=rf"read_many\({n!r}\): ") as caught,
    ):
        smu.read_many(n)
    assert caught.value.instrument == "expected-protocol"


def test_setting_range_is_a_checked_numeric_setting():
    """Declared inside the test, so a mutant of setting_range is active while it runs."""

    class WithOffset(Keithley2400):
        offset = setting_range(
            ":OFFS?", ":OFFS {value}", -1.0, 2.0, "V", "Set the offset.", in_snapshot=False
        )

    with expected_protocol(WithOffset, [(":OFFS 2.0", None), (":OFFS?", "-1.0")]) as smu:
        smu.offset = 2.0
        with pytest.raises(ValidationError, match="offset"):
            smu.offset = 2.5
        assert smu.offset == -1.0
    setting = WithOffset.offset
    assert (setting.units, setting.__doc__, setting.in_snapshot) == ("V", "Set the offset.", False)


def test_2400_reset_sets_the_reading_elements_up_again():
    """*RST restores the default elements (VOLT,CURR,RES,TIME,STAT), so the next read
    sends the set-up again."""
    reply = "+1.000000E+00,+1.000000E-03,+2.252800E+04"
    pairs = [*SETUP_2400, (":READ?", reply), ("*RST", None), *SETUP_2400, (":READ?", reply)]
    with expected_protocol(Keithley2400, pairs) as smu:
        smu.read()
        smu.reset()
        assert smu.read().values.tolist() == [[1.0, 1e-3]]


def test_2400_level_and_limit_follow_the_source_function():
    pairs = [
        (":SOUR:FUNC?", "VOLT"),
        (":SOUR:VOLT:LEV 2.5", None),
        (":SOUR:FUNC?", "VOLT"),
        (":SENS:CURR:PROT 0.01", None),
        (":SOUR:FUNC CURR", None),
        (":SOUR:FUNC?", "CURR"),
        (":SOUR:CURR:LEV?", "+1.000000E-03"),
        (":SOUR:FUNC?", "CURR"),
        (":SENS:VOLT:PROT?", "+2.100000E+01"),
        (":SOUR:FUNC?", "CURR"),
        (":SENS:VOLT:PROT:TRIP?", "1"),
    ]
    with expected_protocol(Keithley2400, pairs) as smu:
        smu.level = 2.5
        smu.limit = 0.01
        smu.source_function = "current"
        assert smu.level == 1e-3
        assert smu.limit == 21.0
        assert smu.compliance_tripped() is True


def test_2400_four_wire_nplc_output_and_the_error_queue():
    pairs = [
        (":SYST:RSEN ON", None),
        (":SENS:CURR:NPLC 0.1", None),
        (":OUTP ON", None),
        (":OUTP?", "1"),
        (":SYST:ERR?", '-222,"Parameter data out of range"'),
        (":SYST:ERR?", '0,"No error"'),
    ]
    with expected_protocol(Keithley2400, pairs) as smu:
        smu.four_wire = True
        smu.nplc = 0.1
        smu.output = True
        assert smu.output is True
        with pytest.raises(InstrumentReportedError, match="-222") as caught:
            smu.check_errors()
    assert caught.value.code == -222


@pytest.mark.parametrize(
    ("name", "value"),
    [("source_voltage", 211), ("source_current", -1.1), ("current_limit", 0), ("nplc", 20)],
)
def test_2400_settings_out_of_range_are_refused_before_sending(name, value):
    with expected_protocol(Keithley2400, []) as smu, pytest.raises(ValidationError, match=name):
        setattr(smu, name, value)


def test_a_current_level_beyond_the_range_is_refused_by_ramp_before_it_moves():
    # In current mode max_level (210) does not bound amperes; the setting's range does.
    with (
        expected_protocol(Keithley2400, [(":SOUR:FUNC?", "CURR")]) as smu,
        pytest.raises(ValidationError, match="source_current"),
    ):
        smu.ramp_to(2.0)


def test_2450_read_takes_source_and_reading_then_asks_the_trip_state():
    pairs = [
        (":SOUR:FUNC?", "VOLT"),
        (":SENS:FUNC?", '"CURR:DC"'),
        (':READ? "defbuffer1",SOUR,READ', "+5.000000E+00,+1.050000E-04"),
        (":SOUR:FUNC?", "VOLT"),
        (":SOUR:VOLT:ILIM:TRIP?", "1"),
    ]
    with expected_protocol(Keithley2450, pairs) as smu:
        reading = smu.read()
    assert reading.values.tolist() == [[5.0, 1.05e-4]]
    assert reading.status.tolist() == [[1, 1]]


def test_2450_measuring_the_sourced_quantity_leaves_the_other_nan():
    pairs = [
        (":SOUR:FUNC?", "CURR"),
        (":SENS:FUNC?", '"CURR:DC"'),
        (':READ? "defbuffer1",SOUR,READ', "+1.000000E-03,+9.990000E-04"),
        (":SOUR:FUNC?", "CURR"),
        (":SOUR:CURR:VLIM:TRIP?", "0"),
    ]
    with expected_protocol(Keithley2450, pairs) as smu:
        reading = smu.read()
    assert math.isnan(reading.values[0, 0])
    assert reading.values[0, 1] == pytest.approx(9.99e-4)
    assert reading.status.tolist() == [[2, 0]]


def test_2450_limits_four_wire_and_measure_function_commands():
    pairs = [
        (":SOUR:VOLT:ILIM 0.001", None),
        (":SOUR:CURR:VLIM 5", None),
        (":SENS:CURR:RSEN ON", None),
        (':SENS:FUNC "VOLT:DC"', None),
        (":SENS:CURR:NPLC 10", None),
    ]
    with expected_protocol(Keithley2450, pairs) as smu:
        smu.current_limit = 0.001
        smu.voltage_limit = 5
        smu.four_wire = True
        smu.measure_function = "voltage"
        smu.nplc = 10
    with expected_protocol(Keithley2450, []) as smu, pytest.raises(ValidationError):
        smu.voltage_limit = 0.01  # below the 2450's 20 mV


@pytest.mark.parametrize("driver", [Keithley2400, Keithley2450])
def test_pyvisa_sim_round_trip(driver):
    with driver.open_sim() as smu:
        smu.ramp_sleep = lambda seconds: None
        smu.source_function = "voltage"
        smu.current_limit = 0.01
        smu.output = True
        smu.ramp_to(2.0)
        assert smu.level == 2.0
        assert smu.current_limit == 0.01
        reading = smu.read()
        assert reading.values.tolist() == [[1.0, 1e-3]]
        assert smu.make_safe() == []
        assert smu.output is False
        assert smu.level == 0.0
        smu.check_errors()


@pytest.mark.parametrize(
    ("driver", "model"), [(Keithley2400, Keithley2400Model), (Keithley2450, Keithley2450Model)]
)
def test_lab_model_resistor_and_compliance(over_tcp, driver, model):
    smu = over_tcp(driver, model(seed=1, resistance=1e3))
    smu.nplc = 0.01
    smu.current_limit = 0.01
    smu.level = 5.0
    off = smu.read()
    assert abs(off.values[0, 1]) < 1e-6  # the output is off: nothing flows
    smu.output = True
    on = smu.read()
    assert on.values[0].tolist() == pytest.approx([5.0, 5e-3], rel=1e-3)
    assert on.status.tolist() == [[0, 0]]
    assert smu.measure_resistance() == pytest.approx(1e3, rel=1e-3)
    smu.current_limit = 1e-3  # 5 V over 1 kOhm wants 5 mA: compliance holds 1 mA, 1 V
    held = smu.read()
    assert held.values[0].tolist() == pytest.approx([1.0, 1e-3], rel=1e-3)
    assert held.status.tolist() == [[1, 1]]
    assert smu.compliance_tripped() is True
    assert smu.make_safe() == []
    assert smu.output is False
    smu.check_errors()


def test_lab_2400_status_word_sets_the_manuals_bits(over_tcp):
    """The simulated 2400's status element, bit by bit from the manual's table (not from
    the model's own constants): V sourced 16384, V and I measured 2048 + 4096, remote
    sense 4194304, and compliance 8 once 5 V into 1 kOhm meets a 1 mA limit."""
    smu = over_tcp(Keithley2400, Keithley2400Model(seed=5, resistance=1e3))
    smu.four_wire = True
    smu.current_limit = 1e-3
    smu.level = 5.0
    smu.output = True
    smu.read()  # sets the elements to VOLT,CURR,STAT
    status = float(smu.session.query(":READ?").split(",")[2])
    assert status == 16384 + 2048 + 4096 + 4194304 + 8  # 4216840
    smu.source_function = "current"
    smu.voltage_limit = 21.0
    smu.level = 1e-3  # 1 V across 1 kOhm: under the 21 V limit
    smu.four_wire = False
    status = float(smu.session.query(":READ?").split(",")[2])
    assert status == 32768 + 2048 + 4096  # 38912: I sourced, V and I measured


def test_lab_model_diode_forward_voltage_when_sourcing_current(over_tcp):
    model = Keithley2400Model(seed=2)
    model.load = Diode(saturation_current=1e-12, ideality=1.8, temperature=300.0)
    smu = over_tcp(Keithley2400, model)
    smu.nplc = 0.01
    smu.source_function = "current"
    smu.voltage_limit = 2.0
    smu.level = 1e-3
    smu.output = True
    expected = 1.8 * 8.617333262e-5 * 300.0 * math.log1p(1e-3 / 1e-12)
    assert smu.measure_voltage() == pytest.approx(expected, abs=1e-4)
    smu.level = -1e-3  # reverse: the diode blocks, the voltage limit holds
    reading = smu.read()
    assert reading.values[0, 0] == pytest.approx(-2.0, abs=1e-4)
    assert reading.status.tolist() == [[1, 1]]


def test_lab_model_refuses_levels_beyond_its_range_into_the_error_queue(over_tcp):
    smu = over_tcp(Keithley2450, Keithley2450Model(seed=3))
    smu.session.write(":SOUR:VOLT 300")
    with pytest.raises(InstrumentReportedError, match="-222"):
        smu.check_errors()


def test_smu_is_a_source_and_a_sensor_and_ramps_on_the_lab(over_tcp):
    smu = over_tcp(Keithley2400, Keithley2400Model(seed=4))
    assert isinstance(smu, ik.Source)
    assert isinstance(smu, ik.Sensor)
    waits: list[float] = []
    smu.ramp_sleep = waits.append
    smu.safe_limits = smu.safe_limits.tightened(max_slew=20.0)  # 1 V per 50 ms step
    smu.current_limit = 0.1
    smu.output = True
    smu.ramp_to(5.0)
    assert len(waits) == 4
    assert smu.level == 5.0
    many = smu.read_many(3)
    assert many.values.shape == (3, 2)
    assert np.allclose(many.values[:, 1], 5e-3, rtol=1e-3)


def test_2400_in_source_memory_mode_refuses_level_and_limit():
    pairs = [(":SOUR:FUNC?", "MEM"), (":SOUR:FUNC?", "MEM")]
    with expected_protocol(Keithley2400, pairs) as smu:
        with (
            pytest.warns(UnknownChoiceWarning),
            pytest.raises(ValidationError, match="neither 'voltage' nor 'current'") as caught,
        ):
            smu.level = 1.0
        assert caught.value.instrument == "expected-protocol"
        with pytest.warns(UnknownChoiceWarning), pytest.raises(ValidationError, match="'MEM'"):
            smu.limit  # noqa: B018
