"""A sensor board that prints readings as text lines (Arduino, ESP32, Pico, ...).

Described by a YAML file (see `line_sensor_config`), not by code::

    sensor = LineSensor.open("/dev/ttyACM0", config="thermo.yaml")
    sensor = ik.open("/dev/ttyACM0", driver="LineSensor", config="thermo.yaml")
    print(sensor.read())

Streaming boards (no `poll` command) are read line by line as they arrive, so a logger
loses nothing; `fresh: true` drops the backlog first when only the newest value
matters. Polled boards get the `poll` command before each line. Lines that do not
match (boot banners, debug prints) are skipped, up to `skip_lines` per reading.
A field that is not a number becomes NaN with status 1.

Enumeration review (2026-12-06): the driver has no enumerated settings; the board's
channels and units come from the YAML file, not from replies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self

from instrumentkit.connect import open_transport
from instrumentkit.data import Reading, now_ns
from instrumentkit.drivers.generic.line_sensor_config import LineSensorConfig, load_config
from instrumentkit.errors import ConfigError, ProtocolError, ValidationError
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Sensor
from instrumentkit.session import Session
from instrumentkit.transport import Transport
from instrumentkit.validators import Range

__all__ = ["EXAMPLE_CONFIG", "STATUS_NOT_A_NUMBER", "LineSensor"]

STATUS_NOT_A_NUMBER = 1
"""`Reading.status` of a field that was present but not a number."""

ConfigSource = LineSensorConfig | Mapping[str, Any] | str | Path
EXAMPLE_CONFIG = Path(__file__).with_name("line_sensor_example.yaml")
"""A board printing `T=<degC> H=<%>` lines: what the simulated lab's model prints."""


class LineSensor(Instrument):
    """A line-printing sensor board configured in YAML (pattern or CSV, units, conversion)."""

    interfaces = (Sensor,)
    status_meanings: ClassVar[dict[int, str]] = {STATUS_NOT_A_NUMBER: "not_a_number"}
    """What a status code means (the run file keeps it with the readings)."""
    sim_model = "generic-line-sensor"

    def __init__(
        self,
        connection: Transport | Session,
        *,
        config: ConfigSource,
        name: str | None = None,
        log_io: bool = False,
    ) -> None:
        self.config = load_config(config)
        if not isinstance(connection, Session):
            connection = Session(
                connection,
                name=name or self.config.name,
                write_termination=self.config.write_ending,
                read_termination=self.config.line_ending,
                encoding=self.config.encoding,
                log_io=log_io,
            )
        super().__init__(connection, name=name)
        self._pattern = re.compile(self.config.pattern) if self.config.pattern else None
        self._columns = self._field_indices()
        self._coefficients = [np.asarray(c.coefficients) for c in self.config.channels]

    @classmethod
    def open(  # type: ignore[override]
        cls,
        resource: str | None = None,
        *,
        config: ConfigSource | None = None,
        name: str | None = None,
        **options: Any,
    ) -> Self:
        """Open the board at `resource` (or the config's `resource`) with its port settings."""
        if config is None:
            raise ConfigError("LineSensor needs config= (a YAML file, a mapping or a model)")
        settings = load_config(config)
        resource = resource or settings.resource
        if not resource:
            raise ConfigError("no resource given and the config has none", field="resource")
        merged: dict[str, Any] = settings.port.model_dump()
        merged.update(options)
        transport = open_transport(resource, **merged)
        try:
            return cls(transport, config=settings, name=name)
        except BaseException:
            transport.close()
            raise

    @classmethod
    def open_sim(cls, *, name: str | None = None, fresh: bool = True) -> Self:
        """Open the simulated board (`generic-line-sensor`) with the example config."""
        return cls.open(
            f"iksim://model/{cls.sim_model}", config=EXAMPLE_CONFIG, name=name or "LineSensor(sim)"
        )

    @classmethod
    def from_config(cls, config: ConfigSource, **options: Any) -> Self:
        """Open the board the config's `resource` names."""
        return cls.open(None, config=config, **options)

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.config.channels)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(c.units for c in self.config.channels)

    def snapshot(self) -> dict[str, Any]:
        """The board's configuration (it has no settings to read back)."""
        return {"config": self.config.model_dump(mode="json")}

    def read(self) -> Reading:
        """Read one line's values (after the poll command, or the next streamed line)."""
        if self.config.fresh and self.config.poll is None:
            self._drop_backlog()
        return self.read_many(1)

    def read_many(self, n: int) -> Reading:
        """Read `n` consecutive matching lines; conversion runs on the whole block at once."""
        try:
            n = int(Range(1, 10_000_000, integer=True)(n))
        except ValueError as error:
            raise ValidationError(f"read_many({n!r}): {error}", instrument=self.name) from error
        rows: list[list[str]] = []
        stamps = np.empty(n, dtype=np.int64)
        for index in range(n):
            rows.append(self._next_fields())
            stamps[index] = now_ns()
        raw, status = _numbers(rows)
        values = np.empty_like(raw)
        for column, coefficients in enumerate(self._coefficients):
            values[:, column] = np.polynomial.polynomial.polyval(raw[:, column], coefficients)
        return Reading(values, stamps, self.channel_names, self.units, status)

    # -- lines
    def _next_fields(self) -> list[str]:
        command = self.config.poll
        with self.session.lock:
            if command is not None:
                self.session.write(command)
            skipped: list[str] = []
            for _ in range(self.config.skip_lines + 1):
                line = self.session.read(command=command).strip()
                fields = self._fields(line)
                if fields is not None:
                    return fields
                skipped.append(line)
        raise ProtocolError(
            f"{len(skipped)} lines in a row do not match the config "
            f"({self._describe_format()}); last {skipped[-1][:80]!r}",
            instrument=self.name,
            command=command,
        )

    def _fields(self, line: str) -> list[str] | None:
        if self._pattern is not None:
            match = self._pattern.search(line)
            if match is None:
                return None
            return [match.group(c.name) or "" for c in self.config.channels]
        assert self.config.csv is not None
        parts = line.split(self.config.csv.delimiter)
        if len(parts) != len(self.config.csv.columns):
            return None
        return [parts[index].strip() for index in self._columns]

    def _field_indices(self) -> list[int]:
        if self.config.csv is None:
            return []
        columns = self.config.csv.columns
        return [columns.index(c.name) for c in self.config.channels]

    def _describe_format(self) -> str:
        if self.config.pattern is not None:
            return f"pattern {self.config.pattern!r}"
        assert self.config.csv is not None
        return f"{len(self.config.csv.columns)} fields split by {self.config.csv.delimiter!r}"

    def _drop_backlog(self) -> None:
        """Forget unread lines and the partial one after them (streaming boards only)."""
        reset = getattr(self.session.transport, "reset_input", None)
        if reset is None:
            return
        with self.session.lock:
            reset()
            self.session.read(command="(drop partial line)")


def _numbers(rows: list[list[str]]) -> tuple[NDArray[np.float64], NDArray[np.int16]]:
    """Strings to floats in one call; fields that are not numbers become NaN, status 1."""
    try:
        raw = np.array(rows, dtype=np.float64)
        return raw, np.zeros(raw.shape, dtype=np.int16)
    except ValueError:
        pass
    text = np.array(rows, dtype=str)
    raw = np.full(text.shape, np.nan)
    status = np.full(text.shape, STATUS_NOT_A_NUMBER, dtype=np.int16)
    for index, field in np.ndenumerate(text):  # only when some field is bad
        try:
            raw[index] = float(field)
            status[index] = 0
        except ValueError:
            pass
    return raw, status
