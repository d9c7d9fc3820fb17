"""When things go wrong mid-run: instruments that time out, garble or hang up (simulated-lab
faults, injected once data flows), and a disk that fills up. The run stops or skips as
configured, the file keeps every flushed row and says what happened, and nothing hangs.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from instrumentkit.acquisition import RunResult, open_run, run_pipeline


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    """Fail a test that runs past 60 s (something hangs) instead of hanging the suite."""

    def too_long(signum: int, frame: object) -> None:
        raise TimeoutError("the test ran for 60 s: something hangs")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


LAB = {
    "devices": [
        {"name": "dmm", "model": "keysight-34461a", "seed": 1},
        {"name": "gauge", "model": "pfeiffer-tpg362", "transport": "serial", "seed": 2},
    ]
}


def run_with_fault(
    tmp_path: Path,
    device: str,
    kind: str,
    policy: dict[str, Any],
    *,
    on: str,
    after_rows: int = 10,
    **fault: Any,
) -> RunResult:
    """Run dmm + gauge for 1.5 s; once `device` has `after_rows` rows, inject the fault."""
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(LAB))
    config = {
        "lab": "lab.yaml",
        "instruments": {
            "dmm": {"device": "dmm", "options": {"timeout": 0.3}, "settings": {"nplc": 0.2}},
            "gauge": {"device": "gauge", "options": {"timeout": 0.3}},
        },
        "streams": {
            "dmm": {"instrument": "dmm", "rate": 50},
            "gauge": {"instrument": "gauge", "rate": 20},
        },
        "stop": {"duration": 1.5},
        "output": {"path": "run.h5"},
    }
    config["instruments"][device]["on_error"] = policy
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    labs: list[Any] = []

    def inject(progress: Any) -> None:
        if len(labs) == 1 and progress.rows.get(device, 0) >= after_rows:
            labs[0].device(device).faults.inject(kind, on=on, **fault)
            labs.append("injected")

    started = time.monotonic()
    result = run_pipeline(
        path,
        output=tmp_path / "run.h5",
        progress=inject,
        progress_interval=0.02,
        on_start=lambda pipeline, bench: labs.append(bench.lab),
    )
    assert time.monotonic() - started < 15, "the run hung"
    assert labs[-1] == "injected"
    return result


def logged(path: Path) -> list[tuple[str, str, str]]:
    with open_run(path) as run:
        table = run["errors"].data
        return [
            (row["instrument"].decode(), row["error"].decode(), row["action"].decode())
            for row in table
        ]


def test_timeouts_skipped_the_run_goes_on(tmp_path: Path) -> None:
    result = run_with_fault(tmp_path, "dmm", "no_reply", {"action": "skip"}, on="READ?", count=2)
    assert result.status == "completed"
    assert logged(result.path) == [("dmm", "Timeout", "skipped")] * 2
    with open_run(result.path) as run:
        assert run.status == "completed"
        assert len(run["dmm"]) > 10
        assert np.all(np.isfinite(run["dmm"]["reading"]))
        assert run.instruments["dmm"].settings_end is not None


def test_a_timeout_with_stop_aborts_and_keeps_what_was_written(tmp_path: Path) -> None:
    result = run_with_fault(tmp_path, "dmm", "no_reply", {"action": "stop"}, on="READ?")
    assert result.status == "aborted"
    assert result.reason.startswith("dmm: Timeout: dmm: command 'READ?': no complete reply")
    assert logged(result.path) == [("dmm", "Timeout", "stopped the run")]
    with open_run(result.path) as run:
        assert run.status == "aborted"
        assert run.reason == result.reason
        assert len(run["dmm"]) >= 10
        assert len(run["gauge"]) >= 1
        # No end snapshot is asked of the failed instrument (it could take a timeout per
        # setting); the healthy one has its own.
        assert run.instruments["dmm"].settings_end is None
        assert run.instruments["gauge"].settings_end is not None


def test_garbled_replies_are_protocol_errors(tmp_path: Path) -> None:
    result = run_with_fault(tmp_path, "dmm", "garble", {"action": "skip"}, on="READ?", count=3)
    assert result.status == "completed"
    assert logged(result.path) == [("dmm", "ProtocolError", "skipped")] * 3


def test_a_dropped_connection_stops_the_run(tmp_path: Path) -> None:
    result = run_with_fault(tmp_path, "dmm", "drop", {"action": "stop"}, on="READ?", keep=0.3)
    assert result.status == "aborted"
    assert result.reason.startswith("dmm: ")
    [(instrument, error, action)] = logged(result.path)
    assert (instrument, action) == ("dmm", "stopped the run")
    assert error in ("ConnectionFailed", "Timeout")


def test_skipping_a_connection_lost_again_and_again_ends_at_the_error_limit(
    tmp_path: Path,
) -> None:
    """Each poll opens the connection again (decision 0010) and loses it again."""
    result = run_with_fault(tmp_path, "dmm", "drop", {"action": "skip", "max_errors": 3},
                            on="READ?", keep=0.3, count=None)  # fmt: skip
    assert result.status == "aborted"
    assert "dmm: more than 3 errors (on_error max_errors)" in result.reason
    actions = [action for _, _, action in logged(result.path)]
    assert actions == ["skipped"] * 3 + ["stopped the run"]


def test_a_serial_gauge_that_stops_answering(tmp_path: Path) -> None:
    result = run_with_fault(tmp_path, "gauge", "no_reply", {"action": "stop"}, on="PRX",
                            after_rows=3)  # fmt: skip
    assert result.status == "aborted"
    assert result.reason.startswith("gauge: ")
    with open_run(result.path) as run:
        assert len(run["gauge"]) >= 3
        assert len(run["dmm"]) >= 1


FILLS_THE_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from instrumentkit.acquisition import Pipeline, RunWriter, ScopeSource
    from instrumentkit.acquisition.synthetic import SyntheticScope

    path = sys.argv[1]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # A 40 MB "disk", as far as this process is concerned; stop with 24 MB left.
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000_000, 40_000_000))
    writer = RunWriter(path, flush_interval=0.05, min_free_bytes=24_000_000)
    scope = SyntheticScope("scope", points=10_000)
    result = Pipeline([ScopeSource(scope, [1])], writer).run()
    print(result.status, result.rows["scope_ch1"], scope.triggers)
    print(result.reason)
    """
)


def test_a_filling_disk_stops_the_run_with_a_clear_reason_and_readable_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.h5"
    done = subprocess.run([sys.executable, "-c", FILLS_THE_DISK, str(path)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary, reason = done.stdout.splitlines()[:2]
    status, _, _ = summary.split()
    assert status == "aborted"
    assert "stopping before the disk is full" in reason
    assert "rows up to the last flush are safe" in reason
    with open_run(path) as run:
        assert run.status == "aborted"
        assert "stopping before the disk is full" in run.reason
        y = run["scope_ch1"]["y"]
        assert len(y) >= 100
        np.testing.assert_array_equal(y[:, 0], np.arange(len(y)))  # every trigger, in order


@pytest.mark.parametrize("where", ["missing/run.h5", "."])
def test_an_unusable_output_path_is_refused_before_the_run(tmp_path: Path, where: str) -> None:
    from instrumentkit.errors import ConfigError

    (tmp_path / "run.yaml").write_text(yaml.safe_dump({
        "instruments": {"dmm": {"resource": "TCPIP::192.0.2.1::5025::SOCKET",
                                "driver": "Keysight34461A"}},
        "output": {"path": str(tmp_path / where)}}))  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        run_pipeline(tmp_path / "run.yaml")
    assert caught.value.field == "output.path"
