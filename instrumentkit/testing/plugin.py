"""pytest plugin: `sim_instrument(Driver)` opens a driver on fresh pyvisa-sim state;
`replay("tests/recordings/dmm.rec.yaml")` opens one on a recorded session.

Registered through the `pytest11` entry point, so any project that installs
instrumentkit can use the fixture in its own driver tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from instrumentkit.instrument import Instrument
from instrumentkit.testing._replay import Replays

D = TypeVar("D", bound=Instrument)


@pytest.fixture
def sim_instrument() -> Iterator[Callable[[type[D]], D]]:
    """Factory: `dmm = sim_instrument(Keysight34461A)`; closed after the test."""
    opened: list[Instrument] = []

    def open_driver(driver: type[D]) -> D:
        instrument = driver.open_sim(fresh=True)
        opened.append(instrument)
        return instrument

    yield open_driver  # type: ignore[misc]
    for instrument in opened:
        instrument.close()


@pytest.fixture
def replay(request: pytest.FixtureRequest) -> Iterator[Replays]:
    """Factory: `dmm = replay("tests/recordings/dmm.rec.yaml")` gives the recorded driver
    on the recording (`driver=`, `mode="lenient"`, `timing="keep"` optional).

    The test fails if the driver wrote what the recording does not have (even if the test
    caught the error), or left recorded exchanges unused or reply bytes unread.
    """
    replays = Replays(Path(request.path).parent, request.config.rootpath)
    yield replays
    problems = replays.problems()
    if problems:
        pytest.fail("replay diverged from the recording:\n" + "\n".join(problems), pytrace=False)
