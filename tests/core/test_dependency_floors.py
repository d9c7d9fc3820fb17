"""The lowest-versions CI job installs exactly pyproject.toml's floors."""

from __future__ import annotations

from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
CHECKED = {"pyvisa", "pyvisa-py", "pyvisa-sim", "numpy", "h5py"}


def floors() -> dict[str, Version]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = {}
    for text in config["project"]["dependencies"]:
        requirement = Requirement(text)
        for spec in requirement.specifier:
            if spec.operator == ">=":
                found[requirement.name.lower()] = Version(spec.version)
    return found


def pins() -> dict[str, Version]:
    found = {}
    for line in (ROOT / ".ci" / "lowest-constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[name.strip().lower()] = Version(version.strip())
    return found


def test_lowest_constraints_pin_every_checked_dependency_at_its_floor():
    assert set(pins()) == CHECKED
    assert {name: floors()[name] for name in CHECKED} == pins()


def test_pyvisa_sim_floor_expands_random_replies():
    # 0.6.0 sends "{RANDOM(0, 10, 1):+.8E}" as it is (tests/drivers/test_sim_random_replies.py)
    assert floors()["pyvisa-sim"] >= Version("0.7.0")
    # and pyvisa-sim 0.7.0 requires pyvisa 1.15
    assert floors()["pyvisa"] >= Version("1.15.0")


def test_ci_runs_the_lowest_versions_after_the_readme_command():
    script = (ROOT / ".ci" / "run").read_text()
    assert script.index('bash -euo pipefail -c "$test_command"') < script.index(".ci/lowest-deps")
    lowest = (ROOT / ".ci" / "lowest-deps").read_text()
    assert "-c .ci/lowest-constraints.txt" in lowest
    assert "tests/drivers" in lowest
