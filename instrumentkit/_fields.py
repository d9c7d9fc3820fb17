"""A config field's path as users write it, from pydantic's error location."""

from __future__ import annotations

__all__ = ["field_path"]

# Labels pydantic puts in a location for union members and validators: nothing a user wrote.
_LABELS = ("list[float]", "SweepValues", "int", "str")


def field_path(location: tuple[int | str, ...]) -> str:
    """`("streams", "scope", "channels", 0)` -> `streams.scope.channels[0]`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _LABELS or str(part).startswith("function-"):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"
