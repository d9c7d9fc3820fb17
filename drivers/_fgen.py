"""What the function-generator drivers share: limits per model, load-dependent amplitude
checks, and an output channel that is a `Source` output (level = amplitude in Vpp).

A generator's output is a source behind a 50 ohm resistor. The instrument's amplitude
and offset are what a load of the value set with `OUTPut:LOAD` sees, so the largest
peak voltage falls with the load: `open_circuit_peak * load / (load + 50)`. With the
output load set to "infinite" (high-Z) the whole open-circuit swing is available.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from instrumentkit.instrument import Channel, Instrument
from instrumentkit.parameters import ON_OFF, Setting, UnknownChoice
from instrumentkit.sourcing import SafeLimits, SourceOutputMixin
from instrumentkit.validators import OneOf, Range, Validator

__all__ = [
    "HIGH_Z",
    "FgenInstrument",
    "FgenLimits",
    "FgenOutput",
    "LoadValidator",
    "amplitude_setting",
    "frequency_setting",
    "function_setting",
    "load_from_reply",
    "load_setting",
    "load_token",
    "model_from_idn",
    "offset_setting",
    "output_setting",
    "unit_setting",
]

HIGH_Z = math.inf
"""The output load setting for a high-impedance load ("INFinity" on the instrument)."""
SOURCE_RESISTANCE = 50.0
"""The output resistance of every generator here, ohms."""
_HIGH_Z_REPLY = 9.9e37
"""What `OUTPut:LOAD?` answers for an infinite load (SCPI's +9.9E+37)."""
_HIGH_Z_WORDS = frozenset({"inf", "infinity", "high-z", "highz", "high_z"})


def load_from_reply(reply: str) -> float:
    """`+5.0E+01` -> 50.0; `+9.9E+37` (or `INF`) -> math.inf."""
    word = reply.strip()
    if word.upper().startswith("INF"):
        return HIGH_Z
    value = float(word)
    return HIGH_Z if value >= _HIGH_Z_REPLY * 0.99 else value


def load_token(value: float) -> str:
    """What the driver sends for a load: ohms, or `INF` for high-Z."""
    return "INF" if math.isinf(value) else f"{value:g}"


class LoadValidator:
    """An output load of 1 ohm to 10 kohm, or high-Z (`math.inf`, "inf", "high-z")."""

    def __init__(self, minimum: float = 1.0, maximum: float = 10_000.0) -> None:
        self.range = Range(minimum, maximum)

    def __call__(self, value: Any) -> float:
        if isinstance(value, str) and value.strip().casefold() in _HIGH_Z_WORDS:
            return HIGH_Z
        if isinstance(value, float) and math.isinf(value) and value > 0:
            return HIGH_Z
        return float(self.range(value))

    def __repr__(self) -> str:
        return f"LoadValidator({self.range.describe()} ohm or high-z)"


@dataclass(frozen=True)
class FgenLimits:
    """What one model can do, from its datasheet: frequency ceilings per function and
    the amplitude it drives.

    `max_frequency` maps a function token (as `FUNCtion?` answers) to its highest
    frequency; functions not listed (noise, DC, arbitrary: FREQuency is only stored
    for later) use `stored_frequency_max`. `open_circuit_peak` is the largest
    |offset + amplitude/2| into high-Z; `peak_derating` lowers it above a frequency
    (`[(above_hz, factor), ...]`, ascending).
    """

    model: str
    max_frequency: Mapping[str, float]
    stored_frequency_max: float
    min_frequency: float = 1e-6
    open_circuit_peak: float = 10.0
    min_amplitude_50ohm: float = 1e-3
    peak_derating: tuple[tuple[float, float], ...] = field(default=())

    def frequency_range(self, function: str) -> Range:
        """The frequencies `function` accepts on this model."""
        ceiling = self.max_frequency.get(str(function).upper(), self.stored_frequency_max)
        return Range(self.min_frequency, ceiling)

    def peak(self, load: float) -> float:
        """The largest |offset + amplitude/2| (V) at `load` ohms (inf: high-Z)."""
        scale = 1.0 if math.isinf(load) else load / (load + SOURCE_RESISTANCE)
        return self.open_circuit_peak * scale

    def max_swing(self, load: float, frequency: float | None) -> float:
        """The largest amplitude (Vpp) at `load`, lowered above `peak_derating` steps."""
        factor = 1.0
        if frequency is not None:
            for above, derated in self.peak_derating:
                if frequency > above:
                    factor = derated
        return 2 * self.peak(load) * factor

    def min_amplitude(self, load: float) -> float:
        """The smallest amplitude (Vpp): 1 mVpp into 50 ohm, scaled like the peak."""
        if math.isinf(load):
            return 2 * self.min_amplitude_50ohm
        return self.min_amplitude_50ohm * 2 * load / (load + SOURCE_RESISTANCE)

    def amplitude_range(self, load: float, offset: float, frequency: float | None) -> Range:
        """Amplitudes (Vpp) allowed with `offset` at `load` and `frequency`: the swing
        must fit the peak with the offset, and the model's swing at that frequency."""
        top = min(2 * (self.peak(load) - abs(offset)), self.max_swing(load, frequency))
        low = self.min_amplitude(load)
        if top < low:
            raise ValueError(
                f"no amplitude fits with offset {offset:g} V into {_load_text(load)} "
                f"(peak {self.peak(load):g} V): lower the offset first"
            )
        return Range(low, top)

    def offset_range(self, load: float, amplitude: float, function: str) -> Range:
        """Offsets (V) allowed with `amplitude` (Vpp) at `load`; DC ignores the amplitude."""
        swing = 0.0 if str(function).upper() == "DC" else amplitude / 2
        top = self.peak(load) - swing
        if top < 0:
            raise ValueError(f"amplitude {amplitude:g} Vpp leaves no room for an offset")
        return Range(-top, top)


def _load_text(load: float) -> str:
    return "high-Z" if math.isinf(load) else f"{load:g} ohm"


def model_from_idn(idn: str, table: Mapping[str, FgenLimits], fallback: FgenLimits) -> FgenLimits:
    """The limits of the model named in an `*IDN?` reply's second field (fallback:
    the most conservative model of the series, so nothing out of range is ever sent)."""
    fields = [f.strip() for f in idn.split(",")]
    model = re.sub(r"[^A-Z0-9]", "", fields[1].upper()) if len(fields) > 1 else ""
    return table.get(model, fallback)


class FgenInstrument(Instrument):
    """A generator whose limits depend on the model its `*IDN?` names."""

    model_table: ClassVar[Mapping[str, FgenLimits]] = {}
    fallback_limits: ClassVar[FgenLimits]
    """The series' most conservative model: used when the IDN names none in the table."""

    def model_limits(self) -> FgenLimits:
        """This model's limits, looked up from `*IDN?` the first time they are needed."""
        cached: FgenLimits | None = self.__dict__.get("_model_limits")
        if cached is None:
            idn = self.session.query("*IDN?")
            cached = model_from_idn(idn, self.model_table, self.fallback_limits)
            self.__dict__["_model_limits"] = cached
        return cached


class FgenOutput(SourceOutputMixin, Channel):
    """One generator output as a `SourceOutput`: `level` is the amplitude in Vpp.

    Subclasses declare the Settings `output`, `amplitude`, `offset`, `frequency`,
    `function`, `load` and `amplitude_unit` (the `*_setting` helpers below); their
    instrument, an `FgenInstrument`, gives the model's `FgenLimits`.
    `make_safe()` turns the output off at once: an open output relay is the safe
    state of a generator, whatever its amplitude (no ramp below the 1 mVpp floor).
    """

    level_units: ClassVar[str] = "Vpp"
    safe_limits = SafeLimits(max_level=20.0)
    """20 Vpp: the most any model here drives (into high-Z); tighten it per channel to
    protect a device, and `amplitude` refuses more as well as `ramp_to`."""
    parent: FgenInstrument  # type: ignore[assignment]

    def model_limits(self) -> FgenLimits:
        """The limits of the instrument's model (its `*IDN?`, asked once)."""
        return self.parent.model_limits()

    @property
    def level(self) -> float:
        """The amplitude in Vpp (the `amplitude` setting)."""
        return float(self.amplitude)  # type: ignore[attr-defined]

    @level.setter
    def level(self, value: float) -> None:
        self.amplitude = value  # type: ignore[attr-defined]

    def validate_level(self, level: float) -> float:
        type(self).parameters()["amplitude"].encode(self, level)  # type: ignore[attr-defined]
        return level

    def make_safe(self) -> list[str]:
        """Turn the output off (the generator's safe state); return the problems met."""
        try:
            self.output = False
        except Exception as error:  # reported, never raised: other outputs come next
            return [f"{self.name}: output off failed: {error}"]
        return []

    # -- limits that depend on the present state (each asks the instrument, before sending)
    def amplitude_limits(self) -> Validator:
        """Amplitudes allowed now: at the present load, offset (and frequency, where the
        model derates its swing at high frequencies), and within `safe_limits.max_level`."""
        self._check_unit()
        load = float(self.load)  # type: ignore[attr-defined]
        offset = float(self.offset)  # type: ignore[attr-defined]
        limits = self.model_limits()
        frequency = float(self.frequency) if limits.peak_derating else None  # type: ignore[attr-defined]
        allowed = limits.amplitude_range(load, offset, frequency)
        cap = self.safe_limits.max_level
        if cap is None or cap >= allowed.maximum:
            return allowed

        def within_safe_limits(value: Any) -> float:
            if isinstance(value, (int, float)) and value > cap:
                raise ValueError(
                    f"beyond safe_limits.max_level {cap:g} Vpp; ask for less or widen the "
                    "channel's safe_limits (up to the driver's 20 Vpp)"
                )
            return float(allowed(value))

        return within_safe_limits

    def offset_limits(self) -> Range:
        """Offsets allowed now: at the present load, amplitude and function."""
        load = float(self.load)  # type: ignore[attr-defined]
        function = self._function_token()
        amplitude = 0.0 if function == "DC" else float(self.amplitude)  # type: ignore[attr-defined]
        return self.model_limits().offset_range(load, amplitude, function)

    def function_limits(self) -> Validator:
        """Functions allowed now: those whose ceiling holds the present frequency (the
        instrument would otherwise move the frequency and report a settings conflict)."""
        frequency = float(self.frequency)  # type: ignore[attr-defined]
        limits = self.model_limits()
        tokens = type(self).parameters()["function"].values or {}

        def holds_the_frequency(value: Any) -> Any:
            token = tokens.get(value)
            if token is not None:
                ceiling = limits.frequency_range(token).maximum
                if frequency > ceiling:
                    raise ValueError(
                        f"the present frequency {frequency:g} Hz is above the {value} "
                        f"ceiling {ceiling:g} Hz on the {limits.model}: lower the "
                        "frequency first"
                    )
            return value

        return holds_the_frequency

    def frequency_limits(self) -> Range:
        """Frequencies the present function accepts on this model."""
        function = self._function_token()
        return self.model_limits().frequency_range(function)

    def _function_token(self) -> str:
        """The present function as the instrument's token ("SIN"), even one not listed."""
        function = self.function  # type: ignore[attr-defined]
        if isinstance(function, UnknownChoice):
            return function.raw.upper()
        setting = type(self).parameters()["function"]
        return str((setting.values or {}).get(function, function)).upper()

    def _check_unit(self) -> None:
        """Levels are Vpp; an output left in Vrms or dBm would make them wrong."""
        unit_setting = type(self).parameters().get("amplitude_unit")
        if unit_setting is None:
            return
        unit = self.amplitude_unit  # type: ignore[attr-defined]
        if unit != "vpp":
            raise ValueError(
                f"the amplitude unit is {unit!r}; the driver works in Vpp: set "
                "amplitude_unit = 'vpp' first"
            )


# -- the settings both dialects share, given their command prefixes
def function_setting(source: str, tokens: Mapping[str, str]) -> Setting[str]:
    """`<source>:FUNC`, refused when the present frequency is above its ceiling."""
    return Setting(
        f"{source}:FUNC?",
        f"{source}:FUNC {{value}}",
        values=tokens,
        validate=OneOf(*tokens),  # unknown names are refused before the limits' queries
        limits=lambda channel: channel.function_limits(),
        doc=f"Set the waveform: {', '.join(tokens)}.",
    )


def frequency_setting(source: str, ceiling: float) -> Setting[float]:
    """`<source>:FREQ`, checked against the present function's ceiling on the model."""
    return Setting(
        f"{source}:FREQ?",
        f"{source}:FREQ {{value}}",
        validate=Range(1e-6, ceiling),
        limits=lambda channel: channel.frequency_limits(),
        units="Hz",
        doc="Set the frequency in Hz (1 uHz up to the present function's ceiling on this model).",
    )


def amplitude_setting(source: str, note: str = "") -> Setting[float]:
    """`<source>:VOLT` in Vpp, checked at the present load and offset."""
    return Setting(
        f"{source}:VOLT?",
        f"{source}:VOLT {{value}}",
        validate=Range(1e-5, 20.0),
        limits=lambda channel: channel.amplitude_limits(),
        units="Vpp",
        doc="Set the amplitude in Vpp into the output load set (|offset| + amplitude/2 "
        f"at most 5 V into 50 ohm, 10 V into high-Z{note}).",
    )


def offset_setting(source: str) -> Setting[float]:
    """`<source>:VOLT:OFFS`, checked at the present load, amplitude and function."""
    return Setting(
        f"{source}:VOLT:OFFS?",
        f"{source}:VOLT:OFFS {{value}}",
        validate=Range(-10.0, 10.0),
        limits=lambda channel: channel.offset_limits(),
        units="V",
        doc="Set the DC offset in volts (it and half the amplitude must fit the peak).",
    )


def unit_setting(source: str) -> Setting[str]:
    """`<source>:VOLT:UNIT`: VPP, VRMS or DBM."""
    return Setting(
        f"{source}:VOLT:UNIT?",
        f"{source}:VOLT:UNIT {{value}}",
        values={"vpp": "VPP", "vrms": "VRMS", "dbm": "DBM"},
        doc="Set the amplitude unit; the driver's levels are Vpp.",
    )


def output_setting(output: str) -> Setting[bool]:
    """`<output>` ON/OFF: the `output` Setting of the Source interface."""
    return Setting(
        f"{output}?",
        f"{output} {{value}}",
        values=ON_OFF,
        doc="Control whether the output is on (its relay closed).",
    )


def load_setting(output: str) -> Setting[float]:
    """`<output>:LOAD`: 1 ohm to 10 kohm or INF (high-Z)."""
    return Setting(
        f"{output}:LOAD?",
        f"{output}:LOAD {{value}}",
        parse=load_from_reply,
        format=load_token,
        validate=LoadValidator(),
        units="ohm",
        doc="Set the load the amplitude is computed for: 1 ohm to 10 kohm, or math.inf "
        "(or 'high-z') for a high-impedance load.",
    )
