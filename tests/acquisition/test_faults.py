"""Faults during a run (issue 10, section 2): a garbled, truncated or lost reply costs one
record and the stream goes on at its rate; errors the instrument reports are recorded; a
stream stopped by an error makes the run aborted, on time.

Faults are injected in the simulated devices (decision 0102) once every stream has data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from instrumentkit.acquisition import RunResult, open_run, run_pipeline

# device name -> (model, transport, the data command a fault is armed on, stream)
FAMILIES = {
    "rigol": ("rigol-ds1054z", "tcp", ":WAV:DATA?", "rigol_ch1"),
    "tds": ("tektronix-tds2024c", "tcp", "CURVe?", "tds_ch1"),
    "mso": ("tektronix-mso4104", "tcp", "CURVe?", "mso_ch1"),
    "keysight": ("keysight-dsox3034t", "tcp", ":WAVeform:DATA?", "keysight_ch1"),
    "ocean": ("oceaninsight-usb4000", "serial", "S", "ocean"),
    "osa": ("yokogawa-aq6370d", "tcp", ":TRACe:Y?", "osa"),
}
RATE = 5.0


def lab_run(
    tmp_path: Path,
    devices: dict[str, dict[str, Any]],
    streams: dict[str, dict[str, Any]],
    inject: Callable[[Any], None],
    *,
    duration: float,
    ready: Callable[[Any], bool],
) -> tuple[RunResult, float]:
    """Run `devices` of a lab file; call `inject(lab)` once `ready(progress)`.

    Returns the result and the monotonic time of the injection.
    """
    lab = {
        "devices": [
            {"name": name, "model": spec.pop("model"), "transport": spec.pop("transport", "tcp"),
             "seed": index}
            for index, (name, spec) in enumerate(devices.items())
        ]
    }  # fmt: skip
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(lab))
    config = {
        "lab": "lab.yaml",
        "instruments": {name: {"device": name, **spec} for name, spec in devices.items()},
        "streams": streams,
        "stop": {"duration": duration},
        "output": {"path": str(tmp_path / "run.h5")},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    labs: list[Any] = []
    injected: list[float] = []

    def progress(state: Any) -> None:
        if labs and not injected and ready(state):
            inject(labs[0])
            injected.append(time.monotonic())

    result = run_pipeline(
        path,
        progress=progress,
        progress_interval=0.02,
        on_start=lambda pipeline, bench: labs.append(bench.lab),
    )
    assert injected, "the run ended before the fault was injected"
    return result, injected[0]


def error_log(path: Path) -> np.ndarray:
    with open_run(path) as run:
        return np.asarray(run["errors"].data)


@pytest.mark.parametrize("kind", ["garble", "truncate", "no_reply", "drop"])
def test_one_bad_reply_costs_one_record_on_every_scope_and_spectrometer(
    tmp_path: Path, kind: str
) -> None:
    devices: dict[str, dict[str, Any]] = {"dmm": {"model": "keysight-34461a"}}
    streams: dict[str, dict[str, Any]] = {"dmm": {"instrument": "dmm", "rate": RATE}}
    for name, (model, transport, _, _) in FAMILIES.items():
        options: dict[str, Any] = {"timeout": 1.0}
        if transport == "serial":
            options["baudrate"] = 921600  # the frame's wire time is part of its timeout
        devices[name] = {"model": model, "transport": transport, "options": options,
                         "on_error": {"action": "skip"}}  # fmt: skip
        streams[name] = {"instrument": name, "rate": RATE}
        if name == "osa":
            devices[name]["settings"] = {"sweep_points": 201}  # a 0.06 s sweep
        if name in ("rigol", "tds", "mso", "keysight"):
            streams[name].update(channels=[1], timeout=2.0)
    outputs = [stream for *_, stream in FAMILIES.values()]

    def inject(lab: Any) -> None:
        for name, (_, _, command, _) in FAMILIES.items():
            lab.device(name).faults.inject(kind, on=command, keep=0.5)

    result, _ = lab_run(
        tmp_path, devices, streams, inject, duration=3.0,
        ready=lambda p: all(p.rows.get(s, 0) >= 2 for s in outputs),
    )  # fmt: skip
    assert result.status == "completed", result.reason
    log = error_log(result.path)
    with open_run(result.path) as run:
        reference = len(run["dmm"])
        for name, (*_, stream) in FAMILIES.items():
            mine = log[log["instrument"] == name.encode()]
            # One error for the one bad reply (a second if a loaded machine stalls a reply
            # past its timeout), not a run of them: back in step.
            assert 1 <= len(mine) <= 2, (name, mine)
            assert mine["action"][0] == b"skipped"
            stamps = np.asarray(run[stream]["time"])
            failed_at = np.asarray(run["errors"]["time"])[log["instrument"] == name.encode()][0]
            after = int(np.count_nonzero(stamps > failed_at))
            assert after >= 3, (name, kind, after)
            assert len(stamps) >= 0.5 * reference, (name, len(stamps), reference)


@pytest.mark.parametrize("action", ["skip", "stop"])
def test_errors_the_instruments_report_are_recorded_with_their_code(
    tmp_path: Path, action: str
) -> None:
    """A -222 on the DMM's READ? and on the scope's data query: the reply still comes, so
    only the error queue tells; it is read every check_interval and recorded."""
    policy = {"action": action, "check_interval": 0.2}
    devices: dict[str, dict[str, Any]] = {
        "dmm": {"model": "keysight-34461a", "on_error": policy},
        "scope": {"model": "rigol-ds1054z", "on_error": {"action": "skip", "check_interval": 0.2}},
    }
    streams = {"dmm": {"instrument": "dmm", "rate": RATE},
               "scope": {"instrument": "scope", "channels": [1], "rate": RATE}}  # fmt: skip

    def inject(lab: Any) -> None:
        lab.device("dmm").faults.inject("error", on="READ?", code=-222,
                                        message="Data out of range")  # fmt: skip
        lab.device("scope").faults.inject("error", on=":WAV:DATA?", code=-222,
                                          message="Data out of range")  # fmt: skip

    result, _ = lab_run(
        tmp_path, devices, streams, inject, duration=1.5,
        ready=lambda p: p.rows.get("dmm", 0) >= 2 and p.rows.get("scope_ch1", 0) >= 2,
    )  # fmt: skip
    log = error_log(result.path)
    by = {row["instrument"].decode(): row for row in log}
    # Stopped by the DMM's error, the run may end before the scope's next data query
    # meets its fault: then the scope has nothing to report, which is right.
    expected = ["dmm", "scope"] if action == "skip" else ["dmm"]
    assert sorted(by) in (expected, ["dmm", "scope"])
    for name in by:
        assert by[name]["error"] == b"InstrumentReportedError"
        assert by[name]["code"] == -222
        assert b"Data out of range" in by[name]["message"]
    if action == "skip":
        assert result.status == "completed"
        assert by["dmm"]["action"] == b"skipped"
    else:
        assert result.status == "aborted"
        assert result.reason.startswith("dmm: InstrumentReportedError: dmm: reported -222")
        assert by["dmm"]["action"] == b"stopped the run"
    with open_run(result.path) as run:
        assert run.status == result.status


def test_a_stream_stopped_by_an_error_aborts_the_run_even_past_its_duration(
    tmp_path: Path,
) -> None:
    """The scope stops answering; its read times out after the duration was reached: the
    run did not complete, and it ends within the timeout plus a second of the fault."""
    timeout = 1.0
    devices: dict[str, dict[str, Any]] = {
        "dmm": {"model": "keysight-34461a"},
        "scope": {"model": "rigol-ds1054z", "options": {"timeout": timeout},
                  "on_error": {"action": "stop"}},
    }  # fmt: skip
    streams = {"dmm": {"instrument": "dmm", "rate": RATE},
               "scope": {"instrument": "scope", "channels": [1], "rate": RATE}}  # fmt: skip
    result, injected = lab_run(
        tmp_path, devices, streams,
        lambda lab: lab.device("scope").faults.inject("no_reply", on=":WAV:DATA?"),
        duration=1.0, ready=lambda p: p.rows.get("scope_ch1", 0) >= 2,
    )  # fmt: skip
    ended = time.monotonic()
    assert result.status == "aborted"
    assert result.reason.startswith("scope: Timeout: scope: command ':WAV:DATA?'")
    # Generous for a loaded machine: the stop itself is immediate once the read fails.
    assert ended - injected < timeout + 1.0 + 2.0
    with open_run(result.path) as run:
        assert run.status == "aborted"
        assert run.reason == result.reason
        assert run["errors"].data["action"].tolist() == [b"stopped the run"]


def test_a_source_still_blocked_after_the_grace_has_its_link_closed(tmp_path: Path) -> None:
    """The run ends at its duration plus the grace, not when a 20 s read gives up; the
    closed link is no instrument error, and the run still completed its duration."""
    from instrumentkit.acquisition import CallableSource, Pipeline, ScopeSource, Stop
    from instrumentkit.drivers.rigol import RigolDS1000Z
    from instrumentkit.sim import Lab, load_lab

    (tmp_path / "lab.yaml").write_text(
        yaml.safe_dump({"devices": [{"name": "scope", "model": "rigol-ds1054z"}]})
    )
    with Lab(load_lab(tmp_path / "lab.yaml")) as lab:
        scope = RigolDS1000Z.open(lab.resource("scope"), name="scope", timeout=20.0)
        armed: list[bool] = []

        def swallow_replies(progress: Any) -> None:
            if not armed and progress.rows.get("scope_ch1", 0) >= 1:
                lab.device("scope").faults.inject("no_reply", on=":WAV:DATA?", count=None)
                armed.append(True)

        sources = [ScopeSource(scope, [1], rate=RATE), CallableSource(lambda: 1.0, stream="tick",
                                                                      rate=20)]  # fmt: skip
        pipeline = Pipeline(sources, tmp_path / "run.h5", stop=Stop(duration=1.0),
                            shutdown_timeout=0.5)  # fmt: skip
        started = time.monotonic()
        result = pipeline.run(swallow_replies, progress_interval=0.02)
        took = time.monotonic() - started
        scope.close()
    assert armed
    assert took < 8.0, f"the run waited {took:.1f} s for a read with a 20 s timeout"
    assert result.status == "completed"
    assert result.reason == "duration of 1 s reached; scope still busy after 0.5 s: link closed"
    assert result.errors == ()


def test_errors_queued_before_the_run_are_recorded_but_do_not_stop_it(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(
        yaml.safe_dump({"devices": [{"name": "dmm", "model": "keysight-34461a"}]})
    )
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({
        "lab": "lab.yaml",
        "instruments": {"dmm": {"device": "dmm", "on_error": {"action": "stop"}}},
        "streams": {"dmm": {"instrument": "dmm", "rate": 20}},
        "stop": {"duration": 0.5},
        "output": {"path": str(tmp_path / "run.h5")},
    }))  # fmt: skip
    result = run_pipeline(
        tmp_path / "run.yaml",
        on_start=lambda pipeline, bench: bench.lab.device("dmm").report_error(-113, "Undefined"),
    )
    assert result.status == "completed", result.reason
    [row] = error_log(result.path)
    assert (row["instrument"], row["code"], row["action"]) == (
        b"dmm",
        -113,
        b"queued before the run",
    )
