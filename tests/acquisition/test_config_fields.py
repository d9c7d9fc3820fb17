"""Run configs, message by message: each refusal names its field and says exactly why.

test_config.py checks configs against drivers and the lab; these tests pin the wording of
every structural refusal of `parse_run_config` (what a user reads on the terminal) and what
the accepted forms become.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from instrumentkit.acquisition._config import (
    ErrorPolicyConfig,
    StreamConfig,
    SweepAxisConfig,
    SweepValues,
    load_run_config,
    parse_run_config,
)
from instrumentkit.errors import ConfigError

INSTRUMENTS = {"smu": {"resource": "x"}, "dmm": {"resource": "y"}}
AXES = [{"parameter": "smu.level", "values": [0, 1]}]


def refusal(data: Any) -> ConfigError:
    with pytest.raises(ConfigError, match=r"run\.yaml") as caught:
        parse_run_config(data, source="run.yaml")
    return caught.value


def stream_refusal(stream: dict[str, Any]) -> tuple[str, str]:
    error = refusal({"instruments": INSTRUMENTS, "streams": {"s": stream}})
    return error.field or "", str(error).removeprefix(f"run.yaml field {error.field!r}: ")


@pytest.mark.parametrize(
    ("stream", "field", "message"),
    [
        ({"kind": "sweep", "axes": AXES, "parameter": "level", "values": [1], "read": ["dmm"]},
         "streams.s", "parameter, values is the 1-D short form; with axes, give each axis its "
         "parameter and values"),
        ({"axes": AXES, "values": [1], "read": ["dmm"]}, "streams.s",
         "values is the 1-D short form; with axes, give each axis its parameter and values"),
        ({"kind": "sweep", "instrument": "smu", "parameter": "level", "values": [1]},
         "streams.s", "a sweep needs parameter, values and read (the 1-D form, with "
         "instrument), or axes and read; missing read"),
        ({"kind": "sweep", "parameter": "level", "read": ["dmm"]}, "streams.s",
         "a sweep needs parameter, values and read (the 1-D form, with instrument), or axes "
         "and read; missing instrument, values"),
        ({"kind": "sweep", "instrument": "smu", "parameter": "level", "values": [],
          "read": ["dmm"]}, "streams.s", "a sweep needs at least one value"),
        ({"axes": AXES}, "streams.s", "a sweep needs read: the instruments to read at each point"),
        ({"instrument": "dmm", "read": ["dmm"]}, "streams.s", "read only apply to kind: sweep"),
        ({"instrument": "dmm", "snake": False, "parameter": "nplc"}, "streams.s",
         "parameter, snake only apply to kind: sweep"),
        ({"instrument": "dmm", "on_compliance": "stop"}, "streams.s",
         "on_compliance only apply to kind: sweep"),
        ({"rate": 1}, "streams.s", "a stream needs an instrument (or axes: a sweep)"),
        ({"instrument": "dmm", "kind": "waveforms", "batch": 10}, "streams.s",
         "batch (read_many size) only applies to readings"),
        ({"instrument": "dmm", "kind": "spectra", "channels": [1]}, "streams.s",
         "channels only apply to waveforms"),
        ({"instrument": "dmm", "stages": [{"a": 1}, {}]}, "streams.s.stages",
         "stage 1 must be one 'name: parameters' entry, e.g. '- decimate: {factor: 10}', got "
         "keys []"),
        ({"axes": [{"parameter": "psu.level", "values": [1]}], "read": ["dmm"]},
         "streams.s.axes[0].parameter", "no instrument 'psu'; instruments: smu, dmm"),
    ],
)  # fmt: skip
def test_stream_refusals(stream: dict[str, Any], field: str, message: str) -> None:
    assert stream_refusal(stream) == (field, message)


@pytest.mark.parametrize(
    "stream",
    [
        {"instrument": "dmm", "kind": "readings", "batch": 10},
        {"instrument": "dmm", "batch": 10},
        {"instrument": "dmm", "kind": "waveforms", "channels": [1, "MATH"]},
        {"instrument": "dmm", "channels": [1]},
        {"instrument": "dmm", "stages": [{"decimate": {"factor": 10}}, {"fft": {}}]},
    ],
)
def test_stream_forms_that_are_accepted(stream: dict[str, Any]) -> None:
    config = parse_run_config({"instruments": INSTRUMENTS, "streams": {"s": stream}})
    assert config.streams["s"].model_dump(exclude_unset=True) == stream


def test_a_sweep_given_by_its_axes_is_a_sweep_and_keeps_its_axes() -> None:
    config = parse_run_config(
        {"instruments": INSTRUMENTS, "streams": {"s": {"axes": AXES, "read": ["dmm"]}}}
    )
    stream = config.streams["s"]
    assert stream.kind == "sweep"
    assert stream.sweep_axes() == [SweepAxisConfig(parameter="smu.level", values=[0.0, 1.0])]


@pytest.mark.parametrize(("units", "expected"), [("V", "V"), ("", None)])
def test_the_short_form_is_one_axis_named_by_its_parameter(units: str, expected: Any) -> None:
    stream = StreamConfig(kind="sweep", instrument="smu", parameter="level", units=units,
                          values=SweepValues(start=0, stop=1, num=3), read=["dmm"])  # fmt: skip
    assert stream.kind == "sweep"
    (axis,) = stream.sweep_axes()
    assert axis == SweepAxisConfig(parameter="smu.level", name="level", units=expected,
                                   values=SweepValues(start=0, stop=1, num=3))  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ([1, 2], None, "expected a mapping of sections (instruments, streams, ...), got list"),
        ({"instruments": INSTRUMENTS, "streams": {"s": {"instrument": "dmm",
          "stages": [{"scale": {"factor": float("inf")}}]}}}, "streams.s.stages[0].scale.factor",
         "expected a finite number, got inf"),
        ({"instruments": {"smu": {"resource": "x", "settings": {"channels": {1: {
          "level": float("nan")}}}}}}, "instruments.smu.settings.channels.1.level",
         "expected a finite number, got nan"),
        ({"instruments": INSTRUMENTS, "stop": {"duration": "inf"}}, "stop.duration",
         "expected a finite number, got 'inf'"),  # a string pydantic reads as a number
        ({"instruments": INSTRUMENTS, "streams": {"s": {"instrument": "dmm", "rate": "1e999"}}},
         "streams.s.rate", "expected a finite number, got '1e999'"),
        # Union members fail equally deep: the value's own error beats "not a string".
        ({"instruments": INSTRUMENTS, "streams": {"s": {"instrument": "dmm",
          "channels": [1.5]}}}, "streams.s.channels[0]",
         "Input should be a valid integer, got a number with a fractional part"),
        ({"instruments": {"smu": {"resource": "x", "options": {"baud": 9600}}}},
         "instruments.smu.options.baud", "unknown connection option; options: backend, "
         "timeout, baudrate, bytesize, parity, stopbits, xonxoff, rtscts, dsrdtr"),
        ({"instruments": {"smu": {"resource": "x", "driverr": "A"}}}, "instruments.smu.driverr",
         "unknown field (check its spelling; docs/run-config.md lists every field)"),
        ({"instruments": {"smu": {"resource": "x", "device": "y"}}, "lab": "default"},
         "instruments.smu", "give either resource (a VISA address or serial port) or device "
         "(a simulated-lab device name), not both or neither"),
        ({"instruments": {"-smu": {"resource": "x"}}}, "instruments.-smu",
         "name '-smu' must start with a letter or digit and hold only letters, digits, '_', "
         "'.' and '-' (at most 64)"),
        ({"instruments": {"s" * 65: {"resource": "x"}}}, "instruments." + "s" * 65,
         f"name {'s' * 65!r} must start with a letter or digit and hold only letters, "
         "digits, '_', '.' and '-' (at most 64)"),
        ({"instruments": {"errors": {"resource": "x"}}}, "instruments.errors",
         "the name 'errors' is reserved for the run's error log; choose another"),
        ({"instruments": INSTRUMENTS, "streams": {"s": {"instrument": "dmm", "timeout": 0}}},
         "streams.s.timeout", "Input should be greater than 0"),
        ({"instruments": INSTRUMENTS, "streams": {"s": {"axes": [{"parameter": "smu.level",
          "values": {"start": 0, "stop": 1, "num": 2, "step": 0.5}}], "read": ["dmm"]}}},
         "streams.s.axes[0].values",
         "give num (how many points) or step (their spacing), not both"),
        ({"instruments": {"smu": {"resource": "x", "on_error": {"check_interval": 0}}}},
         "instruments.smu.on_error.check_interval", "Input should be greater than 0"),
    ],
)  # fmt: skip
def test_config_refusals(data: Any, field: str | None, message: str) -> None:
    error = refusal(data)
    assert error.field == field
    assert error.source == "run.yaml"
    prefix = "run.yaml: " if field is None else f"run.yaml field {field!r}: "
    assert str(error) == prefix + message  # the whole message, nothing more


def test_a_names_of_64_characters_and_the_defaults() -> None:
    name = "a" * 64
    config = parse_run_config({"instruments": {name: {"resource": "x"}}})
    assert list(config.instruments) == [name]
    assert config.instruments[name].on_error == ErrorPolicyConfig()
    assert (config.stop.duration, config.stop.max_readings) == (None, None)
    assert config.stop.first_record_timeout == 30.0
    output = config.output
    assert (output.path, output.compression, output.fsync, output.overwrite) == (
        "run.h5", None, False, False)  # fmt: skip
    assert output.monotonic_clock is True


def test_files_that_cannot_be_read_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_run_config(tmp_path / "nowhere.yaml")
    assert caught.value.source == str(tmp_path / "nowhere.yaml")
    assert str(caught.value).endswith("cannot read the run config: No such file or directory")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ConfigError) as caught:
        load_run_config(empty)
    assert caught.value.field == "instruments"
    assert caught.value.source == str(empty)


def test_an_error_without_a_source_names_the_run_config() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_run_config({})
    assert caught.value.source == "run config"
    assert str(caught.value).startswith("run config field 'instruments': ")
