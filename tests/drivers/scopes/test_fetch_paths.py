"""How `fetch` moves a record: one message and one reply whatever its length; the codes are
kept as received and the volts computed from them when first read."""

from __future__ import annotations

import numpy as np
import pytest

from instrumentkit.drivers._oscilloscope import Scaling
from instrumentkit.drivers.tektronix import TektronixMSO4000
from instrumentkit.drivers.tektronix.mso4000_sim import MSO4104Model
from instrumentkit.errors import ProtocolError
from instrumentkit.sim import serve
from instrumentkit.testing import expected_protocol

HELLO = ("HEADer OFF;VERBose ON", None)
PREAMBLE = (
    "WFMOutpre:ENCdg?;BYT_Nr?;BYT_Or?;BN_Fmt?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
)


def block(payload: bytes) -> bytes:
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + b"\n"


def test_every_fetch_is_one_message_whatever_the_record_length():
    long = np.arange(300_000).astype(np.int8)
    short = np.array([5, -5], dtype=np.int8)
    pre_long = f"BINARY;1;MSB;RI;{len(long)};1.0E-9;0.0;0;2.0E-2;0.0;0.0"
    pre_short = "BINARY;1;MSB;RI;2;1.0E-9;0.0;0;2.0E-2;0.0;0.0"
    pairs = [
        HELLO,
        (f"DATa:SOUrce CH1;:{PREAMBLE};:CURVe?", pre_long.encode() + b";" + block(long.tobytes())),
        (f"DATa:SOUrce CH1;:{PREAMBLE};:CURVe?", pre_long.encode() + b";" + block(long.tobytes())),
        (
            f"DATa:SOUrce CH2;:{PREAMBLE};:CURVe?",
            pre_short.encode() + b";" + block(short.tobytes()),
        ),
    ]
    with expected_protocol(TektronixMSO4000, pairs) as scope:
        first = scope.fetch(1)
        second = scope.fetch(1)
        third = scope.fetch(2)
    np.testing.assert_allclose(first.y, long * 0.02)
    np.testing.assert_array_equal(second.raw, long)
    np.testing.assert_allclose(third.y, [0.1, -0.1])


def test_short_and_long_records_match_the_model_within_half_a_code_over_tcp():
    model = MSO4104Model(seed=3, sources={1: {"shape": "sine", "amplitude": 0.3, "noise": 0.01}})
    with serve({"scope": model}) as lab, TektronixMSO4000.open(lab.resource("scope")) as scope:
        scope.channels[1].position = 0.5  # a bias (the add pass runs), the sine still on screen
        scope.data_encoding, scope.data_width = "ribinary", 2
        for points in (10_000, 1_000_000, 10_000):
            scope.record_length = points
            scope.data_start, scope.data_stop = 1, points
            scope.single()
            scope.wait_for_acquisition(timeout=10)
            waveform = scope.fetch(1)
            assert len(waveform) == points
            error = np.abs(waveform.y - model.last.volts[1])
            assert error.max() <= waveform.gain / 2 + 1e-12
            np.testing.assert_allclose(waveform.t, model.last.times, atol=waveform.dx * 1e-6)
        assert scope.session.query("*OPC?") == "1"  # nothing left unread


def test_fetch_keeps_the_codes_and_computes_volts_once_when_read():
    model = MSO4104Model(seed=4)
    with serve({"scope": model}) as lab, TektronixMSO4000.open(lab.resource("scope")) as scope:
        scope.channels[1].position = -1.0
        scope.data_encoding, scope.data_width = "ribinary", 2
        scope.single()
        scope.wait_for_acquisition(timeout=10)
        first = scope.fetch(1)
        second = scope.fetch(1)
    assert first.raw is not None
    assert first.raw.dtype == np.dtype(">i2")
    assert first.gain == first.meta["preamble"]["y_multiplier"]
    assert "from codes" in repr(first)
    volts = first.y
    assert first.y is volts  # computed once, then kept
    np.testing.assert_array_equal(volts, first.raw.astype(np.float64) * first.gain + first.bias)
    assert np.abs(volts - model.last.volts[1]).max() <= first.gain / 2 + 1e-12
    assert not np.shares_memory(first.raw, second.raw)  # each fetch receives into its own array
    np.testing.assert_array_equal(first.raw, second.raw)  # a stopped scope: the same record


def test_an_ascii_curve_in_one_message_is_read_off_the_line_and_refused():
    pre = "ASCII;1;MSB;RI;3;1.0E-9;0.0;0;2.0E-2;0.0;0.0"
    pairs = [
        HELLO,
        (f"DATa:SOUrce CH1;:{PREAMBLE};:CURVe?", f"{pre};1,2,3"),
        ("*OPC?", "1"),
    ]
    with expected_protocol(TektronixMSO4000, pairs) as scope:
        with pytest.raises(ProtocolError, match="not binary"):
            scope.fetch(1)
        assert scope.session.query("*OPC?") == "1"  # the curve did not linger as a reply


def test_two_thread_conversion_equals_one_pass():
    codes = np.arange(-(1 << 19), 1 << 19, dtype=">i4").astype(">i2")
    scaling = Scaling(gain=1e-3, bias=0.25, x0=0.0, dx=1.0)
    np.testing.assert_array_equal(scaling.volts(codes), codes.astype(np.float64) * 1e-3 + 0.25)


def test_a_binary_curve_of_another_kind_is_read_off_the_line_and_refused():
    pre = "BINARY;4;MSB;FP;2;1.0E-9;0.0;0;2.0E-2;0.0;0.0"  # floating point: not codes
    pairs = [
        HELLO,
        (f"DATa:SOUrce CH1;:{PREAMBLE};:CURVe?", pre.encode() + b";" + block(bytes(8))),
        ("*OPC?", "1"),
    ]
    with expected_protocol(TektronixMSO4000, pairs) as scope:
        with pytest.raises(ProtocolError, match="BINARY FP MSB, not binary"):
            scope.fetch(1)
        assert scope.session.query("*OPC?") == "1"  # the block did not linger
