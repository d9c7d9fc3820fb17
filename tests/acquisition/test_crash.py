"""Crash safety: a writer killed at any moment, or stopped by a full disk, leaves its data.

Each child process streams a known counter into a run file and prints how many rows it
has flushed; the test kills it (or lets it hit a file-size limit) and checks the file.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import h5py
import numpy as np
import pytest

from instrumentkit.acquisition import open_run

POINTS = 500

WRITER = textwrap.dedent(
    f"""
    import sys
    import numpy as np
    from instrumentkit.acquisition import RunWriter

    path, compression = sys.argv[1], sys.argv[2] or None
    size_limit, min_free = int(sys.argv[3]), int(sys.argv[4])
    seed = [int(number) for number in sys.argv[5].split(",")]
    if size_limit:  # a full disk, as far as this process is concerned
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size_limit, size_limit))
    ramp = np.arange({POINTS}) * 1e-3
    run = RunWriter(path, flush_interval=None, compression=compression, min_free_bytes=min_free)
    counter = run.add_readings("counter", ["up", "down"], ["1", "1"], monotonic=True)
    scope = run.add_waveforms("scope", {POINTS}, raw_dtype=np.int16)
    run.start()
    rows = records = 0
    rng = np.random.default_rng(seed)
    try:
        while True:
            for _ in range(int(rng.integers(1, 6))):  # appends between flushes
                # now and then a block larger than the whole buffer (written directly)
                n = int(rng.integers(1, 3000)) if rng.random() > 0.05 else 200_000
                index = np.arange(rows, rows + n)
                counter.append_block(index * 10, np.column_stack([index, -index]),
                                     monotonic=index * 0.5)
                rows += n
                k = int(rng.integers(1, 20))
                records_index = np.arange(records, records + k)
                scope.append_block(records_index[:, None] + ramp, timestamps_ns=records_index,
                                   x0=records_index * 1.0, dx=1e-6,
                                   raw=np.broadcast_to((records_index % 30000)[:, None],
                                                       (k, {POINTS})).astype(np.int16))
                records += k
            run.flush()
            print(rows, records, flush=True)
    except OSError as error:
        print("error:", error, flush=True)
        try:
            run.close("aborted", str(error))
        except OSError as again:
            print("close error:", again, flush=True)
        else:
            print("closed", flush=True)
    """
)


def start_writer(
    path: Path,
    compression: str = "",
    size_limit: int = 0,
    min_free: int = 0,
    script: str = "",
    *,
    seed: tuple[int, ...] = (0,),
) -> subprocess.Popen[str]:
    """A writer process; WRITER draws its block sizes from `seed` (numpy's seed sequence)."""
    arguments = [str(path), compression, str(size_limit), str(min_free)]
    arguments.append(",".join(str(number) for number in seed))
    return subprocess.Popen(
        [sys.executable, "-c", script or WRITER, *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def check_counter(path: Path, rows: int, records: int) -> None:
    """Every row up to the reported flush is bit-exact; later rows are exact or not there."""
    with h5py.File(path, "r", swmr=True) as f:
        counter = f["entry/counter"]
        scope = f["entry/scope"]
        expected = {
            counter["time"]: lambda i: i * 10,
            counter["up"]: lambda i: i.astype(float),
            counter["down"]: lambda i: -i.astype(float),
            counter["monotonic"]: lambda i: i * 0.5,
            scope["time"]: lambda i: i,
            scope["x0"]: lambda i: i * 1.0,
            scope["dx"]: lambda i: np.full(i.shape, 1e-6),
            scope["y"]: lambda i: i[:, None] + np.arange(POINTS) * 1e-3,
            scope["raw"]: lambda i: np.broadcast_to((i % 30000)[:, None], (len(i), POINTS)),
        }
        for dataset, formula in expected.items():
            flushed = rows if dataset.parent == counter else records
            stored = dataset[:]
            assert len(stored) >= flushed, dataset.name
            want = formula(np.arange(len(stored)))
            np.testing.assert_array_equal(stored[:flushed], want[:flushed], err_msg=dataset.name)
            # Rows after the last flush may be there or not, but never wrong.
            later = stored[flushed:]
            fill = dataset.fillvalue
            bad = ~(
                (later == want[flushed:]) | (later == fill) | (np.isnan(fill) & np.isnan(later))
            )
            assert not bad.any(), f"{dataset.name}: rows after the flush hold wrong values"


def last_counts(output: str, *, flushed: bool = True) -> tuple[int, int]:
    # Only whole lines: SIGKILL may cut the writer's last report short ("805674").
    whole = output[: output.rfind("\n") + 1]
    lines = [line.split() for line in whole.splitlines() if line[:1].isdigit()]
    if not flushed and not lines:  # stopped before its first flush (a large first block)
        return 0, 0
    assert lines, "the writer never flushed"
    return int(lines[-1][0]), int(lines[-1][1])


@pytest.mark.parametrize("compression", ["", "gzip"])
def test_sigkill_at_random_moments_keeps_every_flushed_row(
    tmp_path: Path, compression: str, seed: int
) -> None:
    trials = 5
    rng = random.Random(seed)
    paths = [tmp_path / f"killed-{i}.h5" for i in range(trials)]
    writers = [start_writer(path, compression, seed=(seed, i)) for i, path in enumerate(paths)]
    first_lines = []
    for writer in writers:  # each killed a random moment after its first flush
        assert writer.stdout is not None
        first_lines.append(writer.stdout.readline())
        time.sleep(rng.uniform(0.0, 0.15))
        writer.send_signal(signal.SIGKILL)
    for path, writer, first in zip(paths, writers, first_lines, strict=True):
        output, errors = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, errors
        rows, records = last_counts(first + output)
        check_counter(path, rows, records)
        with open_run(path) as run:  # the reader copes too, and shows the run never ended
            assert run.status == "running"
            assert run.end_time is None
            assert len(run["counter"]) >= rows


def test_a_nearly_full_disk_stops_the_run_cleanly(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "full.h5"
    writer = start_writer(path, size_limit=20_000_000, min_free=8_000_000, seed=(seed,))
    output, errors = writer.communicate(timeout=60)
    assert writer.returncode == 0, errors
    error = next(line for line in output.splitlines() if line.startswith("error:"))
    assert f"run file {path}: stopping before the disk is full" in error
    assert "rows up to the last flush are safe" in error
    assert output.splitlines()[-1] == "closed"
    rows, records = last_counts(output)
    check_counter(path, rows, records)
    with open_run(path) as run:
        assert run.status == "aborted"
        assert "MB left" in run.reason
        assert len(run["counter"]) >= rows


def test_a_write_past_the_file_size_limit_is_refused_and_the_run_ends_aborted(
    tmp_path: Path, seed: int
) -> None:
    path = tmp_path / "full.h5"
    writer = start_writer(path, size_limit=20_000_000, min_free=0, seed=(seed,))  # no margin
    output, errors = writer.communicate(timeout=60)
    # HDF5 never meets the limit: the writer refuses the write that could pass it, while
    # the file can still be closed (a failed HDF5 write left NaN rows and crashes at exit).
    assert writer.returncode == 0, errors
    error = next(line for line in output.splitlines() if line.startswith("error:"))
    assert f"run file {path}: stopping before the disk is full, only" in error
    assert "under the file-size limit" in error
    assert output.splitlines()[-1] == "closed"
    rows, records = last_counts(output, flushed=False)
    check_every_row(path, rows, records)
    with open_run(path) as run:
        assert run.status == "aborted"
        assert "under the file-size limit" in run.reason


def check_every_row(path: Path, rows: int, records: int) -> None:
    """At least the flushed rows, and every row in the file is exact: no fill, no NaN."""
    with h5py.File(path, "r") as f:  # closed cleanly: opens without swmr=True
        lengths = {name: {len(ds) for ds in f["entry"][name].values() if ds.maxshape[0] is None}
                   for name in ("counter", "scope")}  # fmt: skip
    assert len(lengths["counter"]) == 1, lengths
    assert len(lengths["scope"]) == 1, lengths
    stored_rows, stored_records = lengths["counter"].pop(), lengths["scope"].pop()
    assert stored_rows >= rows
    assert stored_records >= records
    check_counter(path, stored_rows, stored_records)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A real 20 MiB file system (tmpfs), so the disk itself runs out, not a limit.

    Mounted outside pytest's temporary folders, which a concurrent pytest session of the
    same user may delete.
    """
    if getattr(os, "geteuid", lambda: -1)() != 0:
        pytest.skip("mounting a 20 MiB tmpfs needs root (CI runs the tests as root)")
    disk = Path(tempfile.mkdtemp(prefix="ik-small-disk-"))
    mount = ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(disk)]
    done = subprocess.run(mount, capture_output=True, text=True, check=False)
    if done.returncode:
        disk.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        unmounted = subprocess.run(["umount", str(disk)], capture_output=True, check=False)
        if unmounted.returncode == 0:
            disk.rmdir()


def fill(disk: Path) -> None:
    """Take every free block of `disk`, as another process filling it would.

    Written until the disk refuses even a 4 KiB block. No check of the free space after:
    the run goes on meanwhile, giving back and claiming its own blocks at each flush.
    """
    ballast = disk / "other-process.bin"
    with open(ballast, "wb", buffering=0) as other:
        for size in (256 * 1024, 4096):
            assert write_until_full(other, b"\xff" * size) == errno.ENOSPC


def write_until_full(file: BinaryIO, block: bytes) -> int:
    """Write `block` until the disk refuses; the refusal's errno."""
    try:
        while True:
            file.write(block)
    except OSError as refused:
        return refused.errno or 0


@pytest.mark.parametrize("filled_by", ["the run", "another process"])
def test_a_really_full_disk_ends_the_run_aborted_with_every_flushed_row(
    small_disk: Path, filled_by: str, seed: int
) -> None:
    path = small_disk / "run.h5"
    writer = start_writer(path, min_free=0, seed=(seed,))  # no margin: the disk really runs out
    assert writer.stdout is not None
    first = writer.stdout.readline()
    if filled_by == "another process":
        fill(small_disk)
    output, errors = writer.communicate(timeout=60)
    output = first + output
    assert writer.returncode == 0, errors  # no crash at exit (it used to be SIGSEGV)
    error = next(line for line in output.splitlines() if line.startswith("error:"))
    assert f"run file {path}: stopping before the disk is full" in error
    assert "No space left on device" in error
    assert output.splitlines()[-1] == "closed"
    rows, records = last_counts(output, flushed=False)
    check_every_row(path, rows, records)  # no NaN or half rows after the last flush
    with open_run(path) as run:
        assert run.status == "aborted"
        assert "No space left on device" in run.reason
        assert run.end_time is not None


FAILS_UNDER_HDF5 = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from instrumentkit.acquisition import RunWriter

    path = sys.argv[1]
    run = RunWriter(path, flush_interval=None, min_free_bytes=0)
    scope = run.add_waveforms("scope", 5000)
    run.start()
    for n in range(0, 50, 10):
        scope.append_block(np.arange(n, n + 10)[:, None] * np.ones((1, 5000)),
                           timestamps_ns=np.arange(n, n + 10), x0=0.0, dx=1e-6)
        run.flush()
    claim = scope.before_write

    def claim_then_fail(nbytes):
        claim(nbytes)  # there is room, but the disk turns read-only under HDF5 (EBADF)
        os.dup2(os.open(path, os.O_RDONLY), scope.group.file.id.get_vfd_handle())

    scope.before_write = claim_then_fail
    try:
        scope.append_block(np.ones((10, 5000)), timestamps_ns=np.arange(10), x0=0.0, dx=1e-6)
        run.flush()
    except OSError as error:
        print("flush error:", error, flush=True)
    try:
        scope.append_block(np.ones((1, 5000)), timestamps_ns=[0], x0=0.0, dx=1e-6)
    except RuntimeError as error:
        print("append refused:", error, flush=True)
    try:
        run.close()
    except OSError as error:
        print("close error:", error, flush=True)
    """
)


def test_after_hdf5_fails_a_write_nothing_more_is_written_and_the_run_is_aborted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.h5"
    writer = start_writer(path, script=FAILS_UNDER_HDF5)
    output, errors = writer.communicate(timeout=60)
    assert writer.returncode == 0, errors  # HDF5 used to crash at exit (SIGSEGV)
    flush, append, close = output.splitlines()
    assert flush.startswith(f"flush error: [Errno 9] writing run file {path} failed (Bad file")
    assert append.startswith("append refused: stream 'scope': writing the run file failed")
    assert close.startswith(f"close error: [Errno 5] run file {path}: closed after a failed")
    with open_run(path) as run:
        assert run.status == "aborted"
        assert "Bad file descriptor" in run.reason
        assert run.end_time is not None
        y = run["scope"]["y"]
        np.testing.assert_array_equal(y, np.arange(50)[:, None] * np.ones((1, 5000)))
