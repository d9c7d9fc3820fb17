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


@pytest.mark.parametrize("kind", ["garble", "truncate", "no_reply"])
def test_one_bad_reply_costs_one_record_on_every_scope_and_spectrometer(
    tmp_path: Path, kind: str
) -> None:
    devices: dict[str, dict[str, Any]] = {"dmm": {"model": "keysight-34461a"}}
    streams: dict[str, dict[str, Any]] = {"dmm": {"instrument": "dmm", "rate": RATE}}
    for name, (model, transport, _, _) in FAMILIES.items():
        options: dict[str, Any] = {"timeout": 0.5}
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
            # One error for the one bad reply, nothing after it: back in step.
            assert len(mine) == 1, (name, mine)
            assert mine["action"][0] == b"skipped"
            stamps = np.asarray(run[stream]["time"])
            failed_at = np.asarray(run["errors"]["time"])[log["instrument"] == name.encode()][0]
            after = int(np.count_nonzero(stamps > failed_at))
            assert after >= 3, (name, kind, after)
            assert len(stamps) >= 0.6 * reference, (name, len(stamps), reference)
