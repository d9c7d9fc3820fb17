"""Simulated Yokogawa AQ6370D optical spectrum analyzer for the simulated lab.

A `ScpiDevice` speaking the commands the driver uses, the way the instrument does:
wavelengths in metres with start/stop/centre/span kept consistent, enumerations answered
as indices, `:INITiate` starting a sweep whose length depends on sensitivity, points and
averaging (on the device's clock, so `*OPC?` answers when it ends), traces as ASCII or
little-endian REAL,64 blocks, levels in dBm (or W on a linear scale), an error queue,
and optionally the LAN login (`require_login=True`, `password=` or any).

The optical input: `lines` of a source (a DFB laser at 1550 nm by default) seen through
a Gaussian filter as wide as the resolution bandwidth, on a noise floor that falls with
sensitivity and averaging. `source_on = False` leaves only the floor (a dark trace).

Reply formats, after the remote control manual (IM AQ6370D-17EN): wavelengths, spans,
resolutions and ASCII trace values as `+1.55000000E-006` (sign, nine significant digits,
a three-digit exponent); point counts and averages as integers (`1001`); enumerations as
indices (`2`); `:SYSTem:ERRor?` as `0,"No error"`. Both `:SENSe:BANDwidth` and its alias
`:SENSe:BWIDth` set and read the resolution, with `:SENSe` and `:RESolution` optional as
the manual writes them. Not confirmed from the manual: that ASCII level values (`:TRACe:Y?`)
use the same three-digit format as wavelengths (`-6.20000000E+001`), and that
`:FORMat:DATA?` answers `ASCII` or `REAL,64`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from instrumentkit.sim import Reply, ScpiDevice, ScpiError, Setting, binary_block, command

__all__ = ["AQ6370DModel", "OpticalLine"]


@dataclass(frozen=True)
class OpticalLine:
    """A source line: centre (nm), total power (dBm), own linewidth (nm)."""

    center: float
    power_dbm: float
    linewidth: float = 0.001


SENSITIVITIES = ("NHLD", "NAUT", "MID", "HIGH1", "HIGH2", "HIGH3", "NORM")
_LONG_SENSITIVITY = {"NORMAL": "NORM"}
# Per-point measuring time (s) and noise floor (dBm) of each sensitivity (typical orders of
# magnitude of the data sheet, not its exact figures).
_POINT_TIME = {
    "NHLD": 2e-4,
    "NAUT": 2e-4,
    "NORM": 3e-4,
    "MID": 5e-4,
    "HIGH1": 5e-3,
    "HIGH2": 2e-2,
    "HIGH3": 6e-2,
}
_FLOOR_DBM = {
    "NHLD": -70.0,
    "NAUT": -70.0,
    "NORM": -70.0,
    "MID": -80.0,
    "HIGH1": -85.0,
    "HIGH2": -88.0,
    "HIGH3": -90.0,
}
SWEEP_MODES = {"SINGLE": 1, "SING": 1, "REPEAT": 2, "REP": 2, "AUTO": 3, "SEGMENT": 4, "SEGM": 4}
_LEVEL_SCALES = {"LOGARITHMIC": 0, "LOG": 0, "LINEAR": 1, "LIN": 1}
_RESOLUTIONS_NM = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
_LIMITS_M = (50e-9, 2250e-9)
_MAX_SPAN_M = 1100e-9


_TWO_DIGIT_EXPONENT = re.compile(r"E([+-])(\d\d)\b")


def nr3(values: str) -> str:
    """Python's `{:+.8E}` numbers (two-digit exponents) as the AQ6370 sends them (three)."""
    return _TWO_DIGIT_EXPONENT.sub(r"E\g<1>0\g<2>", values)


def _metres(text: str) -> float:
    """A wavelength parameter: metres, or a number with a NM/UM/M suffix."""
    word = text.strip().upper()
    for suffix, scale in (("NM", 1e-9), ("UM", 1e-6), ("M", 1.0)):
        if word.endswith(suffix):
            word, factor = word[: -len(suffix)], scale
            break
    else:
        factor = 1.0
    try:
        value = float(word) * factor
    except ValueError:
        raise ScpiError(-104) from None
    if not math.isfinite(value):
        raise ScpiError(-222)
    return value


class AQ6370DModel(ScpiDevice):
    """The AQ6370D as seen over GP-IB or its LAN socket."""

    idn = "YOKOGAWA,AQ6370D,91M000001,02.08"

    resolution = Setting(
        "[:SENSe]:BANDwidth[:RESolution]",
        0.1e-9,
        choices=tuple(r * 1e-9 for r in _RESOLUTIONS_NM),
    )
    sweep_points = Setting("[:SENSe]:SWEep:POINts", 1001, limits=(101, 50001))
    points_auto = Setting("[:SENSe]:SWEep:POINts:AUTO", False)
    averages = Setting("[:SENSe]:AVERage:COUNt", 1, limits=(1, 999))

    def __init__(
        self,
        *,
        lines: Sequence[OpticalLine] | None = None,
        require_login: bool = False,
        password: str | None = None,
        **options: Any,
    ) -> None:
        self.lines = tuple(lines if lines is not None else (OpticalLine(1550.0, -10.0),))
        self.require_login = require_login
        self.password = password
        self.source_on = True
        self.sweeps = 0
        self._login_state = "open"
        super().__init__(**options)

    def reset(self) -> None:
        super().reset()
        self.start_m, self.stop_m = 1545e-9, 1555e-9
        self.sensitivity = "MID"
        self.sweep_mode = 2
        self.level_scale = 0
        self.binary = False
        self.sweep_done = False
        self.trace_x = np.empty(0)
        self.trace_y = np.empty(0)

    # -- LAN login, before any SCPI
    def host_connected(self) -> None:
        super().host_connected()
        self._login_state = "need_open" if self.require_login else "open"

    def handle(self, message: bytes) -> None:
        if self._login_state == "open":
            super().handle(message)
        elif self._login_state == "need_open":
            text = message.decode("latin-1").strip()
            if text.upper().startswith("OPEN "):
                self._login_state = "need_password"
                self.reply("AUTHENTICATE CRAM-MD5.")
        else:  # with no password set, any is accepted (the instrument's anonymous user)
            given = message.decode("latin-1").strip()
            accepted = self.password is None or given == self.password
            self._login_state = "open" if accepted else "need_open"
            self.reply("ready" if accepted else "error")

    # -- wavelength span, kept consistent like the instrument does
    def _set_range(self, start: float, stop: float) -> None:
        low, high = _LIMITS_M
        if not (low <= start <= high and low <= stop <= high) or stop < start:
            raise ScpiError(-222)
        if stop - start > _MAX_SPAN_M:
            raise ScpiError(-222)
        self.start_m, self.stop_m = start, stop

    @command("[:SENSe]:WAVelength:STARt")
    def _start(self, value: str) -> None:
        self._set_range(_metres(value), self.stop_m)

    @command("[:SENSe]:WAVelength:STOP")
    def _stop(self, value: str) -> None:
        self._set_range(self.start_m, _metres(value))

    @command("[:SENSe]:WAVelength:CENTer")
    def _center(self, value: str) -> None:
        half = (self.stop_m - self.start_m) / 2
        center = _metres(value)
        self._set_range(center - half, center + half)

    @command("[:SENSe]:WAVelength:SPAN")
    def _span(self, value: str) -> None:
        center, half = (self.start_m + self.stop_m) / 2, _metres(value) / 2
        self._set_range(center - half, center + half)

    @command("[:SENSe]:WAVelength:STARt?")
    def _start_q(self) -> str:
        return nr3(f"{self.start_m:+.8E}")

    @command("[:SENSe]:WAVelength:STOP?")
    def _stop_q(self) -> str:
        return nr3(f"{self.stop_m:+.8E}")

    @command("[:SENSe]:WAVelength:CENTer?")
    def _center_q(self) -> str:
        return nr3(f"{(self.start_m + self.stop_m) / 2:+.8E}")

    @command("[:SENSe]:WAVelength:SPAN?")
    def _span_q(self) -> str:
        return nr3(f"{self.stop_m - self.start_m:+.8E}")

    # -- resolution: the Setting keeps the value; these give the alias and the reply format
    @command("[:SENSe]:BANDwidth[:RESolution]?", "[:SENSe]:BWIDth[:RESolution]?")
    def _resolution_q(self) -> str:
        return nr3(f"{self.resolution:+.8E}")

    @command("[:SENSe]:BWIDth[:RESolution]")
    def _resolution_alias(self, *params: str) -> None:
        self._run_setting(AQ6370DModel.resolution, params, {}, query=False)

    # -- enumerations: set by mnemonic (or index), answered by index
    @command("[:SENSe]:SENSe")
    def _sensitivity(self, value: str) -> None:
        word = _LONG_SENSITIVITY.get(value.strip().upper(), value.strip().upper())
        if word.isdigit() and int(word) < len(SENSITIVITIES):
            word = SENSITIVITIES[int(word)]
        if word not in SENSITIVITIES:
            raise ScpiError(-224)
        self.sensitivity = word

    @command("[:SENSe]:SENSe?")
    def _sensitivity_q(self) -> str:
        return str(SENSITIVITIES.index(self.sensitivity))

    @command(":INITiate:SMODe")
    def _sweep_mode(self, value: str) -> None:
        word = value.strip().upper()
        if word not in SWEEP_MODES:
            raise ScpiError(-224)
        self.sweep_mode = SWEEP_MODES[word]

    @command(":INITiate:SMODe?")
    def _sweep_mode_q(self) -> str:
        return str(self.sweep_mode)

    @command(":DISPlay:TRACe:Y1:SPACing")
    def _scale(self, value: str) -> None:
        word = value.strip().upper()
        if word not in _LEVEL_SCALES:
            raise ScpiError(-224)
        self.level_scale = _LEVEL_SCALES[word]

    @command(":DISPlay:TRACe:Y1:SPACing?")
    def _scale_q(self) -> str:
        return str(self.level_scale)

    @command(":FORMat[:DATA]")
    def _format(self, kind: str, bits: str = "64") -> None:
        word = kind.strip().upper()
        if word in ("ASC", "ASCII"):
            self.binary = False
        elif word == "REAL" and bits.strip() == "64":
            self.binary = True
        else:
            raise ScpiError(-224)

    @command(":FORMat[:DATA]?")
    def _format_q(self) -> str:
        return "REAL,64" if self.binary else "ASCII"

    # -- sweeps
    def sweep_seconds(self) -> float:
        """How long one sweep takes with the present settings."""
        return _POINT_TIME[self.sensitivity] * self.sweep_points * self.averages

    def measure(self) -> tuple[np.ndarray, np.ndarray]:
        """Wavelengths (m) and levels (dBm) of one sweep, vectorized."""
        x = np.linspace(self.start_m, self.stop_m, self.sweep_points)
        nm = x * 1e9
        floor_mw = 10 ** (_FLOOR_DBM[self.sensitivity] / 10)
        noise = np.abs(self.rng.normal(floor_mw, floor_mw / math.sqrt(self.averages), nm.shape))
        power_mw = noise
        if self.source_on:
            rbw = self.resolution * 1e9
            for line in self.lines:
                width = math.hypot(rbw, line.linewidth)
                sigma = width / (2 * math.sqrt(2 * math.log(2)))
                # A line's whole power falls into one resolution bandwidth at its centre.
                shape = np.exp(-0.5 * ((nm - line.center) / sigma) ** 2)
                power_mw = power_mw + 10 ** (line.power_dbm / 10) * shape
        return x, 10 * np.log10(power_mw)

    @command(":INITiate[:IMMediate]")
    def _initiate(self) -> None:
        self.trace_x, self.trace_y = self.measure()
        self.sweeps += 1
        self.sweep_done = False
        self.start_operation(self.sweep_seconds())

    @command(":ABORt")
    def _abort(self) -> None:
        self.busy_until = self.clock.now()

    @command(":STATus:OPERation:EVENt?")
    def _operation_event(self) -> str:
        done = self.operation_complete and self.sweeps > 0 and not self.sweep_done
        if done:
            self.sweep_done = True
        return "1" if done else "0"

    @command(":STATus:OPERation:CONDition?")
    def _operation_condition(self) -> str:
        return "1" if self.operation_complete else "0"

    def _trace(self, name: str, values: np.ndarray) -> Reply:
        if name.strip().upper() != "TRA":
            raise ScpiError(-224, "Illegal parameter value; only trace A is simulated")
        data: bytes | str
        if self.binary:
            data = binary_block(values, dtype="<f8")
        else:
            data = nr3(",".join(f"{v:+.8E}" for v in values)) if values.size else ""
        # Data of a sweep in progress is not there until it ends.
        return Reply(data, at=self.busy_until)

    @command(":TRACe[:DATA]:X?")
    def _trace_x(self, name: str = "TRA") -> Reply:
        return self._trace(name, self.trace_x)

    @command(":TRACe[:DATA]:Y?")
    def _trace_y(self, name: str = "TRA") -> Reply:
        levels = self.trace_y
        if self.level_scale == 1:
            levels = 10 ** (levels / 10) * 1e-3  # dBm -> W
        return self._trace(name, levels)

    @command(":SYSTem:ERRor[:NEXT]?")
    def _yokogawa_error(self) -> str:
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{message}"'
