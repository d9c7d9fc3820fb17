"""Fixtures of the live-view tests: a short simulated-lab run recording in a subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "support"))

from view_api import VIEW_RUN_SECONDS

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

    def view_url(self, timeout: float = 60) -> str:
        """The address `acquire --view` printed."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line)
            match = re.search(r"Live view: (http://127\.0\.0\.1:\d+/)", line)
            if match:
                return match.group(1)
        raise AssertionError(f"acquire --view printed no address: {''.join(seen)}")

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
def recording_with_view(tmp_path: Path) -> Iterator[Recording]:
    """A run of the example config with `--view`, recording while the test runs: long
    enough that, on two loaded cores, rows still arrive through the page's live checks."""
    yield from _recording(tmp_path / "run.h5", VIEW_RUN_SECONDS, "--view")
