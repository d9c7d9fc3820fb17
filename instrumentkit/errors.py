"""The one exception hierarchy of instrumentkit.

Every error names the instrument and, where there is one, the command, so a message
read in a log file is enough to know what went wrong and what to try.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConnectionFailed",
    "DriverNotFound",
    "InstrumentError",
    "InstrumentReportedError",
    "ProtocolError",
    "Timeout",
    "ValidationError",
]

_SHOWN_BYTES = 64


def show_bytes(data: bytes | bytearray | memoryview, limit: int = _SHOWN_BYTES) -> str:
    """Render bytes for an error message, truncated so a 10 MB block stays readable."""
    data = bytes(data[: limit + 1])
    if len(data) > limit:
        return f"{data[:limit]!r}... (truncated)"
    return repr(data)


class InstrumentError(Exception):
    """Base of every instrumentkit error; `instrument` and `command` may be None."""

    def __init__(
        self, message: str, *, instrument: str | None = None, command: str | None = None
    ) -> None:
        self.instrument = instrument
        self.command = command
        self.detail = message
        super().__init__(self._compose(message))

    def _compose(self, message: str) -> str:
        where = []
        if self.instrument:
            where.append(self.instrument)
        if self.command:
            where.append(f"command {self.command!r}")
        return f"{': '.join(where)}: {message}" if where else message


class ConnectionFailed(InstrumentError, ConnectionError):
    """The instrument could not be opened, or the connection was lost."""


class Timeout(InstrumentError, TimeoutError):
    """No (complete) reply arrived within the timeout."""

    def __init__(
        self,
        message: str,
        *,
        instrument: str | None = None,
        command: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.timeout = timeout
        super().__init__(message, instrument=instrument, command=command)


class ProtocolError(InstrumentError):
    """A reply arrived but does not have the expected form."""


class InstrumentReportedError(InstrumentError):
    """The instrument put an error in its error queue (SCPI `SYSTem:ERRor?`)."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        instrument: str | None = None,
        command: str | None = None,
    ) -> None:
        self.code = code
        super().__init__(message, instrument=instrument, command=command)


class ValidationError(InstrumentError, ValueError):
    """A value was refused before anything was sent to the instrument."""


class ConfigError(InstrumentError, ValueError):
    """A configuration file or option is invalid; `field` names where."""

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None):
        self.field = field
        self.source = source
        prefix = " ".join(p for p in (source, f"field {field!r}" if field else None) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.detail = message  # without the place, for callers that name their own


class DriverNotFound(InstrumentError, LookupError):
    """No registered driver serves the instrument that answered."""
