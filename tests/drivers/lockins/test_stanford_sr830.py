"""SRS SR830 lock-in: exact bytes on GPIB and RS-232 (OUTX first), index tables, limits that
depend on the reference, readings with overload status, pyvisa-sim round trips, and the
simulated lab's model (phase-sensitive detection on the device clock, OUTX routing)."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest
import serial

import instrumentkit as ik
from instrumentkit.drivers.stanford import StanfordSR830, StanfordSR830Serial
from instrumentkit.drivers.stanford.sr830 import SENSITIVITIES, TIME_CONSTANTS
from instrumentkit.drivers.stanford.sr830_sim import SR830Model
from instrumentkit.sim import ManualClock, attach, detach, serve
from instrumentkit.testing import check_driver, expected_protocol


def test_tables_are_the_manuals():
    assert len(SENSITIVITIES) == 27
    assert (SENSITIVITIES[0], SENSITIVITIES[17], SENSITIVITIES[26]) == (2e-9, 1e-3, 1.0)
    assert len(TIME_CONSTANTS) == 20
    assert (TIME_CONSTANTS[0], TIME_CONSTANTS[9], TIME_CONSTANTS[19]) == (1e-5, 0.3, 3e4)


def test_the_first_message_routes_replies_to_gpib():
    with expected_protocol(StanfordSR830, [("OUTX 1", None)]):
        pass


def test_rs232_routes_replies_to_itself_and_ends_lines_with_cr():
    assert StanfordSR830Serial.connection_defaults == {
        "baudrate": 9600,
        "bytesize": 8,
        "parity": "N",
        "stopbits": 1,
    }
    pairs = [("OUTX 0", None), ("SENS?", "17")]
    with expected_protocol(StanfordSR830Serial, pairs) as lockin:
        assert lockin.session.transport.written == [b"OUTX 0\r"]
        assert lockin.sensitivity == 1e-3


def test_settings_send_the_manual_commands():
    pairs = [
        ("OUTX 1", None),
        ("SENS 17", None),
        ("SENS?", "17"),
        ("OFLT 9", None),
        ("OFLT?", "9"),
        ("OFSL 3", None),
        ("OFSL?", "3"),
        ("ISRC 2", None),
        ("ISRC?", "2"),
        ("ICPL 1", None),
        ("IGND 1", None),
        ("ILIN 3", None),
        ("RMOD 2", None),
        ("FMOD 0", None),
        ("FMOD?", "0"),
        ("RSLP 1", None),
        ("SLVL 0.5", None),
        ("SLVL?", "0.500"),
        ("PHAS -45.5", None),
        ("PHAS?", "-45.50"),
        ("SYNC 1", None),
        ("AGAN", None),
        ("APHS", None),
    ]
    with expected_protocol(StanfordSR830, pairs) as lockin:
        lockin.sensitivity = 0.001
        assert lockin.sensitivity == 1e-3
        lockin.time_constant = 3 * 0.1  # 0.30000000000000004: the table's 300 ms
        assert lockin.time_constant == 0.3
        lockin.filter_slope = 24
        assert lockin.filter_slope == 24
        lockin.input_config = "i_1meg"
        assert lockin.input_config == "i_1meg"
        lockin.input_coupling = "dc"
        lockin.input_ground = "ground"
        lockin.line_filter = "both"
        lockin.reserve = "low_noise"
        lockin.reference_source = "external"
        assert lockin.reference_source == "external"
        lockin.reference_trigger = "ttl_rising"
        lockin.amplitude = 0.5
        assert lockin.amplitude == 0.5
        lockin.phase = -45.5
        assert lockin.phase == -45.5
        lockin.sync_filter = True
        lockin.auto_gain()
        lockin.auto_phase()


@pytest.mark.parametrize(
    ("harmonic", "frequency", "accepted"),
    [("1", 102_000.0, True), ("2", 51_000.0, True), ("2", 51_001.0, False), ("3", 34_001.0, False)],
)
def test_frequency_times_harmonic_is_at_most_102_khz(harmonic, frequency, accepted):
    pairs = [("OUTX 1", None), ("FMOD?", "1"), ("HARM?", harmonic)]
    pairs += [(f"FREQ {frequency}", None)] if accepted else []
    with expected_protocol(StanfordSR830, pairs) as lockin:
        if accepted:
            lockin.frequency = frequency
        else:
            with pytest.raises(ik.ValidationError, match="frequency"):
                lockin.frequency = frequency


def test_frequency_cannot_be_set_with_an_external_reference():
    pairs = [("OUTX 1", None), ("FMOD?", "0")]
    with (
        expected_protocol(StanfordSR830, pairs) as lockin,
        pytest.raises(ik.ValidationError, match="reference_source = 'internal'"),
    ):
        lockin.frequency = 1000.0


@pytest.mark.parametrize(("harmonic", "accepted"), [(102, True), (103, False)])
def test_harmonic_is_limited_by_the_reference_frequency(harmonic, accepted):
    pairs = [("OUTX 1", None), ("FREQ?", "1000.0000")]
    pairs += [(f"HARM {harmonic}", None)] if accepted else []
    with expected_protocol(StanfordSR830, pairs) as lockin:
        if accepted:
            lockin.harmonic = harmonic
        else:
            with pytest.raises(ik.ValidationError, match="harmonic"):
                lockin.harmonic = harmonic


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sensitivity", 3e-3),
        ("sensitivity", 2.0),
        ("time_constant", 0.2),
        ("filter_slope", 9),
        ("amplitude", 0.003),
        ("amplitude", 5.01),
        ("phase", 730.0),
        ("harmonic", 0),
        ("harmonic", 20_000),
        ("frequency", 0.0005),
        ("input_config", "b"),
    ],
)
def test_values_the_manual_does_not_list_are_refused_before_any_byte(name, value):
    with (
        expected_protocol(StanfordSR830, [("OUTX 1", None)]) as lockin,
        pytest.raises(ik.ValidationError, match=name),
    ):
        setattr(lockin, name, value)


def test_read_is_one_snapshot_with_its_overload_status():
    pairs = [
        ("OUTX 1", None),
        ("ISRC?", "0"),
        ("SNAP? 1,2,3,4", "8.660254e-04,5.000000e-04,1.000000e-03,3.000000e+01"),
        ("LIAS?", "12"),  # output overload (4) and reference unlock (8)
        ("ISRC?", "3"),
        ("SNAP? 1,2,3,4", "1.0e-12,0.0,1.0e-12,0.0"),
        ("LIAS?", "0"),
        ("SNAP? 1,2,3,4", "2.0e-12,0.0,2.0e-12,0.0"),
        ("LIAS?", "1"),
    ]
    with expected_protocol(StanfordSR830, pairs) as lockin:
        reading = lockin.read()
        assert reading.channels == ("X", "Y", "R", "theta")
        assert reading.units == ("V", "V", "V", "deg")
        np.testing.assert_allclose(reading.values, [[8.660254e-4, 5e-4, 1e-3, 30.0]])
        np.testing.assert_array_equal(reading.status, [[4, 4, 4, 4]])  # overloads only
        block = lockin.read_many(2)
        assert block.units == ("A", "A", "A", "deg")  # a current input
        np.testing.assert_allclose(block.values[:, 0], [1e-12, 2e-12])
        np.testing.assert_array_equal(block.status[:, 0], [0, 1])


@pytest.mark.parametrize("reply", ["1.0,2.0,3.0", "1.0,x,3.0,4.0", "", "1,2,3,nan"])
def test_a_snapshot_that_is_not_four_numbers_is_a_protocol_error(reply):
    pairs = [("OUTX 1", None), ("ISRC?", "0"), ("SNAP? 1,2,3,4", reply)]
    with (
        expected_protocol(StanfordSR830, pairs) as lockin,
        pytest.raises(ik.ProtocolError, match="SNAP"),
    ):
        lockin.read()


def test_errors_come_from_the_event_status_register():
    pairs = [("OUTX 1", None), ("*ESR?", "16"), ("*ESR?", "0")]
    with expected_protocol(StanfordSR830, pairs) as lockin:
        with pytest.raises(ik.InstrumentReportedError, match="execution error"):
            lockin.check_errors()
        lockin.check_errors()


# -- pyvisa-sim
@pytest.mark.parametrize("driver", [StanfordSR830, StanfordSR830Serial])
def test_pyvisa_sim_round_trips(sim_instrument, driver):
    lockin = sim_instrument(driver)
    lockin.sensitivity = 5e-6
    lockin.time_constant = 1.0
    lockin.filter_slope = 18
    lockin.frequency = 2345.5
    lockin.harmonic = 3
    lockin.amplitude = 0.25
    lockin.input_config = "a-b"
    assert lockin.sensitivity == 5e-6
    assert lockin.time_constant == 1.0
    assert lockin.filter_slope == 18
    assert (lockin.frequency, lockin.harmonic, lockin.amplitude) == (2345.5, 3, 0.25)
    assert lockin.input_config == "a-b"
    reading = lockin.read()
    assert reading.values[0, 2] == pytest.approx(1e-3)
    lockin.check_errors()


@pytest.mark.parametrize("driver", [StanfordSR830, StanfordSR830Serial])
def test_conformance(driver):
    check_driver(driver)


# -- the simulated lab
@pytest.fixture
def lab():
    clock = ManualClock()
    model = SR830Model(seed=4, clock=clock, signal={"amplitude": 2e-3, "phase": 40.0})
    with serve({"lockin": model}) as served, StanfordSR830.open(served.resource("lockin")) as li:
        yield li, model, clock


def test_lab_model_detects_the_input_at_the_reference(lab):
    lockin, _, clock = lab
    x, y, r, theta = lockin.read().values[0]
    assert r == pytest.approx(2e-3, rel=1e-3)
    assert theta == pytest.approx(40.0, abs=0.1)
    assert x == pytest.approx(2e-3 * math.cos(math.radians(40)), rel=1e-3)
    assert y == pytest.approx(2e-3 * math.sin(math.radians(40)), rel=1e-3)
    lockin.auto_phase()
    assert lockin.phase == pytest.approx(40.0)
    assert lockin.harmonic == 1
    lockin.harmonic = 2  # a pure sinusoid has nothing at twice the reference
    lockin.wait()
    clock.advance(10.0)  # ten time constants of 100 ms x 2 stages
    assert lockin.read().values[0, 2] < 1e-5


def test_lab_model_output_filter_settles_on_the_device_clock(lab):
    lockin, _, clock = lab
    lockin.time_constant = 1.0
    lockin.filter_slope = 6
    before = lockin.read().values[0, 0]
    lockin.phase = 40.0  # X goes from 2 mV cos(40) to 2 mV
    lockin.wait()
    assert lockin.read().values[0, 0] == pytest.approx(before, rel=1e-3)  # no time went by
    clock.advance(1.0)  # one time constant: 63 % of the step
    step = 2e-3 - before
    assert lockin.read().values[0, 0] == pytest.approx(before + step * (1 - math.exp(-1)), rel=1e-3)
    clock.advance(20.0)
    assert lockin.read().values[0, 0] == pytest.approx(2e-3, rel=1e-3)


def test_lab_model_overload_beyond_the_sensitivity(lab):
    lockin, _, _ = lab
    lockin.sensitivity = 1e-3  # R is 2 mV
    reading = lockin.read()
    assert reading.status[0, 0] == 4
    assert reading.values[0, 2] == pytest.approx(2e-3, rel=1e-3)  # kept (decision 0500)
    lockin.sensitivity = 5e-3
    assert lockin.read().status[0, 0] == 0


def test_lab_model_input_is_a_replaceable_function(lab):
    lockin, model, clock = lab
    resistance, capacitance = 1e3, 1e-6  # an RC low-pass driven by the sine output

    def rc_filter(frequency, reference):
        return reference.amplitude / (1 + 2j * math.pi * frequency * resistance * capacitance)

    model.input_signal = rc_filter
    lockin.sensitivity = 1.0
    lockin.amplitude = 0.5
    for frequency in (10.0, 159.155, 10_000.0):
        lockin.frequency = frequency
        clock.advance(10.0)
        expected = 0.5 / (1 + 2j * math.pi * frequency * resistance * capacitance)
        _, _, r, theta = lockin.read().values[0]
        assert r == pytest.approx(abs(expected), rel=1e-3)
        assert theta == pytest.approx(math.degrees(cmath.phase(expected)), abs=0.05)


def test_lab_model_refusals_set_the_event_status_bits(lab):
    lockin, _, _ = lab
    lockin.session.write("SENS 27")
    with pytest.raises(ik.InstrumentReportedError, match="execution error"):
        lockin.check_errors()
    lockin.session.write("FREQ 60000;HARM 2")  # 120 kHz detection: refused
    with pytest.raises(ik.InstrumentReportedError, match="execution error"):
        lockin.check_errors()
    assert lockin.harmonic == 1
    lockin.session.write("BOGUS 1")
    with pytest.raises(ik.InstrumentReportedError, match="command error"):
        lockin.check_errors()


def test_lab_model_answers_rs232_only_after_outx_0_with_cr():
    model = SR830Model(seed=5)
    url = attach("siggen-sr830", model)
    try:
        with serial.serial_for_url(url, baudrate=9600, timeout=0.2) as port:
            port.write(b"*IDN?\r")
            assert port.read(100) == b""  # replies still go to GPIB
            port.write(b"OUTX 0\r*IDN?\n")  # either terminator ends a command
            assert port.read_until(b"\r") == b"Stanford_Research_Systems,SR830,s/n86344,ver1.07\r"
        with StanfordSR830Serial.open(url) as lockin:
            assert lockin.read().values[0, 2] == pytest.approx(1e-3, rel=1e-2)
    finally:
        detach("siggen-sr830")


def test_lab_model_garbles_replies_at_the_wrong_baud_rate():
    model = SR830Model(seed=6, baudrate=19200)
    url = attach("siggen-sr830-baud", model)
    try:
        with serial.serial_for_url(url, baudrate=9600, timeout=0.2) as port:
            port.write(b"OUTX 0\r*IDN?\r")
            reply = port.read(60)
        assert reply
        assert b"Stanford" not in reply
        with StanfordSR830Serial.open(url, baudrate=19200) as lockin:
            assert lockin.idn.model == "SR830"
    finally:
        detach("siggen-sr830-baud")


@pytest.mark.parametrize(("slope", "enbw_tau"), [(6, 1 / 4), (24, 5 / 64)])
def test_lab_model_noise_follows_the_equivalent_noise_bandwidth(slope, enbw_tau):
    model = SR830Model(seed=8, clock=ManualClock(), noise_density=1e-6, signal={"amplitude": 0.0})
    with serve({"lockin": model}) as served, StanfordSR830.open(served.resource("lockin")) as li:
        li.time_constant = 0.1
        li.filter_slope = slope
        x = li.read_many(400).values[:, 0]
    expected = 1e-6 * math.sqrt(enbw_tau / 0.1)  # V/sqrt(Hz) x sqrt(ENBW)
    assert x.std() == pytest.approx(expected, rel=0.15)
    assert abs(x.mean()) < 4 * expected / math.sqrt(400)


def test_lab_model_current_input_reads_amperes_against_the_current_scale(lab):
    lockin, model, clock = lab
    lockin.input_config = "i_1meg"
    model.input_signal = lambda frequency, reference: 3e-9 + 0j  # 3 nA at 0 degrees
    lockin.sensitivity = 5e-3  # 5 nA full scale with a current input
    clock.advance(10.0)
    reading = lockin.read()
    assert reading.units == ("A", "A", "A", "deg")
    assert reading.values[0, 2] == pytest.approx(3e-9, rel=1e-3)
    assert reading.status[0, 0] == 0
    lockin.sensitivity = 2e-3  # 2 nA: overloaded
    assert lockin.read().status[0, 0] == 4


@pytest.mark.parametrize(
    ("transport", "driver"), [("tcp", StanfordSR830), ("serial", StanfordSR830Serial)]
)
def test_a_lab_device_gets_the_driver_for_its_link(tmp_path, transport, driver):
    from instrumentkit.acquisition._plan import plan_run

    lab = tmp_path / "lab.yaml"
    lab.write_text(
        f"devices:\n  - {{name: lockin, model: stanford-sr830, transport: {transport}}}\n"
    )
    config = tmp_path / "run.yaml"
    config.write_text(
        f"lab: {lab}\ninstruments:\n  lockin: {{device: lockin}}\n"
        f"stop: {{duration: 1}}\noutput: {{path: {tmp_path / 'run.h5'}}}\n"
    )
    assert plan_run(config).drivers["lockin"] is driver
