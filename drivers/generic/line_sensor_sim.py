"""Simulated microcontroller board that prints readings as text lines, streamed or polled.

    iksim://model/generic-line-sensor                  streams "T=23.51 H=45.2" every 0.1 s
    iksim://model/generic-line-sensor?poll=READ        answers each "READ" with one line
    iksim://model/generic-line-sensor?csv=true         prints "23.51,45.2" instead

A banner line greets each connection, as boards print one after reset. Temperature and
humidity drift with noise (`physics.Drift`); `glitch_every=N` makes every Nth line carry
"ovf" instead of a temperature. Streamed lines leave on the device clock whether or not
anyone reads them (a real UART's backlog, capped at `backlog` lines).
"""

from __future__ import annotations

from typing import Any

from instrumentkit.sim import Device
from instrumentkit.sim.physics import Drift

__all__ = ["LineBoardModel"]


class LineBoardModel(Device):
    """A board printing temperature and humidity lines."""

    reply_end = b"\r\n"
    banner = "# thermo-hygro board v1.2 ready"

    def __init__(
        self,
        *,
        period: float = 0.1,
        poll: str | None = None,
        csv: bool = False,
        temperature: float = 23.0,
        humidity: float = 45.0,
        noise: float = 0.02,
        drift: float = 0.0,
        glitch_every: int = 0,
        backlog: int = 1000,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.period = period
        self.poll = poll
        self.csv = csv
        self.temperature = Drift(value=temperature, rate=drift, noise=noise)
        self.humidity = Drift(value=humidity, noise=10 * noise)
        self.glitch_every = glitch_every
        self.backlog = backlog
        self.lines_printed = 0
        self._connected = False
        self._next_at = 0.0

    def host_connected(self) -> None:
        super().host_connected()
        with self.lock:
            self._connected = True
            self._next_at = self.clock.now() + self.period
            self.send(self.banner.encode() + self.reply_end)

    def host_disconnected(self) -> None:
        super().host_disconnected()
        self._connected = False

    def handle(self, message: bytes) -> None:
        text = message.decode("latin-1").strip()
        if self.poll is not None and text == self.poll:
            self.send(self._line(self.clock.now()))
        elif text:
            self.reply(f"? unknown command {text!r}")

    def pending_output(self) -> None:
        """Queue every streamed line due by now, plus the next one (so a read can wait)."""
        if self.poll is not None or not self._connected:
            return
        with self.lock:
            now = self.clock.now()
            if now - self._next_at > self.backlog * self.period:  # the UART buffer overflowed
                skipped = int((now - self._next_at) / self.period) - self.backlog
                self._next_at += skipped * self.period
            while self._next_at <= now + self.period:
                self.send(self._line(self._next_at), at=self._next_at)
                self._next_at += self.period

    def _line(self, moment: float) -> bytes:
        self.lines_printed += 1
        temperature = self.temperature.read(moment, self.rng)
        humidity = self.humidity.read(moment, self.rng)
        shown = f"{temperature:.2f}"
        if self.glitch_every and self.lines_printed % self.glitch_every == 0:
            shown = "ovf"
        text = f"{shown},{humidity:.1f}" if self.csv else f"T={shown} H={humidity:.1f}"
        return text.encode() + self.reply_end
