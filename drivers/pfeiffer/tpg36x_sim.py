"""Simulated Pfeiffer TPG 361 / 362 / 366: the mnemonic protocol with its ACK/NAK/ENQ bytes.

Byte level, since ENQ and ETX arrive alone, without a line end::

    PR1<CR><LF>  -> <ACK><CR><LF>      then  <ENQ> -> 0,+1.2345E-06<CR><LF>
    XYZ<CR><LF>  -> <NAK><CR><LF>      (ERR then answers 0001: syntax error)

Pressures drift (`physics.Drift`, in mbar) and are reported in the unit `UNI` selects.
Tests set a channel's status (`model.status[2] = GaugeStatus.NO_SENSOR`) or make the next
commands refused (`model.refuse(1)`). If the host opened the port with other framing than
9600 8N1, every reply is garbled, as a real line would be.

Reply formats (TPG 36x manual): `PRx` answers `status,+1.2345E-06` (five significant
digits, two exponent digits), CR LF after every line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from instrumentkit.sim import Device
from instrumentkit.sim.physics import Drift

__all__ = ["TPG36xModel", "TPG361Model", "TPG362Model", "TPG366Model"]

ACK_LINE = b"\x06\r\n"
NAK_LINE = b"\x15\r\n"
_ENQ, _ETX = 0x05, 0x03
_SYNTAX, _PARAMETER = "0001", "0010"
_UNIT_FACTORS = {0: 1.0, 1: 0.750062, 2: 100.0, 3: 750.062, 4: 1.0}  # from mbar
_LINE = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}
_PLACEHOLDER = 2.0e-2  # what a channel without a pressure reports (the TPG 26x manual's example)


class TPG36xModel(Device):
    """A TPG 36x with `channels` gauges; `pressures` are mbar values per channel."""

    kind = "TPG362"
    part_number = "PTG28290"
    reply_end = b"\r\n"
    gauge_ids = ("PKR", "TPR", "PKR", "TPR", "CMR", "IKR")

    def __init__(
        self,
        *,
        channels: int = 2,
        pressures: tuple[float, ...] = (1e-6, 2.5e-2, 1e-3, 1e3, 5.0, 1e-8),
        drift: float = 0.0,
        noise: float = 0.01,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.channels = channels
        self.gauges = [
            Drift(value=p, rate=drift * p, noise=noise * p) for p in pressures[:channels]
        ]
        self.status = dict.fromkeys(range(1, channels + 1), 0)
        self.unit = 0
        self.error_bits = "0000"
        self._pending: Callable[[], bytes] | None = None
        self._refusals = 0
        self._line = bytearray()

    def refuse(self, count: int = 1) -> None:
        """NAK the next `count` commands (as a busy or confused controller does)."""
        self._refusals += count

    # -- bytes in
    def receive(self, data: bytes) -> None:
        for byte in data:
            if byte == _ENQ:
                self._enquiry()
            elif byte == _ETX:
                self._line.clear()
                self._pending = None
            elif byte in b"\r\n":
                if self._line:
                    text = self._line.decode("latin-1")
                    self._line.clear()
                    self._command(text)
            else:
                self._line.append(byte)

    def _command(self, text: str) -> None:
        self.current_message = text
        self.faults.command_arrived(text)
        mnemonic, _, argument = text.partition(",")
        answer = None if self._refusals else self._answer(mnemonic.strip().upper(), argument)
        if answer is None:
            self._refusals = max(0, self._refusals - 1)
            if self.error_bits == "0000":
                self.error_bits = _SYNTAX
            self._pending = None
            self._out(NAK_LINE)
            return
        self._pending = answer
        self._out(ACK_LINE)

    def _enquiry(self) -> None:
        if self._pending is None:
            self._out(NAK_LINE)
            return
        self._out(self._pending() + b"\r\n")
        if self.current_message and self.current_message.upper().startswith("ERR"):
            self._pending = None  # ERR clears the bits once read

    def _out(self, data: bytes) -> None:
        settings = self.line_settings
        if settings is not None and any(settings.get(k) != v for k, v in _LINE.items()):
            data = bytes(b ^ 0x55 for b in data)  # framing mismatch: what a UART makes of it
        self.send(data)

    # -- mnemonics
    def _answer(self, mnemonic: str, argument: str) -> Callable[[], bytes] | None:
        """What ENQ will return (computed when asked: a repeated ENQ measures again)."""
        if mnemonic == "PRX":
            return lambda: ",".join(self._pressure(n) for n in self.status).encode()
        if len(mnemonic) == 3 and mnemonic.startswith("PR") and mnemonic[2].isdigit():
            channel = int(mnemonic[2])
            if channel not in self.status:
                return None
            return lambda: self._pressure(channel).encode()
        if mnemonic == "UNI":
            if argument:
                code = argument.strip()
                if code not in {"0", "1", "2", "3", "4"}:
                    self.error_bits = _PARAMETER
                    return None
                self.unit = int(code)
            return lambda: str(self.unit).encode()
        if mnemonic == "ERR":
            bits, self.error_bits = self.error_bits, "0000"
            return bits.encode
        if mnemonic == "AYT":  # illustrative serial number and versions
            return f"{self.kind},{self.part_number},44998061,010100,010100".encode
        if mnemonic == "TID":
            return ",".join(self.gauge_ids[: self.channels]).encode
        return None

    def _pressure(self, channel: int) -> str:
        status = int(self.status[channel])
        if status in (3, 4, 5, 6):
            value = _PLACEHOLDER
        else:
            mbar = self.gauges[channel - 1].read(self.clock.now(), self.rng)
            value = abs(mbar) * _UNIT_FACTORS[self.unit]
        return f"{status},{value:+.4E}"


class TPG361Model(TPG36xModel):
    """TPG 361 SingleGauge."""

    kind = "TPG361"
    part_number = "PTG28040"

    def __init__(self, **options: Any) -> None:
        options.setdefault("channels", 1)
        super().__init__(**options)


class TPG362Model(TPG36xModel):
    """TPG 362 DualGauge."""


class TPG366Model(TPG36xModel):
    """TPG 366 MaxiGauge (six channels)."""

    kind = "TPG366"
    part_number = "PTG28090"

    def __init__(self, **options: Any) -> None:
        options.setdefault("channels", 6)
        super().__init__(**options)
