"""Safe limits, ramps and the safe state: written once for every source driver.

    class MySupply(SourceOutputMixin, SCPIInstrument):
        safe_limits = SafeLimits(max_level=30.0, max_slew=10.0)
        output = Setting(":OUTP?", ":OUTP {value}", values=ON_OFF, doc="Control ...")
        level = Setting(":VOLT?", ":VOLT {value}", validate=Range(0, 30), units="V", doc=...)

`ramp_to` refuses a level beyond `safe_limits.max_level` before any byte is sent, then
steps no faster than the slew limit, sleeping on `ramp_sleep` (replaceable, so tests
do not wait). `make_safe` ramps to the safe level and turns the output off, and returns
the problems it met instead of raising, so one failure never leaves another output on.
A user may tighten `safe_limits` per instrument or channel, never widen them beyond
what the driver declared (decision 0700).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

from instrumentkit.errors import ValidationError
from instrumentkit.parameters import Setting

__all__ = ["SafeLimits", "SourceMixin", "SourceOutputMixin"]


def _positive_or_none(label: str, value: Any, where: str | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValidationError(f"{label} = {value!r}: expected a finite number", instrument=where)
    if value <= 0:
        raise ValidationError(f"{label} = {value!r}: must be greater than 0", instrument=where)
    return float(value)


@dataclass(frozen=True)
class SafeLimits:
    """What a source output may do: |level| at most `max_level`, level changes at most
    `max_slew` units per second (ramps), and `safe_level`, where `make_safe` ramps to
    before turning the output off. None means no limit."""

    max_level: float | None = None
    max_slew: float | None = None
    safe_level: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "max_level", _positive_or_none("SafeLimits.max_level", self.max_level)
        )
        object.__setattr__(
            self, "max_slew", _positive_or_none("SafeLimits.max_slew", self.max_slew)
        )
        safe = self.safe_level
        if isinstance(safe, bool) or not isinstance(safe, Real) or not math.isfinite(safe):
            raise ValidationError(f"SafeLimits.safe_level = {safe!r}: expected a finite number")
        if self.max_level is not None and abs(safe) > self.max_level:
            raise ValidationError(
                f"SafeLimits.safe_level = {safe!r} is beyond max_level {self.max_level:g}"
            )
        object.__setattr__(self, "safe_level", float(safe))

    def tightened(self, **changes: float | None) -> SafeLimits:
        """A copy with some limits made stricter; widening one raises ValidationError.

        `max_level`/`max_slew` may only shrink (None, no limit, only where there was
        none); `safe_level` may move anywhere within the resulting `max_level`.
        """
        unknown = set(changes) - {"max_level", "max_slew", "safe_level"}
        if unknown:
            raise ValidationError(
                f"SafeLimits has no {sorted(unknown)}: use max_level, max_slew or safe_level"
            )
        new = dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        for name in ("max_level", "max_slew"):
            old_value, new_value = getattr(self, name), getattr(new, name)
            if old_value is not None and (new_value is None or new_value > old_value):
                raise ValidationError(
                    f"SafeLimits.{name} = {new_value!r} would widen the limit {old_value:g}: "
                    "limits may only be tightened; pick a value at most the present one"
                )
        return new

    def check_level(self, level: float, where: str) -> float:
        """Return `level` as a float, or raise ValidationError if it breaks `max_level`."""
        if isinstance(level, bool) or not isinstance(level, Real) or not math.isfinite(level):
            raise ValidationError(
                f"level {level!r} refused before sending: expected a number", instrument=where
            )
        if self.max_level is not None and abs(level) > self.max_level:
            raise ValidationError(
                f"level {level!r} refused before sending: beyond the safe limit "
                f"max_level {self.max_level:g}; raise safe_limits in the driver or ask for less",
                instrument=where,
            )
        return float(level)


class _SafeLimitsSlot:
    """`safe_limits` on a class: the driver's declared default, per instance a copy that
    may only be tightened (assigning wider limits raises ValidationError)."""

    def __init__(self, declared: SafeLimits) -> None:
        self.declared = declared

    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self.declared
        return obj.__dict__.get("safe_limits", self.ceiling(obj))

    def ceiling(self, obj: object) -> SafeLimits:
        """The widest limits `obj` may have: the class's, or its own driver-declared ones."""
        return obj.__dict__.get("_declared_safe_limits", self.declared)  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: SafeLimits) -> None:
        if not isinstance(value, SafeLimits):
            raise ValidationError(
                f"safe_limits must be a SafeLimits, got {type(value).__name__}",
                instrument=getattr(obj, "name", None),
            )
        try:
            checked = self.ceiling(obj).tightened(**dataclasses.asdict(value))
        except ValidationError as error:
            raise ValidationError(
                f"safe_limits refused: {error.detail}", instrument=getattr(obj, "name", None)
            ) from error
        obj.__dict__["safe_limits"] = checked


class SourceOutputMixin:
    """`ramp_to` and `make_safe` for one output: a single-output instrument or a channel.

    The class provides `output` (a Setting), `level` (a Setting or property) and
    `name`; it declares its limits as `safe_limits = SafeLimits(...)`.
    """

    safe_limits: ClassVar[SafeLimits]
    level_units: ClassVar[str] = "V"
    ramp_step_period: float = 0.05
    """Seconds between the set points of a ramp."""
    ramp_sleep: Callable[[float], None] = staticmethod(time.sleep)
    """How a ramp waits between set points; replace it (per instance) in tests."""
    name: str
    output: bool
    level: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("safe_limits")
        if isinstance(declared, SafeLimits):
            cls.safe_limits = _SafeLimitsSlot(declared)  # type: ignore[assignment]

    def declare_safe_limits(self, limits: SafeLimits) -> None:
        """For drivers: this output's own ceiling (a 6 V output beside 25 V ones), at most
        the class's; users may then only tighten below it."""
        slot: _SafeLimitsSlot = vars(SourceOutputMixin)["safe_limits"]
        for klass in type(self).__mro__:
            if isinstance(vars(klass).get("safe_limits"), _SafeLimitsSlot):
                slot = vars(klass)["safe_limits"]
                break
        checked = slot.declared.tightened(**dataclasses.asdict(limits))
        self.__dict__["_declared_safe_limits"] = checked
        self.__dict__["safe_limits"] = checked

    def source_outputs(self) -> Mapping[str, SourceOutputMixin]:
        """This instrument's one output, under the name ""."""
        return {"": self}

    def validate_level(self, level: float) -> float:
        """Check `level` against the instrument's own range without sending anything.

        The default asks the `level` Setting's validator; drivers whose `level` is a
        property override this.
        """
        parameter = _find_setting(type(self), "level")
        if isinstance(parameter, Setting):
            parameter.encode(self, level)  # type: ignore[arg-type]
        return level

    def ramp_to(
        self, level: float, rate: float | None = None, *, stop: threading.Event | None = None
    ) -> None:
        """Move the level to `level`, no faster than `rate` and `safe_limits.max_slew`
        (units per second), in steps `ramp_step_period` apart; with neither rate nor
        slew limit, or the output off, the level is set at once.

        One ramp at a time per output: a ramp started from another thread (a run making
        its sources safe while a sweep still ramps) waits, then starts from the level the
        first one left, so no two ramps interleave their steps beyond the slew limit. With
        `stop`, the ramp ends where it is once `stop` is set (a stopped run does not finish
        a slow ramp up first).
        """
        limits = self.safe_limits
        level = self.validate_level(limits.check_level(level, self.name))
        if rate is not None:
            rate = _positive_or_none("ramp_to rate", rate, self.name)
        rates = [r for r in (rate, limits.max_slew) if r is not None]
        with self._one_ramp():
            if not rates:
                self.level = level
                return
            step = min(rates) * self.ramp_step_period
            start = float(self.level)
            steps = math.ceil(abs(level - start) / step - 1e-9)
            if steps <= 1 or not self.output:
                self.level = level
                return
            for index in range(1, steps):
                if stop is not None and stop.is_set():
                    return
                self.level = start + (level - start) * index / steps
                self.ramp_sleep(self.ramp_step_period)
            self.level = level

    def make_safe(self) -> list[str]:
        """Ramp to `safe_limits.safe_level`, then turn the output off; return the
        problems met (empty when safe). The output is turned off even if the ramp fails.
        No other ramp of this output runs in between (see `ramp_to`)."""
        problems = []
        with self._one_ramp():
            try:
                self.ramp_to(self.safe_limits.safe_level)
            except Exception as error:  # keep going: the output must still go off
                problems.append(f"{self.name}: ramp to the safe level failed: {error}")
            try:
                self.output = False
            except Exception as error:
                problems.append(f"{self.name}: output off failed: {error}")
        return problems

    def _one_ramp(self) -> threading.RLock:
        """This output's ramp lock (reentrant: make_safe holds it around its ramp)."""
        lock = self.__dict__.get("_ramp_lock")
        if lock is None:  # dict.setdefault is atomic: two first ramps get the same lock
            lock = self.__dict__.setdefault("_ramp_lock", threading.RLock())
        return lock


# Outputs that declare nothing inherit "no limits", still only tightenable per instance.
SourceOutputMixin.safe_limits = _SafeLimitsSlot(SafeLimits())  # type: ignore[assignment]


def _find_setting(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


class SourceMixin:
    """`source_outputs` and `make_safe` for an instrument whose outputs are channels.

    `source_outputs()` maps str(id) to each channel of the group named
    `source_channel_group` (default "channels"); each channel uses SourceOutputMixin.
    """

    source_channel_group: ClassVar[str] = "channels"
    name: str

    def source_outputs(self) -> Mapping[str, SourceOutputMixin]:
        """Every output by name: {"1": channel 1, "2": channel 2, ...}."""
        channels = getattr(self, self.source_channel_group)
        return {str(key): channel for key, channel in channels.items()}

    def make_safe(self) -> list[str]:
        """Make every output safe; return every problem met (empty when all are safe)."""
        problems: list[str] = []
        try:
            outputs = self.source_outputs()
        except Exception as error:
            return [f"{self.name}: cannot list the outputs: {error}"]
        for output in outputs.values():
            try:
                problems += output.make_safe()
            except Exception as error:  # a driver's own make_safe must not stop the rest
                problems.append(f"{getattr(output, 'name', output)}: {error}")
        return problems
