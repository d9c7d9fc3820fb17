"""The pyvisa-sim file `to_sim` writes for a recording, and what pyvisa-sim serves from it."""

from __future__ import annotations

import pytest
import pyvisa
import yaml

from instrumentkit.record._format import Exchange, Recording
from instrumentkit.record._to_sim import _error_queue, _number_format, _property_name, to_sim

E = Exchange
HEADER = {
    "resource": "TCPIP::10.0.0.5::INSTR",
    "driver": "x.Dmm",
    "idn": "ACME,DMM1,7,1.0",
    "recorded": "2026-12-06T10:00:00+00:00",
    "connection": {"write_termination": "\n", "read_termination": "\n", "timeout": 2.0},
}
EXCHANGES = [
    E(None, b"HELLO\n", line=9),
    E(b"*RST\n", b""),
    E(b"VOLT:RANG?\n", b"+1.00000000E+01\n"),
    E(b"VOLT:RANG 100\n", b""),
    E(b"VOLT:RANG?\n", b"+1.00000000E+02\n"),
    E(b"FUNC?\n", b'"VOLT"\n'),
    E(b"OUTP ON\n", b""),
    E(b"OUTP?\n", b"1\n"),
    E(b"SYST:ERR?\n", b'+0,"No error"\n'),
    E(b"HEAD OFF;VERB ON\n", b""),
    E(b"FUNC?\n", b'"CURR"\n'),
    E(b":DATA?\n", b"#13\x00\x80\xff\n", line=40),
    E(b"\x05", b"\x06\r\n"),
    E(b"MEAS?\n", b"1\n2\n"),
    E(b"READ?\n", b"+2.50\n"),
    E(b"READ?\n", b"+2.50\n"),
    E(b"DISP OFF\n", b""),
]
COMMENT = """\
# pyvisa-sim device written by `instrumentkit record to-sim`
# from bench/dmm.rec.yaml, recorded 2026-12-06T10:00:00+00:00
# on TCPIP::10.0.0.5::INSTR with x.Dmm.
# Plain pyvisa: pyvisa.ResourceManager("<this file>@sim").open_resource(
#   "TCPIP0::127.0.0.1::inst0::INSTR", write_termination='\\n', read_termination='\\n')
# Settings (X value / X?) with the values set, and queries:
#   'FUNC?' answered 2 different replies; this file gives the first
#   VOLT:RANG: set 100
#   OUTP: set ON; answers what was set, the instrument answered ON -> 1
# Left to replay (pyvisa-sim cannot serve them; use replay://):
#   exchange 1 (line 9): 6 bytes sent unasked
#   exchange 12 (line 40): ':DATA?' answered 7 bytes, not one text
#   exchange 13: write b'\\x05' (no write terminator or binary)
#   exchange 14: 'MEAS?' answered 4 bytes, not one text
"""
EOM = {"q": "\n", "r": "\n"}


def sim(tmp_path, recording: Recording):
    """The to-sim file of `recording`, opened with plain pyvisa on pyvisa-sim."""
    path = tmp_path / "sim.yaml"
    path.write_text(to_sim(recording), encoding="utf-8")
    return pyvisa.ResourceManager(f"{path}@sim")


def test_the_file_holds_what_pyvisa_sim_can_serve_and_lists_the_rest():
    text = to_sim(Recording("bench/dmm.rec.yaml", HEADER, EXCHANGES))
    assert text.startswith(COMMENT + "spec: '1.1'\n")
    assert '        q: "\\n"\n' in text  # terminators as escapes, on one line
    assert yaml.safe_load(text) == {
        "spec": "1.1",
        "devices": {
            "recorded": {
                "delimiter": "",
                "eom": {
                    "TCPIP INSTR": EOM,
                    "TCPIP SOCKET": EOM,
                    "USB INSTR": EOM,
                    "GPIB INSTR": EOM,
                    "ASRL INSTR": EOM,
                },
                "error": {
                    "error_queue": [
                        {
                            "q": "SYST:ERR?",
                            "default": '+0,"No error"',
                            "command_error": '-113,"Undefined header"',
                        }
                    ]
                },
                "dialogues": [
                    {"q": "*IDN?", "r": "ACME,DMM1,7,1.0"},
                    {"q": "FUNC?", "r": '"VOLT"'},
                    {"q": "READ?", "r": "+2.50"},
                    {"q": "*RST"},
                    {"q": "HEAD OFF;VERB ON"},
                    {"q": "DISP OFF"},
                ],
                "properties": {
                    "volt_rang": {
                        "default": 10.0,
                        "getter": {"q": "VOLT:RANG?", "r": "{:+.8E}"},
                        "setter": {"q": "VOLT:RANG {}"},
                        "specs": {"type": "float"},
                    },
                    "outp": {
                        "default": "ON",
                        "getter": {"q": "OUTP?", "r": "{}"},
                        "setter": {"q": "OUTP {}"},
                        "specs": {"type": "str"},
                    },
                },
            }
        },
        "resources": {"TCPIP0::127.0.0.1::inst0::INSTR": {"device": "recorded"}},
    }


def test_pyvisa_sim_answers_every_query_it_holds_as_recorded(tmp_path):
    manager = sim(tmp_path, Recording("dmm.rec.yaml", HEADER, EXCHANGES))
    try:
        dmm = manager.open_resource(
            "TCPIP0::127.0.0.1::inst0::INSTR", write_termination="\n", read_termination="\n"
        )
        assert dmm.query("*IDN?") == "ACME,DMM1,7,1.0"
        assert dmm.query("FUNC?") == '"VOLT"'
        assert dmm.query("READ?") == "+2.50"
        assert dmm.query("VOLT:RANG?") == "+1.00000000E+01"
        dmm.write("VOLT:RANG 100")
        assert dmm.query("VOLT:RANG?") == "+1.00000000E+02"
        dmm.write("VOLT:RANG 0.001")
        assert dmm.query("VOLT:RANG?") == "+1.00000000E-03"
        assert dmm.query("OUTP?") == "ON"
        dmm.write("OUTP OFF")
        assert dmm.query("OUTP?") == "OFF"
        for command in ("*RST", "HEAD OFF;VERB ON", "DISP OFF"):
            dmm.write(command)
            assert dmm.query("SYST:ERR?") == '+0,"No error"', command
        dmm.write("DISP ON")  # never recorded
        assert dmm.query("SYST:ERR?") == '-113,"Undefined header"'
        assert dmm.query("SYST:ERR?") == '+0,"No error"'
    finally:
        manager.close()


def test_a_serial_recording_is_served_as_asrl_with_its_terminators(tmp_path):
    header = {"idn": None, "connection": {"write_termination": "\r\n", "read_termination": "\r"}}
    exchanges = [E(b"RATE 2\r\n", b""), E(b"RATE?\r\n", b"2\r"), E(b"ID?\r\n", b"GAUGE 7\r")]
    recording = Recording("gauge.rec.yaml", {**header, "connection": {**header["connection"],
                          "baudrate": 9600}}, exchanges)  # fmt: skip
    text = to_sim(recording)
    assert "resources:\n  ASRL1::INSTR:\n    device: recorded\n" in text
    assert "\"ASRL1::INSTR\", write_termination='\\r\\n', read_termination='\\r')" in text
    assert "*IDN?" not in text  # no IDN recorded: none made up
    device = yaml.safe_load(text)["devices"]["recorded"]
    assert device["eom"]["ASRL INSTR"] == {"q": "\r\n", "r": "\r"}
    assert "error" not in device
    assert device["properties"]["rate"]["getter"] == {"q": "RATE?", "r": "{:.0f}"}
    manager = sim(tmp_path, recording)
    try:
        gauge = manager.open_resource(
            "ASRL1::INSTR", write_termination="\r\n", read_termination="\r"
        )
        assert gauge.query("ID?") == "GAUGE 7"
        assert gauge.query("RATE?") == "2"
        gauge.write("RATE 5")
        assert gauge.query("RATE?") == "5"
    finally:
        manager.close()


def test_without_terminators_in_the_header_both_are_a_newline():
    recording = Recording("x.rec.yaml", {"idn": "A,B,C,D"}, [E(b"X?\n", b"1\n")])
    device = yaml.safe_load(to_sim(recording, source="given.rec.yaml"))["devices"]["recorded"]
    assert device["eom"]["TCPIP INSTR"] == EOM
    assert device["dialogues"] == [{"q": "*IDN?", "r": "A,B,C,D"}, {"q": "X?", "r": "1"}]
    text = to_sim(recording, source="given.rec.yaml")
    assert "# from given.rec.yaml, recorded ?\n# on None with None.\n" in text
    assert "Settings" not in text
    assert "Left to replay" not in text
    assert "properties" not in device


def test_the_idn_query_recorded_is_served_as_recorded_and_not_twice():
    recording = Recording(
        "x.rec.yaml", {"idn": "A,B,C,D"}, [E(b"*IDN?\n", b"A,B,C,E\n"), E(b"*IDN?\n", b"A,B,C,E\n")]
    )
    device = yaml.safe_load(to_sim(recording))["devices"]["recorded"]
    assert device["dialogues"] == [{"q": "*IDN?", "r": "A,B,C,E"}]


def test_a_setting_is_a_value_written_and_read_back_under_one_header():
    exchanges = [
        E(b"A 1\n", b""),  # written, never read: a command
        E(b"B?\n", b"2\n"),  # read, never written: a query
        E(b"C\n", b""),  # no value: a command, even though C? is read
        E(b"C?\n", b"0\n"),
        E(b" D 5 \n", b""),  # spaces around a message are not part of it
        E(b"D?\n", b" 5 \n"),
        E(b"D?\n", b"5\n"),
    ]
    text = to_sim(Recording("x.rec.yaml", {}, exchanges))
    device = yaml.safe_load(text)["devices"]["recorded"]
    assert device["dialogues"] == [
        {"q": "B?", "r": "2"},
        {"q": "C?", "r": "0"},
        {"q": "A 1"},
        {"q": "C"},
    ]
    assert list(device["properties"]) == ["d"]
    assert device["properties"]["d"]["default"] == 5.0
    assert device["properties"]["d"]["getter"]["r"] == "{:.0f}"
    assert "#   D: set 5\n" in text


def test_text_settings_start_from_the_value_first_read_and_note_what_differed():
    exchanges = [
        E(b"MODE?\n", b"AUTO\n"),
        E(b"MODE FAST\n", b""),
        E(b"MODE?\n", b"FAST\n"),
        E(b"MODE SLOW\n", b""),
        E(b"MODE FAST\n", b""),
        E(b"MODE?\n", b"FAS\n"),
        E(b"LEV 1\n", b""),
        E(b"LEV?\n", b"+1.0E+00\n"),
        E(b"LEV 2\n", b""),
        E(b"LEV?\n", b"+3.0E+00\n"),  # read back other than set: kept as text
    ]
    text = to_sim(Recording("x.rec.yaml", {}, exchanges))
    properties = yaml.safe_load(text)["devices"]["recorded"]["properties"]
    assert properties["mode"]["default"] == "AUTO"
    assert properties["mode"]["specs"] == {"type": "str"}
    assert (
        "#   MODE: set FAST, SLOW; answers what was set, the instrument answered FAST -> FAS\n"
        in (text)
    )
    assert properties["lev"]["default"] == "1"
    assert properties["lev"]["getter"] == {"q": "LEV?", "r": "{}"}
    assert "#   LEV: set 1, 2; answers what was set, the instrument answered 1 -> +1.0E+00, " in (
        text
    )


@pytest.mark.parametrize(
    ("replies", "spec"),
    [
        (["+1.00000000E+01", "-2.50000000E-03"], "{:+.8E}"),
        (["1.000E-03"], "{:.3E}"),
        (["+1.5e+00"], "{:+.1e}"),
        (["1.5e+00"], "{:.1e}"),
        (["+2.50"], "{:+.2f}"),
        (["2.50", "12.25"], "{:.2f}"),
        (["10"], "{:.0f}"),
        (["0.5", "12.125"], "{}"),
        (["1.50", "2.5"], None),
        (["1E+01"], "{:.0E}"),
    ],
)
def test_a_number_format_writes_every_recorded_reply_back_exactly(replies, spec):
    assert _number_format(replies) == spec


def test_the_error_queue_answers_no_error_and_queues_the_first_error_seen():
    assert _error_queue("SYST:ERR?", ['+0,"No error"']) == {
        "q": "SYST:ERR?",
        "default": '+0,"No error"',
        "command_error": '-113,"Undefined header"',
    }
    replies = ['-222,"Data out of range"', '0,"No error"', '-100,"Command error"']
    assert _error_queue(":SYST:ERR?", replies) == {
        "q": ":SYST:ERR?",
        "default": '0,"No error"',
        "command_error": '-222,"Data out of range"',
    }
    # no "no error" recorded: the most frequent reply is taken for it
    replies = ['-100,"A"', '-200,"B"', '-200,"B"', "+01,x"]
    assert _error_queue("SYST:ERR?", replies)["default"] == '-200,"B"'
    assert _error_queue("SYST:ERR?", replies)["command_error"] == '-100,"A"'


@pytest.mark.parametrize(
    "command", ["SYST:ERR?", ":syst:err?", "SYSTEM:ERROR?", "SYST:ERR:NEXT?", "SYSTem:ERRor:NEXT?"]
)
def test_every_spelling_of_the_error_query_is_the_error_queue(command):
    exchanges = [E(command.encode() + b"\n", b'+0,"No error"\n')]
    device = yaml.safe_load(to_sim(Recording("x", {}, exchanges)))["devices"]["recorded"]
    assert device["error"]["error_queue"][0]["q"] == command
    assert device["dialogues"] == []


@pytest.mark.parametrize("command", ["SYST:ERR:COUN?", "XSYST:ERR?", "SYST:ERR"])
def test_other_queries_near_the_error_query_are_dialogues(command):
    exchanges = [E(command.encode() + b"\n", b"0\n")]
    device = yaml.safe_load(to_sim(Recording("x", {}, exchanges)))["devices"]["recorded"]
    assert "error" not in device
    assert device["dialogues"] == [{"q": command, "r": "0"}]


def test_property_names_are_the_header_in_lower_case_and_never_taken_twice():
    taken: set[str] = set()
    names = [_property_name(h, taken) for h in ("VOLT:DC:RANG", "VOLT_DC:RANG", ":*", "*")]
    assert names == ["volt_dc_rang", "volt_dc_rang_", "setting", "setting_"]


def test_without_a_write_terminator_every_exchange_is_left_to_replay():
    # A device written to without a terminator (a binary serial link): pyvisa-sim finds
    # no end to any message. Each command used to become the empty dialogue `q: ''`.
    header = {"connection": {"write_termination": "", "read_termination": "\n"}}
    exchanges = [E(b"X?", b"1\n"), E(b"Y 1", b""), E(b"Y?", b"1\n")]
    text = to_sim(Recording("x.rec.yaml", header, exchanges))
    device = yaml.safe_load(text)["devices"]["recorded"]
    assert device["dialogues"] == []
    assert "properties" not in device
    assert text.splitlines()[5:9] == [
        "# Left to replay (pyvisa-sim cannot serve them; use replay://):",
        "#   exchange 1: write b'X?' (no write terminator or binary)",
        "#   exchange 2: write b'Y 1' (no write terminator or binary)",
        "#   exchange 3: write b'Y?' (no write terminator or binary)",
    ]


def test_a_value_holding_spaces_is_one_setting_and_a_matching_read_back_has_no_remark():
    exchanges = [
        E(b'DISP:TEXT "A B"\n', b""),
        E(b"DISP:TEXT?\n", b'"A B"\n'),
        E(b"MODE FAST\n", b""),
        E(b"MODE?\n", b"FAST\n"),
    ]
    text = to_sim(Recording("x.rec.yaml", {}, exchanges))
    device = yaml.safe_load(text)["devices"]["recorded"]
    assert device["dialogues"] == []
    assert device["properties"]["disp_text"]["default"] == '"A B"'
    assert device["properties"]["disp_text"]["setter"] == {"q": "DISP:TEXT {}"}
    assert '#   DISP:TEXT: set "A B"\n#   MODE: set FAST\n' in text


def test_a_reply_without_the_read_terminator_and_a_long_binary_write_are_left_to_replay():
    frame = bytes(range(0x80, 0xA0))  # 32 bytes: the note shows the first 24
    exchanges = [E(b"N?\n", b"12"), E(frame, b"")]
    text = to_sim(Recording("x.rec.yaml", {}, exchanges))
    assert yaml.safe_load(text)["devices"]["recorded"]["dialogues"] == []
    assert "#   exchange 1: 'N?' answered 2 bytes, not one text\n" in text
    assert f"#   exchange 2: write {frame[:24]!r} (no write terminator or binary)\n" in text
