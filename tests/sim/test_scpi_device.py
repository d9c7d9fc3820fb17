"""ScpiDevice through the real transports: TCP (SocketTransport) and serial (`iksim://`)."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.errors import Timeout
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.sim import ManualClock, create
from instrumentkit.sim._scpi_syntax import HeaderPattern


def block_values(kind: str, points: int = 5000) -> np.ndarray:
    """What conftest's Meter sends for `:WAV:DATA? <kind>` (terminator bytes included)."""
    ramp = (np.arange(points) % 251 - 125) * (1.5 if kind.startswith("float") else 1)
    return ramp.astype(kind)


@pytest.mark.parametrize(
    ("pattern", "header", "suffixes"),
    [
        (":WAVeform:DATA?", ":WAV:DATA?", {}),
        (":WAVeform:DATA?", "waveform:data?", {}),
        (":WAVeform:DATA?", ":Wav:Data?", {}),
        ("[:SENSe]:VOLTage[:DC]:RANGe", "VOLT:RANG", {}),
        ("[:SENSe]:VOLTage[:DC]:RANGe", ":sense:voltage:dc:range", {}),
        ("CHANnel<n>:SCALe", "CHAN3:SCAL", {"n": 3}),
        ("CHANnel<n>:SCALe", ":channel:scale", {"n": 1}),
        ("*IDN?", "*idn?", {}),
    ],
)
def test_header_patterns_match_every_legal_spelling(pattern, header, suffixes):
    assert HeaderPattern.compile(pattern).match(header) == suffixes


@pytest.mark.parametrize(
    ("pattern", "header"),
    [
        (":WAVeform:DATA?", ":WAVE:DATA?"),  # neither short nor long form
        (":WAVeform:DATA?", ":WAV:DATA"),  # a query pattern does not take a command
        ("[:SENSe]:VOLTage:RANGe", "SENS:RANG"),
        ("CHANnel<n>:SCALe", "CHANA:SCAL"),
    ],
)
def test_header_patterns_refuse_other_spellings(pattern, header):
    assert HeaderPattern.compile(pattern).match(header) is None


def test_long_short_and_case_forms_reach_the_same_setting(connect):
    session = connect(create("test-meter"))
    session.write(":SENSe:VOLTage:DC:RANGe 100")
    assert float(session.query("volt:rang?")) == 100.0
    session.write("VOLT:RANG 0.5")
    assert float(session.query(":sens:voltage:range?")) == 0.5
    assert session.query("*idn?") == "Acme,METER1,0001,1.0"


def test_settings_of_every_kind_round_trip(connect):
    session = connect(create("test-meter"))
    session.write("TRIG:SOUR external;:OUTP ON;:SAMP:COUN 12;:DISP:TEXT 'hello there'")
    assert session.query("TRIGger:SOURce?") == "EXT"
    assert session.query("OUTPut:STATe?") == "1"
    assert session.query("SAMP:COUN?") == "12"
    assert session.query("DISP:TEXT?") == '"hello there"'
    session.write("VOLT:RANG MAX;:VOLT:NPLC 10")
    assert float(session.query("VOLT:RANG?")) == 1000.0
    assert float(session.query("VOLT:NPLC?")) == 10.0


def test_numeric_suffix_selects_the_channel(connect):
    device = create("test-meter")
    session = connect(device)
    session.write("CHAN2:SCAL 0.25")
    session.write("CHANNEL4:SCALE 5")
    assert session.query("*OPC?") == "1"  # writes have no reply: sync before looking inside
    assert device.scale == {1: 1.0, 2: 0.25, 3: 1.0, 4: 5.0}
    assert float(session.query("CHAN2:SCAL?")) == 0.25
    assert session.query("CHAN3:DATA?") == "30,31,32"


def test_compound_commands_answer_in_one_message(connect):
    session = connect(create("test-meter"))
    reply = session.query("*IDN?;:VOLT:RANG 2;:VOLT:RANG?;*OPC?")
    assert reply == "Acme,METER1,0001,1.0;+2.000000000E+00;1"


def test_compound_relative_headers_use_the_previous_path(connect):
    device = create("test-meter")
    session = connect(device)
    session.write(":SENS:VOLT:RANG 20;NPLC 100")
    assert session.query("*OPC?") == "1"
    assert (device.range, device.nplc) == (20.0, 100.0)


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        ("VOLT:RANG 5000", -222, "Data out of range"),
        ("VOLT:RANG fast", -104, "Data type error"),
        ("TRIG:SOUR SOMETIMES", -224, "Illegal parameter value"),
        ("VOLT:NPLC 3", -224, "Illegal parameter value"),
        ("VOLT:RANG", -109, "Missing parameter"),
        ("VOLT:RANG 1,2", -108, "Parameter not allowed"),
        ("FROB:NICATE 1", -113, "Undefined header"),
        ("CHAN7:SCAL 1", -114, "Header suffix out of range"),
    ],
)
def test_bad_commands_queue_scpi_errors(connect, command, code, message):
    device = create("test-meter")
    session = connect(device)
    session.write(command)
    assert session.query("SYST:ERR?") == f'{code:+d},"{message}"'
    assert session.query("SYSTem:ERRor:NEXT?") == '+0,"No error"'
    assert device.range == 10.0  # nothing was changed by the refused command


def test_error_queue_is_fifo_and_sets_event_status(connect):
    session = connect(create("test-meter"))
    session.write("VOLT:RANG -1")
    session.write("NOPE")
    instrument = SCPIInstrument(session)
    assert session.query("SYST:ERR:COUN?") == "2"
    assert int(session.query("*ESR?")) == 32 | 16  # command error + execution error
    assert session.query("*ESR?") == "0"  # reading clears it
    assert instrument.drain_errors() == [(-222, "Data out of range"), (-113, "Undefined header")]


def test_cls_clears_errors_and_rst_restores_defaults(connect):
    device = create("test-meter")
    session = connect(device)
    session.write("VOLT:RANG 100;:TRIG:SOUR BUS;:CHAN2:SCAL 3;:BOGUS")
    session.write("*CLS")
    assert session.query("SYST:ERR?") == '+0,"No error"'
    assert device.trigger_source == "BUS"
    session.write("*RST")
    assert session.query("VOLT:RANG?;:TRIG:SOUR?;:CHAN2:SCAL?") == (
        "+1.000000000E+01;IMM;+1.000000000E+00"
    )


def test_unknown_query_gets_no_reply_like_a_real_instrument(connect):
    session = connect(create("test-meter"), timeout=0.2)
    with pytest.raises(Timeout):
        session.query("NOT:A:QUERY?")
    assert session.query("SYST:ERR?") == '-113,"Undefined header"'


def test_opc_waits_for_the_operation_on_a_manual_clock(connect):
    clock = ManualClock()
    device = create("test-meter", clock=clock)
    session = connect(device)
    session.write("INIT")
    assert session.query("STAT:DONE?") == "0"
    assert clock.now() == 0.0
    assert session.query("*OPC?") == "1"
    assert clock.now() == pytest.approx(0.5)  # the reply could leave only when INIT was done
    assert session.query("STAT:DONE?") == "1"


def test_nothing_arrives_before_the_clock_reaches_it(connect):
    clock = ManualClock(auto_advance=False)
    session = connect(create("test-meter", clock=clock), timeout=0.2)
    session.write("INIT")
    with pytest.raises(Timeout):
        session.query("*OPC?")
    clock.advance(0.5)
    assert session.read(command="*OPC?") == "1"


def test_wai_holds_later_replies_until_the_operation_ends(connect):
    clock = ManualClock()
    session = connect(create("test-meter", clock=clock))
    session.write("INIT;*WAI")
    assert session.query("*IDN?") == "Acme,METER1,0001,1.0"
    assert clock.now() == pytest.approx(0.5)  # the reply left only once INIT was done


def test_measurement_reply_leaves_after_its_integration_time(connect):
    clock = ManualClock()
    session = connect(create("test-meter", clock=clock, seed=3))
    first = float(session.query("READ?"))
    second = float(session.query("READ?"))
    assert clock.now() == pytest.approx(1.0)
    assert first != second
    assert abs(first - 1.0) < 0.01


def test_seeded_models_repeat_and_unseeded_ones_do_not(connect):
    readings = []
    for seed in (7, 7, None):
        session = connect(create("test-meter", seed=seed, clock=ManualClock()))
        readings.append(session.query("READ?"))
    assert readings[0] == readings[1]
    assert readings[2] != readings[0]


@pytest.mark.parametrize("kind", ["int8", "int16", "uint16", "float32", "float64"])
@pytest.mark.parametrize("order", ["<", ">"])
def test_block_replies_parse_into_the_exact_array(connect, kind, order):
    session = connect(create("test-meter"))
    values = session.query_block(f":WAV:DATA? {kind},{order}", dtype=kind, byte_order=order)
    np.testing.assert_array_equal(values, block_values(kind))
    assert session.query("*OPC?") == "1"  # the terminator after the block was consumed


def test_host_blocks_may_hold_terminators_semicolons_and_commas(connect):
    from instrumentkit.sim import binary_block

    device = create("test-meter")
    session = connect(device)
    # float32 values whose bytes include b"\n", b";" and b"," (0x0A, 0x3B, 0x2C).
    values = np.frombuffer(bytes(range(256)) * 8, dtype="<f4").copy()
    values[~np.isfinite(values)] = 0.0
    payload = binary_block(values)
    session.write_raw(b':TRAC:DATA "arb1",' + payload + b";:VOLT:RANG 2\n")
    back = session.query_block(':TRAC:DATA? "arb1"', dtype=np.float32)
    np.testing.assert_array_equal(back, values)
    assert float(session.query("VOLT:RANG?")) == 2.0  # the unit after the block ran too
    assert session.query("SYST:ERR?") == '+0,"No error"'


def test_unclosed_quote_does_not_swallow_later_messages(connect):
    session = connect(create("test-meter"))
    session.write('DISP:TEXT "oops')
    assert session.query("*IDN?") == "Acme,METER1,0001,1.0"
