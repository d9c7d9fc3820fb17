"""Simulated Keysight Truevolt 34461A / 34465A multimeters for the simulated lab.

What the driver relies on, with the instrument's behaviour: long and short SCPI forms,
`FUNCtion "<f>"`, per-function `RANGe` (a value picks the smallest range holding it and
turns autorange off), `RANGe:AUTO`, `NPLC`, `SAMPle:COUNt`, `TRIGger:COUNt|SOURce`,
`INITiate` into reading memory (readings appear as they are taken, `NPLC/50` s each),
`*OPC?` once done, `R?` (definite block of ASCII readings, erased), `DATA:REMove?`,
`DATA:POINts?`, `FETCh?`, `READ?`, `MEASure:VOLTage:DC?` and the error queue.

Each function reads its own `physics.Source` (`model.sources["VOLT"]`, ...), with the
DMM's noise falling as NPLC grows and 9.9E37 beyond 120 % of the range.
Not modelled: waiting for BUS/EXTernal triggers (INITiate measures at once).

Reply formats, after the 34461A/34465A manual: readings, ranges and NPLC as
`+1.23456789E+00` (nine significant digits, two exponent digits), overloads as
`+9.90000000E+37`, counts as `+5`, errors as `+0,"No error"`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from instrumentkit.sim import (
    Reply,
    ScpiDevice,
    ScpiError,
    Setting,
    Signal,
    SignalIn,
    WiredSource,
    command,
    numeric_parameter,
)
from instrumentkit.sim.physics import Multimeter, Source

__all__ = ["Keysight34461AModel", "Keysight34465AModel"]

_SECONDS_PER_PLC = 1 / 50


@dataclass(frozen=True)
class _Function:
    header: str | None
    """SCPI prefix of its range/NPLC commands (None: no range)."""
    ranges: tuple[float, ...]
    nplc: bool
    source: Source


_LONG_WORDS = {
    "VOLTAGE": "VOLT",
    "CURRENT": "CURR",
    "RESISTANCE": "RES",
    "FRESISTANCE": "FRES",
    "FREQUENCY": "FREQ",
    "TEMPERATURE": "TEMP",
    "CAPACITANCE": "CAP",
}


def _dc(value: float, noise: float = 0.0) -> Source:
    return Source(shape="dc", amplitude=0.0, offset=value, noise=noise)


def _function_token(text: str) -> str:
    """`"VOLTage:DC"` -> `VOLT`, `'curr:ac'` -> `CURR:AC` (the form `FUNCtion?` answers)."""
    words = [_LONG_WORDS.get(w, w) for w in text.strip().strip("\"'").upper().split(":")]
    return ":".join(w for w in words if w != "DC")


class Keysight34461AModel(ScpiDevice):
    """A 34461A: DC/AC volts and amps, 2/4-wire ohms, frequency, temperature, capacitance."""

    idn = "Keysight Technologies,34461A,MY57800001,A.03.01-02.40-03.01-00.52-03-01"
    nplc_choices: tuple[float, ...] = (0.02, 0.2, 1, 10, 100)
    installed_options = "0,0"
    """`*OPT?`: the 34461A has no licensed options (the manual lists none)."""
    memory_size = 10_000
    current_ranges: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 0.1, 1, 3, 10)
    resistance_ranges: tuple[float, ...] = (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)

    sample_count = Setting("SAMPle:COUNt", 1, limits=(1, 1_000_000))
    trigger_count = Setting("TRIGger:COUNt", 1, limits=(1, 1_000_000))
    trigger_source = Setting(
        "TRIGger:SOURce", "IMMediate", choices=("IMMediate", "EXTernal", "BUS", "INTernal")
    )
    # Asked by other drivers (QCoDeS' Keysight344xxA snapshot), defaults after the manual.
    trigger_delay = Setting("TRIGger:DELay", 0.0, limits=(0.0, 3600.0))
    trigger_delay_auto = Setting("TRIGger:DELay:AUTO", True)
    trigger_slope = Setting("TRIGger:SLOPe", "NEGative", choices=("POSitive", "NEGative"))
    display_on = Setting("DISPlay[:STATe]", True)
    sample_source = Setting("SAMPle:SOURce", "IMMediate", choices=("IMMediate", "TIMer"))
    autozero = Setting("[:SENSe]:VOLTage[:DC]:ZERO:AUTO", True)
    sample_timer_limits = (1e-3, 3600.0)
    """`SAMPle:TIMer` range; the minimum depends on NPLC on the instrument (not modelled)."""
    resolution_factors: tuple[float, ...] = (100e-6, 10e-6, 3e-6, 1e-6, 0.3e-6)
    """Resolution as a fraction of the range, per `nplc_choices` (the manual's table)."""

    def __init__(self, *, noise_ppm: float = 2.0, **options: Any) -> None:
        self.functions = {
            "VOLT": _Function("VOLTage[:DC]", (0.1, 1, 10, 100, 1000), True, _dc(1.0)),
            "VOLT:AC": _Function("VOLTage:AC", (0.1, 1, 10, 100, 750), False, _dc(0.5)),
            "CURR": _Function("CURRent[:DC]", self.current_ranges, True, _dc(1e-3)),
            "CURR:AC": _Function("CURRent:AC", (1e-4, 1e-3, 1e-2, 0.1, 1, 3, 10), False, _dc(1e-3)),
            "RES": _Function("RESistance", self.resistance_ranges, True, _dc(1e3)),
            "FRES": _Function("FRESistance", self.resistance_ranges, True, _dc(1e3)),
            "FREQ": _Function(None, (), False, _dc(1e3)),
            "TEMP": _Function("TEMPerature", (), True, _dc(23.0, noise=0.01)),
            "CAP": _Function("CAPacitance", (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4), False, _dc(1e-7)),
        }
        self.sources = {name: f.source for name, f in self.functions.items()}
        """The signal each function measures; replace one to change what the DMM sees."""
        self.meter = Multimeter(noise_ppm=noise_ppm)
        super().__init__(**options)
        for name, function in self.functions.items():
            self._add_function_commands(name, function)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.function = "VOLT"
        self.ranges = {n: f.ranges[2] if f.ranges else 1.0 for n, f in self.functions.items()}
        self.autorange = dict.fromkeys(self.functions, True)
        self.nplc = dict.fromkeys(self.functions, 10.0)
        self.memory: deque[tuple[float, float]] = deque()
        self.display_text = ""
        self.sample_timer = 1.0
        """(time the reading is done, value), oldest first."""
        self.last: tuple[np.ndarray, np.ndarray] | None = None
        """Completion times and values of the last INITiate, for FETCh?."""

    def ports(self) -> dict[str, SignalIn]:
        """The voltage input ("", 10 Mohm): DC volts read the wired signal at each reading."""
        return {"": SignalIn(self._wire_voltage, impedance=10e6)}

    def _wire_voltage(self, signal: Signal) -> None:
        self.sources["VOLT"] = WiredSource.of_signal(signal)

    # -- per-function range, autorange and NPLC
    def _add_function_commands(self, name: str, function: _Function) -> None:
        if function.header is None:
            return
        prefix = f"[:SENSe]:{function.header}"
        if function.ranges:
            self.add_command(f"{prefix}:RANGe[:UPPer]", self._range_setter(name))
            self.add_command(f"{prefix}:RANGe[:UPPer]?", lambda: f"{self.ranges[name]:+.8E}")
            self.add_command(f"{prefix}:RANGe:AUTO", self._autorange_setter(name))
            self.add_command(f"{prefix}:RANGe:AUTO?", lambda: "1" if self.autorange[name] else "0")
        if function.nplc:
            self.add_command(f"{prefix}:NPLCycles", self._nplc_setter(name))
            self.add_command(f"{prefix}:NPLCycles?", lambda: f"{self.nplc[name]:+.8E}")

    def _range_setter(self, name: str) -> Callable[[str], None]:
        ranges = self.functions[name].ranges

        def set_range(value: str) -> None:
            wanted = numeric_parameter(value, ranges[0], ranges[-1])
            fitting = [r for r in ranges if r >= wanted * (1 - 1e-9)]
            if not fitting:
                raise ScpiError(-222)
            self.ranges[name] = fitting[0]
            self.autorange[name] = False

        return set_range

    def _autorange_setter(self, name: str) -> Callable[[str], None]:
        def set_autorange(value: str) -> None:
            word = value.strip().upper()
            if word not in {"ON", "OFF", "1", "0", "ONCE"}:
                raise ScpiError(-224)
            self.autorange[name] = word in {"ON", "1"}

        return set_autorange

    def _nplc_setter(self, name: str) -> Callable[[str], None]:
        def set_nplc(value: str) -> None:
            wanted = numeric_parameter(value, self.nplc_choices[0], self.nplc_choices[-1])
            if not self.nplc_choices[0] <= wanted <= self.nplc_choices[-1]:
                raise ScpiError(-222)
            self.nplc[name] = next(c for c in self.nplc_choices if c >= wanted * (1 - 1e-9))

        return set_nplc

    @command("[:SENSe]:FUNCtion[:ON]")
    def _set_function(self, value: str) -> None:
        token = _function_token(value)
        if token not in self.functions:
            raise ScpiError(-224)
        self.function = token

    @command("[:SENSe]:FUNCtion[:ON]?")
    def _function_query(self) -> str:
        return f'"{self.function}"'

    # -- measuring
    def _seconds_per_reading(self) -> float:
        has_nplc = self.functions[self.function].nplc
        return (self.nplc[self.function] if has_nplc else 1.0) * _SECONDS_PER_PLC

    def _take(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Readings taken from now on: their completion times and values."""
        step = self._seconds_per_reading()
        start = max(self.clock.now(), self.busy_until)
        done = start + step * np.arange(1, count + 1)
        function = self.functions[self.function]
        self.meter.source = self.sources[self.function]
        if function.ranges and self.autorange[self.function]:
            source = self.meter.source
            level = abs(source.offset) + abs(source.amplitude)
            if isinstance(source, WiredSource):  # the wired level, as autorange finds it
                level = float(np.max(np.abs(source.clean(done))))
            range_ = next((r for r in function.ranges if level <= r), function.ranges[-1])
        else:
            range_ = self.ranges[self.function] if function.ranges else 1.0
        nplc = self.nplc[self.function] if function.nplc else 1.0
        values = self.meter.measure(done, self.rng, range_=range_, nplc=nplc)
        self.start_operation(step * count)
        return done, values

    def _readings_text(self, values: np.ndarray) -> str:
        return ",".join(f"{v:+.8E}" for v in values)

    @command("*OPT?")
    def _options(self) -> str:
        return self.installed_options

    @command("*TRG")
    def _bus_trigger(self) -> None:
        """INITiate measures at once here (triggers are not modelled): nothing to start."""

    @command("SYSTem:LFRequency?")
    def _line_frequency(self) -> str:
        return str(round(1 / _SECONDS_PER_PLC))

    @command("DISPlay[:WINDow]:TEXT[:DATA]")
    def _set_text(self, text: str) -> None:
        self.display_text = text.strip().strip("\"'")

    @command("DISPlay[:WINDow]:TEXT[:DATA]?")
    def _text_query(self) -> str:
        return f'"{self.display_text}"'

    @command("DISPlay[:WINDow]:TEXT:CLEar")
    def _clear_text(self) -> None:
        self.display_text = ""

    @command("SAMPle:TIMer")
    def _set_timer(self, value: str) -> None:
        low, high = self.sample_timer_limits
        seconds = numeric_parameter(value, low, high)
        if not low <= seconds <= high:
            raise ScpiError(-222)
        self.sample_timer = seconds

    @command("SAMPle:TIMer?")
    def _timer_query(self, *which: str) -> str:
        low, high = self.sample_timer_limits
        seconds = numeric_parameter(which[0], low, high) if which else self.sample_timer
        return f"{seconds:+.8E}"

    @command("[:SENSe]:VOLTage[:DC]:RESolution?")
    def _resolution(self) -> str:
        factor = self.resolution_factors[self.nplc_choices.index(self.nplc["VOLT"])]
        return f"{factor * self.ranges['VOLT']:+.8E}"

    @command("INITiate[:IMMediate]")
    def _init(self) -> None:
        done, values = self._take(self.sample_count * self.trigger_count)
        self.memory.extend(zip(done.tolist(), values.tolist(), strict=True))
        while len(self.memory) > self.memory_size:
            self.memory.popleft()
        self.last = (done, values)

    @command("READ?")
    def _read(self) -> Reply:
        done, values = self._take(self.sample_count * self.trigger_count)
        return Reply(self._readings_text(values), at=float(done[-1]))

    @command("MEASure:VOLTage[:DC]?")
    def _measure_voltage(self, *params: str) -> Reply:
        self.function = "VOLT"
        self.autorange["VOLT"] = True
        done, values = self._take(1)
        return Reply(self._readings_text(values), at=float(done[-1]))

    @command("FETCh?")
    def _fetch(self) -> Reply:
        if self.last is None:
            raise ScpiError(-230, "Data corrupt or stale")
        done, values = self.last
        return Reply(self._readings_text(values), at=float(done[-1]))

    def _available(self) -> int:
        now = self.clock.now()
        return sum(1 for done, _ in self.memory if done <= now)

    def _pop(self, count: int) -> list[float]:
        return [self.memory.popleft()[1] for _ in range(count)]

    @command("R?")
    def _r(self, *params: str) -> bytes:
        count = self._available()
        if params:
            count = min(count, int(numeric_parameter(params[0], 1, self.memory_size)))
        payload = self._readings_text(np.array(self._pop(count))).encode()
        length = str(len(payload)).encode()
        return b"#" + str(len(length)).encode() + length + payload

    @command("DATA:REMove?")
    def _remove(self, count: str, *wait: str) -> Reply:
        wanted = int(numeric_parameter(count, 1, self.memory_size))
        if len(self.memory) < wanted:
            raise ScpiError(-222, "Data out of range; fewer readings in memory")
        ready_at = self.memory[wanted - 1][0]
        if ready_at > self.clock.now() and not (wait and wait[0].upper() == "WAIT"):
            raise ScpiError(-222, "Data out of range; readings not taken yet")
        return Reply(self._readings_text(np.array(self._pop(wanted))), at=ready_at)

    @command("DATA:POINts?")
    def _points(self) -> str:
        return f"{self._available():+d}"


class Keysight34465AModel(Keysight34461AModel):
    """A 34465A: faster integration times, 1 and 10 uA ranges, 1 Gohm, 50,000 readings."""

    idn = "Keysight Technologies,34465A,MY57800002,A.03.01-02.40-03.01-00.52-03-01"
    nplc_choices = (0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1, 10, 100)
    installed_options = "DIG,MEM"
    aperture_enabled = Setting("[:SENSe]:VOLTage[:DC]:APERture:ENABled", False)
    aperture = Setting("[:SENSe]:VOLTage[:DC]:APERture", 0.1, limits=(1e-5, 1.0))
    pretrigger_count = Setting("SAMPle:COUNt:PRETrigger", 0, limits=(0, 49_999))
    trigger_level = Setting("TRIGger:LEVel", 0.0, limits=(-1000.0, 1000.0))
    resolution_factors = (30e-6, 15e-6, 6e-6, 3e-6, 1.5e-6, 0.7e-6, 0.3e-6, 0.1e-6, 0.03e-6)
    memory_size = 50_000
    current_ranges = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 3, 10)
    resistance_ranges = (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)
