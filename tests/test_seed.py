"""The seed of the tests' random choices: set from IK_TEST_SEED, shown, and named on failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DRAWS = """
import random


def test_draws(seed):
    print("drew", random.Random(seed).random())
    assert False, "fails, to show the seed"
"""


def run_inner(folder: Path, seed: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "IK_TEST_SEED"}
    if seed is not None:
        env["IK_TEST_SEED"] = seed
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", str(folder)],
        cwd=folder, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout


def drawn(output: str) -> str:
    return next(line for line in output.splitlines() if "drew" in line).split("drew")[1]


def test_a_failure_names_its_seed_and_the_seed_replays_the_draws(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).parent / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_draws.py").write_text(DRAWS)
    first = run_inner(tmp_path, None)
    header = next(line for line in first.splitlines() if "IK_TEST_SEED=" in line)
    seed = header.split("IK_TEST_SEED=")[1].split()[0]
    assert "(drawn)" in header
    assert f"replay with: IK_TEST_SEED={seed} pytest 'test_draws.py::test_draws'" in first
    replayed = run_inner(tmp_path, seed)
    assert f"IK_TEST_SEED={seed} (from the environment)" in replayed
    assert drawn(replayed) == drawn(first)
    assert drawn(run_inner(tmp_path, str(int(seed) + 1))) != drawn(first)
