"""Simulated Lake Shore 335 / 336 temperature controllers for the simulated lab.

Inputs drift with noise (`physics.Drift`): by default A sits at 4.2 K, B at 77 K, C at room
temperature and D has no sensor (status 1, invalid, reading 0 K). A heater output with a
range above off drives its control input (output n controls input n) towards the setpoint
with a first-order lag of `time_constant` seconds, and `HTR?` reports the effort.

Replies end with CR LF. There is no error queue: a refused command sets the event status
register bits (`*ESR?`), as on the real controller. Opened over a serial link whose
framing is not 57600 baud 7O1, every reply is garbled, as a real UART would make it.

Reply formats, after the 335/336 manuals: readings (`KRDG?`, `CRDG?`, `SRDG?`) as
`+nnnnnn`, six digits with a floating decimal point and no exponent (`+4.21000`,
`+77.3500`, `+295.100`, `-268.940`); `RDGST?` as `nnn`; `HTR?`/`AOUT?` as `+nnn.n`.
Not confirmed from the manual: that readings below 100 K keep six digits (`+4.21000`)
rather than three decimals (`+4.210`), and that no exponent follows (`+4.21000E+00`).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from instrumentkit.sim import ScpiDevice, ScpiError, Signal, SignalIn, command
from instrumentkit.sim.physics import Drift

__all__ = ["LakeShore335Model", "LakeShore336Model"]

_LINE = {"baudrate": 57600, "bytesize": 7, "parity": "O", "stopbits": 1}
_INVALID = 1
_CURVES = {  # standard curve headers: name, serial number, format, limit (K), coefficient
    1: "DT-470,Curve 10,2,+475.000,1",
    2: "DT-670,Standard C2,2,+500.000,1",
    6: "PT-100,Standard,3,+800.000,2",
    7: "PT-1000,Standard,3,+800.000,2",
}
_RANGE_SCALE = {1: 0.01, 2: 0.1, 3: 1.0}  # heater power per range, relative to high


def six_digits(value: float) -> str:
    """A reading as the controller sends it: `+nnnnnn`, the decimal point floating."""
    whole_digits = len(str(int(abs(value))))
    return f"{value:+.{max(0, 6 - whole_digits)}f}"


class LakeShore336Model(ScpiDevice):
    """Four inputs (A-D), heater outputs 1-2 and voltage outputs 3-4."""

    idn = "LSCI,MODEL336,LSA1234/LSB5678,2.9"
    reply_end = b"\r\n"
    inputs: tuple[str, ...] = ("A", "B", "C", "D")
    heaters: tuple[int, ...] = (1, 2)
    analog: tuple[int, ...] = (3, 4)

    def __init__(
        self,
        *,
        temperatures: tuple[float, ...] = (4.2, 77.3, 295.0, 0.0),
        noise: float = 0.002,
        wander: float = 0.001,
        time_constant: float = 30.0,
        **options: Any,
    ) -> None:
        self.base = dict(zip(self.inputs, temperatures, strict=False))
        self.drifts = {
            name: Drift(value=self.base[name], noise=noise, wander=wander) for name in self.inputs
        }
        self.time_constant = time_constant
        self.wired: dict[str, Signal] = {}
        """Inputs a lab's wiring connected (a thermal stage): they read that temperature."""
        super().__init__(**options)
        self._add_stored_commands()
        self.reset()
        self.connected = {name: self.base[name] > 0 for name in self.inputs}
        """Inputs with a sensor attached; the others read 0 with status 1 (invalid)."""

    def reset(self) -> None:
        super().reset()
        self.intype = dict.fromkeys(self.inputs, "1,1,0,0,1")
        outputs = (*self.heaters, *self.analog)
        self.setpoint = dict.fromkeys(outputs, 0.0)
        self.range = dict.fromkeys(outputs, 0)
        self.manual = dict.fromkeys(outputs, 0.0)
        self.offset = dict.fromkeys(self.inputs, 0.0)
        self._last_update = self.clock.now()
        self.stored = self._stored_defaults()

    # -- configuration stored and answered as set: what other drivers (QCoDeS'
    # LakeshoreModel336) read for their snapshots. Defaults after the manual's reset
    # values where it gives them; not confirmed: the input names and curve numbers.
    def _stored_defaults(self) -> dict[str, dict[str, str]]:
        outputs = (*self.heaters, *self.analog)
        return {
            "INNAME": {i: f"Input {i}" for i in self.inputs},
            "INCRV": {i: "2" if self.base[i] > 0 else "0" for i in self.inputs},
            "TLIMIT": dict.fromkeys(self.inputs, "+0.0000"),
            "OUTMODE": {str(n): f"{1 if n in self.heaters else 0},{n},0" for n in outputs},
            "HTRSET": {str(n): "1,1,+0.000,+0.000,1" for n in self.heaters},
            "PID": {str(n): "+50.0,+20.0,+0.0" for n in self.heaters},
            "RAMP": {str(n): "0,+0.000" for n in outputs},
            "RAMPST": dict.fromkeys(map(str, outputs), "0"),
        }

    def _add_stored_commands(self) -> None:
        for header in self._stored_defaults():
            self.add_command(f"{header}?", self._stored_query(header))
            if header != "RAMPST":  # a status, not a setting
                self.add_command(header, self._stored_setter(header))

    @command("CRVHDR?")
    def _curve_header(self, curve: str) -> str:
        """Curves 1-59 (0 is "none" and refused); the standard ones by the manual's table."""
        number = int(_float(curve))
        if not 1 <= number <= 59:
            raise ScpiError(-224)
        return _CURVES.get(number, "User Curve,,0,+0.000,0")

    def _stored_query(self, header: str) -> Any:
        def query(key: str) -> str:
            table = self.stored[header]
            if key.strip().upper() not in table:
                raise ScpiError(-224)
            return table[key.strip().upper()]

        return query

    def _stored_setter(self, header: str) -> Any:
        def store(key: str, *values: str) -> None:
            table = self.stored[header]
            if key.strip().upper() not in table or not values:
                raise ScpiError(-224)
            table[key.strip().upper()] = ",".join(v.strip() for v in values)

        return store

    def send(self, data: bytes, **options: Any) -> None:
        settings = self.line_settings
        if settings is not None and any(settings.get(k) != v for k, v in _LINE.items()):
            data = bytes(b ^ 0x55 for b in data)  # framing mismatch: what a UART makes of it
        super().send(data, **options)

    # -- physics
    def _control_input(self, output: int) -> str | None:
        index = output - 1
        return self.inputs[index] if index < len(self.inputs) else None

    def _advance(self) -> None:
        """Move controlled inputs towards their setpoints for the time gone by."""
        now = self.clock.now()
        dt = max(0.0, now - self._last_update)
        self._last_update = now
        keep = math.exp(-dt / self.time_constant) if self.time_constant > 0 else 0.0
        for output in self.heaters:
            name = self._control_input(output)
            if name is None or not self.connected[name]:
                continue
            target = self.setpoint[output] if self.range[output] else self.base[name]
            current = self.base[name] + self.offset[name]
            self.offset[name] = target + (current - target) * keep - self.base[name]

    def ports(self) -> dict[str, SignalIn]:
        """Each input ("A".."D") reads a wired temperature in kelvin, with the input's noise."""
        return {name: SignalIn(partial(self._wire, name), units="K") for name in self.inputs}

    def _wire(self, name: str, signal: Signal) -> None:
        self.wired[name] = signal
        self.connected[name] = True

    def _kelvin(self, name: str) -> float:
        if not self.connected[name]:
            return 0.0
        if name in self.wired:
            kelvin = float(self.wired[name].at(np.array([self.clock.now()]))[0])
            return max(kelvin + self.rng.normal(0.0, self.drifts[name].noise), 0.0)
        self._advance()
        value = self.drifts[name].read(self.clock.now(), self.rng) + self.offset[name]
        return max(value, 0.0)

    def _input(self, text: str) -> str:
        name = text.strip().upper()
        if name not in self.inputs:
            raise ScpiError(-224)
        return name

    def _output(self, text: str, outputs: tuple[int, ...] | None = None) -> int:
        try:
            number = int(text)
        except ValueError:
            raise ScpiError(-224) from None
        if number not in (outputs if outputs is not None else (*self.heaters, *self.analog)):
            raise ScpiError(-224)
        return number

    # -- readings
    @command("KRDG?")
    def _krdg(self, which: str) -> str:
        if which.strip() == "0":
            return ",".join(six_digits(self._kelvin(n)) for n in self.inputs)
        return six_digits(self._kelvin(self._input(which)))

    @command("CRDG?")
    def _crdg(self, which: str) -> str:
        return six_digits(self._kelvin(self._input(which)) - 273.15)

    @command("SRDG?")
    def _srdg(self, which: str) -> str:
        kelvin = self._kelvin(self._input(which))
        return six_digits(1.7 - 0.0024 * kelvin)  # a rough silicon-diode curve, in volts

    @command("RDGST?")
    def _rdgst(self, which: str) -> str:
        return f"{0 if self.connected[self._input(which)] else _INVALID:03d}"

    @command("INTYPE")
    def _set_intype(self, which: str, *fields: str) -> None:
        if len(fields) != 5 or not all(f.strip().isdigit() for f in fields):
            raise ScpiError(-224)
        if not 0 <= int(fields[0]) <= 5 or int(fields[4]) not in (1, 2, 3):
            raise ScpiError(-224)
        self.intype[self._input(which)] = ",".join(f.strip() for f in fields)

    @command("INTYPE?")
    def _intype(self, which: str) -> str:
        return self.intype[self._input(which)]

    # -- outputs
    @command("SETP")
    def _set_setpoint(self, output: str, value: str) -> None:
        self._advance()
        number = _float(value)
        if not 0 <= number <= 2000:
            raise ScpiError(-222)
        self.setpoint[self._output(output)] = number

    @command("SETP?")
    def _setpoint(self, output: str) -> str:
        return f"{self.setpoint[self._output(output)]:+.3f}"

    @command("RANGE")
    def _set_range(self, output: str, value: str) -> None:
        self._advance()
        number = self._output(output)
        allowed = (0, 1, 2, 3) if number in self.heaters else (0, 1)
        if not value.strip().isdigit() or int(value) not in allowed:
            raise ScpiError(-222)
        self.range[number] = int(value)

    @command("RANGE?")
    def _range(self, output: str) -> str:
        return str(self.range[self._output(output)])

    @command("MOUT")
    def _set_manual(self, output: str, value: str) -> None:
        number = _float(value)
        if not 0 <= number <= 100:
            raise ScpiError(-222)
        self.manual[self._output(output)] = number

    @command("MOUT?")
    def _manual(self, output: str) -> str:
        return f"{self.manual[self._output(output)]:+.2f}"

    @command("HTR?")
    def _heater(self, output: str) -> str:
        number = self._output(output, self.heaters)
        name = self._control_input(number)
        if not self.range[number] or name is None or not self.connected[name]:
            return f"{self.manual[number] if self.range[number] else 0.0:+06.1f}"
        error = self.setpoint[number] - self._kelvin(name)
        holding = max(0.0, self.setpoint[number] - self.base[name])
        effort = (5.0 * error + 0.2 * holding) / _RANGE_SCALE[self.range[number]]
        return f"{min(100.0, max(0.0, effort + self.manual[number])):+06.1f}"

    @command("AOUT?")
    def _analog(self, output: str) -> str:
        number = self._output(output, self.analog)
        return f"{self.manual[number] if self.range[number] else 0.0:+06.1f}"


class LakeShore335Model(LakeShore336Model):
    """Two inputs (A, B) and two heater outputs."""

    idn = "LSCI,MODEL335,LSA4321/0,2.2"
    inputs = ("A", "B")
    heaters = (1, 2)
    analog = ()

    def __init__(self, **options: Any) -> None:
        options.setdefault("temperatures", (4.2, 77.3))
        super().__init__(**options)


def _float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ScpiError(-104) from None
    if not math.isfinite(number):
        raise ScpiError(-222)
    return number
