"""Fixtures shared by the spectrometer tests."""

from __future__ import annotations

import itertools

import pytest

from instrumentkit.sim import attach, detach

_names = itertools.count()


@pytest.fixture
def on_serial():
    """open_on(driver, device, **options): `driver` opened on `device` over `iksim://`."""
    opened = []

    def open_on(driver, device, **options):
        name = f"ocean-{next(_names)}"
        attach(name, device)
        opened.append((name, driver.open(f"iksim://{name}", **options)))
        return opened[-1][1]

    yield open_on
    for name, instrument in opened:
        instrument.close()
        detach(name)
