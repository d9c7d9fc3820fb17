"""Every fault reaches the host as the matching instrumentkit error, through real transports."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.errors import ConnectionFailed, InstrumentReportedError, ProtocolError, Timeout
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.sim import SystemClock, create

BLOCK = ":WAVeform:DATA? int16"


def test_no_reply_is_a_timeout_and_the_next_query_works(connect):
    device = create("test-meter")
    session = connect(device, timeout=0.2)
    fault = device.faults.inject("no_reply", on="*IDN?")
    with pytest.raises(Timeout) as caught:
        session.query("*IDN?")
    assert caught.value.command == "*IDN?"
    assert fault.fired == 1
    assert session.query("*IDN?") == "Acme,METER1,0001,1.0"


def test_slow_reply_past_the_timeout_is_a_timeout(connect):
    device = create("test-meter", clock=SystemClock())
    session = connect(device, timeout=0.1)
    device.faults.inject("slow", on=":WAV:DATA?", delay=0.4)
    with pytest.raises(Timeout):
        session.query_block(BLOCK, dtype=np.int16)


def test_slow_reply_within_the_timeout_just_arrives(connect):
    device = create("test-meter")
    session = connect(device, timeout=2.0)
    device.faults.inject("slow", on="*IDN?", delay=0.05)
    assert session.query("*IDN?") == "Acme,METER1,0001,1.0"


def test_garbled_text_reply_is_a_protocol_error(connect):
    device = create("test-meter")
    session = connect(device)
    device.faults.inject("garble", on="VOLT:RANG?")
    with pytest.raises(ProtocolError):
        session.query("VOLT:RANG?")
    assert float(session.query("VOLT:RANG?")) == 10.0  # only one reply was garbled


def test_garbled_block_is_a_protocol_error(connect):
    device = create("test-meter")
    session = connect(device)
    device.faults.inject("garble", on=":WAV:DATA?")
    with pytest.raises(ProtocolError, match=r"IEEE 488\.2 block"):
        session.query_block(BLOCK, dtype=np.int16)


def test_truncated_block_is_a_timeout_saying_how_much_arrived(connect):
    device = create("test-meter")
    session = connect(device, timeout=0.2)
    device.faults.inject("truncate", on=":WAV:DATA?", keep=0.5)
    with pytest.raises(Timeout, match=r"of 10000 bytes arrived"):
        session.query_block(BLOCK, dtype=np.int16)


def test_dropped_connection_mid_block_is_connection_failed(connect):
    device = create("test-meter")
    session = connect(device)
    device.faults.inject("drop", on=":WAV:DATA?", keep=0.3)
    with pytest.raises(ConnectionFailed):
        session.query_block(BLOCK, dtype=np.int16)


def test_instrument_reported_error_raises_through_check_errors(connect):
    device = create("test-meter")
    instrument = SCPIInstrument(connect(device), name="meter")
    device.faults.inject("error", on="VOLT:RANG", code=-222, message="Data out of range")
    instrument.write("VOLT:RANG 5")
    with pytest.raises(InstrumentReportedError) as caught:
        instrument.check_errors()
    assert caught.value.code == -222
    instrument.check_errors()  # the queue is empty again


def test_fault_matches_any_spelling_and_counts_down(connect):
    device = create("test-meter")
    session = connect(device, timeout=0.2)
    fault = device.faults.inject("no_reply", on=":WAVeform:DATA?", count=2)
    for _ in range(2):
        with pytest.raises(Timeout):
            session.query_block(":wav:data? int16", dtype=np.int16)
    assert not fault.armed
    assert session.query_block(BLOCK, dtype=np.int16).size == 5000


def test_fault_for_another_command_leaves_this_one_alone(connect):
    device = create("test-meter")
    session = connect(device)
    device.faults.inject("no_reply", on="READ?")
    assert session.query("*IDN?") == "Acme,METER1,0001,1.0"
    assert device.faults.armed[0].fired == 0


def test_faults_on_a_non_scpi_device_match_its_command_names(connect):
    device = create("test-gauge")
    session = connect(device, timeout=0.2)
    session.read_termination = "\r"
    device.faults.inject("garble", on="P")
    session.write_raw(b"P")
    with pytest.raises(ProtocolError):
        session.read(command="P")
    session.write_raw(b"\x05")
    assert session.read_bytes(1) == b"\x06"
    with pytest.raises(TypeError, match="no error queue"):
        device.faults.inject("error")


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        create("test-meter").faults.inject("explode")  # type: ignore[arg-type]


def test_after_a_drop_a_fresh_connection_works(connect):
    device = create("test-meter")
    session = connect(device)
    device.faults.inject("drop", on="*IDN?", keep=0.0)
    with pytest.raises(ConnectionFailed):
        session.query("*IDN?")
    session.close()
    assert connect(device).query("*IDN?") == "Acme,METER1,0001,1.0"
