"""The device model base: bytes from the host in, timed reply packets out.

A transport end (the TCP server, the `iksim://` serial port) calls `host_write()` with
what the host sent and takes replies from `device.outbox` once the device's clock has
reached their release time. Line-based protocols override `handle()`; anything else
(single-byte commands, ENQ/ACK, binary frames) overrides `receive()` and calls `send()`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from instrumentkit.sim._clock import Clock, SystemClock
from instrumentkit.sim._faults import Faults
from instrumentkit.sim._signal import Port

__all__ = ["Device", "Output", "Packet"]


@dataclass(frozen=True, slots=True)
class Packet:
    """Reply bytes, the clock time they may leave, and whether the line drops after them."""

    data: bytes
    release: float
    disconnect: bool = False


class Output:
    """The device's outgoing queue, in release order.

    `refill` is called whenever a transport end looks at the queue, before it waits or
    takes: a model that talks unprompted (a board streaming lines) queues there what it
    has to say, ideally its next line ahead with `send(..., at=t)` so waits end on time.
    """

    def __init__(self, clock: Clock, refill: Callable[[], None] | None = None) -> None:
        self._clock = clock
        self._refill = refill
        self._packets: deque[Packet] = deque()
        self._changed = threading.Condition()
        self._holding = 0

    def _look(self) -> None:
        if self._refill is not None:
            self._refill()

    def put(self, packet: Packet) -> None:
        with self._changed:
            self._packets.append(packet)
            if not self._holding:
                self._changed.notify_all()

    def hold_wakeups(self) -> None:
        """Do not wake waiting takers on `put` until `release_wakeups()`.

        For a transport end that sends what is due itself right after `host_write()`:
        waking its late-reply thread for a packet already gone costs a thread switch
        per message. Calls nest; every hold needs its release.
        """
        with self._changed:
            self._holding += 1

    def release_wakeups(self) -> None:
        """End a `hold_wakeups()`; wake the takers if packets are left (late replies)."""
        with self._changed:
            self._holding -= 1
            if not self._holding and self._packets:
                self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._packets.clear()

    def __len__(self) -> int:
        return len(self._packets)

    def released(self) -> Packet | None:
        """The next packet if it is already due, without waiting or moving the clock."""
        self._look()
        with self._changed:
            if self._packets and self._clock.now() >= self._packets[0].release:
                return self._packets.popleft()
        return None

    def wait_due(self, timeout: float | None) -> bool:
        """Wait up to `timeout` real seconds until the next packet is due; do not take it."""
        self._look()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._packets), timeout):
                return False
            head = self._packets[0]
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._clock.wait_until(head.release, remaining)

    def take(self, timeout: float | None) -> Packet | None:
        """The next packet once due, waiting up to `timeout` real seconds (None: forever)."""
        self._look()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._packets), timeout):
                return None
            head = self._packets[0]
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._clock.wait_until(head.release, remaining):
            return None
        with self._changed:
            if self._packets and self._packets[0] is head:
                return self._packets.popleft()
        return None


class Device:
    """A simulated instrument.

    `clock` decides when replies leave (a `ManualClock` in tests), `seed` makes `self.rng`
    reproducible (None: random), `latency` delays every reply by that many seconds.
    """

    message_end: bytes = b"\n"
    """What ends a host message (a trailing `\\r` before it is dropped as well)."""
    reply_end: bytes = b"\n"
    """What `reply()` appends to each reply."""

    def __init__(
        self, *, clock: Clock | None = None, seed: int | None = None, latency: float = 0.0
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.rng = np.random.default_rng(seed)
        self.latency = latency
        self.outbox = Output(self.clock, refill=self.pending_output)
        self.faults = Faults(self)
        self.lock = threading.RLock()
        self.current_message: str | None = None
        """The host message being handled, for fault matching and error messages."""
        self.line_settings: dict[str, object] | None = None
        """Serial settings the host opened the port with (baudrate, parity, ...), if serial."""
        self.before_host_write: list[Callable[[], None]] = []
        """Called before each host write is handled: a wired lab brings what this device
        drives up to now here, so a new level takes effect at the clock time it arrives."""
        self._inbox = bytearray()
        self._last_release = -math.inf
        self._not_before = -math.inf

    # -- called by transport ends
    def host_write(self, data: bytes) -> None:
        """Bytes the host wrote; handled under the device lock."""
        with self.lock:
            for hook in self.before_host_write:
                hook()
            self.receive(data)

    def host_connected(self) -> None:
        """A host opened the line: forget half-received input and unread replies."""
        with self.lock:
            self._inbox.clear()
            self.outbox.clear()
            self._last_release = -math.inf

    def host_disconnected(self) -> None:
        """The host closed the line (or the device dropped it)."""
        with self.lock:
            self._inbox.clear()

    # -- for models to override or call
    def ports(self) -> Mapping[str, Port]:
        """What a lab file may wire to this model, by port name ("" for the only one).

        `SignalOut` (a generator channel), `DriveOut` (a source that drives a load DUT),
        `SignalIn` (a scope channel, a thermometer input); see docs/simulation.md.
        """
        return {}

    def pending_output(self) -> None:
        """Called before a transport end looks at the outbox; streaming models queue here.

        Runs on the transport's thread: take `self.lock` if it touches model state.
        """

    def receive(self, data: bytes) -> None:
        """Split the host's bytes into messages at `message_end` and `handle()` each."""
        inbox = self._inbox
        inbox += data
        end = self.message_end
        while (index := self.find_message_end(inbox)) >= 0:
            message = bytes(inbox[:index])
            del inbox[: index + len(end)]
            if message.endswith(b"\r") and end != b"\r":
                message = message[:-1]
            self.current_message = message.decode("latin-1")
            self.faults.command_arrived(self.current_message)
            self.handle(message)

    def find_message_end(self, buffer: bytearray) -> int:
        """Index of the `message_end` that ends the first message in `buffer`, or -1."""
        return buffer.find(self.message_end)

    def handle(self, message: bytes) -> None:
        """Act on one host message (without its terminator)."""
        raise NotImplementedError(f"{type(self).__name__} must override handle() or receive()")

    def reply(
        self,
        data: str | bytes,
        *,
        delay: float = 0.0,
        at: float | None = None,
        command: str | None = None,
    ) -> None:
        """Send `data` followed by `reply_end` (see `send`)."""
        payload = data.encode("latin-1") if isinstance(data, str) else bytes(data)
        self.send(payload + self.reply_end, delay=delay, at=at, command=command)

    def send(
        self,
        data: bytes,
        *,
        delay: float = 0.0,
        at: float | None = None,
        command: str | None = None,
    ) -> None:
        """Queue raw bytes for the host, `latency + delay` seconds from now (or at `at`).

        Replies leave in order: one is never released before the one queued ahead of it.
        Reply faults armed for `command` (default: the message being handled) apply here.
        """
        release = self.clock.now() + self.latency + delay
        if at is not None:
            release = max(release, at)
        release = max(release, self._last_release, self._not_before)
        disconnect = False
        fault = self.faults.reply_fault(command if command is not None else self.current_message)
        if fault is not None:
            if fault.kind == "no_reply":
                return
            if fault.kind == "slow":
                release += fault.delay
            elif fault.kind == "garble":
                data = _garbled(data, self.reply_end)
            elif fault.kind in ("truncate", "drop"):
                data = data[: int(len(data) * fault.keep)]
                disconnect = fault.kind == "drop"
        self._last_release = release
        self.outbox.put(Packet(data, release, disconnect))

    def hold_replies_until(self, moment: float) -> None:
        """No reply leaves before `moment` on the clock (what `*WAI` does)."""
        self._not_before = max(self._not_before, moment)

    def command_matches(self, pattern: str, command: str) -> bool:
        """Whether a fault's `on` pattern names `command`: a case-insensitive prefix here."""
        return command.strip().upper().startswith(pattern.strip().upper())

    @property
    def reports_errors(self) -> bool:
        """Whether `report_error` does something (the `error` fault needs it)."""
        return type(self).report_error is not Device.report_error

    def report_error(self, code: int, message: str) -> None:
        """Record an instrument error; devices with an error queue override this."""
        raise NotImplementedError(f"{type(self).__name__} has no error queue")


def _garbled(data: bytes, end: bytes) -> bytes:
    body, tail = (data[: -len(end)], end) if end and data.endswith(end) else (data, b"")
    flipped = (np.frombuffer(body, dtype=np.uint8) ^ np.uint8(0x80)).tobytes()
    return flipped + tail
