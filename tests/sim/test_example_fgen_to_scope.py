"""examples/fgen_to_scope.py closes the loop on the wired default lab: the scope's FFT
frequency and fitted amplitude are within 1 % of what the generator was set to."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "fgen_to_scope.py"
LINE = re.compile(r"frequency ([\d.]+) Hz \(set ([\d.]+) Hz\), amplitude ([\d.]+) Vpp")


@pytest.mark.parametrize(
    ("arguments", "frequency", "amplitude"),
    [([], 2000.0, 1.0), (["--frequency", "3300", "--amplitude", "0.6"], 3300.0, 0.6)],
)
def test_example_measures_what_the_generator_was_set_to(arguments, frequency, amplitude):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    match = LINE.search(done.stdout)
    assert match is not None, done.stdout
    assert float(match.group(1)) == pytest.approx(frequency, rel=0.01)
    assert float(match.group(2)) == frequency
    assert float(match.group(3)) == pytest.approx(amplitude, rel=0.01)
