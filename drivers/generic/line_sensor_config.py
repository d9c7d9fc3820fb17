"""The YAML description of a line-printing sensor board, validated with pydantic.

    name: bench-thermometer
    resource: /dev/ttyACM0          # optional; ik.open / LineSensor.open can give it
    port: {baudrate: 115200}
    poll: null                      # or a command to send before each line ("READ")
    pattern: 'T=(?P<temperature>\\S+) H=(?P<humidity>\\S+)'   # or csv: {columns: [...]}
    channels:
      - {name: temperature, units: degC}
      - {name: humidity, units: "%", polynomial: [0.0, 1.0]}   # or scale/offset

Loaded with the project's safe YAML loader only (`instrumentkit._yaml`); every error names
the field it is about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from instrumentkit._yaml import load_yaml, read_user_text
from instrumentkit.errors import ConfigError

__all__ = ["ChannelConfig", "CsvConfig", "LineSensorConfig", "PortConfig", "load_config"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PortConfig(_Strict):
    """Serial settings of the board's port."""

    baudrate: int = Field(9600, gt=0)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 1.5, 2] = 1
    timeout: float = Field(2.0, gt=0, description="seconds to wait for one line")


class CsvConfig(_Strict):
    """Lines of delimited fields; `columns` names each field ("" skips one)."""

    columns: list[str] = Field(min_length=1)
    delimiter: str = Field(",", min_length=1)


class ChannelConfig(_Strict):
    """One value of each line: its name, units and conversion to physical units.

    Either linear (`value * scale + offset`) or a polynomial with coefficients lowest
    order first (`c0 + c1 x + c2 x**2 ...`).
    """

    name: str
    units: str = ""
    scale: float = 1.0
    offset: float = 0.0
    polynomial: list[float] | None = Field(None, min_length=1)

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError("must be a name of letters, digits and '_' (a regex group name)")
        return name

    @model_validator(mode="after")
    def _one_conversion(self) -> ChannelConfig:
        if self.polynomial is not None and (self.scale != 1.0 or self.offset != 0.0):
            raise ValueError("give either polynomial or scale/offset, not both")
        return self

    @property
    def coefficients(self) -> list[float]:
        """The conversion as polynomial coefficients, lowest order first."""
        return self.polynomial if self.polynomial is not None else [self.offset, self.scale]


class LineSensorConfig(_Strict):
    """Everything needed to read one board."""

    name: str = "line-sensor"
    resource: str | None = None
    port: PortConfig = PortConfig()
    line_ending: str = Field("\n", min_length=1)
    write_ending: str = "\n"
    encoding: str = "ascii"
    poll: str | None = Field(None, min_length=1)
    pattern: str | None = None
    csv: CsvConfig | None = None
    channels: list[ChannelConfig] = Field(min_length=1)
    skip_lines: int = Field(10, ge=0, description="non-matching lines skipped per reading")
    fresh: bool = Field(False, description="streaming: drop unread lines before read()")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                compiled = re.compile(pattern)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from error
            if not compiled.groupindex:
                raise ValueError("needs named groups, (?P<name>...), one per channel")
        return pattern

    @model_validator(mode="after")
    def _fields_cover_channels(self) -> LineSensorConfig:
        if (self.pattern is None) == (self.csv is None):
            raise ValueError("give exactly one of 'pattern' and 'csv'")
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names repeat: {names}")
        provided = (
            set(re.compile(self.pattern).groupindex) if self.pattern else set(self.csv.columns)  # type: ignore[union-attr]
        )
        missing = [n for n in names if n not in provided]
        if missing:
            source = "pattern groups" if self.pattern else "csv columns"
            raise ValueError(f"channels {missing} are not among the {source} {sorted(provided)}")
        return self


def _field(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def load_config(source: LineSensorConfig | Mapping[str, Any] | str | Path) -> LineSensorConfig:
    """A validated config from a model, a mapping, or a YAML file's path.

    Raises ConfigError naming the file and the first offending field.
    """
    if isinstance(source, LineSensorConfig):
        return source
    origin: str | None = None
    if isinstance(source, (str, Path)):
        origin = str(source)
        try:
            text = read_user_text(source, what="a line-sensor config")
        except OSError as error:
            raise ConfigError(f"cannot read line-sensor config: {error}", source=origin) from error
        data = load_yaml(text, source=origin)
    else:
        data = dict(source)
    if not isinstance(data, Mapping):
        raise ConfigError("a line-sensor config is a mapping of fields", source=origin)
    try:
        return LineSensorConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(
            f"{first['msg']} (got {first.get('input')!r})",
            field=_field(first["loc"]),
            source=origin,
        ) from error
