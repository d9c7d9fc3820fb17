"""Clocks for simulated devices: the real one, and a manual one for tests that must not sleep.

A device stamps every reply with a release time on its clock; the transport end hands the
reply to the host only once the clock has reached that time. Latency, integration time and
`*OPC?` waits are therefore real delays on a `SystemClock`, and instant but still ordered
on a `ManualClock`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Seconds on some monotonic scale, and a way to wait for a moment on it."""

    def now(self) -> float: ...

    def wait_until(self, moment: float, timeout: float | None) -> bool:
        """Return True once `now() >= moment`, False after `timeout` real seconds."""
        ...


class SystemClock:
    """`time.monotonic`: delays are real."""

    def now(self) -> float:
        return time.monotonic()

    def wait_until(self, moment: float, timeout: float | None) -> bool:
        remaining = moment - time.monotonic()
        if remaining <= 0:
            return True
        if timeout is not None and remaining > timeout:
            time.sleep(max(timeout, 0.0))
            return False
        time.sleep(remaining)
        return True


class ManualClock:
    """A clock that moves only when told.

    With `auto_advance=True` (the default) a wait jumps the clock straight to the moment
    waited for, so a reply due in 10 s arrives at once and `now()` shows that 10 s passed.
    With `auto_advance=False` waits block (in real time, up to their timeout) until a test
    calls `advance()`, which lets a test observe that nothing arrives before it is due.
    """

    def __init__(self, start: float = 0.0, *, auto_advance: bool = True) -> None:
        self._now = start
        self.auto_advance = auto_advance
        self._changed = threading.Condition()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward and wake every wait that is now due."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._changed:
            self._now += seconds
            self._changed.notify_all()

    def wait_until(self, moment: float, timeout: float | None) -> bool:
        with self._changed:
            if self._now >= moment:
                return True
            if self.auto_advance:
                self._now = moment
                self._changed.notify_all()
                return True
            return self._changed.wait_for(lambda: self._now >= moment, timeout)
