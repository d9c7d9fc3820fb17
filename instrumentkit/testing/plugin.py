"""pytest plugin: `sim_instrument(Driver)` opens a driver on fresh pyvisa-sim state.

Registered through the `pytest11` entry point, so any project that installs
instrumentkit can use the fixture in its own driver tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from instrumentkit.instrument import Instrument

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
