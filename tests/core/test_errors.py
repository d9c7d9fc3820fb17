"""The error hierarchy: what each error says, and what it carries for code that catches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from instrumentkit.errors import (
    ConfigError,
    ConnectionFailed,
    InstrumentError,
    InstrumentReportedError,
    ProtocolError,
    Timeout,
    ValidationError,
    show_bytes,
)


def test_a_message_names_the_instrument_and_command_it_has():
    assert str(InstrumentError("no reply", instrument="dmm", command="READ?")) == (
        "dmm: command 'READ?': no reply"
    )
    assert str(ProtocolError("garbled", instrument="dmm")) == "dmm: garbled"
    assert str(ProtocolError("garbled", command="READ?")) == "command 'READ?': garbled"
    bare = ConnectionFailed("refused")
    assert (str(bare), bare.detail, bare.instrument, bare.command) == (
        "refused", "refused", None, None
    )  # fmt: skip
    named = ConnectionFailed("refused", instrument="dmm")
    assert named.detail == "refused"  # the message without the names, for re-wrapping


def test_errors_are_also_the_builtin_exceptions_code_already_catches():
    timeout = Timeout("nothing came", instrument="dmm", command="READ?", timeout=2.5)
    assert isinstance(timeout, TimeoutError)
    assert timeout.timeout == 2.5
    assert isinstance(ConnectionFailed("x"), ConnectionError)
    assert isinstance(ValidationError("x"), ValueError)
    assert isinstance(ConfigError("x"), ValueError)


def test_an_instrument_reported_error_keeps_its_code_and_names():
    error = InstrumentReportedError(
        "Data out of range", code=-222, instrument="psu", command="VOLT 99"
    )
    assert (error.code, error.instrument, error.command) == (-222, "psu", "VOLT 99")
    assert str(error) == "psu: command 'VOLT 99': Data out of range"


@pytest.mark.parametrize(
    ("source", "field", "expected"),
    [
        ("run.yaml", "instruments.dmm", "run.yaml field 'instruments.dmm': bad value"),
        ("run.yaml", None, "run.yaml: bad value"),
        (None, "rate", "field 'rate': bad value"),
        (None, None, "bad value"),
    ],
)
def test_a_config_error_names_the_file_and_field(source, field, expected):
    error = ConfigError("bad value", field=field, source=source)
    assert str(error) == expected
    assert (error.source, error.field) == (source, field)
    assert error.detail == "bad value"  # re-raised under another field, named once


def test_a_model_parameter_the_lab_file_misspells_is_named_once() -> None:
    """It said "field 'devices[0].params': field 'params': model 'keysight-34461a':
    Device.__init__() got an unexpected keyword argument 'bogus'"."""
    from instrumentkit.sim import Lab, LabSpec

    spec = LabSpec.model_validate(
        {"devices": [{"name": "a", "model": "keysight-34461a", "params": {"bogus": 1}}]}
    )
    with pytest.raises(ConfigError) as caught, Lab(spec):
        pass
    assert str(caught.value) == (
        "field 'devices[0].params': model 'keysight-34461a' has no parameter 'bogus'"
    )


def test_a_lab_file_whose_model_parameter_is_wrong_is_named(tmp_path: Path) -> None:
    """Found when the lab starts, after the file was read: the error still names the file."""
    from instrumentkit.sim import Lab, load_lab

    path = tmp_path / "lab.yaml"
    path.write_text("devices:\n  - {name: a, model: keysight-34461a, params: {bogus: 1}}\n")
    with pytest.raises(ConfigError) as caught, Lab(load_lab(path)):
        pass
    assert caught.value.source == str(path)
    assert str(caught.value) == (
        f"{path} field 'devices[0].params': model 'keysight-34461a' has no parameter 'bogus'"
    )


def test_shown_bytes_are_cut_after_the_limit():
    assert show_bytes(b"abc", limit=3) == "b'abc'"  # exactly the limit: whole
    assert show_bytes(b"abcd", limit=3) == "b'abc'... (truncated)"
    assert show_bytes(memoryview(b"x" * 65)) == repr(b"x" * 64) + "... (truncated)"
    assert show_bytes(bytearray(b"x" * 64)) == repr(b"x" * 64)
