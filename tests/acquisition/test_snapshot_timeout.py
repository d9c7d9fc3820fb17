"""An instrument whose start snapshot does not finish in time: the run says so."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import h5py
import pytest

from instrumentkit.acquisition import Pipeline, SensorSource
from instrumentkit.acquisition.synthetic import SyntheticSensor
from instrumentkit.errors import Timeout


class SlowSnapshot(SyntheticSensor):
    """A sensor whose snapshot blocks until released (a foreign driver asking a query
    the instrument never answers, one timeout after another)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = threading.Event()

    def snapshot(self) -> dict[str, Any]:
        self.release.wait(10)
        return {}


def test_a_late_start_snapshot_is_the_error_reported_and_the_file_is_closed(tmp_path: Path):
    slow = SlowSnapshot("slow")
    pipeline = Pipeline(
        [SensorSource(slow), SensorSource(SyntheticSensor("quick"))],
        tmp_path / "run.h5",
        instruments={"slow": slow, "quick": SyntheticSensor("quick")},
        snapshot_timeout=0.2,
        shutdown_timeout=1.0,
    )
    try:
        with pytest.raises(Timeout, match="slow: identity and settings snapshot not finished"):
            pipeline.run()
    finally:
        slow.release.set()
    with h5py.File(tmp_path / "run.h5") as f:
        assert f["entry/status"][()] == b"aborted"
        assert "snapshot not finished" in f["entry/reason"][()].decode()
