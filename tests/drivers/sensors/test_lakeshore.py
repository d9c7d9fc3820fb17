"""Lake Shore 335/336: exact bytes with CR LF, serial settings, pyvisa-sim, the simulated lab."""

from __future__ import annotations

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.lakeshore import LakeShore335, LakeShore336
from instrumentkit.drivers.lakeshore.model33x import HeaterRange, SensorType
from instrumentkit.drivers.lakeshore.model33x_sim import LakeShore335Model, LakeShore336Model
from instrumentkit.errors import (
    InstrumentReportedError,
    ProtocolError,
    Timeout,
    ValidationError,
)
from instrumentkit.sim import ManualClock
from instrumentkit.testing import check_driver, expected_protocol


def test_serial_settings_are_the_manuals():
    assert LakeShore336.connection_defaults == {
        "baudrate": 57600,
        "bytesize": 7,
        "parity": "O",
        "stopbits": 1,
    }
    assert LakeShore335.connection_defaults == LakeShore336.connection_defaults
    assert (LakeShore336.write_termination, LakeShore336.read_termination) == ("\r\n", "\r\n")


def test_read_is_one_all_inputs_query_and_status_per_input():
    pairs = [
        ("KRDG? 0", "+4.2000E+00,+77.300E+00,+295.00E+00,+0.0000E+00"),
        ("RDGST? A", "000"),
        ("RDGST? B", "000"),
        ("RDGST? C", "032"),
        ("RDGST? D", "001"),
    ]
    with expected_protocol(LakeShore336, pairs) as controller:
        assert controller.session.write_termination == "\r\n"
        reading = controller.read()
    assert reading.channels == ("A", "B", "C", "D")
    assert reading.units == ("K",) * 4
    assert reading.values[0, :3].tolist() == [4.2, 77.3, 295.0]
    assert np.isnan(reading.values[0, 3])  # status bit 0: invalid
    assert reading.status.tolist() == [[0, 0, 32, 1]]


def test_invalid_is_bit_0_whatever_other_status_bits_come_with_it():
    """RDGST? answers the sum of the set bits as `nnn` (Model 336 manual, RDGST? and the
    "Input reading status" table; Model 335 the same): 1 invalid reading, 16 temperature
    underrange, 32 temperature overrange, 64 sensor units zero, 128 sensor units
    overrange. A reading is invalid when bit 0 is set, alone or not: 129 (invalid, sensor
    units overrange) and 017 (invalid, temperature underrange) are NaN; 160 and 016 are
    kept. Which combinations a real controller sends (an open diode input as 129, say) the
    manual does not list; these codes are its bits combined by hand.
    """
    pairs = [
        ("KRDG? 0", "+1.5000E+00,+0.0000E+00,+480.00E+00,+3.2000E+00"),
        ("RDGST? A", "016"),
        ("RDGST? B", "129"),
        ("RDGST? C", "160"),
        ("RDGST? D", "017"),
    ]
    with expected_protocol(LakeShore336, pairs) as controller:
        reading = controller.read()
    assert reading.status.tolist() == [[16, 129, 160, 17]]
    assert reading.values[0, 0] == 1.5
    assert np.isnan(reading.values[0, 1])
    assert reading.values[0, 2] == 480.0
    assert np.isnan(reading.values[0, 3])


def test_input_and_output_commands():
    pairs = [
        ("KRDG? B", "+77.300E+00"),
        ("SRDG? A", "+1.6230E+00"),
        ("INTYPE? C", "2,0,4,1,1"),
        ("INTYPE A,3,0,8,0,2", None),
        ("SETP 1,4.5", None),
        ("SETP? 1", "+4.500"),
        ("RANGE 2,3", None),
        ("RANGE? 2", "3"),
        ("HTR? 1", "+045.2"),
        ("RANGE 4,1", None),
        ("AOUT? 3", "+010.0"),
    ]
    with expected_protocol(LakeShore336, pairs) as controller:
        assert controller.inputs["B"].temperature == 77.3
        assert controller.inputs["A"].sensor_reading == 1.623
        assert controller.inputs["C"].input_type == {
            "sensor": "platinum_rtd",
            "autorange": False,
            "range": 4,
            "compensation": True,
            "units": "kelvin",
        }
        controller.inputs["A"].configure(
            SensorType.NTC_RTD, autorange=False, range=8, units="celsius"
        )
        controller.outputs[1].setpoint = 4.5
        assert controller.outputs[1].setpoint == 4.5
        controller.outputs[2].heater_range = "high"
        assert controller.outputs[2].heater_range is HeaterRange.HIGH
        assert controller.outputs[1].heater_output == 45.2
        controller.analog_outputs[4].heater_range = "on"
        assert controller.analog_outputs[3].heater_output == 10.0


@pytest.mark.parametrize(
    "action",
    [
        lambda c: setattr(c.outputs[1], "setpoint", -1),
        lambda c: setattr(c.outputs[1], "setpoint", 2500),
        lambda c: setattr(c.outputs[1], "heater_range", "turbo"),
        lambda c: setattr(c.analog_outputs[3], "heater_range", "high"),
        lambda c: setattr(c.outputs[2], "manual_output", 101),
        lambda c: c.inputs["A"].configure("diode", range=2),
        lambda c: c.inputs["A"].configure("platinum_rtd", range=7),
        lambda c: c.inputs["A"].configure("unobtainium"),
        lambda c: c.inputs["A"].configure("diode", units="fahrenheit"),
        lambda c: c.read_many(0),
    ],
)
def test_bad_values_are_refused_before_sending(action):
    with expected_protocol(LakeShore336, []) as controller, pytest.raises(ValidationError):
        action(controller)


def test_the_335_has_two_inputs_and_no_analog_outputs():
    pairs = [("KRDG? 0", "+4.2E+00,+77.3E+00"), ("RDGST? A", "000"), ("RDGST? B", "000")]
    with expected_protocol(LakeShore335, pairs) as controller:
        assert controller.read().values.tolist() == [[4.2, 77.3]]
        assert controller.channel_names == ("A", "B")
        assert list(controller.analog_outputs) == []
        with pytest.raises(ValidationError, match=r"no inputs\['C'\]: valid ids are \['A', 'B'\]"):
            controller.inputs["C"]


def test_a_reply_for_other_inputs_is_a_protocol_error():
    pairs = [("KRDG? 0", "+4.2E+00,+77.3E+00,+1.0E+00"), ("RDGST? A", "000"), ("RDGST? B", "0")]
    with (
        expected_protocol(LakeShore335, pairs) as controller,
        pytest.raises(ProtocolError, match="expected 2 comma-separated temperatures") as caught,
    ):
        controller.read()
    assert (caught.value.instrument, caught.value.command) == ("expected-protocol", "KRDG? 0")


@pytest.mark.parametrize(
    "second",
    [
        "+5.0E+00,+6.0E+00,+7.0E+00,+8.0E+00,+9.0E+00",  # rows of 3 and 5: 8 in all
        "+5.0E+00,+6.0E+00,+7.0E+00,T.OVER",
    ],
)
def test_read_many_names_the_reply_that_is_not_one_temperature_per_input(second):
    first = "+1.0E+00,+2.0E+00,+3.0E+00" if second.count(",") == 4 else "+1.0,+2.0,+3.0,+4.0"
    pairs = [("KRDG? 0", first)] + [(f"RDGST? {i}", "000") for i in "ABCD"]
    pairs += [("KRDG? 0", second)] + [(f"RDGST? {i}", "000") for i in "ABCD"]
    bad = first if second.count(",") == 4 else second
    with (
        expected_protocol(LakeShore336, pairs) as controller,
        pytest.raises(ProtocolError, match="expected 4 comma-separated temperatures") as caught,
    ):
        controller.read_many(2)
    assert repr(bad) in str(caught.value)
    assert (caught.value.instrument, caught.value.command) == ("expected-protocol", "KRDG? 0")


def test_a_status_that_is_not_a_number_is_a_protocol_error():
    pairs = [("KRDG? 0", "+4.2E+00,+77.3E+00"), ("RDGST? A", "000"), ("RDGST? B", "OVL")]
    with (
        expected_protocol(LakeShore335, pairs) as controller,
        pytest.raises(ProtocolError, match="expected a status integer, got 'OVL'") as caught,
    ):
        controller.read()
    assert (caught.value.instrument, caught.value.command) == ("expected-protocol", "RDGST? B")


def test_read_many_stamps_every_row():
    pairs = []
    for _ in range(3):
        pairs += [("KRDG? 0", "+4.2E+00,+77.3E+00"), ("RDGST? A", "000"), ("RDGST? B", "000")]
    with expected_protocol(LakeShore335, pairs) as controller:
        reading = controller.read_many(3)
    assert reading.values.tolist() == [[4.2, 77.3]] * 3
    assert reading.timestamps_ns.dtype == np.int64
    assert (np.diff(reading.timestamps_ns) >= 0).all()
    assert reading.timestamps_ns[0] > 1_600_000_000 * 10**9  # nanoseconds since 1970


def test_refusals_name_the_controller_and_what_would_be_accepted():
    with expected_protocol(LakeShore336, []) as controller:
        with pytest.raises(ValidationError, match=r"read_many\(0\)") as caught:
            controller.read_many(0)
        assert caught.value.instrument == "expected-protocol"
        with pytest.raises(ValidationError, match="sensor types are") as caught:
            controller.inputs["B"].configure("diode", range=5)
        assert caught.value.instrument == "expected-protocol"
        assert "input B: sensor 'diode', range 5, units 'kelvin' refused" in str(caught.value)
        assert "['disabled', 'diode', 'platinum_rtd', 'ntc_rtd'," in str(caught.value)


def test_configure_defaults_to_autorange_range_0_kelvin():
    with expected_protocol(LakeShore336, [("INTYPE C,1,1,0,0,1", None)]) as controller:
        controller.inputs["C"].configure("diode")


def test_event_status_bits_become_errors():
    with (
        expected_protocol(LakeShore336, [("*ESR?", "32")]) as controller,
        pytest.raises(InstrumentReportedError, match="command error"),
    ):
        controller.check_errors()
    with expected_protocol(LakeShore336, [("*ESR?", "0")]) as controller:
        controller.check_errors()


# -- pyvisa-sim (serial ASRL and TCP)
@pytest.mark.parametrize("driver", [LakeShore335, LakeShore336])
def test_conformance_on_pyvisa_sim(driver):
    check_driver(driver)


def test_settings_round_trip_on_pyvisa_sim(sim_instrument):
    controller = sim_instrument(LakeShore336)
    controller.outputs[2].setpoint = 12.5
    controller.outputs[1].heater_range = HeaterRange.MEDIUM
    controller.outputs[1].manual_output = 33.0
    controller.inputs["D"].configure("ntc_rtd", autorange=False, range=6)
    assert controller.outputs[2].setpoint == 12.5
    assert controller.outputs[1].setpoint == 0.0
    assert controller.outputs[1].heater_range is HeaterRange.MEDIUM
    assert controller.outputs[1].manual_output == 33.0
    assert controller.inputs["D"].input_type["sensor"] == "ntc_rtd"
    assert controller.inputs["A"].input_type["sensor"] == "diode"
    assert controller.read().values.shape == (1, 4)


# -- the simulated lab over the serial path
@pytest.fixture
def lab_controller(over_serial):
    model = LakeShore336Model(clock=ManualClock(), seed=3, time_constant=20.0)
    return model, over_serial(LakeShore336, model, timeout=0.3)


def test_opens_with_the_manuals_serial_settings(lab_controller):
    model, controller = lab_controller
    for key, value in LakeShore336.connection_defaults.items():
        assert model.line_settings[key] == value
    check_driver(LakeShore336, controller)


def test_wrong_framing_gives_a_timeout_that_names_the_settings(over_serial):
    model = LakeShore336Model(clock=ManualClock(), seed=3)
    controller = over_serial(LakeShore336, model, timeout=0.2, bytesize=8, parity="N")
    with pytest.raises(Timeout, match="connection settings"):
        controller.idn  # noqa: B018


def test_readings_drift_with_noise_and_flag_the_missing_sensor(lab_controller):
    _model, controller = lab_controller
    reading = controller.read_many(200)
    values = reading.values
    assert values[:, 0].mean() == pytest.approx(4.2, abs=0.05)
    assert values[:, 1].mean() == pytest.approx(77.3, abs=0.05)
    assert 0.0005 < values[:, 0].std() < 0.05
    assert np.isnan(values[:, 3]).all()
    assert (reading.status[:, 3] == 1).all()
    assert (reading.status[:, :3] == 0).all()


def test_heater_drives_its_input_to_the_setpoint(lab_controller):
    model, controller = lab_controller
    loop = controller.outputs[1]
    loop.setpoint = 10.0
    loop.heater_range = "high"
    assert loop.heater_output > 10.0
    model.clock.advance(200.0)  # ten time constants
    assert controller.inputs["A"].temperature == pytest.approx(10.0, abs=0.05)
    loop.heater_range = "off"
    assert loop.heater_output == 0.0
    model.clock.advance(200.0)
    assert controller.inputs["A"].temperature == pytest.approx(4.2, abs=0.05)


def test_a_refused_command_shows_in_the_event_status(lab_controller):
    _model, controller = lab_controller
    controller.session.write("RANGE 3,2")  # outputs 3 and 4 are only off or on
    with pytest.raises(InstrumentReportedError, match="execution error"):
        controller.check_errors()
    controller.check_errors()  # reading *ESR? cleared it


def test_faults_give_clear_errors(lab_controller):
    model, controller = lab_controller
    model.faults.inject("no_reply", on="KRDG?")
    with pytest.raises(Timeout, match="KRDG"):
        controller.read()
    model.faults.inject("garble", on="RDGST?")
    with pytest.raises(ProtocolError):
        controller.read()


def test_the_335_over_tcp_and_ik_open(over_tcp):
    controller = over_tcp(LakeShore335, LakeShore335Model(clock=ManualClock(), seed=1))
    assert controller.read().values.shape == (1, 2)
    assert isinstance(controller, ik.Sensor)


def test_input_type_keeps_codes_the_manual_does_not_list():
    with expected_protocol(LakeShore336, [("INTYPE? A", "9,0,0,0,7")]) as controller:
        kind = controller.inputs["A"].input_type
    assert (kind["sensor"], kind["units"]) == ("9", "7")
    assert isinstance(kind["sensor"], ik.UnknownChoice)
    assert isinstance(kind["units"], ik.UnknownChoice)
    assert (kind["sensor"].setting, kind["units"].setting) == ("input_type", "input_type")
    assert kind["range"] == 0


def test_input_type_fields_in_the_manuals_order():
    """INTYPE? <sensor type>,<autorange>,<range>,<compensation>,<units>: each distinct."""
    with expected_protocol(LakeShore336, [("INTYPE? D", "3,1,5,1,3")]) as controller:
        kind = controller.inputs["D"].input_type
    assert kind == {
        "sensor": "ntc_rtd",
        "autorange": True,
        "range": 5,
        "compensation": True,
        "units": "sensor",
    }


def test_an_input_type_reply_of_four_fields_is_an_error():
    with (
        expected_protocol(LakeShore336, [("INTYPE? A", "1,1,0,0")]) as controller,
        pytest.raises(ProtocolError, match="INTYPE\\? has 5 fields, got 4"),
    ):
        controller.inputs["A"].input_type  # noqa: B018


def test_configuration_other_drivers_read_is_answered_as_set(lab_controller):
    """What QCoDeS' LakeshoreModel336 reads in its snapshot, with the manual's defaults."""
    _model, controller = lab_controller
    query = controller.session.query
    assert query("INNAME? A") == "Input A"
    assert query("INCRV? A") == "2"
    assert query("CRVHDR? 2") == "DT-670,Standard C2,2,+500.000,1"
    assert query("PID? 1") == "+50.0,+20.0,+0.0"
    assert query("OUTMODE? 2") == "1,2,0"
    assert query("OUTMODE? 3") == "0,3,0"
    controller.session.write("PID 2,75,30,5")
    assert query("PID? 2") == "75,30,5"
    controller.session.write("INNAME B,stage")
    assert query("INNAME? B") == "stage"
    controller.session.write("RAMPST 1,1")  # a status: cannot be set
    with pytest.raises(InstrumentReportedError):
        controller.check_errors()
