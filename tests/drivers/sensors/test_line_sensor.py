"""The YAML-configured line sensor: config errors, parsing, conversion, streamed and polled."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import instrumentkit as ik
from instrumentkit.drivers.generic import LineSensor
from instrumentkit.drivers.generic.line_sensor import EXAMPLE_CONFIG, STATUS_NOT_A_NUMBER
from instrumentkit.drivers.generic.line_sensor_config import load_config
from instrumentkit.drivers.generic.line_sensor_sim import LineBoardModel
from instrumentkit.errors import ConfigError, ProtocolError, Timeout, ValidationError
from instrumentkit.sim import ManualClock
from instrumentkit.testing import check_driver, expected_protocol

CSV = {
    "name": "adc-board",
    "line_ending": "\r\n",
    "poll": "MEAS",
    "csv": {"columns": ["millis", "raw", "volts"], "delimiter": ";"},
    "channels": [
        {"name": "raw", "units": "degC", "polynomial": [-50.0, 0.1, 1e-5]},
        {"name": "volts", "units": "V", "scale": 2.0, "offset": -1.0},
    ],
}


def _config(**changes):
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    data.update(changes)
    return data


# -- configuration
def test_the_example_config_loads():
    config = load_config(EXAMPLE_CONFIG)
    assert [c.name for c in config.channels] == ["temperature", "humidity"]
    assert config.port.baudrate == 115200


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"port": {"baudrate": -5}}, "port.baudrate", "greater than 0"),
        ({"port": {"parity": "X"}}, "port.parity", "Input should be"),
        ({"channels": []}, "channels", "at least 1"),
        ({"channels": [{"name": "temperature", "unit": "K"}]}, "channels.0.unit", "Extra"),
        ({"channels": [{"name": "9lives"}]}, "channels.0.name", "letters"),
        (
            {"channels": [{"name": "temperature", "scale": 2.0, "polynomial": [0, 1]}]},
            "channels.0",
            "not both",
        ),
        ({"pattern": "T=(?P<temperature>"}, "pattern", "not a regular expression"),
        ({"pattern": "T=(\\S+)"}, "pattern", "named groups"),
        ({"channels": [{"name": "pressure"}]}, "(top level)", "not among the pattern groups"),
        ({"csv": {"columns": ["temperature"]}}, "(top level)", "exactly one of"),
        ({"skip_lines": -1}, "skip_lines", "greater than or equal"),
        ({"surprise": 1}, "surprise", "Extra"),
    ],
)
def test_config_errors_name_the_field(changes, field, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(_config(**changes))
    assert raised.value.field == field


def test_a_yaml_file_error_names_the_file(tmp_path):
    path = tmp_path / "board.yaml"
    path.write_text("channels: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML") as raised:
        load_config(path)
    assert raised.value.source == str(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)
    path.write_text("channels: []\npattern: 'x(?P<a>.)'\n")
    with pytest.raises(ConfigError, match="channels") as raised:
        load_config(path)
    assert raised.value.source == str(path)


def test_open_needs_a_config():
    with pytest.raises(ConfigError, match="config="):
        LineSensor.open("loop://")
    with pytest.raises(ConfigError, match="resource"):
        LineSensor.from_config(EXAMPLE_CONFIG)


# -- parsing, exactly
def test_polled_csv_with_conversions():
    pairs = [("MEAS", b"1000;250;0.75\r\n"), ("MEAS", b"1100;260;0.80\r\n")]
    with expected_protocol(LineSensor, pairs, config=CSV) as board:
        assert board.session.write_termination == "\n"
        assert board.session.read_termination == "\r\n"
        reading = board.read_many(2)
    raw = np.array([250.0, 260.0])
    assert reading.values[:, 0] == pytest.approx(-50 + 0.1 * raw + 1e-5 * raw**2)
    assert reading.values[:, 1] == pytest.approx([0.5, 0.6])
    assert reading.units == ("degC", "V")
    assert reading.channels == ("raw", "volts")
    assert (reading.status == 0).all()


def test_streamed_pattern_skips_banners_and_flags_non_numbers():
    pairs = [
        (None, "# booting"),
        (None, "T=21.50 H=40.0"),
        (None, "T=nan? H=41.0"),
        (None, "T=22.00 H=42.0"),
    ]
    with expected_protocol(LineSensor, pairs, config=EXAMPLE_CONFIG) as board:
        reading = board.read_many(3)
    assert reading.values[0].tolist() == [21.5, 40.0]
    assert np.isnan(reading.values[1, 0])
    assert reading.status.tolist() == [[0, 0], [STATUS_NOT_A_NUMBER, 0], [0, 0]]


def test_too_many_non_matching_lines_is_a_protocol_error():
    pairs = [(None, f"debug {n}") for n in range(3)]
    config = _config(skip_lines=2)
    with (
        expected_protocol(LineSensor, pairs, config=config) as board,
        pytest.raises(ProtocolError, match="3 lines in a row do not match"),
    ):
        board.read()


def test_read_many_refuses_a_bad_count_before_reading():
    with expected_protocol(LineSensor, [], config=CSV) as board, pytest.raises(ValidationError):
        board.read_many(0)


# -- the simulated board over the serial path
def test_conformance_and_ik_open_by_driver_name():
    check_driver(LineSensor)
    board = ik.open(
        "iksim://model/generic-line-sensor?clock=manual&seed=1",
        driver="LineSensor",
        config=EXAMPLE_CONFIG,
    )
    try:
        assert isinstance(board, ik.Sensor)
        assert board.snapshot()["config"]["name"] == "thermo-hygro-board"
        assert board.read().channels == ("temperature", "humidity")
    finally:
        board.close()


def test_streaming_board_statistics(over_serial):
    model = LineBoardModel(clock=ManualClock(), seed=2, temperature=30.0, noise=0.05)
    board = over_serial(LineSensor, model, config=EXAMPLE_CONFIG)
    assert model.line_settings["baudrate"] == 115200
    reading = board.read_many(500)
    assert reading.values[:, 0].mean() == pytest.approx(30.0, abs=0.02)
    assert reading.values[:, 0].std() == pytest.approx(0.05, rel=0.2)
    assert reading.values[:, 1].mean() == pytest.approx(45.0, abs=0.1)
    assert np.all(np.diff(reading.timestamps_ns) >= 0)


def test_streamed_lines_are_not_lost_and_fresh_drops_the_backlog(over_serial):
    model = LineBoardModel(clock=ManualClock(auto_advance=True), seed=3, drift=1.0)
    board = over_serial(LineSensor, model, config=EXAMPLE_CONFIG)
    first = board.read().values[0, 0]
    model.clock.advance(10.0)  # 100 lines pile up
    in_order = board.read().values[0, 0]
    assert in_order == pytest.approx(first + 0.1, abs=0.06)  # the next line, not the newest
    fresh = over_serial(
        LineSensor,
        LineBoardModel(clock=ManualClock(), seed=3, drift=1.0),
        config=_config(fresh=True),
    )
    start = fresh.read().values[0, 0]
    fresh.session.transport.port.device.clock.advance(10.0)
    assert fresh.read().values[0, 0] == pytest.approx(start + 10.0, abs=0.4)


def test_polled_board_and_glitches(over_serial):
    model = LineBoardModel(clock=ManualClock(), seed=4, poll="READ", glitch_every=4, csv=True)
    config = {
        "poll": "READ",
        "line_ending": "\n",
        "csv": {"columns": ["temperature", "humidity"]},
        "channels": [{"name": "temperature", "units": "degC"}, {"name": "humidity", "units": "%"}],
    }
    board = over_serial(LineSensor, model, config=config, baudrate=9600)
    reading = board.read_many(8)
    assert np.isnan(reading.values[[3, 7], 0]).all()
    assert reading.status[:, 0].tolist() == [0, 0, 0, 1, 0, 0, 0, 1]
    assert model.lines_printed == 8


def test_a_silent_board_is_a_timeout(over_serial):
    model = LineBoardModel(clock=ManualClock(), poll="READ")
    board = over_serial(LineSensor, model, config=_config(poll="WRONG"), timeout=0.2)
    with pytest.raises(Timeout):
        board.read_many(2)


def test_streaming_board_over_tcp(over_tcp):
    board = over_tcp(LineSensor, LineBoardModel(seed=6, period=0.005), config=EXAMPLE_CONFIG)
    reading = board.read_many(10)
    assert reading.values.shape == (10, 2)
    assert (reading.status == 0).all()
