"""The helpers every scope driver shares (`drivers/_oscilloscope.py`), on their own: what
they accept at the edges and what their errors name."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.drivers._oscilloscope import (
    TriggerSource,
    channel_number,
    checked_preamble,
    numbers,
    poll_until,
)


def test_trigger_source_names_channels_and_others_in_lower_case():
    source = TriggerSource((1, 2), "EXT", "Line")
    assert source.names == ["ch1", "ch2", "ext", "line"]
    assert [source(v) for v in (2, "CHAN1", " Ext ", "line")] == ["ch2", "ch1", "ext", "line"]
    with pytest.raises(ValueError, match=r"not one of \['ch1', 'ch2', 'ext', 'line'\]"):
        source("ch3")


@pytest.mark.parametrize("channel", ["scope", "", "CH", 1.0, None, True])
def test_channel_number_refuses_what_names_no_channel(channel):
    with pytest.raises(ik.ValidationError, match=r"channels are \[1, 2\]") as caught:
        channel_number(channel, (1, 2), "bench-scope")
    assert caught.value.instrument == "bench-scope"


def test_numbers_errors_show_the_reply_and_name_instrument_and_command():
    cases = [
        ("1,x,3", "preamble is not 3 numbers: b'1,x,3'"),
        ("1,2", "2 fields, expected 3"),
        ("1,nan,3", "preamble holds a number that is not finite: b'1,nan,3'"),
    ]
    for reply, match in cases:
        with pytest.raises(ik.ProtocolError, match=match) as caught:
            numbers(reply, 3, separator=",", instrument="bench-scope", command=":WAV:PRE?")
        assert (caught.value.instrument, caught.value.command) == ("bench-scope", ":WAV:PRE?")


def test_a_one_point_record_is_a_record():
    pre = {"points": 1.0, "x_increment": 1e-9, "y_increment": 0.01}
    checked = checked_preamble(
        pre,
        max_points=10,
        steps=("x_increment", "y_increment"),
        reply="",
        instrument="bench-scope",
        command=":WAV:PRE?",
    )
    assert checked["points"] == 1


def test_poll_until_times_out_saying_what_to_try():
    with pytest.raises(ik.Timeout) as caught:
        poll_until(
            lambda: False,
            timeout=0.0,
            interval=0.0,
            instrument="bench-scope",
            command=":TRIG:STAT?",
            waiting_for="the acquisition",
        )
    error = caught.value
    assert str(error).endswith(
        "waited 0 s for the acquisition; is the trigger armed and the signal crossing its "
        "level? (try a longer timeout, or trigger mode auto)"
    )
    assert (error.instrument, error.command, error.timeout) == ("bench-scope", ":TRIG:STAT?", 0.0)
