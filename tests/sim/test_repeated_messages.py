"""A message sent again is parsed once, but still answers from the present state.

ScpiDevice keeps the parse of each message it has seen; these tests send the same bytes
twice around a change and check the second answer, the errors and the relative paths.
"""

from __future__ import annotations

import numpy as np

from instrumentkit.sim import ScpiDevice, binary_block, command, create


class Learner(ScpiDevice):
    """A device whose `LEARN` command adds `TAUGht?` to its table while a message runs."""

    idn = "Acme,LEARNER,0001,1.0"

    @command("LEARN")
    def learn(self) -> None:
        self.add_command("TAUGht?", lambda: "learnt")


def test_a_repeated_query_answers_the_setting_as_it_is_now(connect):
    session = connect(create("test-meter"))
    compound = "VOLT:RANG?;:CHAN2:SCAL?;*IDN?"
    assert session.query(compound) == "+1.000000000E+01;+1.000000000E+00;Acme,METER1,0001,1.0"
    session.write("VOLT:RANG 2;:CHAN2:SCAL 0.5")
    assert session.query(compound) == "+2.000000000E+00;+5.000000000E-01;Acme,METER1,0001,1.0"


def test_relative_headers_of_a_repeated_message_keep_their_path(connect):
    device = create("test-meter")
    session = connect(device)
    for _ in range(2):
        session.write("*RST")
        session.write(":SENS:VOLT:RANG 20;NPLC 100")
        assert session.query("*OPC?") == "1"
        assert (device.range, device.nplc) == (20.0, 100.0)
    assert session.query("SYST:ERR?") == '+0,"No error"'


def test_an_error_mid_message_stops_it_every_time_it_is_sent(connect):
    device = create("test-meter")
    session = connect(device)
    bad = "*IDN?;:VOLT:RANG 5000;:VOLT:NPLC 10"
    assert session.query(bad) == "Acme,METER1,0001,1.0"
    assert session.query(bad) == "Acme,METER1,0001,1.0"
    assert device.nplc == 1.0  # the unit after the error never ran
    assert session.query("SYST:ERR:COUN?") == "2"
    assert session.query("SYST:ERR?") == '-222,"Data out of range"'
    assert session.query("SYST:ERR?") == '-222,"Data out of range"'


def test_an_unknown_header_mid_message_stops_it_every_time_it_is_sent(connect):
    device = create("test-meter")
    session = connect(device)
    for _ in range(2):
        session.write("VOLT:RANG 2;:BOGUS 1;:VOLT:NPLC 10")
        assert session.query("*OPC?") == "1"
        assert (device.range, device.nplc) == (2.0, 1.0)
    assert session.query("SYST:ERR?") == '-113,"Undefined header"'
    assert session.query("SYST:ERR?") == '-113,"Undefined header"'
    assert session.query("SYST:ERR?") == '+0,"No error"'


def test_a_command_added_after_a_message_was_seen_takes_effect(connect):
    device = create("test-meter")
    session = connect(device)
    assert session.query("*IDN?;:VOLT:RANG?") == "Acme,METER1,0001,1.0;+1.000000000E+01"
    session.write("FROB?")
    assert session.query("SYST:ERR?") == '-113,"Undefined header"'
    with device.lock:
        device.add_command("*IDN?", lambda: "Acme,OTHER,0002,2.0")
        device.add_command("FROB?", lambda: "42")
    assert session.query("*IDN?;:VOLT:RANG?") == "Acme,OTHER,0002,2.0;+1.000000000E+01"
    assert session.query("FROB?") == "42"
    assert session.query("SYST:ERR?") == '+0,"No error"'


def test_a_command_added_by_a_handler_serves_the_rest_of_its_message(connect):
    session = connect(Learner())
    assert session.query("LEARN;TAUGht?") == "learnt"
    assert session.query("LEARN;TAUGht?") == "learnt"
    assert session.query("SYST:ERR?") == '+0,"No error"'


def test_block_uploads_longer_than_the_cache_limit_still_run(connect):
    session = connect(create("test-meter"))
    values = np.arange(1000, dtype="<f4")
    for scale in (1, 2):
        session.write_raw(b':TRAC:DATA "a",' + binary_block(values * scale) + b"\n")
        back = session.query_block(':TRAC:DATA? "a"', dtype=np.float32)
        np.testing.assert_array_equal(back, values * scale)
