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
from typing import Any

import h5py
import numpy as np
import pytest

from instrumentkit.acquisition import RunWriter, _room
from instrumentkit.acquisition._readings import ReadingStream
from instrumentkit.acquisition._records import WaveformStream

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


def three_flushed_five_buffered(path: Path) -> tuple[RunWriter, ReadingStream]:
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


def make_hdf5_fail(run: RunWriter, scope: WaveformStream, path: Path) -> None:
    """The next write of `scope` finds the file read-only under HDF5 (EBADF), as a disk
    that turned read-only would; the room for it was claimed, so HDF5 itself fails."""
    claim = scope.before_write
    assert claim is not None

    def claim_then_fail(nbytes: int) -> None:
        claim(nbytes)
        read_only = os.open(path, os.O_RDONLY)
        os.dup2(read_only, scope.group.file.id.get_vfd_handle())
        os.close(read_only)

    scope.before_write = claim_then_fail
    scope.append_block(np.ones((2, 1000)), timestamps_ns=np.arange(2), x0=0.0, dx=1e-6)
    with pytest.raises(OSError, match=rf"writing run file {path} failed \(Bad file"):
        run.flush()


def started_scope(path: Path) -> tuple[RunWriter, WaveformStream]:
    """A run of 1000-point records, declared, not started."""
    run = RunWriter(path, flush_interval=None, min_free_bytes=0)
    scope = run.add_waveforms("scope", 1000)
    return run, scope


FLUSHED = np.arange(4.0)[:, None] * np.ones((1, 1000))


def test_after_hdf5_fails_a_write_the_file_is_closed_aborted_in_place(path: Path) -> None:
    run, scope = started_scope(path)
    other = run.add_readings("dmm", "v", "V")
    run.start()
    scope.append_block(FLUSHED, timestamps_ns=np.arange(4), x0=0.0, dx=1e-6)
    run.flush()
    make_hdf5_fail(run, scope, path)
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
    seen = read_back(path)
    assert seen["status"] == "aborted"
    assert seen["reason"].startswith("end of sweep; [Errno 9] writing run file")
    assert seen["end_time"]
    assert seen["y"] == FLUSHED.tolist()


def read_back(path: Path) -> dict[str, Any]:
    """The run's end fields and records, read in another process: this process's HDF5
    still counts a file closed after a failed write as open."""
    read = [sys.executable, "-c", READ_BACK, str(path)]
    return json.loads(subprocess.run(read, capture_output=True, text=True, check=True).stdout)


def test_a_failed_close_without_a_reason_records_the_failure_alone(path: Path) -> None:
    run, scope = started_scope(path)
    run.start()
    make_hdf5_fail(run, scope, path)
    with pytest.raises(OSError, match="closed after a failed write"):
        run.close()
    assert read_back(path)["reason"].startswith("[Errno 9] writing run file")


def test_an_error_in_the_with_block_is_raised_even_when_closing_fails(path: Path) -> None:
    def measure_then_fail() -> None:
        with RunWriter(path, flush_interval=None, min_free_bytes=0) as run:
            scope = run.add_waveforms("scope", 1000)
            run.start()
            make_hdf5_fail(run, scope, path)
            _ = 1 / 0

    with pytest.warns(RuntimeWarning) as warned, pytest.raises(ZeroDivisionError):
        measure_then_fail()
    (warning,) = warned
    assert str(warning.message).startswith(
        f"run file {path} could not be closed cleanly: [Errno 5] run file {path}: closed after "
        "a failed write ([Errno 9] writing run file"
    )
    seen = read_back(path)
    assert seen["status"] == "aborted"
    assert seen["reason"].startswith("ZeroDivisionError: division by zero; [Errno 9] writing")


READ_BACK = """
import json, sys, h5py
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    entry = f["entry"]
    print(json.dumps({name: entry[name].asstr()[()] for name in ("status", "reason", "end_time")}
                     | {"y": entry["scope/y"][:].tolist() if "scope" in entry else None}))
"""


@pytest.mark.parametrize("bad", [5, ["nplc", 1.0]])
def test_an_end_snapshot_that_is_not_one_is_refused_after_the_run_is_closed(
    path: Path, bad: Any
) -> None:
    """A bad `settings_end` used to close the file still marked "running". The run's rows,
    status and the other end snapshots are kept; the bad one is an error object there."""
    run = RunWriter(path, flush_interval=None)
    run.add_instrument("dmm", idn="ACME,DMM,1,1", driver="d", settings={}, resource="r")
    run.add_instrument("psu", idn="ACME,PSU,1,1", driver="p", settings={}, resource="r")
    dmm = run.add_readings("dmm", "v", "V")
    run.start()
    dmm.append_block(np.arange(4), np.arange(4.0)[:, None])
    with pytest.raises(TypeError, match=r"settings_end of 'dmm' is not a snapshot") as caught:
        run.close("completed", settings_end={"dmm": bad, "psu": {"output": False}})
    assert str(caught.value).startswith(f"{path}: ")
    assert str(caught.value).endswith(
        "(the run is closed, completed, with an error object in its place)"
    )
    assert run.status == "completed"
    run.close("completed")  # closed once: a second close does nothing
    with h5py.File(path, "r") as f:
        assert text(f["entry/status"]) == "completed"
        assert f["entry/dmm/v"][:].tolist() == [0.0, 1.0, 2.0, 3.0]
        dmm_end = json.loads(text(f["entry/instrument_dmm/settings_end"]))
        assert dmm_end["error"].startswith("end snapshot not a snapshot (a mapping of settings")
        assert json.loads(text(f["entry/instrument_psu/settings_end"])) == {"output": False}


def test_record_settings_end_refuses_what_is_not_a_snapshot(path: Path) -> None:
    with RunWriter(path) as run:
        run.add_instrument("dmm", idn="ACME,DMM,1,1", driver="d", settings={}, resource="r")
        run.start()
        with pytest.raises(TypeError, match=r"settings_end of 'dmm' is not a snapshot"):
            run.record_settings_end("dmm", 5)  # type: ignore[arg-type]


def test_every_end_snapshot_that_is_not_one_is_named(path: Path) -> None:
    run = RunWriter(path, flush_interval=None)
    for name in ("dmm", "psu", "scope"):
        run.add_instrument(name, idn="ACME,X,1,1", driver="d", settings={}, resource="r")
    run.start()
    with pytest.raises(TypeError) as caught:
        run.close("aborted", "stopped", settings_end={"dmm": 5, "psu": {"on": 1}, "scope": 7})
    refusals = str(caught.value).removeprefix(f"{path}: ").split("; ")
    assert [r.split(" is ")[0] for r in refusals] == [
        "settings_end of 'dmm'",
        "settings_end of 'scope'",
    ]
    assert refusals[1].endswith("(the run is closed, aborted, with an error object in its place)")


def test_record_settings_end_stores_the_snapshot_it_is_given(path: Path) -> None:
    with RunWriter(path) as run:
        run.add_instrument("dmm", idn="ACME,DMM,1,1", driver="d", settings={}, resource="r")
        run.start()
        run.record_settings_end("dmm", {"nplc": 10.0, "function": "VOLT"})
    with h5py.File(path, "r") as f:
        stored = json.loads(text(f["entry/instrument_dmm/settings_end"]))
    assert stored == {"nplc": 10.0, "function": "VOLT"}


@pytest.mark.parametrize(
    ("reason", "recorded"),
    [
        ("duration reached", "duration reached; closing was interrupted (KeyboardInterrupt)"),
        (None, "closing was interrupted (KeyboardInterrupt)"),
    ],
)
def test_a_ctrl_c_while_closing_still_closes_the_file_marked_aborted(
    path: Path, monkeypatch: pytest.MonkeyPatch, reason: str | None, recorded: str
) -> None:
    run, dmm = three_flushed_five_buffered(path)

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dmm, "close", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.close("completed", reason)
    assert run.status == "aborted"
    with h5py.File(path, "r") as f:  # closed: readable, and not left saying "running"
        assert text(f["entry/status"]) == "aborted"
        assert text(f["entry/reason"]) == recorded
        assert f["entry/dmm/v"][:].tolist() == [0.0, 1.0, 2.0]  # every flushed row
        assert text(f["entry/end_time"])
