"""Stateful SCPI settings declared in one line each, and the SCPI error type models raise."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar, overload

from instrumentkit.sim._scpi_syntax import HeaderPattern

__all__ = ["STANDARD_ERRORS", "ScpiError", "Setting", "SettingValues", "numeric_parameter"]

STANDARD_ERRORS = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -300: "Device-specific error",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
}

_TRUE = {"ON", "1"}
_FALSE = {"OFF", "0"}
_MIN = {"MIN", "MINIMUM"}
_MAX = {"MAX", "MAXIMUM"}
_DEF = {"DEF", "DEFAULT"}

T = TypeVar("T", bool, int, float, str)

_STAMPS = itertools.count(1)
"""Version stamps, unique in the process: a reset never brings an old version back."""


def numeric_parameter(
    text: str,
    minimum: float,
    maximum: float,
    *,
    default: float | None = None,
    infinity: float | None = None,
) -> float:
    """A SCPI <numeric_value> parameter: MIN/MINIMUM, MAX/MAXIMUM, DEF/DEFAULT (when the
    model has a `default`), INF... (when it has an `infinity`) or a finite number;
    otherwise -104 (not a number) or -222 (not finite)."""
    word = text.strip().upper()
    if word in _MIN:
        return minimum
    if word in _MAX:
        return maximum
    if default is not None and word in _DEF:
        return default
    if infinity is not None and word.startswith("INF"):
        return infinity
    try:
        value = float(word)
    except ValueError:
        raise ScpiError(-104) from None
    if not math.isfinite(value):
        raise ScpiError(-222)
    return value


def _same(old: Any, new: Any) -> bool:
    """Whether storing `new` over `old` changes nothing (1 and True are not the same)."""
    return type(old) is type(new) and not isinstance(new, dict) and old == new


class _WatchedDict(dict[Any, Any]):
    """A dict that calls `_touch()` on every change made other than by `__setitem__`."""

    __slots__ = ()

    def _touch(self) -> None:
        raise NotImplementedError

    def __delitem__(self, key: Any) -> None:
        self._touch()
        super().__delitem__(key)

    def __ior__(self, other: Any) -> _WatchedDict:  # type: ignore[override,misc]
        self.update(other)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, *args: Any) -> Any:
        self._touch()
        return super().pop(*args)

    def popitem(self) -> tuple[Any, Any]:
        self._touch()
        return super().popitem()

    def clear(self) -> None:
        self._touch()
        super().clear()


class ChannelValues(_WatchedDict):
    """A channel Setting's {suffix: value}: a change of value changes its owner's version."""

    __slots__ = ("_owner",)

    def __init__(self, owner: SettingValues, values: Iterable[tuple[int, Any]] = ()) -> None:
        super().__init__(values)
        self._owner = owner

    def _touch(self) -> None:
        self._owner.changed()

    def __setitem__(self, key: Any, value: Any) -> None:
        if not (key in self and _same(self[key], value)):
            self._owner.changed()
        super().__setitem__(key, value)


class SettingValues(_WatchedDict):
    """Every Setting's value on one device, by name, and a `version` that changes with them.

    Caches of answers computed from settings (a scope's preamble) are kept per `version`:
    any write of a different value, by the host or by model code, gives a new one. Writing
    the value already there keeps it, so `DATa:SOUrce CH1` before every fetch keeps the
    caches. Versions are unique in the process, so a `*RST` never brings an old one back.
    """

    __slots__ = ("_untracked", "_version")

    def __init__(self, values: Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__()
        self._version = next(_STAMPS)
        self._untracked: set[str] = set()
        for name, value in values:
            self[name] = value

    @property
    def version(self) -> int:
        if self._untracked:  # model code holds a plain dict it may change unseen
            self._version = next(_STAMPS)
        return self._version

    def changed(self) -> None:
        self._version = next(_STAMPS)

    _touch = changed

    def __setitem__(self, name: Any, value: Any) -> None:
        if type(value) is dict and name not in self:  # Setting.initial() of a channel setting
            value = ChannelValues(self, value.items())
        if isinstance(value, dict) and not (
            isinstance(value, ChannelValues) and value._owner is self
        ):
            self._untracked.add(name)
        else:
            self._untracked.discard(name)
        if not (name in self and _same(self[name], value)):
            self._version = next(_STAMPS)
        super().__setitem__(name, value)


class ScpiError(Exception):
    """Raised by a command handler: the device queues (`code`, `message`) and sends no reply."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or STANDARD_ERRORS.get(code, "Error")
        super().__init__(f"{code},{self.message}")


def _short_form(word: str) -> str:
    return "".join(c for c in word if not c.islower()) if any(c.islower() for c in word) else word


class Setting(Generic[T]):
    """A value the host sets with `HEADER <value>` and reads with `HEADER?`.

        range = Setting("[:SENSe]:VOLTage:RANGe", 10.0, limits=(0.1, 1000.0))
        source = Setting("TRIGger:SOURce", "IMMediate", choices=("IMMediate", "BUS"))
        scale = Setting("CHANnel<n>:SCALe", 1.0, limits=(1e-3, 10.0), channels=4)

    The type follows the default (bool, int, float, str). Numbers accept MIN, MAX and DEF
    when `limits` are given; out of limits is error -222, not a number -104, not one of
    `choices` -224. Choices are stored and answered in their short form (`"IMM"`).
    With `channels=N` (or a sequence of suffix numbers) the value on the model is a dict
    from suffix to value. `fmt` formats the query reply (floats: `{:+.9E}`).
    """

    def __init__(
        self,
        pattern: str,
        default: T,
        *,
        limits: tuple[float, float] | None = None,
        choices: Sequence[Any] | None = None,
        channels: int | Sequence[int] | None = None,
        fmt: str | None = None,
    ) -> None:
        if pattern.rstrip().endswith("?"):
            raise ValueError(f"declare the setting {pattern!r} without '?'")
        self.pattern = pattern
        self.set_pattern = HeaderPattern.compile(pattern)
        self.query_pattern = HeaderPattern.compile(pattern + "?")
        self.kind: type = type(default)
        self.limits = limits
        self.choices = tuple(choices) if choices is not None else None
        if isinstance(channels, int):
            channels = range(1, channels + 1)
        self.channels = tuple(channels) if channels is not None else None
        if self.channels is not None and not self.set_pattern.suffixes:
            raise ValueError(f"{pattern!r} has channels but no <n> suffix")
        self.fmt = fmt or ("{:+.9E}" if self.kind is float else "{}")
        # Either spelling of a string choice -> its stored short form (the first match wins).
        self._choice_words: dict[str, str] = {}
        if self.kind is str:
            for choice in self.choices or ():
                short = _short_form(str(choice)).upper()
                for word in (str(choice).upper(), short):
                    self._choice_words.setdefault(word, short)
        self.name = ""
        self.default: T = self._checked(default) if self.kind is not str else default
        if self.kind is str and self.choices:
            self.default = self.parse(str(default))

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> Any: ...
    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        return obj.__dict__["_setting_values"][self.name]

    def __set__(self, obj: object, value: Any) -> None:
        obj.__dict__["_setting_values"][self.name] = value  # a SettingValues: versioned

    def initial(self) -> Any:
        """The default, or a fresh {suffix: default} dict for channel settings."""
        if self.channels is None:
            return self.default
        return dict.fromkeys(self.channels, self.default)

    def parse(self, text: str) -> Any:
        """The value the host sent, or ScpiError."""
        word = text.strip().upper()
        if self.kind is bool:
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise ScpiError(-224)
        if self.kind is str:
            if self.choices is None:
                return text.strip().strip("\"'")
            if word in self._choice_words:
                return self._choice_words[word]
            raise ScpiError(-224)
        if self.limits is not None and word in _MIN | _MAX:
            return self.kind(self.limits[0] if word in _MIN else self.limits[1])
        if word in _DEF:
            return self.default
        try:
            number = float(word)
        except ValueError:
            raise ScpiError(-104) from None
        return self._checked(number)

    def _checked(self, number: Any) -> Any:
        if self.kind is bool:
            return bool(number)
        if not math.isfinite(float(number)):
            raise ScpiError(-222)
        value = round(number) if self.kind is int else float(number)
        if self.limits is not None and not self.limits[0] <= value <= self.limits[1]:
            raise ScpiError(-222)
        if self.choices is not None and not any(math.isclose(value, c) for c in self.choices):
            raise ScpiError(-224)
        return value

    def format(self, value: Any) -> str:
        if self.kind is bool:
            return "1" if value else "0"
        if self.kind is str and self.choices is None:
            return f'"{value}"'
        return self.fmt.format(value)
