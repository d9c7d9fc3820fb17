"""IEEE 488.2 common commands and the SCPI error queue, as small mixins."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from instrumentkit.errors import InstrumentReportedError, ProtocolError
from instrumentkit.instrument import Instrument

__all__ = [
    "IEEE4882",
    "EventStatusErrors",
    "Identity",
    "SCPIErrorQueue",
    "SCPIInstrument",
    "parse_idn",
]

_ERROR_REPLY = re.compile(r'^\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$')
_MAX_QUEUED_ERRORS = 64


@dataclass(frozen=True, slots=True)
class Identity:
    """The four fields of an `*IDN?` reply."""

    vendor: str
    model: str
    serial: str
    firmware: str
    raw: str

    def __str__(self) -> str:
        return self.raw


def parse_idn(reply: str) -> Identity:
    """Split `vendor,model,serial,firmware`; missing fields are empty strings."""
    fields = [f.strip() for f in reply.strip().split(",", 3)]
    fields += [""] * (4 - len(fields))
    return Identity(*fields, raw=reply.strip())


class IEEE4882(Instrument):
    """`*IDN?`, `*RST`, `*CLS`, `*OPC?`, `*ESR?`."""

    sync_query = ("*OPC?", "1")

    @property
    def idn(self) -> Identity:
        """Get the instrument's identity (vendor, model, serial number, firmware)."""
        return parse_idn(self.session.query("*IDN?"))

    def reset(self) -> None:
        """Return the instrument to its default settings (`*RST`)."""
        self.session.write("*RST")

    def clear(self) -> None:
        """Clear the status registers and the error queue (`*CLS`)."""
        self.session.write("*CLS")

    def wait(self, timeout: float | None = None) -> None:
        """Block until pending operations complete (`*OPC?`), up to `timeout` seconds."""
        if timeout is None:
            reply = self.session.query("*OPC?")
        else:
            with self.session.timeout_set_to(timeout):
                reply = self.session.query("*OPC?")
        if reply.strip().lstrip("+") != "1":
            raise ProtocolError(f"expected 1, got {reply!r}", instrument=self.name, command="*OPC?")

    def event_status(self) -> int:
        """Read and clear the standard event status register (`*ESR?`)."""
        reply = self.session.query("*ESR?")
        try:
            return int(reply.strip().lstrip("+"))
        except ValueError as error:
            raise ProtocolError(
                f"expected an integer, got {reply!r}", instrument=self.name, command="*ESR?"
            ) from error


class EventStatusErrors(IEEE4882):
    """Errors told by the event status register (`*ESR?`), for instruments with no SCPI
    error queue: each bit set in `esr_errors` is reported with its meaning."""

    esr_errors: ClassVar[Mapping[int, str]] = {32: "command error", 16: "execution error"}

    def check_errors(self) -> None:
        """Raise InstrumentReportedError if the event status register shows a refused command."""
        self.raise_instrument_errors(None)

    def raise_instrument_errors(self, command: str | None = None) -> None:
        esr = self.event_status()
        found = [text for bit, text in self.esr_errors.items() if esr & bit]
        if found:
            raise InstrumentReportedError(
                f"event status register {esr}: {', '.join(found)}",
                code=esr,
                instrument=self.name,
                command=command,
            )


class SCPIErrorQueue(Instrument):
    """`SYSTem:ERRor?` as errors raised in Python."""

    error_query = "SYST:ERR?"

    def next_error(self) -> tuple[int, str]:
        """Pop one entry of the error queue: (code, message); code 0 means empty."""
        reply = self.session.query(self.error_query)
        match = _ERROR_REPLY.match(reply)
        if match is None:
            raise ProtocolError(
                f"expected 'code,\"message\"', got {reply!r}",
                instrument=self.name,
                command=self.error_query,
            )
        return int(match.group(1)), match.group(2)

    def drain_errors(self) -> list[tuple[int, str]]:
        """Every queued error, oldest first, leaving the queue empty."""
        errors = []
        for _ in range(_MAX_QUEUED_ERRORS):
            code, message = self.next_error()
            if code == 0:
                break
            errors.append((code, message))
        return errors

    def check_errors(self) -> None:
        """Raise InstrumentReportedError if the instrument has queued errors."""
        self.raise_instrument_errors(None)

    def raise_instrument_errors(self, command: str | None = None) -> None:
        errors = self.drain_errors()
        if errors:
            code, _ = errors[0]
            listed = "; ".join(f"{c}, {m!r}" for c, m in errors)
            raise InstrumentReportedError(
                f"instrument reported {listed}", code=code, instrument=self.name, command=command
            )


class SCPIInstrument(IEEE4882, SCPIErrorQueue):
    """Base for SCPI instruments: common commands plus the error queue."""
