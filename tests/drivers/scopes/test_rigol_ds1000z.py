"""Rigol DS1000Z: exact command sequences, chunked deep-memory fetches, pyvisa-sim round trips."""

from __future__ import annotations

import numpy as np
import pytest

import instrumentkit as ik
from instrumentkit.drivers.rigol import RigolDS1000Z
from instrumentkit.testing import check_driver, expected_protocol


def block(payload: bytes) -> bytes:
    """A DS1000Z block: always a 9-digit length field."""
    return b"#9" + f"{len(payload):09d}".encode() + payload + b"\n"


def test_settings_send_the_manual_commands():
    pairs = [
        (":CHAN1:PROB?", "1.000000e+00"),
        (":CHAN1:SCAL 0.2", None),
        (":CHAN1:SCAL?", "2.000000e-01"),
        (":CHAN1:PROB?", "1.000000e+00"),
        (":CHAN1:SCAL?", "2.000000e-01"),
        (":CHAN1:OFFS -0.4", None),
        (":CHAN2:BWL 20M", None),
        (":CHAN2:BWL?", "20M"),
        (":CHAN3:PROB 10", None),
        (":TIM:MAIN:SCAL 5e-05", None),
        (":ACQ:MDEP 12000000", None),
        (":ACQ:MDEP?", "12000000"),
        (":ACQ:MDEP AUTO", None),
        (":ACQ:MDEP?", "AUTO"),
        (":ACQ:TYPE AVER", None),
        (":ACQ:AVER 64", None),
        (":TRIG:EDG:SOUR CHAN2", None),
        (":TRIG:EDG:SLOP RFAL", None),
        (":TRIG:EDG:SLOP?", "RFAL"),
        (":TRIG:SWE NORM", None),
        (":WAV:MODE RAW", None),
        (":WAV:FORM BYTE", None),
    ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        scope.channels[1].scale = 0.2
        assert scope.channels[1].scale == 0.2
        scope.channels[1].offset = -0.4
        scope.channels[2].bandwidth_limit = True
        assert scope.channels[2].bandwidth_limit is True
        scope.channels[3].probe_attenuation = 10
        scope.timebase_scale = 5e-5
        scope.record_length = 12_000_000
        assert scope.record_length == 12_000_000
        scope.record_length = "auto"
        assert scope.record_length == "AUTO"
        scope.acquisition_mode = "average"
        scope.averages = 64
        scope.trigger_source = "chan2"
        scope.trigger_slope = "either"
        assert scope.trigger_slope == "either"
        scope.trigger_mode = "normal"
        scope.waveform_mode = "raw"
        scope.waveform_format = "byte"


@pytest.mark.parametrize(
    ("target", "name", "value"),
    [
        ("scope", "record_length", 10_000),
        ("scope", "averages", 3),
        ("scope", "timebase_scale", 1e-9),
        ("scope", "trigger_source", "ext"),
        ("scope", "waveform_mode", "fast"),
        ("channel", "probe_attenuation", 3),
        ("channel", "scale", 2e4),
        ("channel", "coupling", "dc_reject"),
    ],
)
def test_out_of_range_is_refused_before_any_byte(target, name, value):
    with expected_protocol(RigolDS1000Z, []) as scope:  # any write fails the test
        owner = scope if target == "scope" else scope.channels[4]
        with pytest.raises(ik.ValidationError, match=name):
            setattr(owner, name, value)


@pytest.mark.parametrize(
    ("probe", "scale", "accepted"),
    [
        ("1", 1e-3, True),
        ("1", 10, True),
        ("1", 500, False),
        ("1", 9e-4, False),
        ("100", 500, True),
        ("100", 1000, True),
        ("100", 0.05, False),
        ("0.01", 1e-5, True),
        ("0.01", 1e-3, True),
        ("0.01", 0.2, False),
    ],
)
def test_vertical_scale_is_1_mv_to_10_v_per_div_times_the_probe_ratio(probe, scale, accepted):
    pairs = [(":CHAN2:PROB?", probe)] + ([(f":CHAN2:SCAL {scale}", None)] if accepted else [])
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        if accepted:
            scope.channels[2].scale = scale
        else:
            with pytest.raises(ik.ValidationError, match=r"scale = .* refused before sending"):
                scope.channels[2].scale = scale


@pytest.mark.parametrize(
    ("probe", "scale", "offset", "accepted"),
    [
        ("1", "0.499", 2.0, True),
        ("1", "0.499", 2.5, False),
        ("1", "0.5", -100.0, True),
        ("1", "0.5", 101.0, False),
        # 10x probe, 1 V/div = 100 mV/div at the input: +-2 V x 10 both ways
        ("10", "1.0", 19.5, True),
        ("10", "1.0", -19.5, True),
        ("10", "1.0", 20.5, False),
        ("10", "1.0", -20.5, False),
    ],
)
def test_offset_limit_follows_the_scale(probe, scale, offset, accepted):
    pairs = [(":CHAN3:PROB?", probe), (":CHAN3:SCAL?", scale)]
    pairs += [(f":CHAN3:OFFS {offset}", None)] if accepted else []
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        if accepted:
            scope.channels[3].offset = offset
        else:
            with pytest.raises(ik.ValidationError, match="offset"):
                scope.channels[3].offset = offset


@pytest.mark.parametrize("value", [5e-9, 1e-8, 2e-8, 5e-7, 1e-3, 2.0, 50.0])
def test_timebase_takes_the_1_2_5_steps_from_5_ns_to_50_s(value):
    with expected_protocol(RigolDS1000Z, [(f":TIM:MAIN:SCAL {value}", None)]) as scope:
        scope.timebase_scale = value


@pytest.mark.parametrize("value", [2e-9, 3e-9, 7e-6, 0.25, 100.0])
def test_timebase_refuses_what_the_knob_does_not_have(value):
    with expected_protocol(RigolDS1000Z, []) as scope, pytest.raises(ik.ValidationError):
        scope.timebase_scale = value


def test_screen_fetch_in_one_chunk():
    codes = np.array([0, 127, 255], dtype=np.uint8)
    pairs = [
        (":WAV:SOUR CHAN1", None),
        (":WAV:PRE?", "0,0,3,1,1.000000e-06,-6.000000e-04,0,4.000000e-02,-25,127"),
        (":WAV:STAR 1", None),
        (":WAV:STOP 3", None),
        (":WAV:DATA?", block(codes.tobytes())),
    ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        waveform = scope.fetch(1)
    # volts = (code - YORigin - YREFerence) * YINCrement
    np.testing.assert_allclose(waveform.y, (codes.astype(float) + 25 - 127) * 0.04)
    np.testing.assert_allclose(waveform.t, -6e-4 + np.arange(3) * 1e-6)
    np.testing.assert_array_equal(waveform.raw, codes)


@pytest.mark.parametrize("form", ["byte", "word"])
def test_scaling_follows_the_programming_guide_with_every_preamble_term(form):
    """DS1000Z programming guide, :WAVeform:PREamble? (format, type, points, count,
    xincrement, xorigin, xreference, yincrement, yorigin, yreference) and the
    :WAVeform:DATA? example: voltage = (byte - YORigin - YREFerence) * YINCrement and
    time = (index - XREFerence) * XINCrement + XORigin, index from 0. Every term is
    non-zero here (the lab model always sends XREF = 0, YORigin 0) and the expected
    numbers are worked out by hand, not by the driver's or the model's arithmetic:
    YINC 0.0390625 = 5/128 V, YOR -17, YREF 127, so volts = (byte - 110) * 5/128;
    XINC 0.5 us, XOR -250 us, XREF 3, so t = -250 us + (index - 3) * 0.5 us.
    WORD carries the same 8-bit codes in the low byte of little-endian words.
    """
    codes = [0, 1, 127, 144, 255]
    payload = bytes(codes) if form == "byte" else b"".join(bytes([c, 0]) for c in codes)
    pairs = [
        (":WAV:SOUR CHAN2", None),
        (
            ":WAV:PRE?",
            f"{0 if form == 'byte' else 1},2,5,1,5.000000e-07,-2.500000e-04,3,3.906250e-02,-17,127",
        ),
        (":WAV:STAR 1", None),
        (":WAV:STOP 5", None),
        (":WAV:DATA?", block(payload)),
    ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        waveform = scope.fetch(2)
    # (0-110)*5/128, (1-110)*5/128, (127-110)*5/128, (144-110)*5/128, (255-110)*5/128
    np.testing.assert_allclose(
        waveform.y, [-4.296875, -4.2578125, 0.6640625, 1.328125, 5.6640625], rtol=1e-12
    )
    # -250 us + (-3, -2, -1, 0, 1) * 0.5 us
    np.testing.assert_allclose(
        waveform.t, [-251.5e-6, -251.0e-6, -250.5e-6, -250.0e-6, -249.5e-6], rtol=1e-12
    )
    np.testing.assert_array_equal(waveform.raw, codes)


def test_deep_memory_is_read_in_250k_point_chunks():
    points = 600_000
    codes = (np.arange(points) % 256).astype(np.uint8)
    pairs = [
        (":WAV:SOUR CHAN3", None),
        (":WAV:PRE?", f"0,0,{points},1,1.000000e-09,-3.000000e-04,0,1.0e-02,0,127"),
    ]
    for start, stop in ((1, 250_000), (250_001, 500_000), (500_001, 600_000)):
        pairs += [
            (f":WAV:STAR {start}", None),
            (f":WAV:STOP {stop}", None),
            (":WAV:DATA?", block(codes[start - 1 : stop].tobytes())),
        ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        waveform = scope.fetch(3)
    assert len(waveform) == points
    np.testing.assert_array_equal(waveform.raw, codes)
    np.testing.assert_allclose(waveform.y[:3], [-1.27, -1.26, -1.25])
    assert waveform.dx == 1e-9


def test_word_format_is_read_in_125k_point_little_endian_chunks():
    points = 130_000
    codes = (np.arange(points) % 256).astype("<u2")
    pairs = [
        (":WAV:SOUR CHAN2", None),
        (":WAV:PRE?", f"1,0,{points},1,1e-09,0,0,1.0e-02,0,127"),
        (":WAV:STAR 1", None),
        (":WAV:STOP 125000", None),
        (":WAV:DATA?", block(codes[:125_000].tobytes())),
        (":WAV:STAR 125001", None),
        (":WAV:STOP 130000", None),
        (":WAV:DATA?", block(codes[125_000:].tobytes())),
    ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        waveform = scope.fetch(2)
    assert waveform.raw.dtype == np.dtype("<u2")
    np.testing.assert_array_equal(waveform.raw, codes)


@pytest.mark.parametrize(
    ("points", "chunks"),
    [
        (250_000, [(1, 250_000)]),  # exactly one read's worth: one chunk
        (250_001, [(1, 250_000), (250_001, 250_001)]),  # the last point alone
        (500_000, [(1, 250_000), (250_001, 500_000)]),  # no empty chunk after the last
    ],
)
def test_chunk_boundaries(points, chunks):
    codes = (np.arange(points) % 251).astype(np.uint8)
    pairs = [
        (":WAV:SOUR CHAN1", None),
        (":WAV:PRE?", f"0,2,{points},1,1e-09,0,0,0.01,0,127"),
    ]
    for start, stop in chunks:
        pairs += [
            (f":WAV:STAR {start}", None),
            (f":WAV:STOP {stop}", None),
            (":WAV:DATA?", block(codes[start - 1 : stop].tobytes())),
        ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        waveform = scope.fetch(1)
    np.testing.assert_array_equal(waveform.raw, codes)


def test_a_chunk_of_the_wrong_size_is_an_error():
    pairs = [
        (":WAV:SOUR CHAN1", None),
        (":WAV:PRE?", "0,0,10,1,1e-06,0,0,0.04,0,127"),
        (":WAV:STAR 1", None),
        (":WAV:STOP 10", None),
        (":WAV:DATA?", block(bytes(8))),
    ]
    with (
        expected_protocol(RigolDS1000Z, pairs) as scope,
        pytest.raises(ik.ProtocolError, match=r"points 1\.\.10, got 8") as caught,
    ):
        scope.fetch(1)
    assert (caught.value.instrument, caught.value.command) == ("expected-protocol", ":WAV:DATA?")


def test_preamble_fields_by_name():
    """The ten fields in the programming guide's order; each one distinct here."""
    reply = "1,2,1200,4,5.000000e-07,-2.500000e-04,3,3.906250e-02,-17,127"
    with expected_protocol(RigolDS1000Z, [(":WAV:PRE?", reply)]) as scope:
        preamble = scope.preamble()
    assert preamble == {
        "format": "WORD",
        "type": 2,
        "points": 1200,
        "count": 4,
        "x_increment": 5e-7,
        "x_origin": -2.5e-4,
        "x_reference": 3.0,
        "y_increment": 0.0390625,
        "y_origin": -17.0,
        "y_reference": 127.0,
    }
    assert type(preamble["points"]) is int


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        # format 0 BYTE, 1 WORD, 2 ASCii; a code the guide does not list is shown as sent
        (
            "2,0,1200,1,1e-06,0,0,0.04,0,127",
            "waveform format is ASC, not binary; set waveform_format to 'byte' or 'word'",
        ),
        ("3,0,1200,1,1e-06,0,0,0.04,0,127", "waveform format is 3, not binary"),
        ("0,0,1200,1,1e-06,0,0,0.04,0", "9 fields, expected 10"),
        ("0,0,0,1,1e-06,0,0,0.04,0,127", "points is 0.0"),
    ],
)
def test_a_preamble_that_cannot_be_read_names_the_scope_and_the_query(reply, match):
    pairs = [(":WAV:SOUR CHAN1", None), (":WAV:PRE?", reply)]
    with (
        expected_protocol(RigolDS1000Z, pairs) as scope,
        pytest.raises(ik.ProtocolError, match=match) as caught,
    ):
        scope.fetch(1)
    assert (caught.value.instrument, caught.value.command) == ("expected-protocol", ":WAV:PRE?")


def test_an_unknown_channel_is_refused_naming_the_scope():
    with (
        expected_protocol(RigolDS1000Z, []) as scope,
        pytest.raises(ik.ValidationError, match="no analog channel 5") as caught,
    ):
        scope.fetch(5)
    assert caught.value.instrument == "expected-protocol"


def test_the_waveform_is_stamped_before_the_transfer_and_keeps_its_preamble(monkeypatch):
    from instrumentkit.drivers.rigol import ds1000z

    monkeypatch.setattr(ds1000z, "now_ns", lambda: 1_700_000_000_000_000_000)
    pre = "0,0,2,1,1.000000e-06,0,0,4.000000e-02,0,127"
    pairs = [
        (":WAV:SOUR CHAN4", None),
        (":WAV:PRE?", pre),
        (":WAV:STAR 1", None),
        (":WAV:STOP 2", None),
        (":WAV:DATA?", block(b"\x7f\x80")),
    ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        waveform = scope.fetch("CHAN4")
    assert waveform.timestamp_ns == 1_700_000_000_000_000_000
    assert waveform.channel == "CHAN4"
    assert waveform.meta["preamble"]["y_reference"] == 127.0
    assert waveform.meta["preamble"]["points"] == 2


def test_single_waits_until_the_scope_has_stopped_again():
    pairs = [
        (":SING", None),
        (":TRIG:STAT?", "STOP"),  # stale: the scope has not armed yet
        (":TRIG:STAT?", "WAIT"),
        (":TRIG:STAT?", "TD"),
        (":TRIG:STAT?", "STOP"),
    ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        scope.poll_interval = 0.0
        scope.single()
        scope.wait_for_acquisition(timeout=5)


def test_without_single_a_stop_counts_at_once():
    """Nothing armed (never, or the last wait finished, or a resync forgot the arming):
    STOP is the scope's state, not a stale one, and the default timeout applies."""
    pairs = [
        (":TRIG:STAT?", "STOP"),
        (":SING", None),
        (":TRIG:STAT?", "TD"),
        (":TRIG:STAT?", "STOP"),
        (":TRIG:STAT?", "STOP"),
        (":SING", None),
        ("*OPC?", "1"),
        (":TRIG:STAT?", "STOP"),
    ]
    with expected_protocol(RigolDS1000Z, pairs) as scope:
        scope.poll_interval = 0.0
        scope.wait_for_acquisition()
        scope.single()
        scope.wait_for_acquisition()
        scope.wait_for_acquisition()  # that arming is used up
        scope.single()
        scope.resync()  # was :SING heard? the next wait starts afresh
        scope.wait_for_acquisition()


def test_wait_timeout_names_what_it_polled():
    with (
        expected_protocol(RigolDS1000Z, [(":TRIG:STAT?", "WAIT")]) as scope,
        pytest.raises(ik.Timeout, match="never reached STOP") as caught,
    ):
        scope.wait_for_acquisition(timeout=0.0)
    assert caught.value.command == ":TRIG:STAT?"


def test_run_and_stop():
    with expected_protocol(RigolDS1000Z, [(":RUN", None), (":STOP", None)]) as scope:
        scope.run()
        scope.stop()


ROUND_TRIPS = [
    ("timebase_scale", 2e-3, 2e-3),
    ("timebase_position", -1e-4, -1e-4),
    ("record_length", 24_000_000, 24_000_000),
    ("acquisition_mode", "peak", "peak"),
    ("averages", 1024, 1024),
    ("trigger_source", "line", "line"),
    ("trigger_level", 0.125, 0.125),
    ("trigger_slope", "falling", "falling"),
    ("trigger_mode", "single", "single"),
    ("waveform_mode", "maximum", "maximum"),
    ("waveform_format", "word", "word"),
    ("channels[4].enabled", False, False),
    ("channels[4].scale", 0.05, 0.05),  # the simulated probe is 10x
    ("channels[4].offset", -2.0, -2.0),
    ("channels[4].coupling", "ac", "ac"),
    ("channels[4].probe_attenuation", 0.01, 0.01),
    ("channels[4].bandwidth_limit", True, True),
]


@pytest.mark.parametrize(("path", "value", "expected"), ROUND_TRIPS)
def test_setting_round_trip_on_pyvisa_sim(sim_instrument, round_trip, path, value, expected):
    round_trip(sim_instrument(RigolDS1000Z), path, value, expected)


REJECTIONS = [
    ("timebase_scale", 100.0),
    ("timebase_position", 600.0),
    ("record_length", 10_000_000),
    ("acquisition_mode", "envelope"),
    ("averages", 2048),
    ("trigger_source", "ext"),
    ("trigger_level", 2e4),
    ("trigger_slope", "up"),
    ("trigger_mode", "roll"),
    ("waveform_mode", "all"),
    ("waveform_format", "float"),
    ("channels[4].enabled", "maybe"),
    ("channels[4].scale", 0.0),
    ("channels[4].scale", 0.005),  # under 1 mV/div at the 10x probe
    ("channels[4].scale", 500.0),  # over 10 V/div at the 10x probe
    ("channels[4].offset", 25.0),  # over +-20 V at 100 mV/div (the sim's) and 10x
    ("timebase_scale", 3e-3),  # not a 1-2-5 step
    ("channels[4].offset", -2e4),
    ("channels[4].coupling", "dc_reject"),
    ("channels[4].probe_attenuation", 3),
    ("channels[4].bandwidth_limit", "100M"),
]


@pytest.mark.parametrize(("path", "value"), REJECTIONS)
def test_every_setting_refuses_a_bad_value_on_pyvisa_sim(sim_instrument, refused, path, value):
    refused(sim_instrument(RigolDS1000Z), path, value)


def test_rejected_value_leaves_the_simulated_scope_untouched(sim_instrument):
    scope = sim_instrument(RigolDS1000Z)
    with pytest.raises(ik.ValidationError):
        scope.averages = 100
    assert scope.averages == 2
    assert scope.drain_errors() == []
    scope.session.write(":ACQ:AVER 100")
    assert scope.drain_errors() == [(-113, "Undefined header")]


def test_sample_rate_and_conformance():
    check_driver(RigolDS1000Z)
    with RigolDS1000Z.open_sim() as scope:
        assert scope.sample_rate == 1e9
