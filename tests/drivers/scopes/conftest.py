"""Shared by the scope tests: settings named by path, "timebase_scale" or "channels[2].scale",
set and read back, or refused, on a simulated scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import instrumentkit as ik


def _owner_and_name(scope: Any, path: str) -> tuple[Any, str]:
    if path.startswith("channels["):
        number, name = path[len("channels[") :].split("].")
        return scope.channels[int(number)], name
    return scope, path


def _round_trip(scope: Any, path: str, value: Any, expected: Any) -> None:
    owner, name = _owner_and_name(scope, path)
    setattr(owner, name, value)
    assert getattr(owner, name) == expected
    assert scope.drain_errors() == []


def _refused(scope: Any, path: str, value: Any) -> None:
    owner, name = _owner_and_name(scope, path)
    before = getattr(owner, name)
    with pytest.raises(ik.ValidationError, match=name):
        setattr(owner, name, value)
    assert getattr(owner, name) == before
    assert scope.drain_errors() == []


@pytest.fixture
def round_trip() -> Callable[[Any, str, Any, Any], None]:
    """Set the setting at a path, read it back as `expected`, with no instrument error."""
    return _round_trip


@pytest.fixture
def refused() -> Callable[[Any, str, Any], None]:
    """A bad value is refused before sending (ValidationError naming the setting); the
    setting and the instrument's error queue are left as they were."""
    return _refused
