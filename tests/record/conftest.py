"""Fixtures for recording tests: a simulated DMM and scope on loopback TCP, in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from instrumentkit.sim import create, serve


@pytest.fixture
def lab() -> Iterator[dict[str, str]]:
    """The default lab's DMM and scope (same models and seeds), served on loopback."""
    devices = {
        "dmm": create("keysight-34461a", seed=1),
        "scope": create("rigol-ds1054z", seed=6),
    }
    with serve(devices) as server:
        yield server.resources
