"""One instrument behind the share: its owned connection, its locks, its exchanges.

Every client message goes to the instrument whole, under one lock held from the first
byte written to the last byte of its reply read, so messages of different clients never
interleave on the instrument, whatever its transport (serial lines included).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from instrumentkit.share._locks import LockTable
from instrumentkit.share._messages import query_units, read_reply
from instrumentkit.transport import Transport, reopen

__all__ = ["InstrumentRules", "SharedInstrument"]

log = logging.getLogger("instrumentkit.share")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_DRAIN_WAIT = 0.05
_MAX_LATE_REPLIES = 64
_MARKER = b"*IDN?;*OPC?"
"""Asked once at the first exchange and after every timeout: its reply (identity, then 1
once pending operations are done) marks where the instrument's replies are in step again."""


@dataclass(frozen=True)
class InstrumentRules:
    """How the share treats one instrument (from the share file)."""

    protocol: Literal["scpi", "raw"] = "scpi"
    """scpi: a reply is read when the message holds a query, up to `read_termination`
    (IEEE blocks by their length). raw: every message gets one reply, the bytes the
    instrument sends until it is quiet for `quiet_time` (serial gauges, binary frames)."""
    write_termination: bytes = b"\n"
    read_termination: bytes = b"\n"
    timeout: float = 5.0
    quiet_time: float = 0.05
    read_only: bool = False
    operators: tuple[Network, ...] | None = None
    """Networks whose clients may write and lock; None: every client the share admits."""
    max_clients: int = 8
    status_query: bytes | None = b"*STB?"
    """Asked for AsyncStatusQuery (the status byte); None answers 0 without asking."""


@dataclass
class SharedInstrument:
    name: str
    transport: Transport
    rules: InstrumentRules = field(default_factory=InstrumentRules)
    locks: LockTable = field(default_factory=LockTable)

    def __post_init__(self) -> None:
        self._io = threading.Lock()
        self._stale = False  # a reply may still be on its way after a timeout
        self._lost = False  # the connection dropped: the next exchange opens it again
        self._identity: bytes | None = None  # the *IDN? reply, once asked
        self.clients = 0
        self.transport.timeout = self.rules.timeout

    @property
    def resource(self) -> str:
        return self.transport.resource

    def expects_reply(self, message: bytes) -> bool:
        if self.rules.protocol == "raw":
            return True
        return query_units(message) > 0

    def is_operator(self, address: str) -> bool:
        if self.rules.operators is None:
            return True
        ip = ipaddress.ip_address(address)
        return any(ip in network for network in self.rules.operators)

    def exchange(self, message: bytes) -> bytes | None:
        """Send one program message; its reply (terminator included), or None if it has none.

        Raises TimeoutError / ConnectionError from the transport. After a timeout the reply
        may still come, and must not become the answer to the next message: the next
        exchange first resynchronizes (see `_resync`). After a dropped connection the next
        exchange first opens it again (`reopen()`, decision 0010): an instrument that
        rebooted is shared again without restarting the share.
        """
        with self._io:
            if self._lost:
                self._reopen()
            try:
                if self._identity is None and self.rules.protocol == "scpi":
                    self._learn_identity()
                if self._stale:
                    self._resync()
                try:
                    return self._exchange(message)
                except TimeoutError:
                    self._stale = True
                    raise
            except ConnectionError:
                self._lost = True
                raise

    def _reopen(self) -> None:
        # A ConnectionError while the instrument is still away: asked again next time.
        if not reopen(self.transport):
            return  # the exchange fails on the dead connection again, as it says
        self._lost = False
        self._stale = False  # a new connection holds no late reply
        log.info("%s: connection to %s opened again", self.name, self.resource)

    def _learn_identity(self) -> None:
        """Keep the instrument's answer to `_MARKER`: what ends a resynchronization."""
        self._identity = b""  # asked once; b"": no marker, drain by silence instead
        try:
            reply = self._exchange(_MARKER)
        except TimeoutError:
            self._stale = True
            return
        if reply and reply.strip():
            self._identity = bytes(reply)

    def _resync(self) -> None:
        """Throw away late replies. SCPI instruments answer in order, so every reply before
        the answer to `_MARKER` is late (a compound query that no client sends by chance,
        so a late `*IDN?` reply is not taken for it). Others are drained until silent."""
        if not self._identity:
            self._drain()
            return
        self.transport.write(_MARKER + self.rules.write_termination)
        for late in range(_MAX_LATE_REPLIES):
            reply = read_reply(self.transport, self.rules.read_termination)
            if reply == self._identity:
                if late:
                    log.info("%s: dropped %d late replies", self.name, late)
                self._stale = False
                return
        raise TimeoutError(f"{self.name} kept sending replies nobody asked for")

    def _exchange(self, message: bytes) -> bytes | None:
        rules = self.rules
        if rules.protocol == "raw":
            self.transport.write(message)
            return self._read_quiet()
        text = message.rstrip(b"\r\n") + rules.write_termination
        self.transport.write(text)
        if query_units(message) == 0:
            return None
        return read_reply(self.transport, rules.read_termination)

    def status_byte(self) -> int:
        """The instrument's status byte (`*STB?`), or 0 when it is not asked or fails."""
        if self.rules.status_query is None or self.rules.protocol != "scpi":
            return 0
        try:
            reply = self.exchange(self.rules.status_query)
        except OSError:
            return 0
        try:
            return int(float((reply or b"0").strip())) & 0xFF
        except ValueError:
            return 0

    def _read_quiet(self) -> bytes:
        """Raw protocols: the first byte within the timeout, then until `quiet_time` passes
        with nothing new."""
        transport = self.transport
        one = bytearray(1)
        transport.read_into(memoryview(one))
        received = bytearray(one)
        previous = transport.timeout
        transport.timeout = self.rules.quiet_time
        try:
            while True:
                try:
                    transport.read_into(memoryview(one))
                except TimeoutError:
                    return bytes(received)
                received += one
        finally:
            transport.timeout = previous

    def _drain(self) -> None:
        transport = self.transport
        previous = transport.timeout
        transport.timeout = _DRAIN_WAIT
        one = bytearray(1)
        dropped = 0
        started = time.monotonic()
        try:
            while time.monotonic() - started < self.rules.timeout:
                try:
                    transport.read_into(memoryview(one))
                except TimeoutError:
                    break
                dropped += 1
        finally:
            transport.timeout = previous
        if dropped:
            log.info("%s: dropped %d bytes of a late reply", self.name, dropped)
        self._stale = False

    def close(self) -> None:
        with self._io:
            self.transport.close()
