"""A message sent again is parsed once, but still answers from the present state.

ScpiDevice keeps the parse of each message it has seen; these tests send the same bytes
twice around a change and check the second answer, the errors and the relative paths.
"""

from __future__ import annotations

import numpy as np
import pytest

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


# -- answers kept per settings version (the scope preambles)

PREAMBLE = (
    "WFMOutpre:BYT_Nr?;BYT_Or?;ENCdg?;BN_Fmt?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
)
FETCH = f"DATa:SOUrce CH1;:{PREAMBLE};:CURVe?"
CHANGES = [
    "CH1:SCAle 0.2",
    "CH1:POSition 1.5",
    "CH1:OFFSet 0.05",
    "DATa:WIDth 2",
    "DATa:ENCdg SRPbinary",
    "DATa:STARt 101;STOP 900",
    "HORizontal:POSition 10",
    "HORizontal:SCAle 1e-5",
    "HORizontal:DELay:MODe ON;TIMe 2e-6",
    "HORizontal:RECOrdlength 1000",
]


def _stopped_mso(**options):
    from instrumentkit.drivers.tektronix.mso4000_sim import MSO4104Model

    return MSO4104Model(seed=1, **options)


def _fresh_answer(setup: list[str], query: str) -> str:
    """What a new model, never asked before, answers after the same commands."""
    model = _stopped_mso()
    sent: list[bytes] = []
    model.send = lambda data, **_: sent.append(data)  # type: ignore[method-assign]
    for message in setup:
        model.handle(message.encode())
    model.handle(query.encode())
    return sent[-1].decode("latin-1").rstrip("\n")


@pytest.mark.parametrize("change", CHANGES)
def test_a_repeated_preamble_query_follows_every_setting_it_is_made_of(connect, change):
    session = connect(_stopped_mso())
    session.write("HEADer OFF;VERBose ON;:ACQuire:STOPAfter SEQuence;STATE RUN")
    before = session.query(f":{PREAMBLE}")
    session.write(change)
    after = session.query(f":{PREAMBLE}")
    assert after != before
    setup = ["HEADer OFF;VERBose ON;:ACQuire:STOPAfter SEQuence;STATE RUN", change]
    assert after == _fresh_answer(setup, f":{PREAMBLE}")


def test_the_fetch_message_answers_like_a_fresh_model_after_each_change(connect):
    session = connect(_stopped_mso())
    setup = ["HEADer OFF;VERBose ON;:DATa:WIDth 2;:ACQuire:STOPAfter SEQuence;STATE RUN"]
    session.write(setup[0])
    for change in ["CH1:SCAle 0.05", "DATa:SOUrce CH2", "CH2:SCAle 0.5", "DATa:SOUrce CH1"]:
        session.write(change)
        setup.append(change)
        session.write(FETCH)
        assert _read_fetch_reply(session) == _fresh_answer(setup, FETCH)


def _read_fetch_reply(session) -> str:
    """The preamble fields, `;`, and the CURVe? block (which may hold newlines)."""
    fields = session.read_raw_until(b"#", command=FETCH)
    digits = session.read_bytes(1, command=FETCH)
    length = session.read_bytes(int(digits), command=FETCH)
    block = session.read_bytes(int(length) + 1, command=FETCH)
    return (fields + b"#" + digits + length + block).decode("latin-1").rstrip("\n")


def test_model_code_changing_a_channel_setting_changes_the_preamble(connect):
    model = _stopped_mso()
    session = connect(model)
    before = session.query("WFMOutpre:YMUlt?")
    with model.lock:
        model.scale[1] = 0.4  # not through SCPI: the channel dict itself
    assert float(session.query("WFMOutpre:YMUlt?")) == pytest.approx(4 * float(before))
    with model.lock:
        model.data_source = "CH2"
        model.scale[2] = 0.025
    assert float(session.query("WFMOutpre:YMUlt?")) == pytest.approx(float(before) / 4)
    session.write("*RST")
    assert session.query("WFMOutpre:YMUlt?") == before


def test_settings_version_changes_with_a_value_and_only_then(connect):
    device = create("test-meter")
    session = connect(device)
    start = device.settings_version
    session.write("VOLT:RANG 10;:CHAN2:SCAL 1;:TRIG:SOUR IMM")  # the values already there
    assert session.query("*OPC?") == "1"
    assert device.settings_version == start
    versions = [start]
    for change in ("VOLT:RANG 2", "CHAN2:SCAL 0.5", "TRIG:SOUR BUS", "*RST"):
        session.write(change)
        assert session.query("*OPC?") == "1"
        assert device.settings_version not in versions  # *RST never brings an old one back
        versions.append(device.settings_version)
    with device.lock:
        device.count = 1  # the default again, but an int where 1 was: unchanged
        assert device.settings_version == versions[-1]
        device.output = 1  # 1 is not True: a change
        assert device.settings_version != versions[-1]


def test_a_channel_dict_assigned_by_model_code_is_never_trusted_unchanged(connect):
    device = create("test-meter")
    session = connect(device)
    scales = {1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}
    with device.lock:
        device.scale = scales
        first = device.settings_version
        scales[2] = 0.25  # changed behind the device's back
        assert device.settings_version != first
    assert float(session.query("CHAN2:SCAL?")) == 0.25


def _fresh_reply(model_class: type, setup: list[str], query: str) -> str:
    model = model_class(seed=1)
    sent: list[bytes] = []
    model.send = lambda data, **_: sent.append(data)
    for message in setup:
        model.handle(message.encode())
    model.handle(query.encode())
    return sent[-1].decode("latin-1").rstrip("\n")


def _keysight() -> type:
    from instrumentkit.drivers.keysight.infiniivision_sim import DSOX3034TModel

    return DSOX3034TModel


def _rigol() -> type:
    from instrumentkit.drivers.rigol.ds1000z_sim import DS1054ZModel

    return DS1054ZModel


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        (_keysight, [":CHAN1:SCAL 0.5", ":CHAN1:OFFS 0.2", ":WAV:FORM WORD", ":WAV:UNS 1"]),
        (_keysight, [":TIM:SCAL 1e-5", ":TIM:POS 2e-5", ":WAV:POIN 2000", ":ACQ:TYPE AVER"]),
        (_keysight, [":WAV:SOUR CHAN2;:CHAN2:SCAL 0.2", ":ACQ:TYPE AVER", ":ACQ:COUN 64"]),
        (_rigol, [":CHAN1:SCAL 0.5", ":CHAN1:OFFS 0.2", ":WAV:FORM WORD", ":TIM:SCAL 1e-4"]),
        (_rigol, [":WAV:MODE MAX;:TIM:OFFS 1e-4", ":STOP", ":ACQ:MDEP 60000", ":RUN"]),
    ],
)
def test_a_repeated_waveform_preamble_follows_the_scope(connect, model, changes):
    session = connect(model()(seed=1))
    setup: list[str] = []
    previous = session.query(":WAV:PRE?")
    for change in changes:
        session.write(change)
        setup.append(change)
        answer = session.query(":WAV:PRE?")
        assert answer != previous, change
        assert answer == _fresh_reply(model(), setup, ":WAV:PRE?")
        previous = answer
