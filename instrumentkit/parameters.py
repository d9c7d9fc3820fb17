"""Typed instrument parameters, declared once per name as class attributes.

    class Multimeter(SCPIInstrument):
        nplc = Setting("VOLT:NPLC?", "VOLT:NPLC {value}", parse=float,
                       validate=OneOf(0.02, 0.2, 1, 10, 100), units="PLC",
                       doc="Control the integration time in power-line cycles.")

The attribute name is the parameter's name (`__set_name__`); `{ch}` in a command is
the channel's id. A value is validated, and refused with `ValidationError`, before
any byte is written.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from instrumentkit.errors import InstrumentError, ProtocolError, ValidationError, show_bytes
from instrumentkit.validators import Validator

if TYPE_CHECKING:
    from instrumentkit.instrument import Component

__all__ = [
    "ON_OFF",
    "Measurement",
    "Parameter",
    "Setting",
    "UnknownChoice",
    "UnknownChoiceWarning",
]

T = TypeVar("T")

ON_OFF: Mapping[Any, str] = {True: "ON", False: "OFF"}
"""The usual SCPI boolean; replies of "1"/"0" are read back as True/False too."""


class UnknownChoiceWarning(UserWarning):
    """An enumerated setting answered with a token its driver does not list."""


class UnknownChoice(str):
    """The value of an enumerated setting whose reply is a token the driver does not know.

    A real instrument is often left in a mode its driver does not list (decision 0008).
    Reading it must not break `snapshot()`, run headers or derived logic, so the
    setting reads as this string: the token as the instrument sent it (stripped), also
    kept in `.raw`, with the setting's name in `.setting`. Setting it back is refused:
    the driver cannot vouch for a token it does not know.
    """

    raw: str
    setting: str

    def __new__(cls, raw: str, setting: str = "") -> UnknownChoice:
        choice = super().__new__(cls, raw)
        choice.raw = raw
        choice.setting = setting
        return choice

    def __repr__(self) -> str:
        return f"UnknownChoice({self.raw!r})"


def _number_key(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


class Parameter(Generic[T]):
    """A value read (and optionally set) with one command each."""

    settable = False

    def __init__(
        self,
        get: str | None,
        set: str | None = None,
        *,
        parse: Callable[[str], T] | None = None,
        format: Callable[[Any], str] = str,
        validate: Validator | None = None,
        values: Mapping[Any, str] | type[enum.Enum] | None = None,
        units: str | None = None,
        doc: str = "",
        check_errors: bool | None = None,
        in_snapshot: bool = True,
    ) -> None:
        if get is None and set is None:
            raise TypeError("a parameter needs a get or a set command")
        self.get_command = get
        self.set_command = set
        self.parse: Callable[[str], Any] = parse or (str if values is not None else float)
        self.format = format
        self.validate = validate
        self.units = units
        self.__doc__ = doc
        self.check_errors = check_errors
        self.in_snapshot = in_snapshot
        self.name = ""
        self.enum: type[enum.Enum] | None = None
        if isinstance(values, type) and issubclass(values, enum.Enum):
            self.enum = values
            values = {member: str(member.value) for member in values}
        self.values: Mapping[Any, str] | None = values
        self._reverse: dict[Any, Any] = {}
        if values is not None:
            for key, token in values.items():
                self._reverse[token.strip().upper()] = key
                number = _number_key(token)
                if number is not None:
                    self._reverse.setdefault(number, key)
            if values.keys() == {True, False}:
                self._reverse.setdefault(1.0, True)
                self._reverse.setdefault(0.0, False)
        self._get_has_fields = get is not None and "{" in get

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Parameter[T]: ...
    @overload
    def __get__(self, obj: Component, owner: type) -> T: ...
    def __get__(self, obj: Component | None, owner: type) -> Parameter[T] | T:
        if obj is None:
            return self
        return self.read(obj)

    def read(self, obj: Component) -> T:
        """Query the value from the instrument."""
        if self.get_command is None:
            raise AttributeError(f"{self.name} cannot be read, only set")
        command = (
            self.get_command.format(**obj.fields) if self._get_has_fields else self.get_command
        )
        reply = obj.session.query(command)
        return self.decode(reply, obj, command)

    def decode(self, reply: str, obj: Component, command: str) -> T:
        """Turn a reply into the parameter's value, or raise ProtocolError."""
        if self.values is not None:
            key = self._reverse.get(reply.strip().upper())
            if key is None:
                key = self._reverse.get(_number_key(reply))
            if key is None:
                return self._unknown(reply, obj, command)  # type: ignore[return-value]
            return key  # type: ignore[no-any-return]
        try:
            return self.parse(reply)  # type: ignore[no-any-return]
        except (ValueError, TypeError) as error:
            raise ProtocolError(
                f"{self.name}: cannot parse reply {show_bytes(reply.encode())}: {error}",
                instrument=obj.name,
                command=command,
            ) from error

    def _unknown(self, reply: str, obj: Component, command: str) -> UnknownChoice:
        """A token outside `values`: kept with a warning, unless it is no token at all."""
        token = reply.strip()
        if not token or not token.isprintable():
            raise ProtocolError(
                f"{self.name}: reply {show_bytes(reply.encode())} is none of {self._tokens()}",
                instrument=obj.name,
                command=command,
            )
        warnings.warn(
            f"{obj.name}: {self.name} reads {token!r} (command {command!r}), a token the "
            f"driver does not list (it knows {self._tokens()}); kept as UnknownChoice, "
            "which cannot be set back",
            UnknownChoiceWarning,
            stacklevel=5,  # the user line that read the setting
        )
        return UnknownChoice(token, self.name)

    def _tokens(self) -> list[str]:
        assert self.values is not None
        return sorted(frozenset(self.values.values()))

    def __set__(self, obj: Component, value: Any) -> None:
        raise AttributeError(f"{self.name} is a measurement: it can be read, not set")

    def snapshot_entry(self, obj: Component) -> dict[str, Any]:
        try:
            value = self.read(obj)
        except InstrumentError as error:
            return {"error": str(error), "units": self.units or ""}
        if isinstance(value, enum.Enum):
            value = value.name.lower()
        if isinstance(value, UnknownChoice):
            return {"value": value.raw, "units": self.units or "", "unknown_token": True}
        return {"value": value, "units": self.units or ""}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, units={self.units!r})"


class Setting(Parameter[T]):
    """A parameter that can be read and written."""

    settable = True

    def __init__(
        self,
        get: str | None,
        set: str,
        *,
        limits: Callable[[Any], Validator] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(get, set, **options)
        self.limits = limits
        """Limits that depend on the instrument's present state (a probe ratio, a scale):
        called with the owner after `validate` passed, it may query the instrument and
        returns a validator for this one value. Nothing is written before it passes."""
        self._set_has_ch = "{ch}" in set

    def encode(self, obj: Component, value: Any) -> str:
        """Validate `value` and return the command that sets it; raises ValidationError."""
        if isinstance(value, UnknownChoice):
            raise ValidationError(
                f"{self.name} = {value!r} refused before sending: the driver does not know "
                f"this token (read from the instrument), so it cannot vouch for it; choose "
                f"one of {self._choices()}",
                instrument=obj.name,
            )
        try:
            if self.enum is not None and not isinstance(value, self.enum):
                value = self._enum_member(value)
            if self.validate is not None:
                value = self.validate(value)
            if self.limits is not None:
                value = self.limits(obj)(value)
            if self.values is not None:
                if value not in self.values:
                    raise ValueError(f"not one of {sorted(self.values, key=repr)}")
                token = self.values[value]
            else:
                token = self.format(value)
        except (ValueError, TypeError) as error:
            raise ValidationError(
                f"{self.name} = {value!r} refused before sending: {error}", instrument=obj.name
            ) from error
        fields = obj.fields
        return self.set_command.format(value=token, **fields)  # type: ignore[union-attr]

    def _choices(self) -> list[str]:
        if self.enum is not None:
            return [member.name.lower() for member in self.enum]
        if self.values is not None:
            return [str(key) for key in self.values]
        return [repr(self.validate)]

    def _enum_member(self, value: Any) -> enum.Enum:
        assert self.enum is not None
        for member in self.enum:
            if value == member.value:
                return member
            if isinstance(value, str) and value.casefold() in (
                member.name.casefold(),
                str(member.value).casefold(),
            ):
                return member
        raise ValueError(f"not one of {[m.name for m in self.enum]}")

    def __set__(self, obj: Component, value: Any) -> None:
        command = self.encode(obj, value)
        obj.session.write(command)
        check = self.check_errors if self.check_errors is not None else obj.check_errors_after_set
        if check:
            obj.raise_instrument_errors(command)


class Measurement(Parameter[T]):
    """A read-only parameter (a measured value or a state the user cannot set)."""

    def __init__(self, get: str, **options: Any) -> None:
        super().__init__(get, None, **options)
