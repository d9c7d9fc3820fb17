"""Tektronix TDS2000 and MSO4000: command sequences, binary fetches, pyvisa-sim round trips."""

from __future__ import annotations

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.tektronix import TektronixMSO4000, TektronixTDS2000
from instrumentkit.testing import check_driver, expected_protocol

HELLO = ("HEADer OFF;VERBose ON", None)
TDS_PREAMBLE = (
    "WFMPre:ENCdg?;BYT_Nr?;BYT_Or?;BN_Fmt?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
)
MSO_PREAMBLE = TDS_PREAMBLE.replace("WFMPre", "WFMOutpre")


def fetched(channel: int, preamble: str, reply: str, payload: bytes | None) -> tuple[str, bytes]:
    """The one message a short-record fetch sends, and the scope's one reply to it."""
    command = f"DATa:SOUrce CH{channel};:{preamble};:CURVe?"
    curve = block(payload) if payload is not None else b"1,2,3\n"
    return command, reply.encode() + b";" + curve


def block(payload: bytes) -> bytes:
    """An IEEE 488.2 definite block as the scope sends it, terminator included."""
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload + b"\n"


# -- exact command sequences


def test_opening_turns_headers_off_and_keywords_long():
    with expected_protocol(TektronixTDS2000, [HELLO]) as scope:
        assert scope.name == "expected-protocol"


def test_settings_send_the_manual_commands():
    pairs = [
        HELLO,
        ("CH2:PRObe?", "10"),
        ("CH2:SCAle 0.05", None),
        ("CH2:SCAle?", "5.0E-2"),
        ("CH1:COUPling AC", None),
        ("CH1:COUPling?", "AC"),
        ("SELect:CH3 OFF", None),
        ("SELect:CH3?", "0"),
        ("HORizontal:MAIn:SCAle 0.001", None),
        ("ACQuire:MODe AVErage", None),
        ("ACQuire:MODe?", "AVERAGE"),
        ("ACQuire:NUMAVg 64", None),
        ("TRIGger:MAIn:EDGE:SOUrce CH2", None),
        ("TRIGger:MAIn:EDGE:SOUrce?", "CH2"),
        ("TRIGger:MAIn:EDGE:SLOpe FALL", None),
        ("TRIGger:MAIn:MODe NORMal", None),
        ("TRIGger:MAIn:MODe?", "NORMAL"),
        ("HORizontal:RECOrdlength?", "2500"),
    ]
    with expected_protocol(TektronixTDS2000, pairs) as scope:
        scope.channels[2].scale = 0.05
        assert scope.channels[2].scale == 0.05
        scope.channels[1].coupling = "ac"
        assert scope.channels[1].coupling == "ac"
        scope.channels[3].enabled = False
        assert scope.channels[3].enabled is False
        scope.timebase_scale = 1e-3
        scope.acquisition_mode = "average"
        assert scope.acquisition_mode == "average"
        scope.averages = 64
        scope.trigger_source = "CH2"
        assert scope.trigger_source == "ch2"
        scope.trigger_slope = "falling"
        scope.trigger_mode = "normal"
        assert scope.trigger_mode == "normal"
        assert scope.record_length == 2500


@pytest.mark.parametrize(
    ("target", "name", "value"),
    [
        ("scope", "timebase_scale", 100.0),
        ("scope", "averages", 8),
        ("scope", "trigger_source", 5),
        ("scope", "trigger_slope", "sideways"),
        ("scope", "data_width", 4),
        ("scope", "data_encoding", "ascii"),
        ("scope", "data_start", 0),
        ("channel", "scale", 1e5),
        ("channel", "probe_attenuation", 3),
        ("channel", "coupling", "dc_reject"),
        ("channel", "position", 51),
    ],
)
def test_out_of_range_is_refused_before_any_byte(target, name, value):
    with expected_protocol(TektronixTDS2000, [HELLO]) as scope:  # any write fails the test
        owner = scope if target == "scope" else scope.channels[1]
        with pytest.raises(ik.ValidationError, match=name):
            setattr(owner, name, value)


def test_mso4000_sends_probe_gain_and_per_channel_trigger_level():
    pairs = [
        HELLO,
        ("CH1:PRObe:GAIN 0.1", None),
        ("CH1:PRObe:GAIN?", "100.0000E-3"),
        ("CH4:OFFSet -0.25", None),
        ("TRIGger:A:LEVel:CH4 0.5", None),
        ("HORizontal:RECOrdlength 1000000", None),
        ("CH2:BANdwidth?", "20.0000E+6"),
    ]
    with expected_protocol(TektronixMSO4000, pairs) as scope:
        scope.channels[1].probe_attenuation = 10
        assert scope.channels[1].probe_attenuation == 10
        scope.channels[4].offset = -0.25
        scope.channels[4].trigger_level = 0.5
        scope.record_length = 1_000_000
        assert scope.channels[2].bandwidth_limit == 20e6
    with (
        expected_protocol(TektronixMSO4000, [HELLO]) as scope,
        pytest.raises(ik.ValidationError, match="record_length"),
    ):
        scope.record_length = 5000


def test_single_arms_one_sequence_and_waits_on_busy():
    pairs = [
        HELLO,
        ("ACQuire:STOPAfter SEQuence", None),
        ("ACQuire:STATE RUN", None),
        ("BUSY?", "1"),
        ("BUSY?", "1"),
        ("BUSY?", "0"),
    ]
    with expected_protocol(TektronixTDS2000, pairs) as scope:
        scope.poll_interval = 0.0
        scope.single()
        scope.wait_for_acquisition(timeout=5)


def test_run_and_stop():
    pairs = [
        HELLO,
        ("ACQuire:STOPAfter RUNSTop", None),
        ("ACQuire:STATE RUN", None),
        ("ACQuire:STATE STOP", None),
        ("ACQuire:STATE?", "0"),
    ]
    with expected_protocol(TektronixTDS2000, pairs) as scope:
        scope.run()
        scope.stop()
        assert scope.acquiring is False


def test_wait_timeout_says_what_it_waited_for():
    # With no time left, one poll is made, then the error.
    with (
        expected_protocol(TektronixTDS2000, [HELLO, ("BUSY?", "1")]) as scope,
        pytest.raises(ik.Timeout, match="single-sequence acquisition") as caught,
    ):
        scope.wait_for_acquisition(timeout=0.0)
    assert caught.value.command == "BUSY?"
    assert caught.value.instrument == "expected-protocol"


# -- binary waveform transfer


def test_fetch_one_byte_signed_msb_first():
    codes = np.array([-128, -1, 0, 1, 25, 127], dtype=np.int8)
    pairs = [
        HELLO,
        fetched(
            2,
            TDS_PREAMBLE,
            "BINARY;1;MSB;RI;6;4.0E-6;-5.0E-3;0;4.0E-2;0.0E0;1.0E-1",
            codes.tobytes(),
        ),
    ]
    with expected_protocol(TektronixTDS2000, pairs) as scope:
        waveform = scope.fetch(2)
    np.testing.assert_array_equal(waveform.raw, codes)
    np.testing.assert_allclose(waveform.y, codes * 0.04 + 0.1)
    assert waveform.y.dtype == np.float64
    assert (waveform.x0, waveform.dx) == (-5e-3, 4e-6)
    assert waveform.channel == "CH2"
    assert waveform.units == "V"


def test_fetch_two_bytes_lsb_first_with_offsets():
    codes = np.array([-32768, -256, 0, 256, 32512], dtype="<i2")
    pairs = [
        HELLO,
        # SRIbinary: signed, least significant byte first; YOFf in codes, PT_Off in points.
        fetched(
            1, MSO_PREAMBLE, "BINARY;2;LSB;RI;5;1.0E-9;2.0E-6;2;1.5625E-5;256;-0.5", codes.tobytes()
        ),
    ]
    with expected_protocol(TektronixMSO4000, pairs) as scope:
        waveform = scope.fetch("CH1")
    assert waveform.raw.dtype == np.dtype("<i2")
    np.testing.assert_array_equal(waveform.raw, codes)
    np.testing.assert_allclose(waveform.y, (codes.astype(float) - 256) * 1.5625e-5 - 0.5)
    np.testing.assert_allclose(waveform.t, 2e-6 + (np.arange(5) - 2) * 1e-9)


def test_fetch_two_bytes_msb_first_unsigned():
    codes = np.array([0, 32768, 65535], dtype=">u2")
    pairs = [
        HELLO,
        fetched(
            3, MSO_PREAMBLE, "BINARY;2;MSB;RP;3;1.0E-9;0.0;0;1.0E-4;32768;0.0", codes.tobytes()
        ),
    ]
    with expected_protocol(TektronixMSO4000, pairs) as scope:
        waveform = scope.fetch(3)
    assert waveform.raw.dtype == np.dtype(">u2")
    np.testing.assert_allclose(waveform.y, [-3.2768, 0.0, 3.2767])


def test_fetch_all_reads_each_channel_of_the_same_record():
    one = np.array([1, 2], dtype=np.int8)
    two = np.array([3, 4], dtype=np.int8)
    preamble = "BINARY;1;MSB;RI;2;1.0E-3;0.0;0;1.0;0.0;0.0"
    pairs = [
        HELLO,
        fetched(1, TDS_PREAMBLE, preamble, one.tobytes()),
        fetched(4, TDS_PREAMBLE, preamble, two.tobytes()),
    ]
    with expected_protocol(TektronixTDS2000, pairs) as scope:
        first, fourth = scope.fetch_all([1, 4])
    assert (first.channel, fourth.channel) == ("CH1", "CH4")
    np.testing.assert_array_equal(fourth.y, [3.0, 4.0])


def test_fetch_refuses_an_unknown_channel_before_sending():
    with (
        expected_protocol(TektronixTDS2000, [HELLO]) as scope,
        pytest.raises(ik.ValidationError, match="channels are"),
    ):
        scope.fetch(5)


def test_fetch_refuses_ascii_encoding_clearly():
    pairs = [HELLO, fetched(1, TDS_PREAMBLE, "ASCII;1;MSB;RI;3;1;0;0;1;0;0", None)]
    with (
        expected_protocol(TektronixTDS2000, pairs) as scope,
        pytest.raises(ik.ProtocolError, match="not binary"),
    ):
        scope.fetch(1)


def test_fetch_notices_a_short_curve():
    pairs = [
        HELLO,
        fetched(1, TDS_PREAMBLE, "BINARY;1;MSB;RI;2500;4.0E-6;0;0;0.04;0;0", b"\x01\x02"),
    ]
    with (
        expected_protocol(TektronixTDS2000, pairs) as scope,
        pytest.raises(ik.ProtocolError, match="2500"),
    ):
        scope.fetch(1)


# -- on the pyvisa-sim models

TDS_ROUND_TRIPS = [
    ("timebase_scale", 2.5e-6, 2.5e-6),
    ("timebase_position", -1e-3, -1e-3),
    ("acquisition_mode", "peak", "peak"),
    ("averages", 128, 128),
    ("trigger_source", 4, "ch4"),
    ("trigger_source", "ext5", "ext5"),
    ("trigger_level", 1.25, 1.25),
    ("trigger_slope", "falling", "falling"),
    ("trigger_mode", "normal", "normal"),
    ("data_encoding", "sribinary", "sribinary"),
    ("data_width", 2, 2),
    ("data_start", 10, 10),
    ("data_stop", 2000, 2000),
    ("stop_after", "sequence", "sequence"),
    ("acquiring", False, False),
    ("channels[3].enabled", False, False),
    ("channels[3].scale", 0.2, 0.2),
    ("channels[3].position", -2.5, -2.5),
    ("channels[3].coupling", "gnd", "gnd"),
    ("channels[3].probe_attenuation", 100, 100.0),
    ("channels[3].bandwidth_limit", True, True),
]


@pytest.mark.parametrize(("path", "value", "expected"), TDS_ROUND_TRIPS)
def test_tds2000_setting_round_trip_on_pyvisa_sim(
    sim_instrument, round_trip, path, value, expected
):
    round_trip(sim_instrument(TektronixTDS2000), path, value, expected)


MSO_ROUND_TRIPS = [
    ("data_encoding", "srpbinary", "srpbinary"),
    ("data_width", 2, 2),
    ("data_start", 1000, 1000),
    ("data_stop", 20_000_000, 20_000_000),
    ("stop_after", "sequence", "sequence"),
    ("acquiring", False, False),
    ("channels[2].enabled", False, False),
    ("channels[2].scale", 0.01, 0.01),
    ("channels[2].position", 3.0, 3.0),
    ("timebase_scale", 2e-7, 2e-7),
    ("timebase_position", 10.0, 10.0),
    ("timebase_delay", 5e-6, 5e-6),
    ("delay_enabled", True, True),
    ("record_length", 20_000_000, 20_000_000),
    ("acquisition_mode", "hires", "hires"),
    ("averages", 512, 512),
    ("trigger_source", "aux", "aux"),
    ("trigger_slope", "either", "either"),
    ("trigger_mode", "normal", "normal"),
    ("channels[2].offset", 0.75, 0.75),
    ("channels[2].coupling", "dc_reject", "dc_reject"),
    ("channels[2].termination", 50, 50.0),
    ("channels[2].probe_attenuation", 1, 1.0),
    ("channels[2].trigger_level", -0.1, -0.1),
    ("channels[2].bandwidth_limit", 20e6, 20e6),
]


@pytest.mark.parametrize(("path", "value", "expected"), MSO_ROUND_TRIPS)
def test_mso4000_setting_round_trip_on_pyvisa_sim(
    sim_instrument, round_trip, path, value, expected
):
    round_trip(sim_instrument(TektronixMSO4000), path, value, expected)


TDS_REJECTIONS = [
    ("timebase_scale", 1e-9),
    ("timebase_position", 1e3),
    ("acquisition_mode", "hires"),
    ("averages", 32),
    ("trigger_source", "line"),
    ("trigger_level", 2e4),
    ("trigger_slope", "either"),
    ("trigger_mode", "single"),
    ("data_encoding", "ascii"),
    ("data_width", 3),
    ("data_start", 0),
    ("data_stop", 2.5),
    ("stop_after", "forever"),
    ("acquiring", "maybe"),
    ("channels[3].enabled", "maybe"),
    ("channels[3].scale", 0.0),
    ("channels[3].scale", 0.01),  # under 2 mV/div at the simulated 10x probe
    ("channels[3].scale", 60.0),  # over 5 V/div at the 10x probe
    ("channels[3].position", -60),
    ("channels[3].coupling", "dc_reject"),
    ("channels[3].probe_attenuation", 2),
    ("channels[3].bandwidth_limit", 20e6),
]
MSO_REJECTIONS = [
    ("channels[2].scale", 0.005),  # under 1 mV/div at the simulated 10x probe
    ("channels[2].scale", 200.0),  # over 10 V/div at the 10x probe
    ("timebase_position", 150.0),
    ("timebase_delay", 1e4),
    ("delay_enabled", "sometimes"),
    ("record_length", 5_000_000),
    ("acquisition_mode", "roll"),
    ("averages", 3),
    ("trigger_source", "ext"),
    ("channels[2].offset", 2e3),
    ("channels[2].coupling", "gnd"),
    ("channels[2].termination", 75),
    ("channels[2].probe_attenuation", 0),
    ("channels[2].trigger_level", float("nan")),
    ("channels[2].bandwidth_limit", 1e3),
]


@pytest.mark.parametrize(
    ("driver", "path", "value"),
    [(TektronixTDS2000, *case) for case in TDS_REJECTIONS]
    + [(TektronixMSO4000, *case) for case in MSO_REJECTIONS],
)
def test_every_setting_refuses_a_bad_value_on_pyvisa_sim(
    sim_instrument, refused, driver, path, value
):
    refused(sim_instrument(driver), path, value)


def test_rejected_value_leaves_the_simulated_scope_untouched(sim_instrument):
    scope = sim_instrument(TektronixTDS2000)
    with pytest.raises(ik.ValidationError):
        scope.channels[1].probe_attenuation = 7
    assert scope.channels[1].probe_attenuation == 10.0
    assert scope.drain_errors() == []
    # The simulator itself refuses what the driver would: proof the YAML has specs.
    scope.session.write("CH1:PRObe 7")
    assert scope.drain_errors() == [(113, "Undefined header")]


def test_ik_open_picks_the_driver_from_idn():
    from instrumentkit.simfiles import sim_backend

    with ik.open(TektronixTDS2000.sim_resource, backend=sim_backend(TektronixTDS2000)) as scope:
        assert type(scope) is TektronixTDS2000
        assert scope.idn.model == "TDS 2024C"


@pytest.mark.parametrize("driver", [TektronixTDS2000, TektronixMSO4000])
def test_conforms(driver):
    check_driver(driver)
