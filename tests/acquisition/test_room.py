"""DiskRoom in-process: the blocks it claims past a run file's end, and every refusal.

test_crash.py proves the same in writer subprocesses on really full disks; these tests
drive one DiskRoom directly, with the file system's answers (free space, the file-size
limit, fallocate's errno) replaced where a real disk cannot be made to give them.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from instrumentkit.acquisition import _room
from instrumentkit.acquisition._room import DiskRoom, growth_bound, room_left

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fallocate and RLIMIT_FSIZE")

MB = 1_000_000
EMPTY_BOUND = 2 * 256 * 1024 + 1024 * 1024  # one dataset's two edge chunks + the reserve


@pytest.fixture
def path(tmp_path: Path) -> Path:
    run = tmp_path / "run.h5"
    run.write_bytes(b"\0" * 4096)
    return run


@pytest.fixture
def room(path: Path) -> Iterator[DiskRoom]:
    fd = os.open(path, os.O_RDWR)
    room = DiskRoom(path, 0)
    room.attach(fd)
    yield room
    os.close(fd)


def allocated(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def fallocate_failing(code: int) -> Callable[..., int]:
    def fallocate(fd: int, mode: int, offset: int, length: int) -> int:
        ctypes.set_errno(code)
        return -1

    return fallocate


def refused(call: Callable[[], object]) -> OSError:
    with pytest.raises(OSError, match="run file") as caught:
        call()
    return caught.value


def test_growth_bound_is_rows_plus_two_chunks_a_dataset_plus_the_reserve():
    assert growth_bound(1000, 3) == 1000 + 3 * 524_288 + 1_048_576
    assert growth_bound(1000, 3, compressed=True) == 2000 + 3 * 524_288 + 1_048_576
    assert growth_bound(0, 1) == EMPTY_BOUND


def test_room_is_claimed_past_the_end_without_growing_the_file(path: Path, room: DiskRoom):
    assert room.claimed_to == 0
    room.started(1)
    assert room.claimed_to == 4096 + EMPTY_BOUND
    assert os.stat(path).st_size == 4096
    assert allocated(path) >= 4096 + EMPTY_BOUND
    room.before_write(MB, 1)
    room.before_write(MB, 1)  # pending rows add up until a flush
    assert room.claimed_to == 4096 + 2 * MB + EMPTY_BOUND
    room.before_write(10, 1)
    assert room.claimed_to == 4096 + 2 * MB + 10 + EMPTY_BOUND
    room.before_write(0, 1)  # up to the end already claimed: fallocate is not asked again
    assert room._fallocate is not None  # (a zero-length fallocate is EINVAL: claiming off)
    with open(path, "ab") as file:  # what the flush wrote
        file.write(b"\1" * 8192)
    room.flushed(1)
    assert room.claimed_to == 4096 + 8192 + EMPTY_BOUND
    room.before_write(10, 1)
    assert room.claimed_to == 4096 + 8192 + 10 + EMPTY_BOUND


def test_release_gives_the_claimed_blocks_back(path: Path, room: DiskRoom):
    room.started(4)
    assert allocated(path) >= 4096 + growth_bound(0, 4)
    room.release()
    assert room.claimed_to == 0
    assert allocated(path) < 64 * 1024
    assert os.stat(path).st_size == 4096
    path.unlink()
    room.release()  # nothing to give back once the file is gone


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_claim_the_disk_cannot_give_is_refused_before_hdf5_writes(
    path: Path, room: DiskRoom, code: int
):
    room._fallocate = fallocate_failing(code)
    error = refused(lambda: room.started(1))
    assert error.errno == code
    assert str(error) == (
        f"[Errno {code}] run file {path}: stopping before the disk is full, the disk has no "
        f"room for 1.6 MB more ({os.strerror(code)}); the file holds no rows yet"
    )


def test_a_refusal_after_a_flush_says_the_flushed_rows_are_safe(path: Path, room: DiskRoom):
    room.flushed(1)
    room._fallocate = fallocate_failing(errno.ENOSPC)
    error = refused(lambda: room.before_write(3_050_001, 1))
    assert str(error) == (
        f"[Errno 28] run file {path}: stopping before the disk is full, the disk has no "
        "room for 3.1 MB more with 3.1 MB to write (No space left on device); rows up to "
        "the last flush are safe in the file"
    )


def test_an_io_error_while_claiming_is_raised_as_is(path: Path, room: DiskRoom):
    room._fallocate = fallocate_failing(errno.EIO)
    error = refused(lambda: room.started(1))
    assert error.errno == errno.EIO
    assert str(error) == (
        f"[Errno 5] run file {path}: cannot claim room on the disk (Input/output error)"
    )


def test_without_fallocate_only_the_free_space_is_checked(
    path: Path, room: DiskRoom, monkeypatch: pytest.MonkeyPatch
):
    path.write_bytes(b"\0" * MB)  # the file as the first flush left it
    room._fallocate = fallocate_failing(errno.EOPNOTSUPP)
    monkeypatch.setattr(room, "_disk_free", lambda: EMPTY_BOUND)
    room.started(1)  # exactly enough
    assert room._fallocate is None  # not asked again for this file
    assert room.claimed_to == 0
    monkeypatch.setattr(room, "_disk_free", lambda: 2_050_001)
    error = refused(lambda: room.before_write(3_050_001 - EMPTY_BOUND, 1))
    assert str(error) == (
        f"[Errno 28] run file {path}: stopping before the disk is full, only 2.1 MB left "
        "for 3.1 MB more; the file holds no rows yet"
    )


def test_the_margin_min_free_bytes_stops_the_run_early(
    path: Path, room: DiskRoom, monkeypatch: pytest.MonkeyPatch
):
    room.min_free_bytes = 2 * MB
    monkeypatch.setattr(room, "_disk_free", lambda: 5_050_001)
    room.flushed(1)
    room.before_write(3_050_001, 1)  # leaves exactly the margin
    error = refused(lambda: room.before_write(3_050_002, 1))
    assert error.errno == errno.ENOSPC
    assert str(error) == (
        f"[Errno 28] run file {path}: stopping before the disk is full, only 5.1 MB left "
        "for it with 3.1 MB to write (min_free_bytes=2000000); rows up to the last flush "
        "are safe in the file"
    )


def test_a_disk_below_the_margin_is_refused_before_the_file_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "new.h5"
    room = DiskRoom(path, 2_100_000)
    monkeypatch.setattr(room, "_disk_free", lambda: 2_100_000)
    room.before_create()  # exactly the margin
    monkeypatch.setattr(room, "_disk_free", lambda: 2_050_001)
    error = refused(lambda: room.before_create())
    assert error.errno == errno.ENOSPC
    assert str(error) == (
        f"[Errno 28] run file {path}: cannot start, only 2.1 MB left for it "
        "(min_free_bytes=2100000); no file was created. Free some space, write to another "
        "disk, or lower min_free_bytes"
    )
    DiskRoom(path, 0).before_create()  # no margin: nothing to check
    assert not path.exists()


def file_size_limit(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda which: (limit, resource.RLIM_INFINITY))


def test_the_file_size_limit_is_checked_since_claimed_blocks_do_not_count(
    path: Path, room: DiskRoom, monkeypatch: pytest.MonkeyPatch
):
    file_size_limit(monkeypatch, 4096 + 2_050_001)
    room.flushed(1)
    with open(path, "ab") as file:  # HDF5 wrote rows since the flush: the bound covers them
        file.write(b"\1" * 1000)
    room.before_write(2_050_001 - EMPTY_BOUND, 1)  # exactly up to the limit
    error = refused(lambda: room.before_write(1, 1))
    assert str(error) == (
        f"[Errno 28] run file {path}: stopping before the disk is full, only 2.1 MB left "
        "for it under the file-size limit with 0.0 MB to write; rows up to the last flush "
        "are safe in the file"
    )


def test_room_left_is_the_smaller_of_free_space_and_the_size_limit(
    path: Path, monkeypatch: pytest.MonkeyPatch
):
    asked: list[Path] = []

    def disk_usage(folder: Path) -> SimpleNamespace:
        asked.append(folder)
        return SimpleNamespace(free=50 * MB)

    monkeypatch.setattr(_room.shutil, "disk_usage", disk_usage)
    assert room_left(path) == 50 * MB  # no size limit
    assert asked == [path.parent]
    file_size_limit(monkeypatch, 10 * MB)
    assert room_left(path) == 10 * MB - 4096  # the file's present size counts
    assert room_left(path.with_name("new.h5")) == 10 * MB


def test_a_compressed_run_claims_twice_its_rows(path: Path):
    fd = os.open(path, os.O_RDWR)
    try:
        room = DiskRoom(path, 0, compressed=True)
        room.attach(fd)
        room.flushed(1)
        room.before_write(MB, 1)
        assert room.claimed_to == 4096 + 2 * MB + EMPTY_BOUND
    finally:
        os.close(fd)


def test_a_room_without_a_file_descriptor_claims_nothing(path: Path):
    room = DiskRoom(path, 0)
    room.started(1)
    room.before_write(MB, 1)
    assert room.claimed_to == 0
    assert allocated(path) < 64 * 1024


def test_claims_past_the_end_of_a_file_larger_than_4_gib(tmp_path: Path):
    big = tmp_path / "big.h5"
    with open(big, "wb") as file:
        file.truncate(5 * 1024**3)  # sparse: offsets beyond 32 bits, no blocks used
    fd = os.open(big, os.O_RDWR)
    try:
        room = DiskRoom(big, 0)
        room.attach(fd)
        room.started(1)
        assert room.claimed_to == 5 * 1024**3 + EMPTY_BOUND
        # Exactly the bound is claimed past the end, not the file's size again.
        assert EMPTY_BOUND <= allocated(big) < EMPTY_BOUND + 1024 * 1024
    finally:
        os.close(fd)


def test_a_claim_through_a_read_only_descriptor_is_an_io_error(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        room = DiskRoom(path, 0)
        room.attach(fd)
        error = refused(lambda: room.started(1))
    finally:
        os.close(fd)
    assert error.errno == errno.EBADF  # fallocate's own errno, read back through ctypes
    assert str(error) == (
        f"[Errno 9] run file {path}: cannot claim room on the disk (Bad file descriptor)"
    )
