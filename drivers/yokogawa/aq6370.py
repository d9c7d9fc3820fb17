"""Yokogawa AQ6370-series optical spectrum analyzers (AQ6370C/D/E) over GP-IB, LAN or USB.

Commands follow the AQ6370D remote control manual (IM AQ6370D-17EN) as far as it could be
checked: `:SENSe:WAVelength:STARt|STOP|CENTer|SPAN` (metres on the wire),
`:SENSe:BANDwidth:RESolution`, `:SENSe:SWEep:POINts[:AUTO]`, `:SENSe:SENSe`,
`:SENSe:AVERage:COUNt`, `:INITiate:SMODe`, `:INITiate`, `*OPC?`, `:FORMat:DATA`,
`:TRACe:X?|Y? TRA`. Enumerated settings answer with an index, not their mnemonic
(sensitivity NHLD=0, NAUT=1, MID=2, HIGH1=3, HIGH2=4, HIGH3=5, NORM=6; sweep mode
SINGle=1 ... SEGMent=4); the driver sends the mnemonic and reads either.

Enumerations reviewed (2026-12-06) against the AQ6370D manual: sensitivity, sweep mode
and level scale above are complete for the D. The RAPID1-6 sensitivities of later
firmware and the AQ6370E were not confirmed: they, and any other index or token, read
as `UnknownChoice` (decision 0008); `acquire` refuses an unknown level scale, since it
cannot tell dBm from watts.

Not confirmed from the manual, so choices of this driver (see docs/drivers/spectrometers.md):
- byte order of `:FORMat:DATA REAL,64` blocks: little-endian (`byte_order` class attribute),
  and that a line feed follows the block on a socket as it follows every other reply;
- `:DISPlay:TRACe:Y1:SPACing` answering 0 for LOGarithmic and 1 for LINear, and linear
  traces being in watts (the driver converts them to dBm);
- the socket login (`OPEN "<user>"`, a challenge line, the password, then `ready`),
  used only when `open(..., user=...)` is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self, Unpack

from instrumentkit.connect import ConnectionOptions
from instrumentkit.data import Spectrum, now_ns
from instrumentkit.errors import ConnectionFailed, ProtocolError, Timeout, ValidationError
from instrumentkit.instrument import Component
from instrumentkit.interfaces import Spectrometer
from instrumentkit.parameters import ON_OFF, Setting, UnknownChoice
from instrumentkit.scpi import SCPIInstrument
from instrumentkit.validators import OneOf, Range

from .._spectrometer import (
    DarkReference,
    DarkReferenceHolder,
    SpectrumBatch,
    batch_spectrum,
    mw_to_dbm,
    require_dark,
    subtract_dark_dbm,
)

__all__ = ["YokogawaAQ6370D"]

TraceFormat = Literal["ascii", "real64"]
_FORMAT_COMMANDS = {"ascii": ":FORMat:DATA ASCii", "real64": ":FORMat:DATA REAL,64"}


def _metres_to_nm(reply: str) -> float:
    return round(float(reply) * 1e9, 4)


def _nm_to_metres(nm: float) -> str:
    return f"{nm * 1e-9:.6E}"


class IndexedChoice(Setting[str]):
    """A choice sent as its mnemonic; the instrument answers with the mnemonic's index."""

    def __init__(
        self, get: str, set: str, choices: dict[str, tuple[str, int]], *, doc: str
    ) -> None:
        super().__init__(
            get, set, values={key: token for key, (token, _) in choices.items()}, doc=doc
        )
        self.by_index = {index: key for key, (_, index) in choices.items()}

    def decode(self, reply: str, obj: Component, command: str) -> str:
        try:
            return self.by_index[int(float(reply))]
        except (ValueError, KeyError):
            return super().decode(reply, obj, command)


def _wavelength(command: str, low: float, high: float, doc: str) -> Setting[float]:
    return Setting(
        f"{command}?",
        f"{command} {{value}}",
        parse=_metres_to_nm,
        format=_nm_to_metres,
        validate=Range(low, high),
        units="nm",
        doc=doc,
    )


class YokogawaAQ6370D(SCPIInstrument, DarkReferenceHolder):
    """Yokogawa AQ6370D optical spectrum analyzer (600-1700 nm); also fits AQ6370C/E."""

    idn_patterns = (r"^YOKOGAWA,AQ6370[CDE]?,",)
    interfaces = (Spectrometer,)
    sim_file = "sim/aq6370.yaml"
    sim_resource = "TCPIP0::127.0.0.1::10001::SOCKET"
    sim_model = "yokogawa-aq6370d"
    default_timeout = 10.0
    check_errors_after_set = True
    error_query = ":SYSTem:ERRor?"

    byte_order: ClassVar[Literal["<", ">"]] = "<"
    saturation_dbm: ClassVar[float] = 20.0
    """Maximum safe input (+20 dBm per the data sheet): a level there is flagged saturated."""
    sweep_timeout: float = 120.0
    """Seconds a sweep may take before `acquire()` gives up (high sensitivities are slow)."""

    wavelength_start = _wavelength(
        ":SENSe:WAVelength:STARt", 50, 2250, "Set the sweep start wavelength in nm."
    )
    wavelength_stop = _wavelength(
        ":SENSe:WAVelength:STOP", 50, 2250, "Set the sweep stop wavelength in nm."
    )
    wavelength_center = _wavelength(
        ":SENSe:WAVelength:CENTer", 50, 2250, "Set the sweep centre wavelength in nm."
    )
    wavelength_span = _wavelength(
        ":SENSe:WAVelength:SPAN", 0, 1100, "Set the sweep span in nm (0 = zero span)."
    )
    resolution = Setting(
        ":SENSe:BANDwidth:RESolution?",
        ":SENSe:BANDwidth:RESolution {value}",
        parse=_metres_to_nm,
        format=_nm_to_metres,
        validate=OneOf(0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
        units="nm",
        doc="Set the resolution bandwidth in nm (0.02 to 2).",
    )
    sweep_points = Setting(
        ":SENSe:SWEep:POINts?",
        ":SENSe:SWEep:POINts {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(101, 50001, integer=True),
        units="",
        doc="Set the number of points per sweep (turns automatic point count off).",
    )
    sweep_points_auto = Setting(
        ":SENSe:SWEep:POINts:AUTO?",
        ":SENSe:SWEep:POINts:AUTO {value}",
        values=ON_OFF,
        doc="Control whether the instrument picks the point count from span and resolution.",
    )
    sensitivity = IndexedChoice(
        ":SENSe:SENSe?",
        ":SENSe:SENSe {value}",
        {
            "normal_hold": ("NHLD", 0),
            "normal_auto": ("NAUT", 1),
            "mid": ("MID", 2),
            "high1": ("HIGH1", 3),
            "high2": ("HIGH2", 4),
            "high3": ("HIGH3", 5),
            "normal": ("NORM", 6),
        },
        doc="Set the measurement sensitivity (higher is slower and reaches lower levels).",
    )
    averages = Setting(
        ":SENSe:AVERage:COUNt?",
        ":SENSe:AVERage:COUNt {value}",
        parse=lambda reply: int(float(reply)),
        validate=Range(1, 999, integer=True),
        units="",
        doc="Set how many times each point is measured and averaged.",
    )
    sweep_mode = IndexedChoice(
        ":INITiate:SMODe?",
        ":INITiate:SMODe {value}",
        {"single": ("SING", 1), "repeat": ("REP", 2), "auto": ("AUTO", 3), "segment": ("SEGM", 4)},
        doc="Set the sweep mode; acquire() always takes single sweeps.",
    )
    level_scale = IndexedChoice(
        ":DISPlay:TRACe:Y1:SPACing?",
        ":DISPlay:TRACe:Y1:SPACing {value}",
        {"log": ("LOG", 0), "linear": ("LIN", 1)},
        doc="Set the level axis: logarithmic (traces in dBm) or linear (traces in W).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trace = "TRA"
        self.trace_format: TraceFormat = "real64"
        self._format_sent: TraceFormat | None = None
        self._dark: DarkReference | None = None

    def _after_resync(self) -> None:
        # The trace format is sent again before the next trace (it may not have arrived).
        self._format_sent = None

    # -- opening
    @classmethod
    def open(
        cls,
        resource: str,
        *,
        name: str | None = None,
        user: str | None = None,
        password: str = "",
        **options: Unpack[ConnectionOptions],
    ) -> Self:
        """Open `resource`; give `user` (e.g. "anonymous") to log in on a raw LAN socket."""
        instrument = super().open(resource, name=name, **options)
        if user is not None:
            try:
                instrument.login(user, password)
            except BaseException:
                instrument.close()
                raise
        return instrument

    @classmethod
    def open_sim(cls, *, name: str | None = None, fresh: bool = True) -> Self:
        """Open on the pyvisa-sim YAML; traces in ASCII there (it cannot carry binary blocks)."""
        instrument = super().open_sim(name=name, fresh=fresh)
        instrument.trace_format = "ascii"
        return instrument

    def login(self, user: str, password: str = "") -> None:
        """Authenticate on the LAN socket (`OPEN "<user>"`, challenge, password, `ready`)."""
        challenge = self.session.query(f'OPEN "{user}"')
        answer = self.session.query(password or " ")
        if answer.strip().lower() != "ready":
            raise ConnectionFailed(
                f"login as {user!r} refused: challenge {challenge!r}, answer {answer!r}",
                instrument=self.name,
                command="OPEN",
            )

    # -- traces
    @contextmanager
    def _recovering(self) -> Iterator[None]:
        """After a garbled or late reply, drop what is left of it so the next query is clean."""
        try:
            yield
        except (ProtocolError, Timeout):
            with suppress(Timeout), self.session.timeout_set_to(0.2):
                while True:
                    self.session.read_raw_until(b"\n")
            raise

    def _use_format(self) -> None:
        if self.trace_format not in _FORMAT_COMMANDS:
            raise ValidationError(
                f"trace_format {self.trace_format!r} is not one of {sorted(_FORMAT_COMMANDS)}",
                instrument=self.name,
            )
        if self._format_sent != self.trace_format:
            self.session.write(_FORMAT_COMMANDS[self.trace_format])
            self._format_sent = self.trace_format

    def _trace(self, axis: str) -> NDArray[np.float64]:
        command = f":TRACe:{axis}? {self.trace}"
        if self.trace_format == "real64":
            values = self.session.query_block(command, dtype=np.float64, byte_order=self.byte_order)
            return values.astype(np.float64)
        return self.session.query_values(command)

    def wavelengths(self) -> NDArray[np.float64]:
        """Get the wavelength axis of the trace in nm (from the sweep settings before any sweep)."""
        with self.session.lock:
            self._use_format()
            metres = self._trace("X")
        if metres.size:
            return metres * 1e9
        points = self.sweep_points
        return np.linspace(self.wavelength_start, self.wavelength_stop, points)

    def sweep(self) -> None:
        """Take one single sweep and wait for it to finish (`:INITiate`, `*OPC?`)."""
        with self.session.lock:
            self.session.write(":INITiate:SMODe SING")
            self.session.write(":INITiate")
            self.wait(timeout=self.sweep_timeout)
            self.raise_instrument_errors(":INITiate")

    def _levels_dbm(self, scale: str) -> NDArray[np.float64]:
        if isinstance(scale, UnknownChoice):  # neither dBm nor watts: no safe conversion
            raise ProtocolError(
                f"level scale {scale.raw!r} is neither logarithmic (0) nor linear (1); "
                "set level_scale before acquiring",
                instrument=self.name,
                command=":DISPlay:TRACe:Y1:SPACing?",
            )
        levels = self._trace("Y")
        if scale == "linear":  # watts -> dBm; zero power becomes the floor
            levels = mw_to_dbm(levels * 1e3)
        return levels

    dark_units = "dBm"

    def _dark_settings(self) -> dict[str, Any]:
        return {
            "wavelength_start_nm": self.wavelength_start,
            "wavelength_stop_nm": self.wavelength_stop,
            "sweep_points": self.sweep_points,
            "resolution_nm": self.resolution,
            "sensitivity": self.sensitivity,
            "averages": self.averages,
        }

    def _checked_dark(self, dark_corrected: bool) -> DarkReference | None:
        if not dark_corrected:
            return None
        return require_dark(self._dark, self._dark_settings(), self.name)

    def _spectrum(
        self, axis: NDArray[np.float64], levels: NDArray[np.float64], stamp: int, **meta: Any
    ) -> Spectrum:
        if axis.shape != levels.shape:
            raise ProtocolError(
                f"trace X has {axis.shape[0]} points, Y {levels.shape[0]}",
                instrument=self.name,
                command=f":TRACe:Y? {self.trace}",
            )
        return Spectrum(
            wavelengths=axis,
            intensities=levels,
            units="dBm",
            timestamp_ns=stamp,
            saturated=bool(levels.max(initial=-np.inf) >= self.saturation_dbm),
            meta=meta,
        )

    def acquire(self, *, dark_corrected: bool = False) -> Spectrum:
        """Sweep once and return the trace in dBm against wavelength in nm."""
        dark = self._checked_dark(dark_corrected)
        with self.session.lock, self._recovering():
            self._use_format()
            self.sweep()
            stamp = now_ns()
            axis = self._trace("X") * 1e9
            scale = self.level_scale
            levels = self._levels_dbm(scale)
        spectrum = self._spectrum(axis, levels, stamp, trace=self.trace, level_scale=scale)
        if dark is None:
            return spectrum
        corrected = subtract_dark_dbm(levels, dark.intensities)
        return Spectrum(
            axis,
            corrected,
            units="dBm",
            timestamp_ns=stamp,
            saturated=spectrum.saturated,
            dark_corrected=True,
            meta=spectrum.meta,
        )

    def acquire_many(self, n: int, *, dark_corrected: bool = False) -> SpectrumBatch:
        """Sweep `n` times into one (n, points) dBm array; the wavelength axis is read once."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValidationError(
                f"n must be a positive whole number, got {n!r}", instrument=self.name
            )
        dark = self._checked_dark(dark_corrected)
        stamps = np.empty(n, dtype=np.int64)
        with self.session.lock, self._recovering():
            self._use_format()
            scale = self.level_scale
            self.sweep()
            stamps[0] = now_ns()
            axis = self._trace("X") * 1e9
            stack = np.empty((n, axis.shape[0]), dtype=np.float64)
            stack[0] = self._levels_dbm(scale)
            for row in range(1, n):
                self.sweep()
                stamps[row] = now_ns()
                stack[row] = self._levels_dbm(scale)
        saturated = stack.max(axis=1) >= self.saturation_dbm
        if dark is not None:
            stack = subtract_dark_dbm(stack, dark.intensities)
        return batch_spectrum(
            axis,
            stack,
            stamps,
            saturated,
            units="dBm",
            integration_time=None,
            dark_corrected=dark is not None,
            meta={"trace": self.trace, "level_scale": scale},
        )
