"""`over_tcp(Driver, model)`: a source's device model served on a loopback port and the
driver opened on `TCPIP::127.0.0.1::<port>::SOCKET`; everything closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from instrumentkit.instrument import Instrument
from instrumentkit.sim import Device, serve


@pytest.fixture
def over_tcp() -> Iterator[Callable[..., Any]]:
    labs = []
    opened: list[Instrument] = []

    def open_on(driver: type[Instrument], model: Device) -> Any:
        lab = serve({"device": model})
        labs.append(lab)
        instrument = driver.open(lab.resource("device"))
        opened.append(instrument)
        return instrument

    yield open_on
    for instrument in opened:
        instrument.close()
    for lab in labs:
        lab.close()
