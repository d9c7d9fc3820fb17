"""RunWriter in-process when a write fails: what the file says, what it keeps, what is raised.

test_crash.py proves the same in writer subprocesses on really full disks and under a
failing HDF5; these tests run the writer in the test process (mutation testing sees only
what runs there), with the disk's answers replaced where a real disk cannot be made to
give them on demand.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from instrumentkit.acquisition import RunWriter, _room

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fallocate and memfd_create")


def text(dataset: h5py.Dataset) -> str:
    return dataset.asstr()[()]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "run.h5"


def disk_fills_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the run file's disk has no free byte left."""
    real = shutil.disk_usage
    full = SimpleNamespace(total=real("/").total, used=real("/").total, free=0)
    monkeypatch.setattr(_room.shutil, "disk_usage", lambda folder: full)


def three_flushed_five_buffered(path: Path) -> tuple[RunWriter, object]:
    run = RunWriter(path, flush_interval=None, min_free_bytes=1)
    dmm = run.add_readings("dmm", "v", "V")
    run.start()
    dmm.append_block(np.arange(3), np.arange(3.0)[:, None])
    run.flush()
    dmm.append_block(np.arange(3, 8), np.arange(3.0, 8.0)[:, None])
    assert (dmm.rows, dmm.rows_written) == (8, 3)
    return run, dmm


def test_a_final_write_refused_at_close_marks_a_completed_run_aborted(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, _ = three_flushed_five_buffered(path)
    disk_fills_up(monkeypatch)
    with pytest.raises(OSError, match="rows buffered since the last flush were lost") as caught:
        run.close("completed")
    message = str(caught.value)
    assert message.startswith(f"run file {path}: rows buffered since the last flush were lost (")
    assert message.endswith("); the file is marked aborted")
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.ENOSPC
    assert run.status == "aborted"
    with h5py.File(path, "r") as f:
        assert text(f["entry/status"]) == "aborted"
        reason = text(f["entry/reason"])
        assert reason.startswith("writing the last buffered rows failed: [Errno 28] run file ")
        assert "stopping before the disk is full" in reason
        assert text(f["entry/end_time"])
        assert f["entry/dmm/v"][:].tolist() == [0.0, 1.0, 2.0]  # every flushed row
        assert f["entry/dmm/time"][:].tolist() == [0, 1, 2]
    run.close("completed")  # closed: nothing more happens
    assert run.status == "aborted"


def test_a_final_write_refused_while_aborting_adds_to_the_reason(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, dmm = three_flushed_five_buffered(path)
    disk_fills_up(monkeypatch)
    run.close("aborted", "stopped by the operator")  # already aborting: nothing to raise
    assert run.status == "aborted"
    with pytest.raises(RuntimeError, match="stream 'dmm': the run has ended"):
        dmm.append_block(np.arange(1), np.ones((1, 1)))
    with h5py.File(path, "r") as f:
        assert text(f["entry/status"]) == "aborted"
        reason = text(f["entry/reason"])
        assert reason.startswith("stopped by the operator; writing the last buffered rows failed")
        assert f["entry/dmm/v"][:].tolist() == [0.0, 1.0, 2.0]


def test_a_refused_final_write_without_a_reason_is_the_reason(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, _ = three_flushed_five_buffered(path)
    disk_fills_up(monkeypatch)
    run.close("aborted")
    with h5py.File(path, "r") as f:
        assert text(f["entry/reason"]).startswith("writing the last buffered rows failed: ")


def test_after_hdf5_fails_a_write_the_file_is_closed_aborted_in_place(path: Path) -> None:
    run = RunWriter(path, flush_interval=None, min_free_bytes=0)
    scope = run.add_waveforms("scope", 1000)
    other = run.add_readings("dmm", "v", "V")
    run.start()
    scope.append_block(np.arange(4.0)[:, None] * np.ones((1, 1000)), timestamps_ns=np.arange(4),
                       x0=0.0, dx=1e-6)  # fmt: skip
    run.flush()
    claim = scope.before_write

    def claim_then_fail(nbytes: int) -> None:
        claim(nbytes)  # there is room, but the file turns read-only under HDF5 (EBADF)
        read_only = os.open(path, os.O_RDONLY)
        os.dup2(read_only, scope.group.file.id.get_vfd_handle())
        os.close(read_only)

    scope.before_write = claim_then_fail
    scope.append_block(np.ones((2, 1000)), timestamps_ns=np.arange(2), x0=0.0, dx=1e-6)
    with pytest.raises(OSError, match=rf"writing run file {path} failed \(Bad file"):
        run.flush()
    # Every stream stops, not only the one that failed.
    with pytest.raises(RuntimeError, match="stream 'scope': writing the run file failed"):
        scope.append_block(np.ones((1, 1000)), timestamps_ns=[0], x0=0.0, dx=1e-6)
    with pytest.raises(RuntimeError, match="stream 'dmm': writing the run file failed: "):
        other.append_block(np.arange(1), np.ones((1, 1)))
    with pytest.raises(OSError, match="Bad file descriptor"):
        run.flush()  # the first failure again: nothing more goes to HDF5
    with pytest.raises(OSError, match="closed after a failed write") as caught:
        run.close("completed", "end of sweep")
    assert caught.value.errno == errno.EIO
    assert str(caught.value).startswith(
        f"[Errno 5] run file {path}: closed after a failed write ([Errno 9] writing run file"
    )
    # (HDF5 may report that it could not close: its handles still point at the memfd)
    assert run.status == "aborted"
    # This process's HDF5 still counts the file as open: read it back in another one.
    read = [sys.executable, "-c", READ_BACK, str(path)]
    seen = json.loads(subprocess.run(read, capture_output=True, text=True, check=True).stdout)
    assert seen["status"] == "aborted"
    assert seen["reason"].startswith("end of sweep; [Errno 9] writing run file")
    assert seen["end_time"]
    assert seen["y"] == (np.arange(4.0)[:, None] * np.ones((1, 1000))).tolist()


READ_BACK = """
import json, sys, h5py
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    entry = f["entry"]
    print(json.dumps({name: entry[name].asstr()[()] for name in ("status", "reason", "end_time")}
                     | {"y": entry["scope/y"][:].tolist()}))
"""
