"""A simulated lab for the adapter tests, and QCoDeS kept off the user's home.

QCoDeS reads and may write its config and logs under its user path: point it at a
temporary folder before it is first imported, and close every QCoDeS instrument after
each test (its instrument names are a process-wide registry).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator

import pytest

os.environ.setdefault("QCODES_USER_PATH", tempfile.mkdtemp(prefix="ik-qcodes-"))

from instrumentkit.sim import Lab
from instrumentkit.sim._lab import parse_lab

LAB = {
    "description": "adapter tests",
    "host": "127.0.0.1",
    "devices": [
        {"name": "keithley", "model": "keithley-2000", "transport": "tcp", "seed": 1},
        {"name": "dmm", "model": "keysight-34461a", "transport": "tcp", "seed": 2},
        {"name": "dmm65", "model": "keysight-34465a", "transport": "tcp", "seed": 3},
        # A sensor on every input: QCoDeS' snapshot then asks no curve header of "none".
        {
            "name": "temperature",
            "model": "lakeshore-336",
            "transport": "tcp",
            "seed": 4,
            "params": {"temperatures": [4.2, 77.3, 295.0, 20.0]},
        },
    ],
}


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab(parse_lab(LAB)) as started:
        yield started


@pytest.fixture(autouse=True)
def _close_qcodes() -> Iterator[None]:
    yield
    import sys

    if "qcodes" in sys.modules:
        from qcodes.instrument import Instrument

        Instrument.close_all()


@pytest.fixture(autouse=True)
def _quiet_pymeasure() -> Iterator[None]:
    with warnings.catch_warnings():
        # PyMeasure warns that it does not know whether a Keithley 2000 speaks SCPI.
        warnings.filterwarnings("ignore", category=FutureWarning, module="pymeasure")
        yield
