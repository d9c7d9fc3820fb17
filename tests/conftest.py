"""Fixtures shared by every test folder.

`old_hdf5` runs `tests/support/walk_run_file.py` under an older HDF5 than the one installed
(h5py 3.11 = HDF5 1.14.2, the HDF5 that HDFView, h5dump and MATLAB read with), so that files
are proven against the readers labs have. The reader lives in its own virtual environment,
built once and cached under ~/.cache/instrumentkit-tests/, keyed by the pinned versions.

`seed` is the seed of every random choice a test makes (the moments the crash trials kill a
writer): `IK_TEST_SEED` if set, else one drawn per session and shown in pytest's header; a
failing test that used it names it, so `IK_TEST_SEED=<seed> pytest <test>` replays the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

OLD_READER_PINS = ("h5py==3.11.0", "numpy<2", "nexusformat==2.1.0")
WALKER = Path(__file__).parent / "support" / "walk_run_file.py"
SEED_VARIABLE = "IK_TEST_SEED"
_SEED = pytest.StashKey[int]()
_SEED_USED = pytest.StashKey[int]()
_WORKER_SEED = "instrumentkit_test_seed"

Walk = Callable[[Path], dict[str, Any]]


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "instrumentkit-tests"


def _old_reader_python() -> Path:
    """The interpreter of the cached old-HDF5 venv; builds it on first use."""
    key = hashlib.sha256(" ".join((sys.version, *OLD_READER_PINS)).encode()).hexdigest()[:12]
    venv = _cache_root() / f"old-hdf5-{key}"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    ready = venv / ".ready"
    if ready.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        try:  # several test processes may start at once: one builds, the others wait
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:
            pass
        if ready.exists():
            return python
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "-q", *OLD_READER_PINS],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                pytest.skip(
                    f"cannot build the old-HDF5 reader venv ({' '.join(OLD_READER_PINS)}) in "
                    f"{venv}: {' / '.join(tail)}"
                )
        ready.write_text(" ".join(OLD_READER_PINS))
    return python


def _walk_with(python: str | Path) -> Walk:
    def walk(path: Path) -> dict[str, Any]:
        done = subprocess.run(
            [str(python), str(WALKER), str(path)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (
            f"reading every object of {path} with {python} failed (exit code "
            f"{done.returncode}; -11 is a segmentation fault):\n{done.stderr[-3000:]}"
        )
        return json.loads(done.stdout)

    return walk


@pytest.fixture(scope="session")
def old_hdf5() -> Walk:
    """Walk a file with HDF5 1.14 (h5py 3.11, numpy 1.x, nexusformat) in a subprocess."""
    return _walk_with(_old_reader_python())


@pytest.fixture(scope="session")
def current_hdf5() -> Walk:
    """The same walk with the installed h5py and nexusformat, also in a subprocess."""
    return _walk_with(sys.executable)


def _session_seed() -> int:
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return random.SystemRandom().randrange(2**32)
    try:
        return int(text, 0)
    except ValueError:
        raise pytest.UsageError(
            f"{SEED_VARIABLE}={text!r} is not an integer; set it to the seed a failure printed"
        ) from None


def pytest_configure(config: pytest.Config) -> None:
    """One seed for the whole run (the controller's, handed to every xdist worker), and
    Ctrl-C handling as from a terminal's foreground, whatever started pytest.

    A shell starts a background job (`pytest &`, CI wrappers) with SIGINT ignored, and
    child processes inherit an ignored signal: a script the tests start would then never
    see the Ctrl-C they send it. A Python handler is reset to the default at `exec`, so
    with one installed here every child starts with Python's own KeyboardInterrupt.
    """
    given = getattr(config, "workerinput", {}).get(_WORKER_SEED)
    config.stash[_SEED] = int(given) if given is not None else _session_seed()
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: each worker draws with the controller's seed, the one in the header."""
    node.workerinput[_WORKER_SEED] = node.config.stash[_SEED]


def pytest_report_header(config: pytest.Config) -> str:
    chosen = "from the environment" if os.environ.get(SEED_VARIABLE, "").strip() else "drawn"
    return f"random choices in tests: {SEED_VARIABLE}={config.stash[_SEED]} ({chosen})"


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The seed for the test's random choices; a failure of the test prints it."""
    value = request.config.stash[_SEED]
    request.node.stash[_SEED_USED] = value
    return value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    used = item.stash.get(_SEED_USED, None)
    if report.failed and used is not None:
        report.sections.append(
            ("random seed", f"replay with: {SEED_VARIABLE}={used} pytest '{item.nodeid}'")
        )
