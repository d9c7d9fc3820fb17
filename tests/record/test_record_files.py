"""Recording files on disk: a whole unmodified script, Ctrl-C, the pytest fixture, timing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.record import ReplayTransport, load_recording
from instrumentkit.sim import create, serve

ROOT = Path(__file__).resolve().parents[2]


def test_instrumentkit_record_records_an_unmodified_example_script(tmp_path):
    folder = tmp_path / "recordings"
    done = subprocess.run(
        [sys.executable, "examples/log_sensors.py", "--duration", "0.6", "--interval", "0.2",
         "--output", str(tmp_path / "sensors.h5")],
        cwd=ROOT, env={**os.environ, "INSTRUMENTKIT_RECORD": str(folder)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = sorted(path.name for path in folder.iterdir())
    assert {"Keysight34461A.rec.yaml", "PfeifferTPG362.rec.yaml"} <= set(names), names
    dmm = load_recording(str(folder / "Keysight34461A.rec.yaml"))
    writes = [exchange.write for exchange in dmm.exchanges]
    assert b"VOLT:DC:NPLC 1\n" in writes  # what the script set
    readings = [e for e in dmm.exchanges if e.write == b"READ?\n"]
    assert readings
    assert all(e.reply.endswith(b"\n") for e in readings)
    assert dmm.header["idn"].startswith("Keysight Technologies,34461A")
    gauge = load_recording(str(folder / "PfeifferTPG362.rec.yaml"))
    assert gauge.header["connection"]["write_termination"] == "\r\n"
    assert any(e.write == b"\x05" for e in gauge.exchanges)
    board = load_recording(str(folder / "LineSensor.rec.yaml"))  # opened by its own open()
    assert board.header["connection"]["baudrate"] == 115200
    assert board.exchanges


def test_a_run_config_may_name_a_recording_to_replay(tmp_path):
    from instrumentkit.acquisition._resource_syntax import resource_problem

    recording = tmp_path / "dmm.rec.yaml"
    recording.write_text("format: instrumentkit-recording/1\nexchanges: []\n")
    assert resource_problem(f"replay://{recording}") is None
    missing = resource_problem(f"replay://{tmp_path / 'none.rec.yaml'}")
    assert missing is not None
    assert "no recording" in missing
    # The options of the replay (docs/recording.md) are not part of the file's name.
    assert resource_problem(f"replay://{recording}?mode=lenient&timing=keep") is None
    missing = resource_problem(f"replay://{tmp_path / 'none.rec.yaml'}?mode=lenient")
    assert missing == (
        f"resource 'replay://{tmp_path / 'none.rec.yaml'}?mode=lenient': no recording "
        f"'{tmp_path / 'none.rec.yaml'}' to replay"
    )
    assert resource_problem(f"replay://{recording}?mode=lenent") == (
        f"'replay://{recording}?mode=lenent': a replay resource takes mode=strict|lenient and "
        "timing=drop|keep, got 'mode=lenent'"
    )


_LOOP = """
import sys
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.sim import create, serve

done = 0
with serve({"dmm": create("keysight-34461a", seed=1)}) as lab:
    try:
        with Keysight34461A.open(lab.resource("dmm"), record=sys.argv[1]) as dmm:
            while True:
                dmm.voltage_range
                done += 1
                if done == 200:
                    print("ready", flush=True)
    except KeyboardInterrupt:
        print(done, flush=True)
"""


def test_ctrl_c_while_recording_leaves_a_valid_file_with_every_exchange_once(tmp_path):
    path = tmp_path / "dmm.rec.yaml"
    script = tmp_path / "loop.py"
    script.write_text(textwrap.dedent(_LOOP))
    with subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # any moment of the loop will do
        process.send_signal(signal.SIGINT)
        completed = int(process.stdout.readline())
        assert process.wait(timeout=30) == 0
    exchanges = load_recording(str(path)).exchanges
    assert all(e.write == b"VOLT:DC:RANG?\n" for e in exchanges)
    answered = [e for e in exchanges if e.reply]
    assert all(e.reply == b"+1.00000000E+01\n" for e in answered)
    # Every completed query is in the file once; at most the interrupted one has no reply.
    assert completed >= 200
    assert len(answered) in (completed, completed + 1)
    assert len(exchanges) - len(answered) <= 1


def test_replay_keeps_the_recorded_timing_when_asked(tmp_path):
    path = tmp_path / "slow.rec.yaml"
    with (
        serve({"dmm": create("keysight-34461a", seed=1, latency=0.3)}) as lab,
        Keysight34461A.open(lab.resource("dmm"), record=path) as dmm,
    ):
        dmm.nplc  # noqa: B018
    assert load_recording(str(path)).exchanges[0].took >= 0.3
    with Keysight34461A.open(f"replay://{path}?timing=keep") as dmm:
        started = time.monotonic()
        assert dmm.nplc == 10
        assert time.monotonic() - started >= 0.25  # a lower bound: safe under load
    transport = ReplayTransport(str(path))
    assert not transport.keep_timing


_FIXTURE_TESTS = """
from instrumentkit.record import ReplayMismatch
import pytest


def test_uses_every_exchange(replay):
    dmm = replay("recordings/dmm.rec.yaml")
    assert dmm.nplc == 10
    assert dmm.voltage_range == 10

def test_leaves_an_exchange(replay):
    dmm = replay("recordings/dmm.rec.yaml")
    assert dmm.nplc == 10

def test_swallows_a_divergence(replay):
    dmm = replay("recordings/dmm.rec.yaml")
    with pytest.raises(ReplayMismatch):
        dmm.voltage_range
"""


def test_the_replay_fixture_fails_on_unused_exchanges_and_on_divergence(tmp_path):
    (tmp_path / "recordings").mkdir()
    path = tmp_path / "recordings/dmm.rec.yaml"
    with (
        serve({"dmm": create("keysight-34461a", seed=1)}) as lab,
        Keysight34461A.open(lab.resource("dmm"), record=path) as dmm,
    ):
        assert (dmm.nplc, dmm.voltage_range) == (10, 10)
    (tmp_path / "test_inner.py").write_text(_FIXTURE_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = done.stdout
    assert "3 passed, 2 errors" in out, out  # the bodies pass; their teardowns fail
    assert "ERROR test_inner.py::test_leaves_an_exchange" in out
    assert "recorded exchanges never used (1): 2 (line 26) b'VOLT:DC:RANG?\\n'" in out
    assert "ERROR test_inner.py::test_swallows_a_divergence" in out
    assert "expected (recording): b'VOLT:DC:NPLC?\\n'" in out
