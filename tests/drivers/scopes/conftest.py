"""Shared by the scope tests: settings named by path, "timebase_scale" or "channels[2].scale"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def _owner_and_name(scope: Any, path: str) -> tuple[Any, str]:
    if path.startswith("channels["):
        number, name = path[len("channels[") :].split("].")
        return scope.channels[int(number)], name
    return scope, path


@pytest.fixture
def owner_and_name() -> Callable[[Any, str], tuple[Any, str]]:
    """(object holding the setting, setting name) for a path on a scope."""
    return _owner_and_name
