"""A garbled preamble is a ProtocolError with its bytes, before any buffer or command is sized."""

from __future__ import annotations

import pytest

from instrumentkit.drivers.keysight import KeysightInfiniiVision
from instrumentkit.drivers.rigol import RigolDS1000Z
from instrumentkit.drivers.tektronix import TektronixMSO4000, TektronixTDS2000
from instrumentkit.errors import ProtocolError
from instrumentkit.testing import expected_protocol

# points, x increment, y increment that no DS1000Z record has
RIGOL_GARBAGE = [
    ("1e12", "1e-09", "0.04", r"points is 1000000000000.0, not a whole number in \[1, 24000000\]"),
    ("24000001", "1e-09", "0.04", "points is 24000001.0"),
    ("nan", "1e-09", "0.04", "not (a )?finite"),
    ("-5", "1e-09", "0.04", r"points is -5.0"),
    ("0", "1e-09", "0.04", r"points is 0.0"),
    ("2.5", "1e-09", "0.04", r"points is 2.5"),
    ("1200", "0", "0.04", "x_increment is 0.0, not > 0"),
    ("1200", "inf", "0.04", "not (a )?finite"),
    ("1200", "1e-09", "-0.04", "y_increment is -0.04, not > 0"),
]


@pytest.mark.parametrize(("points", "dx", "dy", "message"), RIGOL_GARBAGE)
def test_rigol_refuses_a_preamble_before_sizing_or_sending_anything(points, dx, dy, message):
    reply = f"0,0,{points},1,{dx},0,0,{dy},0,127"
    pairs = [(":WAV:SOUR CHAN1", None), (":WAV:PRE?", reply)]  # no :WAV:STAR/STOP follows
    with (
        expected_protocol(RigolDS1000Z, pairs, name="ds") as scope,
        pytest.raises(ProtocolError, match=message) as caught,
    ):
        scope.fetch(1)
    assert caught.value.command == ":WAV:PRE?"
    assert repr(reply.encode()) in str(caught.value)


@pytest.mark.parametrize(("points", "message"), [("+1e12", "8000000"), ("nan", "not (a )?finite")])
def test_infiniivision_refuses_a_garbled_preamble_and_leaves_nothing_unread(points, message):
    command = (
        ":WAVeform:SOURce CHANnel1;:WAVeform:BYTeorder?;:WAVeform:UNSigned?;"
        ":WAVeform:PREamble?;:WAVeform:DATA?"
    )
    reply = f"LSBF;0;+0,+0,{points},+1,+1.0E-09,+0,+0,+4.0E-02,+0,+128;".encode()
    pairs = [(command, reply + b"#13\x01\x02\x03\n"), ("*OPC?", "1")]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        with pytest.raises(ProtocolError, match=message):
            scope.fetch(1)
        assert scope.session.query("*OPC?") == "1"


TEK = "ENCdg?;BYT_Nr?;BYT_Or?;BN_Fmt?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"


@pytest.mark.parametrize(
    ("driver", "header", "fields", "message"),
    [
        (TektronixTDS2000, "WFMPre", "BINARY;1;MSB;RI;2501;1E-9;0;0;0.04;0;0", r"\[1, 2500\]"),
        (TektronixMSO4000, "WFMOutpre", "BINARY;1;MSB;RI;inf;1E-9;0;0;0.04;0;0", "not (a )?finite"),
        (TektronixMSO4000, "WFMOutpre", "BINARY;1;MSB;RI;3;1E-9;0;0;0;0;0", "y_multiplier is 0"),
        (TektronixMSO4000, "WFMOutpre", "BINARY;inf;MSB;RI;3;1E-9;0;0;1;0;0", "byte_count is inf"),
    ],
)
def test_tektronix_refuses_a_garbled_preamble_and_reads_the_curve_off(
    driver, header, fields, message
):
    command = f"DATa:SOUrce CH1;:{header}:{TEK};:CURVe?"
    pairs = [
        ("HEADer OFF;VERBose ON", None),
        (command, fields.encode() + b";#13\x01\x02\x03\n"),
        ("*OPC?", "1"),
    ]
    with expected_protocol(driver, pairs) as scope:
        with pytest.raises(ProtocolError, match=message):
            scope.fetch(1)
        assert scope.session.query("*OPC?") == "1"
