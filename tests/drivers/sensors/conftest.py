"""Fixtures that put a sensor's device model at the end of a real transport.

`over_serial(Driver, model)` attaches the model as `iksim://<name>` and opens the driver
with its own connection defaults; `over_tcp(Driver, model)` serves the model on a
loopback port and opens `TCPIP::127.0.0.1::<port>::SOCKET`. Both close everything after
the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from instrumentkit.instrument import Instrument
from instrumentkit.sim import Device, attach, detach

_names = itertools.count()


@pytest.fixture
def over_serial() -> Iterator[Callable[..., Any]]:
    opened: list[tuple[str, Instrument]] = []

    def open_on(driver: type[Instrument], model: Device, **options: Any) -> Any:
        name = f"sensor-{next(_names)}"
        attach(name, model)
        try:
            instrument = driver.open(f"iksim://{name}", **options)
        except BaseException:
            detach(name)
            raise
        opened.append((name, instrument))
        return instrument

    yield open_on
    for name, instrument in opened:
        instrument.close()
        detach(name)
