"""`instrumentkit acquire --check` and the gaps it closes: every refusal is exit 2 naming the
field (or the option), with no instrument touched, no simulated lab started and no file
written. "Touched" is observed, not assumed: the real instrument here is a loopback
listener, so a connection attempt would be waiting in its backlog.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from instrumentkit.acquisition import RunWriter, open_run
from instrumentkit.acquisition._config import ConnectionOptionsConfig
from instrumentkit.cli import main
from instrumentkit.connect import ConnectionOptions
from instrumentkit.errors import ConfigError
from instrumentkit.sim import Lab

CONFIG = """\
lab: default
instruments:
  meter:
    resource: {resource}
    driver: Keysight34461A
    options: {{timeout: 2}}
  scope:
    device: scope
    settings: {{timebase_scale: 1.0e-3}}
streams:
  meter: {{instrument: meter, rate: 5}}
  scope: {{instrument: scope, channels: [1, 2]}}
stop: {{duration: 1}}
output: {{path: {output}}}
"""


class Bench:
    """A config on disk whose real instrument is a loopback listener, and a lab-start spy."""

    def __init__(self, folder: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch):
        self.folder = folder
        self.listener = listener
        self.resource = f"TCPIP::127.0.0.1::{listener.getsockname()[1]}::SOCKET"
        self.lab_starts = 0
        start = Lab.start

        def counted(lab: Lab) -> Lab:
            self.lab_starts += 1
            return start(lab)

        monkeypatch.setattr(Lab, "start", counted)

    def config(self, old: str = "", new: str = "") -> Path:
        text = CONFIG.format(resource=self.resource, output=self.folder / "run.h5")
        assert old in text
        path = self.folder / "run.yaml"
        path.write_text(text.replace(old, new, 1))
        return path

    def touched(self) -> bool:
        try:
            connection, _ = self.listener.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True

    def files(self) -> set[str]:
        return {p.name for p in self.folder.iterdir()}


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bench]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.setblocking(False)
        yield Bench(tmp_path, listener, monkeypatch)


def acquire(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["acquire", *map(str, args)])
    return result.exit_code, result.output


def assert_refused(bench: Bench, config: Path, where: str, reason: str, *args: str) -> None:
    """Refused alike by --check and by a real run: exit 2, one line, nothing touched."""
    for check in (["--check"], []):
        code, output = acquire(config, *args, *check)
        assert code == 2, output
        assert output.startswith("Error: "), output
        assert output.count("\n") == 1, output
        assert where in output, output
        assert reason in output, output
        assert bench.files() == {config.name}
        assert bench.lab_starts == 0
        assert not bench.touched()


def test_check_passes_a_valid_config_and_touches_nothing(bench: Bench) -> None:
    config = bench.config("timebase_scale: 1.0e-3", "timebase_scale: 5e-4")
    code, output = acquire("--check", config)
    assert code == 0, output
    assert f"{config}: valid (2 instruments, 2 streams, lab default; would write " in output
    assert bench.files() == {config.name}
    assert bench.lab_starts == 0
    assert not bench.touched()


def test_check_says_which_settings_wait_for_idn(bench: Bench) -> None:
    config = bench.config("    driver: Keysight34461A\n", "")
    code, output = acquire("--check", config)
    assert code == 0, output
    assert "Settings of meter are checked when opened: with no driver: given" in output
    assert not bench.touched()


def test_check_sees_the_driver_refuse_a_setting(bench: Bench) -> None:
    config = bench.config("timebase_scale: 1.0e-3", "timebase_scale: 5e+3")
    assert_refused(bench, config, "field 'instruments.scope.settings.timebase_scale'", "5000.0")


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("duration: 1", "duration: .inf", "stop.duration", "expected a finite number, got inf"),
        ("rate: 5", "rate: .inf", "streams.meter.rate", "expected a finite number, got inf"),
        ("rate: 5", "rate: .nan", "streams.meter.rate", "expected a finite number, got nan"),
        ("timeout: 2", "timeout: -1", "instruments.meter.options.timeout", "greater than 0"),
        ("timeout: 2", "baudrate: fast", "instruments.meter.options.baudrate", "valid integer"),
        ("timeout: 2", "parity: X", "instruments.meter.options.parity", "'N', 'E', 'O'"),
        ("timeout: 2", "timeout: 2, baudrate: 9600, parity: E", "instruments.meter.options",
         "baudrate, parity apply only to serial lines (COM3, /dev/ttyUSB0, ASRL...::INSTR, "
         "pyserial URLs), not to the TCPIP resource"),
        ("timeout: 2", "baud: 9600", "instruments.meter.options.baud",
         "unknown connection option; options: backend, timeout, baudrate"),
        ("channels: [1, 2]", "channels: [9]", "streams.scope.channels[0]",
         "RigolDS1000Z has no channel 9; channels: 1, 2, 3, 4"),
        ("channels: [1, 2]", "channels: [1, CH4, chan5]", "streams.scope.channels[2]",
         "has no channel 'chan5'"),
        ("channels: [1, 2]", "batch: 10", "streams.scope.batch",
         "batch applies to readings streams, not waveforms"),
        ("rate: 5", "rate: 5, channels: [1]", "streams.meter.channels",
         "channels applies to waveforms streams, not readings"),
        ("rate: 5", "rate: 5, timeout: 3", "streams.meter.timeout",
         "timeout applies to waveforms streams, not readings"),
        ("channels: [1, 2]", "settle: 0.5", "streams.scope.settle",
         "settle applies to sweep streams, not waveforms"),
        ("  meter:\n    resource", "  errors:\n    resource", "instruments.errors",
         "the name 'errors' is reserved"),
        ("channels: [1, 2]", "channels: [1, CH1]", "streams.scope.channels[1]",
         "writes stream 'scope_ch1', which stream 'scope' also writes; list each channel once"),
        ("  meter: {instrument", "  scope_ch2: {instrument", "streams.scope",
         "writes stream 'scope_ch2', which stream 'scope_ch2' also writes; rename one"),
    ],
)  # fmt: skip
def test_refused_fields_are_named(
    bench: Bench, old: str, new: str, field: str, reason: str
) -> None:
    assert_refused(bench, bench.config(old, new), f"field {field!r}: ", reason)


def test_resources_that_cannot_parse_are_refused(bench: Bench) -> None:
    for resource, reason in [
        ("NOTAVISA::::garbage", "cannot parse resource 'NOTAVISA::::garbage': unknown interface"),
        ("TCPIP::::INSTR", "host_address part is mandatory"),
        ("TCPIP::127.0.0.1::70000::SOCKET", "port 70000 is not a TCP port"),
        ("nosuch://device", "no handler for URLs of scheme 'nosuch'"),
    ]:
        config = bench.config(bench.resource, resource)
        assert_refused(bench, config, "field 'instruments.meter.resource': ", reason)


def test_duplicate_keys_are_refused_with_the_key_and_lines(bench: Bench) -> None:
    config = bench.config("stop: {duration: 1}", "stop: {duration: 1}\nstop: {duration: 9}")
    assert_refused(bench, config, "(line 14, column 1)",
                   "duplicate key 'stop' (first given on line 13)")  # fmt: skip
    config = bench.config("stop: {duration: 1}", "stop: {duration: 1, duration: 9}")
    assert_refused(bench, config, "(line 13, column 21)", "duplicate key 'duration'")


def test_an_alias_bomb_is_refused_quickly_before_it_expands(bench: Bench) -> None:
    # Nine levels of nine aliases: 9**9 (387 million) strings once expanded.
    layers = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*l{level - 1}"] * 9)
        layers.append(f"  l{level}: &l{level} [{aliases}]")
    config = bench.config("stop:", "metadata:\n" + "\n".join(layers) + "\nstop:")
    assert_refused(bench, config, "run.yaml: not valid YAML (line",
                   "expands to more than 1,000,000 values through its aliases")  # fmt: skip


def test_a_missing_output_directory_is_blamed_on_the_option_that_gave_it(bench: Bench) -> None:
    config = bench.config()
    output = bench.folder / "no" / "such" / "run.h5"
    assert_refused(bench, config, "Error: option -o/--output: output directory",
                   "does not exist", "-o", str(output))  # fmt: skip
    _, output_text = acquire(config, "--check", "-o", str(output))
    assert "output.path" not in output_text
    config = bench.config(f"path: {bench.folder / 'run.h5'}", f"path: {output}")
    assert_refused(bench, config, "field 'output.path': output directory", "does not exist")


def test_an_infinite_duration_option_is_refused(bench: Bench) -> None:
    code, output = acquire(bench.config(), "--check", "--duration", "inf")
    assert code == 2
    assert "Error: Invalid value for '--duration': inf is not a finite number" in output


def test_a_disk_with_too_little_room_is_refused_up_front(bench: Bench) -> None:
    # A file-size limit is room the run file does not have (decision 0203 counts both).
    limit = 8 * 1024 * 1024
    script = (
        "import resource, sys; from instrumentkit.cli import main; "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "sys.exit(main())"
    )
    config = bench.config()
    command = [sys.executable, "-c", script, "acquire", str(config)]
    for args in (["--check"], []):
        done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"field 'output.path': only 8.4 MB left for run file {bench.folder}" in done.stderr
        assert bench.files() == {config.name}
        assert not bench.touched()


def test_physicists_numbers_reach_the_instruments_and_dates_are_iso(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        "lab: default\n"
        "instruments:\n"
        "  scope: {device: scope, settings: {timebase_scale: 5e-4}}\n"
        "  dmm: {device: dmm, settings: {voltage_range: 1e1}}\n"
        "streams: {dmm: {instrument: dmm, count: 3}}\n"
        "metadata: {sample: S1, prepared: 2024-01-01, cooled: 2024-01-02 09:30:00Z}\n"
        f"output: {{path: {tmp_path / 'run.h5'}}}\n"
    )
    code, output = acquire("--check", config)
    assert code == 0, output
    code, output = acquire(config, "-q")
    assert code == 0, output
    with open_run(tmp_path / "run.h5") as run:
        assert run.instruments["scope"].settings_start["timebase_scale"]["value"] == 5e-4
        assert run.instruments["dmm"].settings_start["voltage_range"]["value"] == 10.0
        assert run.metadata["prepared"] == "2024-01-01"
        assert run.metadata["cooled"] == "2024-01-02T09:30:00+00:00"


def test_connection_option_checks_cover_exactly_the_transport_options() -> None:
    assert list(ConnectionOptionsConfig.__annotations__) == list(ConnectionOptions.__annotations__)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("timebase_scale: 1.0e-3", "timebase_scale: .nan",
         "instruments.scope.settings.timebase_scale"),
        ("timebase_scale: 1.0e-3", "channels: {1: {scale: -.inf}}",
         "instruments.scope.settings.channels.1.scale"),
        ("rate: 5", "rate: 5, stages: [{scale: {factor: .nan}}]",
         "streams.meter.stages[0].scale.factor"),
        ("stop:", "metadata: {limits: [0, .inf]}\nstop:", "metadata.limits[1]"),
    ],
)  # fmt: skip
def test_no_number_anywhere_may_be_infinite_or_nan(
    bench: Bench, old: str, new: str, field: str
) -> None:
    # NaN passes every range check (every comparison is false): refused before any driver.
    assert_refused(bench, bench.config(old, new), f"field {field!r}: ", "expected a finite number")


def test_scope_channels_come_from_the_driver_declaration() -> None:
    from instrumentkit import Channel, ChannelGroup, Instrument
    from instrumentkit.acquisition._stream_checks import scope_channel, scope_channels
    from instrumentkit.drivers.keysight.infiniivision import KeysightInfiniiVisionTwoChannel

    class Grouped(Instrument):  # a third-party scope without `analog_channels`
        channels = ChannelGroup(Channel, (1, 2, "MATH"))

    assert scope_channels(KeysightInfiniiVisionTwoChannel) == (1, 2)
    assert scope_channels(Grouped) == (1, 2, "MATH")
    assert scope_channels(Instrument) == ()
    ids = scope_channels(Grouped)
    assert [scope_channel(ids, k) for k in (2, "2", "CH2", "chan 1", "channel2", "math")] == [
        2, 2, 2, 1, 2, "MATH"]  # fmt: skip
    assert [scope_channel(ids, k) for k in (3, "CH3", "ch", "MATH1")] == [None] * 4


def test_a_run_file_given_as_the_config_is_one_line_saying_so(tmp_path: Path) -> None:
    """`instrumentkit acquire run.h5` (the file a run wrote, not its config) ended in a
    UnicodeDecodeError traceback; so did a lab file that is not text."""
    from instrumentkit.sim import load_lab

    run_file = tmp_path / "run.h5"
    RunWriter(run_file).close()
    code, output = acquire(run_file, "-o", tmp_path / "new.h5")
    assert code == 2
    assert output == (
        f"Error: {run_file}: this is an HDF5 file, not a run config (YAML): look inside a run "
        f"file with `instrumentkit inspect {run_file}`\n"
    )
    noise = tmp_path / "noise.yaml"
    noise.write_bytes(bytes(range(128, 256)))
    assert acquire(noise) == (
        2, f"Error: {noise}: not a run config: not UTF-8 text (a run config is a YAML file)\n"
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"this is an HDF5 file, not a lab file \(YAML\)"):
        load_lab(run_file)


def test_an_output_that_is_a_folder_is_named_as_one(bench: Bench) -> None:
    """`-o ''` (a variable that was empty) said "run file . already exists"."""
    code, text = acquire(bench.config(), "-o", "", "--check")
    assert (code, text) == (2, "Error: option -o/--output: run file . is a directory; give a "
                               "file name (run.h5)\n")  # fmt: skip
    with pytest.raises(IsADirectoryError, match=f"^run file {bench.folder} is a directory; "):
        RunWriter(bench.folder, overwrite=True)
