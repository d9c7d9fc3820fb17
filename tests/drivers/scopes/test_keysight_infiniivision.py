"""Keysight InfiniiVision: exact command sequences, binary fetches, pyvisa-sim round trips."""

from __future__ import annotations

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.keysight import KeysightInfiniiVision
from instrumentkit.testing import check_driver, expected_protocol

PREAMBLE = ":WAVeform:BYTeorder?;:WAVeform:UNSigned?;:WAVeform:PREamble?"


def fetch_command(channel: int) -> str:
    """What `fetch` sends: source, preamble and data in one message."""
    return f":WAVeform:SOURce CHANnel{channel};{PREAMBLE};:WAVeform:DATA?"


def block(payload: bytes) -> bytes:
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + b"\n"


def test_settings_send_the_manual_commands():
    pairs = [
        (":CHANnel2:PROBe?", "+10.0E+00"),
        (":CHANnel2:SCALe 0.5", None),
        (":CHANnel2:SCALe?", "+5.00000E-01"),
        (":CHANnel2:OFFSet -1.5", None),
        (":CHANnel1:BWLimit ON", None),
        (":CHANnel1:BWLimit?", "1"),
        (":CHANnel4:IMPedance FIFT", None),
        (":TIMebase:SCALe 1e-06", None),
        (":ACQuire:TYPE AVER", None),
        (":ACQuire:TYPE?", "AVER"),
        (":ACQuire:COUNt 16", None),
        (":WAVeform:POINts:MODE RAW", None),
        (":WAVeform:FORMat WORD", None),
        (":WAVeform:BYTeorder MSBF", None),
        (":TRIGger:EDGE:SOURce CHAN3", None),
        (":TRIGger:EDGE:SOURce?", "CHAN3"),
        (":TRIGger:EDGE:SLOPe NEG", None),
        (":TRIGger:SWEep NORM", None),
    ]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        scope.channels[2].scale = 0.5
        assert scope.channels[2].scale == 0.5
        scope.channels[2].offset = -1.5
        scope.channels[1].bandwidth_limit = True
        assert scope.channels[1].bandwidth_limit is True
        scope.channels[4].impedance = "50"
        scope.timebase_scale = 1e-6
        scope.acquisition_mode = "average"
        assert scope.acquisition_mode == "average"
        scope.averages = 16
        scope.points_mode = "raw"
        scope.waveform_format = "word"
        scope.byte_order = "msb_first"
        scope.trigger_source = 3
        assert scope.trigger_source == "ch3"
        scope.trigger_slope = "falling"
        scope.trigger_mode = "normal"


@pytest.mark.parametrize(
    ("target", "name", "value"),
    [
        ("scope", "timebase_scale", 60.0),
        ("scope", "averages", 1),
        ("scope", "averages", 2.5),
        ("scope", "record_length", 1234),
        ("scope", "trigger_source", "aux"),
        ("scope", "waveform_format", "float"),
        ("channel", "probe_attenuation", 0),
        ("channel", "coupling", "gnd"),
        ("channel", "impedance", "75"),
        ("channel", "scale", -1.0),
    ],
)
def test_out_of_range_is_refused_before_any_byte(target, name, value):
    with expected_protocol(KeysightInfiniiVision, []) as scope:  # any write fails the test
        owner = scope if target == "scope" else scope.channels[2]
        with pytest.raises(ik.ValidationError, match=name):
            setattr(owner, name, value)


def test_single_then_poll_the_run_bit():
    pairs = [
        (":SINGle", None),
        (":OPERegister:CONDition?", "+8"),
        (":OPERegister:CONDition?", "+40"),
        (":OPERegister:CONDition?", "+32"),
    ]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        scope.poll_interval = 0.0
        scope.single()
        scope.wait_for_acquisition(timeout=5)


def test_wait_timeout_names_the_register():
    with (
        expected_protocol(KeysightInfiniiVision, [(":OPERegister:CONDition?", "+8")]) as scope,
        pytest.raises(ik.Timeout, match="run bit 3") as caught,
    ):
        scope.wait_for_acquisition(timeout=0.0)
    assert caught.value.command == ":OPERegister:CONDition?"


def test_run_stop_and_digitize():
    pairs = [
        (":RUN", None),
        (":STOP", None),
        (":DIGitize CHANnel1,CHANnel3", None),
        ("*OPC?", "1"),
    ]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        scope.run()
        scope.stop()
        scope.digitize([1, "CHAN3"])


def test_fetch_word_lsb_first_signed():
    codes = np.array([-32768, -1, 0, 12800, 32767], dtype="<i2")
    pairs = [
        (
            fetch_command(1),
            (
                b"LSBF;0;+1,+0,+5,+1,+1.00000000E-09,-2.00000000E-09,+0,+7.81250000E-05,"
                b"+1.00000000E-01,+0;"
            )
            + block(codes.tobytes()),
        ),
    ]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        waveform = scope.fetch(1)
    assert waveform.raw.dtype == np.dtype("<i2")
    np.testing.assert_array_equal(waveform.raw, codes)
    np.testing.assert_allclose(waveform.y, codes * 7.8125e-5 + 0.1)
    np.testing.assert_allclose(waveform.t, -2e-9 + np.arange(5) * 1e-9)
    assert waveform.channel == "CHAN1"


def test_fetch_word_msb_first_unsigned_with_references():
    codes = np.array([0, 32768, 65535], dtype=">u2")
    pairs = [
        (
            fetch_command(4),
            b"MSBF;1;+1,+0,+3,+1,+2.0E-09,+1.0E-06,+1,+1.0E-04,-5.0E-01,+32768"
            + b";"
            + block(codes.tobytes()),
        ),
    ]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        waveform = scope.fetch(4)
    assert waveform.raw.dtype == np.dtype(">u2")
    np.testing.assert_allclose(waveform.y, [-3.7768, -0.5, 2.7767])
    assert waveform.x0 == pytest.approx(1e-6 - 2e-9)


def test_fetch_byte_unsigned():
    codes = np.array([0, 128, 255], dtype=np.uint8)
    pairs = [
        (
            fetch_command(2),
            b"LSBF;1;+0,+0,+3,+1,+1.0E-08,+0.0E+00,+0,+4.0E-02,+0.0E+00,+128"
            + b";"
            + block(codes.tobytes()),
        ),
    ]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        waveform = scope.fetch("channel2")
    np.testing.assert_allclose(waveform.y, [-5.12, 0.0, 5.08])


def test_fetch_refuses_ascii_format_and_leaves_nothing_unread():
    ascii_pre = "LSBF;0;+4,+0,+3,+1,+1.0E-08,+0.0E+00,+0,+4.0E-02,+0.0E+00,+128"
    pairs = [(fetch_command(1), f"{ascii_pre};+1.0E-01,+2.0E-01,+3.0E-01"), ("*OPC?", "1")]
    with expected_protocol(KeysightInfiniiVision, pairs) as scope:
        with pytest.raises(ik.ProtocolError, match="not binary") as caught:
            scope.fetch(1)
        assert caught.value.command == fetch_command(1)
        assert scope.session.query("*OPC?") == "1"  # the ASCII record did not linger


def test_fetch_rejects_a_malformed_preamble():
    pairs = [(fetch_command(1), b"LSBF;0;+0,+0,+3;" + block(b"\x01\x02\x03"))]
    with (
        expected_protocol(KeysightInfiniiVision, pairs) as scope,
        pytest.raises(ik.ProtocolError, match="3 fields, expected 10"),
    ):
        scope.fetch(1)


def test_preamble_alone_is_one_query():
    pre = "MSBF;1;+1,+0,+3,+1,+2.0E-09,+1.0E-06,+1,+1.0E-04,-5.0E-01,+32768"
    with expected_protocol(KeysightInfiniiVision, [(PREAMBLE, pre)]) as scope:
        preamble = scope.preamble()
    assert preamble["format"] == "word"
    assert preamble["byte_order"] == ">"
    assert preamble["unsigned"] is True
    assert preamble["y_reference"] == 32768


ROUND_TRIPS = [
    ("timebase_scale", 2e-9, 2e-9),
    ("timebase_position", 1e-3, 1e-3),
    ("acquisition_mode", "hires", "hires"),
    ("averages", 1024, 1024),
    ("record_length", 100_000, 100_000),
    ("points_mode", "maximum", "maximum"),
    ("waveform_format", "word", "word"),
    ("byte_order", "msb_first", "msb_first"),
    ("unsigned", True, True),
    ("trigger_source", "ext", "ext"),
    ("trigger_level", -0.3, -0.3),
    ("trigger_slope", "alternate", "alternate"),
    ("trigger_mode", "normal", "normal"),
    ("channels[3].enabled", False, False),
    ("channels[3].scale", 0.02, 0.02),  # 2 mV/div at the simulated 10x probe
    ("channels[3].offset", 1.5, 1.5),
    ("channels[3].coupling", "ac", "ac"),
    ("channels[3].impedance", "50", "50"),
    ("channels[3].probe_attenuation", 1, 1.0),
    ("channels[3].bandwidth_limit", True, True),
]


@pytest.mark.parametrize(("path", "value", "expected"), ROUND_TRIPS)
def test_setting_round_trip_on_pyvisa_sim(sim_instrument, round_trip, path, value, expected):
    round_trip(sim_instrument(KeysightInfiniiVision), path, value, expected)


REJECTIONS = [
    ("timebase_scale", 100.0),
    ("timebase_position", -600.0),
    ("acquisition_mode", "envelope"),
    ("averages", 70_000),
    ("record_length", 3_000_000),
    ("points_mode", "all"),
    ("waveform_format", "float"),
    ("byte_order", "middle"),
    ("unsigned", "maybe"),
    ("trigger_source", 5),
    ("trigger_level", -2e4),
    ("trigger_slope", "up"),
    ("trigger_mode", "single"),
    ("channels[3].enabled", "maybe"),
    ("channels[3].scale", 2e4),
    ("channels[3].scale", 0.002),  # under 1 mV/div at the 10x probe
    ("channels[3].scale", 100.0),  # over 5 V/div at the 10x probe
    ("channels[3].offset", 1e5),
    ("channels[3].coupling", "gnd"),
    ("channels[3].impedance", "75"),
    ("channels[3].probe_attenuation", 1e5),
    ("channels[3].bandwidth_limit", "20M"),
]


@pytest.mark.parametrize(("path", "value"), REJECTIONS)
def test_every_setting_refuses_a_bad_value_on_pyvisa_sim(sim_instrument, refused, path, value):
    refused(sim_instrument(KeysightInfiniiVision), path, value)


def test_rejected_value_leaves_the_simulated_scope_untouched(sim_instrument):
    scope = sim_instrument(KeysightInfiniiVision)
    with pytest.raises(ik.ValidationError):
        scope.record_length = 300
    assert scope.record_length == 1000
    assert scope.drain_errors() == []
    scope.session.write(":WAVeform:POINts 300")
    assert scope.drain_errors() == [(-113, "Undefined header")]


def test_not_mistaken_for_the_multimeter():
    from instrumentkit.registry import match_driver

    assert match_driver("KEYSIGHT TECHNOLOGIES,DSOX3034T,MY1,07.50") is KeysightInfiniiVision
    assert match_driver("AGILENT TECHNOLOGIES,MSO-X 4104A,MY1,07.10") is KeysightInfiniiVision
    assert match_driver("AGILENT TECHNOLOGIES,DSO-X 2004A,MY1,02.43") is KeysightInfiniiVision
    assert match_driver("Keysight Technologies,34461A,MY1,A.03") is not KeysightInfiniiVision


def test_conforms():
    check_driver(KeysightInfiniiVision)
