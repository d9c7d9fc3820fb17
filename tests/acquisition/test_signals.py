"""SIGINT and SIGTERM at any moment of `instrumentkit acquire` (issue 10, section 2): one line,
exit code 130, no traceback, and either no file or a valid one marked aborted; a signal while
an instrument is blocked in a read ends the run at once, not after the read's timeout.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml

from instrumentkit.acquisition import open_run

READ_TIMEOUT = 20.0  # the scope's: a blocked read would last this long


def config(tmp_path: Path) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({
        "lab": "default",
        "instruments": {"scope": {"device": "scope", "options": {"timeout": READ_TIMEOUT}},
                        "dmm": {"device": "dmm"}},
        "streams": {"scope": {"instrument": "scope", "channels": [1], "rate": 5},
                    "dmm": {"instrument": "dmm", "rate": 5}},
        "stop": {"duration": 60},
        "output": {"path": str(tmp_path / "run.h5")},
    }))  # fmt: skip
    return path


def no_file_or_aborted(path: Path) -> None:
    if path.exists():
        with open_run(path) as run:
            assert run.status == "aborted"
            assert run.reason in ("interrupted by the user (Ctrl-C)", "terminated (SIGTERM)")


def caught_signals(pid: int) -> int:
    """The mask of signals `pid` has handlers for (Linux /proc), 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next(
        int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:")
    )


def wait_for_the_guard(process: subprocess.Popen[str]) -> None:
    """Until the package's first import has taken SIGTERM (SIGINT is Python's from the
    interpreter's start): before it, the interpreter is still starting and the signal's
    default action applies, as for any program (decision 0009)."""
    deadline = time.monotonic() + 60
    while not caught_signals(process.pid) & (1 << (signal.SIGTERM - 1)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never took SIGTERM"
        time.sleep(0.005)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize(
    ("stop_signal", "after"),
    [(signal.SIGINT, 0.0), (signal.SIGTERM, 0.0), (signal.SIGTERM, 0.6), (signal.SIGINT, 0.6)],
)
def test_a_signal_at_start_up_is_one_line_and_exit_130(
    tmp_path: Path, stop_signal: signal.Signals, after: float
) -> None:
    """While the package imports (about 0.5 s) or the lab and instruments open: from the
    moment the package guards the command line, any moment will do."""
    command = [sys.executable, "-m", "instrumentkit", "acquire", str(config(tmp_path)), "-q"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_the_guard(process)
        time.sleep(after)
        process.send_signal(stop_signal)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 1, err
    no_file_or_aborted(tmp_path / "run.h5")


def test_ctrl_c_while_an_instrument_is_still_opening_exits_130_and_writes_nothing(
    tmp_path: Path,
) -> None:
    """The instrument is identified by *IDN? when opened; its peer reads the query and never
    answers, so the signal, sent once the query has arrived, lands while it opens."""
    with socket.create_server(("127.0.0.1", 0)) as mute:
        asked = threading.Event()
        held: list[socket.socket] = []

        def take_the_query() -> None:
            peer, _ = mute.accept()
            held.append(peer)
            received = b""
            while b"\n" not in received and (chunk := peer.recv(64)):
                received += chunk
            asked.set()

        threading.Thread(target=take_the_query, daemon=True).start()
        path = tmp_path / "run.yaml"
        resource = f"TCPIP::127.0.0.1::{mute.getsockname()[1]}::SOCKET"
        path.write_text(yaml.safe_dump({
            "instruments": {"meter": {"resource": resource, "options": {"timeout": READ_TIMEOUT}}},
            "output": {"path": str(tmp_path / "run.h5")},
        }))  # fmt: skip
        command = [sys.executable, "-m", "instrumentkit", "acquire", str(path), "-q"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)  # fmt: skip
        try:
            assert asked.wait(60), "the instrument was never asked who it is"
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            for peer in held:
                peer.close()
    assert process.returncode == 130, err
    assert err.strip() == (
        "instrumentkit: interrupted (Ctrl-C) before the run started; no file written"
    )
    assert not (tmp_path / "run.h5").exists()


# The command line, with the scope's replies to :WAV:DATA? swallowed from the second on:
# SWALLOWING is printed when the first is swallowed, so the scope's read is then blocked.
BLOCKED = textwrap.dedent(
    """
    import sys
    from instrumentkit.acquisition import _bench
    from instrumentkit.cli import main

    opened = _bench.Bench.open

    def open_then_break_the_scope(self):
        bench = opened(self)
        scope = bench.lab.device("scope")
        send = scope.send
        armed = []

        def send_then_break(data, **options):
            send(data, **options)
            asked = options.get("command") or scope.current_message or ""
            if not asked.upper().startswith(":WAV:DATA?"):
                return
            if not armed:  # one waveform has gone out: swallow the next ones
                armed.append(scope.faults.inject("no_reply", on=":WAV:DATA?", count=None))
            elif armed[0].fired == 1 and len(armed) == 1:
                armed.append("told")
                print("SWALLOWING", flush=True)

        scope.send = send_then_break
        return bench

    _bench.Bench.open = open_then_break_the_scope
    main(sys.argv[1:])
    """
)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_scope_is_blocked_in_a_read_stops_at_once(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    command = [
        sys.executable,
        "-c",
        BLOCKED,
        "acquire",
        str(config(tmp_path)),
        "-q",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)  # fmt: skip
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "SWALLOWING" in line:  # the scope's read is waiting for a reply that never comes
                break
        signalled = time.monotonic()
        process.send_signal(stop_signal)
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert took < READ_TIMEOUT / 4, f"the run waited {took:.1f} s for the blocked read"
    with open_run(tmp_path / "run.h5") as run:
        assert run.status == "aborted"
        assert len(run["scope_ch1"]) >= 1
        assert len(run["dmm"]) >= 1
        assert len(run["errors"]) == 0  # closing the link to stop is no instrument error
