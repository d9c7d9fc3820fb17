"""Simulated Keithley Model 2000 multimeter for the simulated lab.

Behaviour the driver relies on: `[:SENSe]:FUNCtion 'VOLT:DC'` (answered `"VOLT:DC"`),
per-function `RANGe[:UPPer]` (any value up to the top; the lowest range holding it is
selected and answered), `RANGe:AUTO`, `NPLCycles` (0.01-10), `:SAMPle:COUNt` and the
1024-reading `:TRACe` buffer (`CLEar`, `POINts`, `FEED`, `FEED:CONTrol NEXT`, `DATA?`,
`POINts:ACTual?`), `:INITiate` (refused with -213 while continuous initiation is on, as
after power-up), `:READ?`, `:FETCh?` and `:SYSTem:ERRor?`. Readings come from one
`physics.Source` per function (`model.sources["VOLT:DC"]`), with NPLC-scaled noise
and +9.9E37 past 120 % of the range.

Reply formats: readings `+1.23456789E+00`, ranges and NPLC `+1.000000E+01`, errors
`0,"No error"`. Not confirmed from the manual: the digit counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from instrumentkit.sim import Reply, ScpiDevice, ScpiError, Setting, command, numeric_parameter
from instrumentkit.sim.physics import Multimeter, Source

__all__ = ["Keithley2000Model"]

_SECONDS_PER_PLC = 1 / 50
_BUFFER = 1024
# Function token -> (command prefix, ranges, default source value).
_FUNCTIONS: dict[str, tuple[str | None, tuple[float, ...], float]] = {
    "VOLT:DC": ("VOLTage[:DC]", (0.1, 1, 10, 100, 1000), 1.0),
    "VOLT:AC": ("VOLTage:AC", (0.1, 1, 10, 100, 750), 0.5),
    "CURR:DC": ("CURRent[:DC]", (0.01, 0.1, 1, 3), 1e-3),
    "CURR:AC": ("CURRent:AC", (1, 3), 1e-3),
    "RES": ("RESistance", (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8), 1e3),
    "FRES": ("FRESistance", (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8), 1e3),
    "FREQ": (None, (), 1e3),
    "PER": (None, (), 1e-3),
    "TEMP": (None, (), 23.0),
    "DIOD": (None, (), 0.6),
    "CONT": (None, (), 0.5),
}
_CONFIGURE = {  # CONFigure headers of the functions without range commands
    "FREQ": "FREQuency",
    "PER": "PERiod",
    "TEMP": "TEMPerature",
    "DIOD": "DIODe",
    "CONT": "CONTinuity",
}
# Per-function settings stored and answered as set, defaults after the manual's *RST
# column; the function each applies to, where not every one.
_STORED = {
    "REFerence": 0.0,
    "DIGits": 7.0,
    "DETector:BANDwidth": 30.0,
    "APERture": 1.0,
    "THReshold:VOLTage:RANGe": 10.0,
}
_STORED_ONLY = {
    "DETector:BANDwidth": ("VOLT:AC", "CURR:AC"),
    "APERture": ("FREQ", "PER"),
    "THReshold:VOLTage:RANGe": ("FREQ", "PER"),
}
_ALIASES = {"VOLT": "VOLT:DC", "CURR": "CURR:DC"}
_LONG = {
    "VOLTAGE": "VOLT",
    "CURRENT": "CURR",
    "RESISTANCE": "RES",
    "FRESISTANCE": "FRES",
    "FREQUENCY": "FREQ",
    "PERIOD": "PER",
    "TEMPERATURE": "TEMP",
    "DIODE": "DIOD",
    "CONTINUITY": "CONT",
}


def _token(text: str) -> str:
    words = [_LONG.get(w, w) for w in text.strip().strip("\"'").upper().split(":")]
    joined = ":".join(words)
    return _ALIASES.get(joined, joined)


class Keithley2000Model(ScpiDevice):
    """A Keithley 2000 with a 1024-reading buffer."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A20 /A02"

    sample_count = Setting("SAMPle:COUNt", 1, limits=(1, _BUFFER))
    trigger_count = Setting("TRIGger:COUNt", 1, limits=(1, 9999))
    trigger_source = Setting(
        "TRIGger:SOURce",
        "IMMediate",
        choices=("IMMediate", "EXTernal", "TIMer", "MANual", "BUS"),
    )
    buffer_size = Setting("TRACe:POINts", 100, limits=(2, _BUFFER))
    buffer_feed = Setting("TRACe:FEED", "SENSe", choices=("SENSe", "CALCulate", "NONE"))
    elements = Setting("FORMat:ELEMents", "READing", choices=("READing",))

    def __init__(self, *, noise_ppm: float = 3.0, **options: Any) -> None:
        self.stored: dict[str, float] = {}
        self.sources = {
            name: Source(shape="dc", amplitude=0.0, offset=value)
            for name, (_, _, value) in _FUNCTIONS.items()
        }
        """The signal each function measures; replace one to change what the DMM sees."""
        self.meter = Multimeter(noise_ppm=noise_ppm)
        super().__init__(**options)
        for name, (prefix, ranges, _) in _FUNCTIONS.items():
            if prefix is not None:
                self._add_commands(name, f"[:SENSe]:{prefix}", ranges)
            header = prefix or _CONFIGURE[name]
            self.add_command(f"CONFigure:{header}", self._configure(name))
            for field, default in _STORED.items():
                if field not in _STORED_ONLY or name in _STORED_ONLY[field]:
                    self._add_stored(f"[:SENSe]:{header}:{field}", default)
        self._add_stored("[:SENSe]:TEMPerature:NPLCycles", 1.0)
        self._add_stored("SYSTem:BEEPer[:STATe]", 1.0)
        self._add_stored("TRIGger[:SEQuence]:DELay", 0.0)
        self.reset()
        self.continuous = True  # the front panel measures continuously after power-up

    def reset(self) -> None:
        super().reset()
        self.function = "VOLT:DC"
        self.ranges = {n: r[-1] if r else 1.0 for n, (_, r, _) in _FUNCTIONS.items()}
        self.autorange = dict.fromkeys(_FUNCTIONS, True)
        self.nplc = dict.fromkeys(_FUNCTIONS, 1.0)
        self.buffer: list[tuple[float, float]] = []
        self.buffer_armed = False
        self.last: tuple[np.ndarray, np.ndarray] | None = None
        self.continuous = False  # *RST leaves continuous initiation off

    def _add_commands(self, name: str, prefix: str, ranges: tuple[float, ...]) -> None:
        self.add_command(f"{prefix}:RANGe[:UPPer]", self._range_setter(name, ranges))
        self.add_command(f"{prefix}:RANGe[:UPPer]?", lambda: f"{self.ranges[name]:+.6E}")
        self.add_command(f"{prefix}:RANGe:AUTO", self._flag_setter(self.autorange, name))
        self.add_command(f"{prefix}:RANGe:AUTO?", lambda: str(int(self.autorange[name])))
        self.add_command(f"{prefix}:NPLCycles", self._nplc_setter(name))
        self.add_command(f"{prefix}:NPLCycles?", lambda: f"{self.nplc[name]:+.6E}")

    def _add_stored(self, header: str, default: float) -> None:
        """A numeric setting answered as set (reference, digits, bandwidth, ...): what
        other drivers (PyMeasure's Keithley2000) read for their snapshots."""
        key = header.upper()
        self.stored.setdefault(key, default)

        def store(value: str) -> None:
            self.stored[key] = numeric_parameter(value, -1e9, 1e9, default=1e9)

        self.add_command(header, store)
        self.add_command(f"{header}?", lambda: f"{self.stored.get(key, default):+.6E}")

    def _range_setter(self, name: str, ranges: tuple[float, ...]) -> Callable[[str], None]:
        top = ranges[-1] * 1.01  # 1010 V, 757.5 V, ...: the manual's "0 to" limits

        def set_range(value: str) -> None:
            wanted = numeric_parameter(value, 0.0, top, default=top)
            if not 0 <= wanted <= top:
                raise ScpiError(-222)
            self.ranges[name] = next((r for r in ranges if r >= wanted), ranges[-1])
            self.autorange[name] = False

        return set_range

    @staticmethod
    def _flag_setter(flags: dict[str, bool], name: str) -> Callable[[str], None]:
        def set_flag(value: str) -> None:
            word = value.strip().upper()
            if word not in {"ON", "OFF", "1", "0"}:
                raise ScpiError(-224)
            flags[name] = word in {"ON", "1"}

        return set_flag

    def _nplc_setter(self, name: str) -> Callable[[str], None]:
        def set_nplc(value: str) -> None:
            wanted = numeric_parameter(value, 0.01, 10.0, default=10.0)
            if not 0.01 <= wanted <= 10.0:
                raise ScpiError(-222)
            self.nplc[name] = wanted

        return set_nplc

    @command("[:SENSe]:FUNCtion")
    def _set_function(self, value: str) -> None:
        token = _token(value)
        if token not in _FUNCTIONS:
            raise ScpiError(-224)
        self.function = token

    @command("[:SENSe]:FUNCtion?")
    def _function_query(self) -> str:
        return f'"{self.function}"'

    @command("*OPT?")
    def _options(self) -> str:
        return "0"  # no scanner card (Model 2000-SCAN answers 1)

    @command("CONFigure?")
    def _configure_query(self) -> str:
        return f'"{self.function}"'

    def _configure(self, token: str) -> Callable[[], None]:
        """`:CONFigure:<function>`: that function, one-shot mode (continuous initiation
        off), one sample and one trigger, as the manual's CONFigure section says."""

        def configure() -> None:
            self.function = token
            self.continuous = False
            self.sample_count = 1
            self.trigger_count = 1

        return configure

    @command("INITiate:CONTinuous")
    def _set_continuous(self, value: str) -> None:
        word = value.strip().upper()
        if word not in {"ON", "OFF", "1", "0"}:
            raise ScpiError(-224)
        self.continuous = word in {"ON", "1"}

    @command("INITiate:CONTinuous?")
    def _continuous_query(self) -> str:
        return str(int(self.continuous))

    # -- measuring
    def _take(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        prefix, ranges, _ = _FUNCTIONS[self.function]
        nplc = self.nplc[self.function] if prefix is not None else 1.0
        step = nplc * _SECONDS_PER_PLC
        start = max(self.clock.now(), self.busy_until)
        done = start + step * np.arange(1, count + 1)
        self.meter.source = self.sources[self.function]
        if ranges and self.autorange[self.function]:
            level = abs(self.meter.source.offset) + abs(self.meter.source.amplitude)
            range_ = next((r for r in ranges if level <= r), ranges[-1])
        else:
            range_ = self.ranges[self.function] if ranges else 1.0
        values = self.meter.measure(done, self.rng, range_=range_, nplc=nplc)
        self.start_operation(step * count)
        self.last = (done, values)
        return done, values

    @staticmethod
    def _text(values: np.ndarray) -> str:
        return ",".join(f"{v:+.8E}" for v in values)

    @command("INITiate[:IMMediate]")
    def _init(self) -> None:
        if self.continuous:
            raise ScpiError(-213, "Init ignored")
        done, values = self._take(self.sample_count * self.trigger_count)
        if self.buffer_armed and self.buffer_feed != "NONE":
            room = self.buffer_size - len(self.buffer)
            self.buffer.extend(zip(done[:room].tolist(), values[:room].tolist(), strict=True))
            if len(self.buffer) >= self.buffer_size:
                self.buffer_armed = False

    @command("READ?")
    def _read(self) -> Reply:
        if self.continuous:
            raise ScpiError(-213, "Init ignored")
        done, values = self._take(self.sample_count * self.trigger_count)
        return Reply(self._text(values), at=float(done[-1]))

    @command("FETCh?")
    def _fetch(self) -> Reply:
        if self.last is None:
            raise ScpiError(-230, "Data corrupt or stale")
        done, values = self.last
        return Reply(self._text(values), at=float(done[-1]))

    @command("TRACe:CLEar")
    def _clear(self) -> None:
        self.buffer.clear()

    @command("TRACe:FEED:CONTrol")
    def _control(self, value: str) -> None:
        word = value.strip().upper()
        if word not in {"NEXT", "NEV", "NEVER"}:
            raise ScpiError(-224)
        self.buffer_armed = word == "NEXT"

    @command("TRACe:DATA?")
    def _data(self) -> Reply:
        if not self.buffer:
            raise ScpiError(-230, "Data corrupt or stale")
        ready = [value for done, value in self.buffer if done <= self.clock.now()]
        return Reply(self._text(np.array(ready)))

    @command("TRACe:POINts:ACTual?")
    def _count(self) -> str:
        return str(sum(1 for done, _ in self.buffer if done <= self.clock.now()))
