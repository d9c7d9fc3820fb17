"""Getting a session back in step after a failed exchange (decision 0009).

A timeout or a malformed reply can leave half a block on the wire or a late reply that would
answer the next query. `Session` marks itself out of step then, and its next write first
resyncs: drain, device clear where the bus has one, the instrument's sync and cache hooks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from instrumentkit.errors import ProtocolError, show_bytes
from instrumentkit.transport import Transport, reopen

__all__ = ["Resync"]

log = logging.getLogger("instrumentkit.io")

_DRAIN_QUIET = 0.05
"""Seconds without a byte after which a drained link counts as quiet."""
_SYNC_REPLIES = 4
"""Messages read after a sync query before giving up on seeing its expected reply."""


class Resync:
    """The resync half of `Session`: what it needs from the session is declared here."""

    transport: Transport
    name: str
    encoding: str
    log_io: bool
    lock: threading.RLock
    in_step: bool
    link_lost: bool
    on_resync: Callable[[], None] | None
    _resyncing: bool
    _aborted: bool
    _read_term: bytes

    # Session's methods used here (annotations only: Session defines them).
    translate_error: Callable[[OSError, str | None], Exception]
    write: Callable[[str], None]
    read_raw_until: Callable[..., bytes]

    def out_of_step(
        self, message: str, *, command: str | None, instrument: str | None = None
    ) -> ProtocolError:
        """A ProtocolError for a reply whose framing broke; the next exchange resyncs."""
        self.in_step = False
        return ProtocolError(message, instrument=instrument or self.name, command=command)

    def drain(self, quiet: float = _DRAIN_QUIET) -> int:
        """Discard every byte pending or arriving until the link is quiet for `quiet` s.

        Bounded by the session's timeout (at least 1 s): an instrument still sending
        after that raises ProtocolError. Returns how many bytes were dropped.
        """
        limit = max(1.0, self.transport.timeout)
        drain = getattr(self.transport, "drain", None)
        with self.lock:
            try:
                if callable(drain):
                    dropped = int(drain(quiet, limit))
                else:
                    dropped = _drain_by_reads(self.transport, quiet, limit)
            except OSError as error:
                raise self.translate_error(error, "(drain)") from error
        if dropped < 0:
            raise self.out_of_step(
                f"still sending after {limit:g} s of draining; is it streaming data "
                "(a talk-only or continuous mode)?",
                command="(drain)",
            )
        if dropped and self.log_io:
            log.debug("%s: drained %d bytes", self.name, dropped)
        return dropped

    def resync(self) -> None:
        """Get back in step after a failed exchange, so the next reply answers the next query.

        A connection that dropped is opened again first (`reopen()` of the transport;
        the instrument kept its settings, the link did not keep its bytes). Then drop what
        is pending or still arriving, clear the device where the transport can
        (VISA device clear: USBTMC, VXI-11, HiSLIP, GPIB), then the instrument's own sync
        (`on_resync`: `*OPC?` answered exactly `1` for SCPI instruments, re-reading what the
        driver caches). Raises the failing exchange's error if the instrument does not
        come back; the session stays out of step and the next exchange tries again.
        """
        with self.lock:
            self._resyncing = True
            try:
                if self.link_lost:
                    self._reconnect()
                self.drain()
                clear = getattr(self.transport, "clear", None)
                if callable(clear):
                    try:
                        clear()
                    except OSError as error:
                        raise self.translate_error(error, "(device clear)") from error
                if self.on_resync is not None:
                    self.on_resync()
                self.in_step = True
            except BaseException:
                self.in_step = False
                raise
            finally:
                self._resyncing = False

    def _reconnect(self) -> None:
        try:
            if not reopen(self.transport):
                return  # the drain that follows raises the lost connection's error again
        except OSError as error:
            raise self.translate_error(error, "(reconnect)") from error
        self.link_lost = False
        log.info("%s: connection opened again", self.name)

    def sync(self, command: str, expected: str) -> None:
        """Send `command` and read replies until one is exactly `expected` (a few at most).

        Replies before it are late answers to earlier queries and are dropped.
        """
        with self.lock:
            self.write(command)
            seen: list[str] = []
            for _ in range(_SYNC_REPLIES):
                reply = self.read_raw_until(self._read_term, command=command)
                text = reply.decode(self.encoding, "replace").strip()
                if text == expected or text.lstrip("+") == expected:
                    return
                seen.append(text)
            raise self.out_of_step(
                f"not back in step: expected {expected!r}, got {show_bytes(repr(seen).encode())}",
                command=command,
            )

    def abort(self) -> None:
        """Close the link from another thread, so a read blocked on it ends at once.

        For stopping a run while an instrument does not answer; the session is unusable
        afterwards and its errors say the connection was closed to stop the run.
        """
        self._aborted = True
        abort = getattr(self.transport, "abort", None)
        (abort if callable(abort) else self.transport.close)()

    @property
    def aborted(self) -> bool:
        return self._aborted


def _drain_by_reads(transport: Transport, quiet: float, limit: float) -> int:
    """`drain` for a transport without one: single-byte reads with a short timeout."""
    one = memoryview(bytearray(1))
    previous = transport.timeout
    transport.timeout = quiet
    dropped = 0
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            try:
                transport.read_into(one)
            except TimeoutError:
                return dropped
            dropped += 1
    finally:
        transport.timeout = previous
    return -1
