"""Pfeiffer TPG 36x: the ACK/ENQ handshake byte for byte, status codes, and the simulated lab."""

from __future__ import annotations

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.pfeiffer import (
    PfeifferTPG36x,
    PfeifferTPG361,
    PfeifferTPG362,
    PfeifferTPG366,
)
from instrumentkit.drivers.pfeiffer.tpg36x import GaugeError, GaugeStatus
from instrumentkit.drivers.pfeiffer.tpg36x_sim import TPG361Model, TPG362Model, TPG366Model
from instrumentkit.errors import (
    ConnectionFailed,
    InstrumentReportedError,
    ProtocolError,
    Timeout,
    ValidationError,
)
from instrumentkit.parameters import UnknownChoiceWarning
from instrumentkit.sim import ManualClock
from instrumentkit.testing import check_driver, expected_protocol

ACK, NAK, ENQ = "\x06", "\x15", b"\x05"


def test_serial_settings_and_terminators_are_the_manuals():
    assert PfeifferTPG36x.connection_defaults == {
        "baudrate": 9600,
        "bytesize": 8,
        "parity": "N",
        "stopbits": 1,
    }
    assert (PfeifferTPG36x.write_termination, PfeifferTPG36x.read_termination) == ("\r\n",) * 2
    assert PfeifferTPG36x.idn_patterns == ()  # it does not answer *IDN?


def test_read_is_prx_ack_enq_and_the_data_line():
    pairs = [("PRX", ACK), (ENQ, "0,+1.2300E-06,2,+1.0000E+03"), ("UNI", ACK), (ENQ, "2")]
    with expected_protocol(PfeifferTPG362, pairs) as gauge:
        reading = gauge.read()
    assert reading.channels == ("gauge1", "gauge2")
    assert reading.units == ("Pa", "Pa")
    assert reading.values.tolist() == [[1.23e-6, 1000.0]]
    assert reading.status.tolist() == [[GaugeStatus.OK, GaugeStatus.OVERRANGE]]


def test_the_written_bytes_are_exactly_the_manuals():
    pairs = [("PR1", ACK), (ENQ, "0,+5.0000E-03")]
    with expected_protocol(PfeifferTPG361, pairs) as gauge:
        assert gauge.pressure(1) == 5e-3
        assert gauge.session.transport.written == [b"PR1\r\n", b"\x05"]


@pytest.mark.parametrize("status", [3, 4, 5, 6])
def test_statuses_without_a_pressure_are_nan_in_readings_and_errors_alone(status):
    pairs = [("PRX", ACK), (ENQ, f"0,+1.0000E-03,{status},+2.0000E-02"), ("UNI", ACK), (ENQ, "0")]
    with expected_protocol(PfeifferTPG362, pairs) as gauge:
        reading = gauge.read()
    assert reading.values[0, 0] == 1e-3
    assert np.isnan(reading.values[0, 1])
    assert reading.status[0, 1] == status
    with (
        expected_protocol(PfeifferTPG362, [("PR2", ACK), (ENQ, f"{status},+2.0000E-02")]) as gauge,
        pytest.raises(GaugeError, match=GaugeStatus(status).name.lower().replace("_", " ")),
    ):
        gauge.pressure(2)


def test_underrange_gives_the_limit():
    with expected_protocol(PfeifferTPG362, [("PR1", ACK), (ENQ, "1,+1.0000E-09")]) as gauge:
        assert gauge.pressure(1) == 1e-9


def test_nak_is_explained_by_err():
    pairs = [("UNI,4", NAK), ("ERR", ACK), (ENQ, "0010")]
    with (
        expected_protocol(PfeifferTPG362, pairs) as gauge,
        pytest.raises(InstrumentReportedError, match="inadmissible parameter") as raised,
    ):
        gauge.pressure_unit = "hPa"
    assert raised.value.command == "UNI,4"


def test_a_settings_write_waits_for_the_ack():
    with expected_protocol(PfeifferTPG362, [("UNI,1", ACK)]) as gauge:
        gauge.pressure_unit = "Torr"


def test_continuous_output_lines_are_skipped_and_garbage_is_not():
    pairs = [("PR1", "0,+1.0000E-03,0,+2.0000E-02\r\n\x06"), (ENQ, "0,+1.1000E-03")]
    with expected_protocol(PfeifferTPG362, pairs) as gauge:
        assert gauge.pressure(1) == 1.1e-3
    with (
        expected_protocol(PfeifferTPG362, [("PR1", "hello")]) as gauge,
        pytest.raises(ProtocolError, match="expected <ACK> or <NAK>"),
    ):
        gauge.pressure(1)


@pytest.mark.parametrize(
    "bad", ["0,+1.0E-03,7,+1.0E-03", "0,abc", "0", "0,+1.0E-03,0,+1.0E-03,0,+1"]
)
def test_malformed_data_lines_are_protocol_errors(bad):
    pairs = [("PRX", ACK), (ENQ, bad)]
    with expected_protocol(PfeifferTPG362, pairs) as gauge, pytest.raises(ProtocolError):
        gauge.read()


@pytest.mark.parametrize("action", [lambda g: g.pressure(3), lambda g: g.read_many(0)])
def test_bad_values_are_refused_before_sending(action):
    with expected_protocol(PfeifferTPG362, []) as gauge, pytest.raises(ValidationError):
        action(gauge)
    with expected_protocol(PfeifferTPG362, []) as gauge, pytest.raises(ValidationError):
        gauge.pressure_unit = "furlongs"


def test_reset_interface_sends_etx():
    with expected_protocol(PfeifferTPG362, [(b"\x03", None)]) as gauge:
        gauge.reset_interface()


# -- the simulated lab (serial, byte level)
@pytest.mark.parametrize(
    ("driver", "kind", "channels"),
    [
        (PfeifferTPG361, TPG361Model, 1),
        (PfeifferTPG362, TPG362Model, 2),
        (PfeifferTPG366, TPG366Model, 6),
    ],
)
def test_conformance_and_channels_on_the_lab(over_serial, driver, kind, channels):
    model = kind(clock=ManualClock(), seed=1)
    gauge = over_serial(driver, model, timeout=0.3)
    check_driver(driver, gauge)
    assert model.line_settings["baudrate"] == 9600
    assert model.line_settings["parity"] == "N"
    reading = gauge.read_many(20)
    assert reading.values.shape == (20, channels)
    assert (reading.status == 0).all()
    assert gauge.identity.startswith(kind.kind)


def test_the_generic_driver_learns_the_channel_count(over_serial):
    gauge = over_serial(PfeifferTPG36x, TPG366Model(clock=ManualClock(), seed=2))
    assert gauge.channel_names == tuple(f"gauge{n}" for n in range(1, 7))
    check_driver(PfeifferTPG36x)  # opens iksim://model/pfeiffer-tpg362 itself


def test_ik_open_by_driver_name():
    gauge = ik.open("iksim://model/pfeiffer-tpg362?seed=3&clock=manual", driver="PfeifferTPG36x")
    try:
        assert gauge.read().values.shape == (1, 2)
    finally:
        gauge.close()


@pytest.fixture
def lab_gauge(over_serial):
    model = TPG362Model(clock=ManualClock(), seed=5, noise=0.01)
    return model, over_serial(PfeifferTPG362, model, timeout=0.3)


def test_pressures_have_noise_and_follow_the_unit(lab_gauge):
    _model, gauge = lab_gauge
    mbar = gauge.read_many(200).values
    assert mbar[:, 0].mean() == pytest.approx(1e-6, rel=0.01)
    assert 0.005 < mbar[:, 0].std() / 1e-6 < 0.02
    gauge.pressure_unit = "Pa"
    pascal = gauge.read()
    assert pascal.units == ("Pa", "Pa")
    assert pascal.values[0, 1] == pytest.approx(2.5, rel=0.05)  # 2.5e-2 mbar


def test_status_codes_from_the_lab(lab_gauge):
    model, gauge = lab_gauge
    model.status[2] = GaugeStatus.SENSOR_OFF
    reading = gauge.read()
    assert reading.status.tolist() == [[0, 4]]
    assert np.isnan(reading.values[0, 1])
    with pytest.raises(GaugeError, match="sensor off"):
        gauge.pressure(2)


def test_refusals_and_faults_give_clear_errors(lab_gauge):
    model, gauge = lab_gauge
    model.refuse(1)
    with pytest.raises(InstrumentReportedError, match="syntax error"):
        gauge.read()
    assert gauge.read().values.shape == (1, 2)
    model.faults.inject("no_reply", on="PRX")
    with pytest.raises(Timeout, match="PRX"):
        gauge.read()
    model.faults.inject("garble", on="UNI")
    with pytest.raises(ProtocolError):
        gauge.pressure_unit  # noqa: B018
    model.faults.inject("drop", on="PRX", keep=0.0)
    with pytest.raises(ConnectionFailed):
        gauge.read()


def test_wrong_framing_is_a_clear_error(over_serial):
    gauge = over_serial(
        PfeifferTPG362, TPG362Model(clock=ManualClock()), timeout=0.2, baudrate=19200
    )
    with pytest.raises((ProtocolError, Timeout)):
        gauge.read()


def test_an_unknown_unit_code_keeps_the_reading_with_empty_units():
    pairs = [("PRX", ACK), (ENQ, "0,+1.2300E-06,0,+1.0000E+03"), ("UNI", ACK), (ENQ, "8")]
    with (
        expected_protocol(PfeifferTPG362, pairs) as gauge,
        pytest.warns(UnknownChoiceWarning, match="pressure_unit reads '8'"),
    ):
        reading = gauge.read()
    assert reading.units == ("", "")
    assert reading.values.tolist() == [[1.23e-6, 1000.0]]
