"""Validators: callables that return the value to send, or raise ValueError saying why not.

They run before anything is written, so a refused value never reaches the instrument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

__all__ = ["OneOf", "Range", "Steps125", "Validator"]

Validator = Callable[[Any], Any]


class Range:
    """A number within [minimum, maximum], inclusive."""

    def __init__(self, minimum: float, maximum: float, *, integer: bool = False) -> None:
        if minimum > maximum:
            raise ValueError(f"Range minimum {minimum} exceeds maximum {maximum}")
        self.minimum = minimum
        self.maximum = maximum
        self.integer = integer

    def __call__(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ValueError(f"expected a number, got {type(value).__name__}")
        if math.isnan(value):
            raise ValueError("NaN is not a setting")
        if self.integer and value != int(value):
            raise ValueError(f"expected a whole number in {self.describe()}")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"outside {self.describe()}")
        return int(value) if self.integer else value

    def describe(self) -> str:
        return f"[{self.minimum:g}, {self.maximum:g}]"

    def __repr__(self) -> str:
        return f"Range({self.minimum!r}, {self.maximum!r})"


class OneOf:
    """One of a fixed set of values; strings match without regard to case."""

    def __init__(self, *choices: Any) -> None:
        if not choices:
            raise ValueError("OneOf needs at least one choice")
        self.choices = choices
        self._folded = {c.casefold(): c for c in choices if isinstance(c, str)}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            match = self._folded.get(value.casefold())
            if match is not None:
                return match
        elif not isinstance(value, bool):
            for choice in self.choices:
                if not isinstance(choice, str) and value == choice:
                    return choice
        raise ValueError(f"not one of {self.describe()}")

    def describe(self) -> str:
        return "{" + ", ".join(repr(c) for c in self.choices) + "}"

    def __repr__(self) -> str:
        return f"OneOf{self.choices!r}"


class Steps125:
    """A value of the 1-2-5 sequence (1e-9, 2e-9, 5e-9, 1e-8, ...) within [minimum, maximum],
    the steps of most oscilloscope knobs; returned as the exact step (2.0000001e-3 -> 2e-3)."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.range = Range(minimum, maximum)

    def __call__(self, value: Any) -> float:
        value = self.range(value)
        if value > 0:
            decade = math.floor(math.log10(value))
            for mantissa in (1, 2, 5, 10):
                step = float(f"{mantissa}e{decade}")
                if math.isclose(value, step, rel_tol=1e-6):
                    return step
        raise ValueError(f"not a 1-2-5 step in {self.range.describe()}")

    def describe(self) -> str:
        return f"1-2-5 steps in {self.range.describe()}"

    def __repr__(self) -> str:
        return f"Steps125({self.range.minimum!r}, {self.range.maximum!r})"
