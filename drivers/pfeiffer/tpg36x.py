"""Pfeiffer Vacuum TPG 361 / 362 / 366 gauge controllers over RS-232 (mnemonic protocol).

The protocol of the operating and communication manuals (TPG 36x, BG 5510 BEN; the same
as the TPG 26x's): ASCII at 9600 baud, 8 data bits, no parity, 1 stop bit, no handshake
lines. Every exchange is two steps::

    host:  PR1<CR><LF>         gauge: <ACK><CR><LF>       (or <NAK><CR><LF>: refused)
    host:  <ENQ>               gauge: 0,+1.2300E-03<CR><LF>

A refused command (NAK) is followed here by `ERR`, whose bits say why (syntax error,
inadmissible parameter, no hardware, controller error). Measurement status per channel:
0 ok, 1 underrange, 2 overrange, 3 sensor error, 4 sensor off, 5 no sensor,
6 identification error. Settings are sent with their parameters (`UNI,1`) and
acknowledged; the optional ENQ that would echo them back is not sent.

It does not answer `*IDN?`: open it by naming the driver,
`ik.open("/dev/ttyUSB0", driver="PfeifferTPG36x")`.

Not confirmed from the manuals here: the `AYT` (are you there) reply layout of the 36x
(type, part number, serial number, firmware, hardware), `PRX` on the single-channel
TPG 361 (the TPG 361 class reads `PR1` instead), and the pressure-unit codes beyond
0-2 (3 micron, 4 hPa, 5 volt are taken from the 36x manual's table as remembered).

Enumerations reviewed (2026-12-06): `UNI` codes 0-5 (mbar, Torr, Pa, micron, hPa, V);
gauge statuses 0-6. A unit code outside these reads as `UnknownChoice` (decision
0008) and readings then carry units "".
"""

from __future__ import annotations

import enum
import re
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from instrumentkit.data import Reading, now_ns
from instrumentkit.errors import InstrumentReportedError, ProtocolError, ValidationError
from instrumentkit.instrument import Instrument
from instrumentkit.interfaces import Sensor
from instrumentkit.parameters import Measurement, Setting, UnknownChoice
from instrumentkit.session import Session
from instrumentkit.transport import Transport
from instrumentkit.validators import Range

from .._readings import reading_count

__all__ = [
    "GaugeError",
    "GaugeStatus",
    "HandshakeSession",
    "PfeifferTPG36x",
    "PfeifferTPG361",
    "PfeifferTPG362",
    "PfeifferTPG366",
]

ACK = "\x06"
NAK = "\x15"
ENQ = b"\x05"
ETX = b"\x03"
_MAX_STRAY_LINES = 4
_MEASUREMENT_LINE = re.compile(r"^[0-6],[-+0-9.Ee]+(,[0-6],[-+0-9.Ee]+)*$")
_ERROR_BITS = {
    "1000": "controller error",
    "0100": "no hardware",
    "0010": "inadmissible parameter",
    "0001": "syntax error",
}


class GaugeStatus(enum.IntEnum):
    """Status code the controller reports with each pressure."""

    OK = 0
    UNDERRANGE = 1
    OVERRANGE = 2
    SENSOR_ERROR = 3
    SENSOR_OFF = 4
    NO_SENSOR = 5
    IDENTIFICATION_ERROR = 6


NO_MEASUREMENT = frozenset(
    (
        GaugeStatus.SENSOR_ERROR,
        GaugeStatus.SENSOR_OFF,
        GaugeStatus.NO_SENSOR,
        GaugeStatus.IDENTIFICATION_ERROR,
    )
)
"""Statuses whose value is a placeholder, not a pressure: NaN in readings, an error alone."""


class GaugeError(InstrumentReportedError):
    """A channel reported a status with no pressure behind it (`code` is the status)."""


class HandshakeSession(Session):
    """A session for Pfeiffer's ACK/ENQ protocol: `write` waits for the acknowledgement,
    `query` sends ENQ after it and reads the data line."""

    def write(self, command: str) -> None:
        with self.lock:
            super().write(command)
            self._acknowledged(command)

    def query(self, command: str) -> str:
        with self.lock:
            self.write(command)
            self.write_raw(ENQ, command=command)
            return self.read(command=command).strip()

    def _acknowledged(self, command: str) -> None:
        for _ in range(_MAX_STRAY_LINES):
            reply = self.read(command=command).strip(" \r\n")
            if reply == ACK:
                return
            if reply == NAK:
                raise self._refusal(command)
            if not _MEASUREMENT_LINE.match(reply):
                raise ProtocolError(
                    f"expected <ACK> or <NAK>, got {reply!r}", instrument=self.name, command=command
                )
            # A line of continuous output (COM mode) still arriving: skip it.
        raise ProtocolError(
            f"no <ACK> or <NAK> in {_MAX_STRAY_LINES} lines; the controller is sending "
            "continuously: reset_interface() stops it",
            instrument=self.name,
            command=command,
        )

    def _refusal(self, command: str) -> InstrumentReportedError:
        bits = self.query("ERR")
        reasons = [text for flag, text in _ERROR_BITS.items() if _has_bit(bits, flag)]
        try:
            code = int(bits, 2)
        except ValueError:
            code = -1
        return InstrumentReportedError(
            f"refused with <NAK>; ERR says {bits!r} ({', '.join(reasons) or 'no reason given'})",
            code=code,
            instrument=self.name,
            command=command,
        )


def _has_bit(bits: str, flag: str) -> bool:
    return len(bits) == len(flag) and any(a == b == "1" for a, b in zip(bits, flag, strict=True))


def _gauge_types(reply: str) -> tuple[str, ...]:
    return tuple(field.strip() for field in reply.split(","))


class PfeifferTPG36x(Instrument):
    """Pfeiffer TPG 36x gauge controller; the channel count is learnt from the first `PRX`."""

    interfaces = (Sensor,)
    status_meanings: ClassVar[dict[int, str]] = {
        int(code): code.name.lower() for code in GaugeStatus if code
    }
    """What each measurement status means (the run file keeps it with the readings)."""
    write_termination = "\r\n"
    read_termination = "\r\n"
    connection_defaults = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}
    default_timeout = 2.0
    sim_model = "pfeiffer-tpg362"
    channel_count: ClassVar[int | None] = None
    """How many gauge channels the model has (None: whatever `PRX` answers)."""

    pressure_unit = Setting(
        "UNI",
        "UNI,{value}",
        values={"mbar": "0", "Torr": "1", "Pa": "2", "micron": "3", "hPa": "4", "V": "5"},
        doc="Select the pressure unit of every reading.",
    )
    identity = Measurement(
        "AYT",
        parse=str,
        doc="Get the controller's type, part number, serial number and versions (AYT).",
    )
    gauge_types = Measurement(
        "TID", parse=_gauge_types, doc="Get the type of gauge on each channel (TID)."
    )
    error_status = Measurement(
        "ERR",
        parse=str,
        in_snapshot=False,
        doc="Read the error bits (controller, hardware, parameter, syntax) and clear them.",
    )

    def __init__(
        self, connection: Transport | Session, *, name: str | None = None, log_io: bool = False
    ) -> None:
        if not isinstance(connection, Session):
            connection = HandshakeSession(
                connection,
                name=name,
                write_termination=self.write_termination,
                read_termination=self.read_termination,
                encoding=self.encoding,
                log_io=log_io,
            )
        super().__init__(connection, name=name)
        self._channels = self.channel_count

    def reset_interface(self) -> None:
        """Send ETX (Ctrl-C): the controller drops a half-received command and stops output."""
        with self.session.lock:
            self.session.write_raw(ETX, command="<ETX>")

    @property
    def channel_names(self) -> tuple[str, ...]:
        if self._channels is None:
            self.read()
        return tuple(f"gauge{n}" for n in range(1, (self._channels or 0) + 1))

    @property
    def units(self) -> tuple[str, ...]:
        return (self._unit(),) * len(self.channel_names)

    def _unit(self) -> str:
        """The pressure unit; "" for a code the driver does not know (decision 0008)."""
        unit = self.pressure_unit
        return "" if isinstance(unit, UnknownChoice) else unit

    def pressure(self, channel: int) -> float:
        """Measure one channel's pressure; raise GaugeError if it has none to give.

        Underrange and overrange give the range limit the gauge reports.
        """
        count = self._channels or 6
        try:
            channel = int(Range(1, count, integer=True)(channel))
        except ValueError as error:
            raise ValidationError(f"channel {channel!r}: {error}", instrument=self.name) from error
        command = f"PR{channel}"
        codes, values = self._parse(self.session.query(command), command, 1, channels=1)
        status = GaugeStatus(int(codes[0, 0]))
        if status in NO_MEASUREMENT:
            raise GaugeError(
                f"channel {channel} reports {status.name.lower().replace('_', ' ')}",
                code=int(status),
                instrument=self.name,
                command=command,
            )
        return float(values[0, 0])

    def read(self) -> Reading:
        """Measure every channel (`PRX`): status codes in `status`, NaN where no pressure."""
        return self.read_many(1)

    def read_many(self, n: int) -> Reading:
        """Measure every channel `n` times in a row (the controller has no buffer)."""
        n = reading_count(n, instrument=self.name)
        command = "PR1" if self.channel_count == 1 else "PRX"
        replies: list[str] = []
        stamps = np.empty(n, dtype=np.int64)
        for index in range(n):
            replies.append(self.session.query(command))
            stamps[index] = now_ns()
        codes, values = self._parse(",".join(replies), command, n)
        if self._channels is None:
            self._channels = values.shape[1]
        values[np.isin(codes, list(NO_MEASUREMENT))] = np.nan
        units = (self._unit(),) * values.shape[1]
        return Reading(values, stamps, self.channel_names, units, codes)

    def _parse(
        self, text: str, command: str, rows: int, *, channels: int | None = None
    ) -> tuple[NDArray[np.int16], NDArray[np.float64]]:
        fields = text.split(",")
        try:
            numbers = np.array(fields, dtype=np.float64)
        except ValueError as error:
            raise ProtocolError(
                f"expected 'status,pressure' pairs, got {text[:60]!r}",
                instrument=self.name,
                command=command,
            ) from error
        if numbers.size % (2 * rows) or numbers.size == 0:
            raise ProtocolError(
                f"expected 'status,pressure' pairs, got {text[:60]!r}",
                instrument=self.name,
                command=command,
            )
        pairs = numbers.reshape(rows, -1, 2)
        expected = channels or self._channels
        if expected is not None and pairs.shape[1] != expected:
            raise ProtocolError(
                f"expected {expected} channels, got {pairs.shape[1]} in {text[:60]!r}",
                instrument=self.name,
                command=command,
            )
        codes = pairs[:, :, 0]
        if not np.isin(codes, [s.value for s in GaugeStatus]).all():
            raise ProtocolError(
                f"unknown status code in {text[:60]!r}", instrument=self.name, command=command
            )
        return codes.astype(np.int16), pairs[:, :, 1].copy()


class PfeifferTPG361(PfeifferTPG36x):
    """Pfeiffer TPG 361 SingleGauge controller (one channel, read with `PR1`)."""

    sim_model = "pfeiffer-tpg361"
    channel_count = 1


class PfeifferTPG362(PfeifferTPG36x):
    """Pfeiffer TPG 362 DualGauge controller."""

    sim_model = "pfeiffer-tpg362"
    channel_count = 2


class PfeifferTPG366(PfeifferTPG36x):
    """Pfeiffer TPG 366 MaxiGauge controller (six channels)."""

    sim_model = "pfeiffer-tpg366"
    channel_count = 6
