"""Faults on demand: make a simulated device misbehave the way real instruments do.

| kind       | what the device does                                   | what the host sees       |
|------------|--------------------------------------------------------|--------------------------|
| `no_reply` | swallows the reply                                     | Timeout                  |
| `slow`     | sends the reply `delay` seconds late                   | Timeout if past its wait |
| `garble`   | flips the top bit of every reply byte but the terminator | ProtocolError          |
| `truncate` | sends only the first `keep` fraction of the reply      | Timeout (bytes missing)  |
| `drop`     | sends the first `keep` fraction, then hangs up         | ConnectionFailed         |
| `error`    | pushes (`code`, `message`) to the error queue          | InstrumentReportedError  |

`error` fires when the matching command arrives; every other kind fires on the reply
to a matching command.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from instrumentkit.sim._device import Device

__all__ = ["Fault", "FaultKind", "Faults"]

FaultKind = Literal["no_reply", "slow", "garble", "truncate", "drop", "error"]
_KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass
class Fault:
    """One armed fault. `count=None` keeps it armed until `Faults.clear()`."""

    kind: FaultKind
    on: str | None = None
    count: int | None = 1
    delay: float = 1.0
    keep: float = 0.5
    code: int = -300
    message: str = "Device-specific error"
    fired: int = 0

    @property
    def armed(self) -> bool:
        return self.count is None or self.fired < self.count


class Faults:
    """The faults armed on one device (`device.faults`)."""

    def __init__(self, device: Device) -> None:
        self._device = device
        self._armed: list[Fault] = []
        self._lock = threading.Lock()

    def inject(
        self,
        kind: FaultKind,
        *,
        on: str | None = None,
        count: int | None = 1,
        delay: float = 1.0,
        keep: float = 0.5,
        code: int = -300,
        message: str = "Device-specific error",
    ) -> Fault:
        """Arm a fault for the next `count` commands matching `on` (any command if None).

        `on` is a command pattern in the device's own syntax (for SCPI devices a header
        such as `:WAVeform:DATA?`). `delay` is for `slow`, `keep` (0..1) for `truncate`
        and `drop`, `code`/`message` for `error`.
        """
        if kind not in _KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(_KINDS)}")
        if not 0.0 <= keep < 1.0:
            raise ValueError(f"keep must be in [0, 1), got {keep}")
        if kind == "error" and not self._device.reports_errors:
            raise TypeError(f"{type(self._device).__name__} has no error queue to push to")
        fault = Fault(kind, on, count, delay, keep, code, message)
        with self._lock:
            self._armed.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    @property
    def armed(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._armed if f.armed]

    def _take(self, command: str | None, *, on_reply: bool) -> Fault | None:
        with self._lock:
            for fault in self._armed:
                if not fault.armed or (fault.kind != "error") is not on_reply:
                    continue
                if fault.on is None or (
                    command is not None and self._device.command_matches(fault.on, command)
                ):
                    fault.fired += 1
                    return fault
        return None

    def command_arrived(self, command: str) -> None:
        """Fire `error` faults armed for `command` (devices with their own parser call this)."""
        while (fault := self._take(command, on_reply=False)) is not None:
            self._device.report_error(fault.code, fault.message)
            if fault.count is None:
                break

    def reply_fault(self, command: str | None) -> Fault | None:
        """The reply fault to apply to the reply to `command`, consuming one of its count."""
        return self._take(command, on_reply=True)
