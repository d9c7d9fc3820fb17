"""The recording file's text, line by line, and what loading a malformed one says."""

from __future__ import annotations

import base64

import pytest

from instrumentkit import ConfigError
from instrumentkit.record import load_recording
from instrumentkit.record._format import entry_text, header_text, reply_lines, write_lines

OPENING = (
    "# instrumentkit recording (docs/recording.md): one exchange per entry, in order.\n"
    "# Replay: ik.open('replay://<file>'); pyvisa-sim: instrumentkit record to-sim\n"
    "format: instrumentkit-recording/1\n"
)


def test_text_is_ascii_with_at_most_one_control_character_in_16_or_two_in_a_short_one():
    # \t \r \n are text; every other byte below 0x20, and 0x7F, is a control character
    assert reply_lines(b"\x05\x06") == '  reply: "\\u0005\\u0006"\n'
    assert reply_lines(b"\x05\x06\x7f").startswith("  reply_base64:  # 3 bytes\n")
    assert reply_lines(b"A\tB\r\n") == '  reply: "A\\tB\\r\\n"\n'
    fifty = b"\x01\x02\x03" + b"x" * 45  # 48 bytes: three controls allowed
    assert reply_lines(fifty) == f'  reply: "\\u0001\\u0002\\u0003{"x" * 45}"\n'
    assert reply_lines(b"\x01\x02\x03\x04" + b"x" * 44).startswith("  reply_base64:  # 48 ")
    assert reply_lines(b"\x01\x02\x03" + b"x" * 44).startswith("  reply_base64:  # 47 ")
    assert reply_lines("é".encode("latin-1")) == '  reply_base64:  # 1 bytes\n  - "6Q=="\n'


def test_values_up_to_72_characters_stay_on_one_line_longer_ones_become_pieces():
    assert write_lines(b"x" * 72) == f'- write: "{"x" * 72}"\n'
    assert write_lines(b"x" * 73) == f'- write:\n  - "{"x" * 72}"\n  - "x"\n'
    # A piece is 72 characters of the text, escapes written out after the cut.
    assert reply_lines(b"\n" * 2 + b"y" * 143) == (
        f'  reply:\n  - "\\n\\n{"y" * 70}"\n  - "{"y" * 72}"\n  - "y"\n'
    )
    assert write_lines(None) == "- unasked: true\n"
    assert reply_lines(b"") == ""


def test_binary_values_are_base64_54_bytes_to_a_line_with_the_byte_count():
    one_line = bytes(range(128, 182))  # 54 bytes: 72 base64 characters
    assert reply_lines(one_line) == (
        f'  reply_base64:  # 54 bytes\n  - "{base64.b64encode(one_line).decode()}"\n'
    )
    two_lines = bytes(range(128, 183))
    assert reply_lines(two_lines) == (
        "  reply_base64:  # 55 bytes\n"
        f'  - "{base64.b64encode(two_lines[:54]).decode()}"\n'
        f'  - "{base64.b64encode(two_lines[54:]).decode()}"\n'
    )
    assert write_lines(b"\x80\x81") == '- write_base64:  # 2 bytes\n  - "gIE="\n'


def test_an_entry_is_its_write_its_time_and_its_reply_with_how_long_it_took():
    assert entry_text(b"A?\n", b"1\n", 1.5, 0.25) == (
        '- write: "A?\\n"\n  at: 1.500000\n  reply: "1\\n"\n  took: 0.250000\n'
    )
    assert entry_text(b"A 1\n", b"", 2.0000004, 0.5) == '- write: "A 1\\n"\n  at: 2.000000\n'
    assert entry_text(None, b"HI\n", 0.0, 0.0) == (
        '- unasked: true\n  at: 0.000000\n  reply: "HI\\n"\n  took: 0.000000\n'
    )


def test_the_header_keeps_its_order_and_writes_each_kind_of_value_as_yaml_reads_it():
    header = {
        "name": 'dmm "2"',
        "idn": None,
        "verbose": True,
        "quiet": False,
        "connection": {"baudrate": 9600, "timeout": 1e-05, "big": 1e20, "half": 0.5},
        "small": 2.5e-07,
    }
    text = header_text(header)
    assert text == OPENING + (
        'name: "dmm \\"2\\""\n'
        "idn: null\n"
        "verbose: true\n"
        "quiet: false\n"
        "connection:\n"
        "  baudrate: 9600\n"
        "  timeout: 1.0e-05\n"
        "  big: 1.0e+20\n"
        "  half: 0.5\n"
        "small: 2.5e-07\n"
        "exchanges:\n"
    )


def write(tmp_path, text: str) -> str:
    path = tmp_path / "hand.rec.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_loading_gives_the_header_without_format_and_exchanges_and_each_entrys_line(tmp_path):
    text = (
        "\n"  # a blank first line: line numbers still count it
        + OPENING
        + 'name: "dmm"\nnotes:\n- a list at column 0 in the header\nconnection: {timeout: 2}\n'
        + "exchanges:\n"
        + entry_text(b"A?\n", b"1\n", 0.5, 0.25)
        + entry_text(b"B 1\n", b"", 0.75, 0.0)
        + "- write_base64: gIE=\n  reply_base64: [gA, '==']\n"
        + '- write: "\\u00ff"\n'
    )
    recording = load_recording(write(tmp_path, text))
    assert recording.header == {
        "name": "dmm",
        "notes": ["a list at column 0 in the header"],
        "connection": {"timeout": 2},
    }
    assert (recording.name, recording.connection) == ("dmm", {"timeout": 2})
    lines = text.splitlines()
    assert [e.line for e in recording.exchanges] == [
        n for n, line in enumerate(lines, 1) if line.startswith("- ") and n > 9
    ]
    assert [(e.write, e.reply, e.at, e.took) for e in recording.exchanges] == [
        (b"A?\n", b"1\n", 0.5, 0.25),
        (b"B 1\n", b"", 0.75, 0.0),
        (b"\x80\x81", b"\x80", 0.0, 0.0),
        (b"\xff", b"", 0.0, 0.0),  # hand-written text beyond ASCII: its Latin-1 byte
    ]


def test_a_hand_formatted_file_loads_without_line_numbers(tmp_path):
    text = OPENING + "exchanges:\n  - {write: 'A?\n', reply: '1\n'}\n  - {unasked: true}\n"
    recording = load_recording(write(tmp_path, text))
    assert [(e.write, e.reply, e.line) for e in recording.exchanges] == [
        (b"A? ", b"1 ", 0),
        (None, b"", 0),
    ]
    assert (recording.name, recording.connection) == (recording.path, {})
    bad = write(tmp_path, OPENING + "exchanges:\n  - {write: 'A?'}\n  - 5\n")
    with pytest.raises(ConfigError) as caught:
        load_recording(bad)
    assert str(caught.value) == f"{bad}: exchange 2 is not a mapping"


def test_an_empty_recording_has_no_exchanges(tmp_path):
    recording = load_recording(write(tmp_path, OPENING + "connection: 5\nexchanges:\n"))
    # `connection: 5` is no mapping: no connection options
    assert (recording.exchanges, recording.header, recording.connection) == (
        [],
        {"connection": 5},
        {},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("exchanges: {a: 1}\n", r"yaml: 'exchanges' must be a list$"),
        ("exchanges:\n- 5\n", r": exchange 1 \(line 5\) is not a mapping$"),
        ("exchanges:\n- at: 1.0\n", r"exchange 1 \(line 5\) has neither 'write' nor 'unasked"),
        ("exchanges:\n- unasked: false\n", r"exchange 1 \(line 5\) has neither 'write'"),
        ("exchanges:\n- write: 5\n", r"exchange 1 \(line 5\): write must be text, not 5$"),
        ("exchanges:\n- write: [a, 5]\n", r"exchange 1 \(line 5\): write must be text, not \["),
        (
            # valid once the "!" is dropped, as a lax decoder would
            'exchanges:\n- write: "A"\n- write: "B"\n  reply_base64: "gA==!"\n',
            r"exchange 2 \(line 6\): reply_base64 is not base64: ",
        ),
        (
            "exchanges:\n- write_base64: [gA, 5]\n",
            r"1 \(line 5\): write_base64 must be text, not \[",
        ),
        ("exchanges:\n- write_base64: 5\n", r"write_base64 must be text, not 5$"),
        (
            'exchanges:\n- write: "\\u20ac"\n',
            r"write holds '\\u20ac', which is not one byte: bytes beyond \\xff go in write_base64",
        ),
        ("exchanges:\n- write: A\n  at: soon\n", r"\(line 5\): at must be seconds, not 'soon'$"),
        ("exchanges:\n- write: A\n  took:\n", r"\(line 5\): took must be seconds, not None$"),
    ],
)
def test_a_malformed_recording_is_a_config_error_naming_the_file_and_the_entry(
    tmp_path, body, message
):
    path = write(tmp_path, OPENING + body)
    with pytest.raises(ConfigError, match=message) as caught:
        load_recording(path)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize("text", ["[1, 2]\n", "format: instrumentkit-recording/2\n", "a: 1\n"])
def test_a_file_that_is_not_a_recording_is_refused(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_recording(path)
    assert str(caught.value) == (
        f"{path}: not an instrumentkit recording (no 'format: instrumentkit-recording/1')"
    )


def test_a_recording_that_is_not_yaml_names_the_file_and_the_line(tmp_path):
    path = write(tmp_path, OPENING + "exchanges:\n- write: [\n")
    with pytest.raises(
        ConfigError, match=r"^\S+hand.rec.yaml: not valid YAML \(line 6, column 1\)"
    ):
        load_recording(path)


def test_a_recording_without_an_exchanges_key_has_none(tmp_path):
    recording = load_recording(write(tmp_path, OPENING + 'name: "x"\n'))
    assert (recording.header, recording.exchanges) == ({"name": "x"}, [])


def test_a_missing_recording_says_how_to_record_one(tmp_path):
    path = str(tmp_path / "none.rec.yaml")
    with pytest.raises(ConfigError) as caught:
        load_recording(path)
    assert str(caught.value) == (
        f"{path}: cannot read the recording: No such file or directory; record one with "
        "ik.open(resource, record='<file>.rec.yaml')"
    )
