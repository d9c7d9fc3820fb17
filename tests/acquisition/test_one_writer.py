"""One writer per run file: a second run told to overwrite a file that a run is writing
is refused (HDF5's own lock is gone once SWMR starts, so it used to truncate the file under
the first run, which then reported `completed` for rows that were no longer there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from instrumentkit.acquisition import RunWriter, open_run
from instrumentkit.cli import main

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="OFD locks are Linux's")

IN_USE = "is being written by another run"
LOCK_REFUSED = "unable to lock file, errno = 11, error message = 'Resource temporarily unavailable'"


def live_writer(path: Path) -> RunWriter:
    writer = RunWriter(path)
    stream = writer.add_readings("dmm", "v", "V")
    writer.start()
    stream.append_block(np.arange(5), np.arange(5.0).reshape(5, 1))
    writer.flush()
    return writer


def test_a_file_a_run_is_writing_is_not_overwritten_by_another(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    first = live_writer(path)
    with pytest.raises(FileExistsError, match=f"run file {path} {IN_USE}"):
        RunWriter(path, overwrite=True)
    first._streams["dmm"].append_block(np.arange(5, 8), np.arange(5.0, 8.0).reshape(3, 1))
    first.close()
    with open_run(path) as run:
        assert run.status == "completed"
        assert run["dmm"]["v"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    RunWriter(path, overwrite=True).close()  # once that run has ended, it may be replaced
    with open_run(path) as run:
        assert run.streams == ()


def test_the_file_of_a_killed_writer_can_be_replaced(tmp_path: Path) -> None:
    """Held across processes, and let go by the kernel when the writer dies."""
    path = tmp_path / "run.h5"
    child = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys; from instrumentkit.acquisition import RunWriter\n"
            f"w = RunWriter({str(path)!r}); w.add_readings('dmm', 'v', 'V'); w.start()\n"
            "print('live', flush=True); sys.stdin.read()"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "live\n"
        with pytest.raises(FileExistsError, match=IN_USE):
            RunWriter(path, overwrite=True)
    finally:
        child.kill()
        child.wait()
    RunWriter(path, overwrite=True).close()
    with open_run(path) as run:
        assert run.status == "completed"


def test_acquire_refuses_to_overwrite_a_file_being_written_before_starting(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.h5"
    config = tmp_path / "run.yaml"
    config.write_text("lab: default\ninstruments:\n  dmm: {device: dmm}\nstop: {duration: 1}\n")
    writer = live_writer(path)
    try:
        for check in (["--check"], []):
            result = CliRunner().invoke(
                main, ["acquire", str(config), "-o", str(path), "--overwrite", *check]
            )
            assert result.exit_code == 2, result.output
            assert (
                result.output == f"Error: option -o/--output: run file {path} {IN_USE} (in "
                "this or another process); write another file, or wait until that run has ended\n"
            )
    finally:
        writer.close()
    with open_run(path) as run:
        assert (run.status, len(run["dmm"])) == ("completed", 5)


def test_where_hdf5_meets_the_writers_own_lock_the_file_is_created_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On NFS the kernel turns HDF5's flock() into the same kind of lock as ours: HDF5
    refuses once (as it says it there), and the run is written without our lock."""
    from instrumentkit.acquisition import _exclusive

    real = _exclusive.h5py.File
    calls: list[str] = []

    def nfs_like(name: Path, mode: str, **options: object) -> object:
        calls.append(mode)
        if len(calls) == 1:
            raise OSError(11, f"Unable to synchronously create file ({LOCK_REFUSED})")
        return real(name, mode, **options)

    monkeypatch.setattr(_exclusive.h5py, "File", nfs_like)
    path = tmp_path / "run.h5"
    writer = live_writer(path)
    writer.close()
    assert calls == ["w", "w"]
    with open_run(path) as run:
        assert run["dmm"]["v"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_file_that_cannot_be_created_is_not_left_behind_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from instrumentkit.acquisition import _exclusive

    def refused(name: Path, mode: str, **options: object) -> object:
        raise OSError(5, "Unable to synchronously create file (I/O error)")

    monkeypatch.setattr(_exclusive.h5py, "File", refused)
    with pytest.raises(OSError, match=r"cannot create run file .*I/O error"):
        RunWriter(tmp_path / "run.h5")
    assert list(tmp_path.iterdir()) == []
