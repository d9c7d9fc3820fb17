"""Fixtures of the live-view tests: a short simulated-lab run recording in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "support"))

EXAMPLE = Path(__file__).parents[2] / "examples" / "simulated_lab.yaml"


class Recording:
    """`instrumentkit acquire examples/simulated_lab.yaml` writing `path` in a subprocess."""

    def __init__(self, path: Path, duration: float, *options: str) -> None:
        self.path = path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "instrumentkit", "acquire", str(EXAMPLE), "-o", str(path),
             "--overwrite", "--duration", str(duration), "-q", *options],
            cwd=path.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def wait_for_file(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"acquire wrote no file: {self.finish()}")
            time.sleep(0.05)

    def finish(self, timeout: float = 60) -> str:
        out, _ = self.process.communicate(timeout=timeout)
        return out


def _recording(path: Path, duration: float, *options: str) -> Iterator[Recording]:
    run = Recording(path, duration, *options)
    try:
        yield run
    finally:
        if run.process.poll() is None:
            run.process.terminate()
            run.process.wait(30)
        if run.process.stdout:
            run.process.stdout.close()


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[Recording]:
    """A 10 s run of the example config, recording while the test runs."""
    yield from _recording(tmp_path / "run.h5", 10)


@pytest.fixture
def recording_with_view(tmp_path: Path) -> Iterator[Recording]:
    """An 8 s run of the example config with `--view`."""
    yield from _recording(tmp_path / "run.h5", 8, "--view")
