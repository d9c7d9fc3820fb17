"""Messages on top of a transport: terminators, encoding, queries, values, binary blocks.

A session owns one transport and one lock, so two threads never interleave a query,
and it turns transport failures into instrumentkit errors that name the instrument,
the command and the likely cause.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike, NDArray

from instrumentkit._resync import Resync
from instrumentkit.errors import ConnectionFailed, ProtocolError, Timeout, show_bytes
from instrumentkit.transport import PeerReportedError, Transport

__all__ = ["Session"]

log = logging.getLogger("instrumentkit.io")

_MAX_HEADER_PREFIX = 64
ByteOrder = Literal["<", ">", "little", "big"]


_ORDERS = {"little": "<", "big": ">"}


def _block_dtype(dtype: Any, byte_order: str) -> np.dtype[Any]:
    try:
        return _cached_block_dtype(dtype, byte_order)
    except TypeError:  # an unhashable dtype spec (a list of fields)
        return _cached_block_dtype.__wrapped__(dtype, byte_order)


@functools.lru_cache(maxsize=64)  # a few kinds per driver, asked for on every block read
def _cached_block_dtype(dtype: Any, byte_order: str) -> np.dtype[Any]:
    kind = np.dtype(dtype)
    if kind.itemsize > 1:
        kind = kind.newbyteorder(_ORDERS.get(byte_order, byte_order))
    return kind


class Session(Resync):
    """Text and binary messages with one instrument.

    `name` is what errors call the instrument; it defaults to the transport's resource.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        name: str | None = None,
        write_termination: str = "\n",
        read_termination: str = "\n",
        encoding: str = "ascii",
        log_io: bool = False,
    ) -> None:
        self.transport = transport
        self.name = name or transport.resource
        self.encoding = encoding
        self.write_termination = write_termination
        self.read_termination = read_termination
        self.log_io = log_io
        self.lock = threading.RLock()
        self.in_step = True
        """False after an exchange failed half-way (a timeout, a malformed reply): the
        next exchange first calls `resync()`."""
        self.on_resync: Callable[[], None] | None = None
        """The instrument's part of a resync (its sync query, re-reading what it caches);
        `Instrument` sets it."""
        self._resyncing = False
        self._aborted = False
        self.link_lost = False
        """True after the connection dropped: the next resync opens it again first
        (transports with `reopen()`: sockets, serial ports, VISA resources)."""

    # -- terminators, kept as bytes too so the hot path does not re-encode them
    @property
    def write_termination(self) -> str:
        return self._write_term.decode(self.encoding)

    @write_termination.setter
    def write_termination(self, value: str) -> None:
        self._write_term = value.encode(self.encoding)

    @property
    def read_termination(self) -> str:
        return self._read_term.decode(self.encoding)

    @read_termination.setter
    def read_termination(self, value: str) -> None:
        self._read_term = value.encode(self.encoding)

    @property
    def timeout(self) -> float:
        return self.transport.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.transport.timeout = seconds

    @contextmanager
    def timeout_set_to(self, seconds: float) -> Iterator[None]:
        """Use another timeout for a slow operation, then restore the old one."""
        with self.lock:
            previous = self.transport.timeout
            self.transport.timeout = seconds
            try:
                yield
            finally:
                self.transport.timeout = previous

    @contextmanager
    def lock_instrument(self, timeout: float = 5.0, *, shared_key: str = "") -> Iterator[None]:
        """Hold a HiSLIP instrument's lock (shared with `shared_key`, else exclusive) and
        this session's own lock, for a sequence of exchanges no other client may split.

        Raises Timeout when the lock is not granted within `timeout` seconds.
        """
        from instrumentkit._hislip_lock import hold_lock

        with (
            self.lock,
            hold_lock(self.transport, self.name, timeout, shared_key, self.translate_error),
        ):
            yield

    # -- error translation
    def translate_error(self, error: OSError, command: str | None) -> Exception:
        """The instrumentkit error for a transport failure (for drivers that read bytes).

        The session is out of step afterwards: a reply may be half read or still coming;
        not after an error the far end reported while keeping the link in step.
        """
        if isinstance(error, PeerReportedError) and not self._aborted:
            return ProtocolError(f"{error}", instrument=self.name, command=command)
        self.in_step = False
        if self._aborted:
            return ConnectionFailed(
                "the connection was closed to stop the run", instrument=self.name, command=command
            )
        if isinstance(error, ConnectionError):
            self.link_lost = True
        if isinstance(error, (Timeout, ConnectionFailed)):
            return error
        if isinstance(error, TimeoutError):
            detail = f" ({error})" if str(error) else ""
            return Timeout(
                f"no complete reply within {self.transport.timeout:g} s{detail}; check the "
                f"command is a query, the read terminator ({self.read_termination!r}) and "
                "the instrument's connection settings",
                instrument=self.name,
                command=command,
                timeout=self.transport.timeout,
            )
        if isinstance(error, ConnectionError):
            return ConnectionFailed(
                f"connection lost: {error}", instrument=self.name, command=command
            )
        return ConnectionFailed(f"I/O error: {error}", instrument=self.name, command=command)

    # -- raw bytes
    def write_raw(self, data: bytes, *, command: str | None = None) -> None:
        if not self.in_step and not self._resyncing:
            self.resync()
        if self.log_io:
            log.debug("%s << %r", self.name, data)
        try:
            self.transport.write(data)
        except OSError as error:
            raise self.translate_error(error, command) from error

    def read_raw_until(self, terminator: bytes, *, command: str | None = None) -> bytes:
        try:
            data = self.transport.read_until(terminator)
        except OSError as error:
            raise self.translate_error(error, command) from error
        if self.log_io:
            log.debug("%s >> %r", self.name, data)
        return data

    def read_raw_into(self, buffer: memoryview, *, command: str | None = None) -> None:
        try:
            self.transport.read_into(buffer)
        except OSError as error:
            raise self.translate_error(error, command) from error

    def read_bytes(self, count: int, *, command: str | None = None) -> bytes:
        buffer = bytearray(count)
        self.read_raw_into(memoryview(buffer), command=command)
        if self.log_io:
            log.debug("%s >> %s", self.name, show_bytes(buffer))
        return bytes(buffer)

    # -- text messages
    def write(self, command: str) -> None:
        """Send one command with the write terminator."""
        with self.lock:
            self.write_raw(command.encode(self.encoding) + self._write_term, command=command)

    def read(self, *, command: str | None = None) -> str:
        """Read one message up to the read terminator."""
        with self.lock:
            data = self.read_raw_until(self._read_term, command=command)
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as error:
            raise self.out_of_step(
                f"reply is not {self.encoding} text: {show_bytes(data)}",
                instrument=self.name,
                command=command,
            ) from error

    def query(self, command: str) -> str:
        """Send a command and read its one-message reply (surrounding blanks stripped)."""
        with self.lock:
            self.write(command)
            return self.read(command=command).strip()

    def query_values(
        self, command: str, *, dtype: DTypeLike = np.float64, separator: str = ","
    ) -> NDArray[Any]:
        """Query an ASCII list of numbers into a NumPy array (parsed in C, not per value)."""
        return self.parse_values(
            self.query(command), command=command, dtype=dtype, separator=separator
        )

    def parse_values(
        self,
        text: str,
        *,
        command: str | None = None,
        dtype: DTypeLike = np.float64,
        separator: str = ",",
        hint: str = "",
    ) -> NDArray[Any]:
        """Parse an ASCII list of numbers already read (e.g. from a block) into an array.

        A malformed list raises ProtocolError naming this instrument and `command`,
        showing the text, and adding `hint` (what to check) when given.
        """
        text = text.strip()
        fields = text.split(separator) if text else []
        try:
            return np.array(fields, dtype=np.float64).astype(dtype, copy=False)
        except ValueError as error:
            shown = show_bytes(text.encode())
            advice = f"; {hint}" if hint else ""
            raise ProtocolError(
                f"expected {separator!r}-separated numbers, got {shown}{advice}",
                instrument=self.name,
                command=command,
            ) from error

    # -- IEEE 488.2 binary blocks
    def query_block(
        self,
        command: str,
        *,
        dtype: DTypeLike = np.uint8,
        byte_order: ByteOrder = "<",
        expect_termination: bool = True,
    ) -> NDArray[Any]:
        """Send `command` and read its IEEE 488.2 block reply into an array of `dtype`."""
        with self.lock:
            self.write(command)
            return self.read_block(
                dtype=dtype,
                byte_order=byte_order,
                expect_termination=expect_termination,
                command=command,
            )

    def read_block(
        self,
        *,
        dtype: DTypeLike = np.uint8,
        byte_order: ByteOrder = "<",
        expect_termination: bool = True,
        command: str | None = None,
        header_begun: bool = False,
    ) -> NDArray[Any]:
        """Read a definite (`#N<len><data>`) or indefinite (`#0<data>`) block.

        The payload is received straight into the array's memory: no copy after the
        bytes arrive. Multi-byte values keep the instrument's byte order in the dtype.
        `header_begun`: the block's `#` was already read (the end of a text read up to it,
        as in a compound reply `<fields>;#<block>`).
        """
        kind = _block_dtype(dtype, byte_order)
        with self.lock:
            length = self._read_block_header(command, header_begun)
            if length is None:
                payload = self.read_raw_until(self._read_term, command=command)
                return self._array_from(payload, kind, command)
            if length % kind.itemsize:
                raise self.out_of_step(
                    f"block of {length} bytes is not a whole number of {kind} values",
                    instrument=self.name,
                    command=command,
                )
            values = np.empty(length // kind.itemsize, dtype=kind)
            self.read_raw_into(memoryview(values).cast("B"), command=command)
            if expect_termination and self._read_term:
                self._read_block_trailer(command)
            return values

    def _read_block_header(self, command: str | None, header_begun: bool = False) -> int | None:
        one = bytearray(1)
        view = memoryview(one)
        skipped = bytearray()
        while not header_begun:
            self.read_raw_into(view, command=command)
            if one == b"#":
                break
            skipped += one
            if len(skipped) > _MAX_HEADER_PREFIX:
                raise self.out_of_step(
                    f"expected an IEEE 488.2 block starting with '#', got {show_bytes(skipped)}",
                    instrument=self.name,
                    command=command,
                )
        self.read_raw_into(view, command=command)
        if not one.isdigit():
            raise self.out_of_step(
                f"malformed block header: '#' followed by {bytes(one)!r}, not a digit",
                instrument=self.name,
                command=command,
            )
        digits = int(one)
        if digits == 0:
            return None
        count = self.read_bytes(digits, command=command)
        if not count.isdigit():
            raise self.out_of_step(
                f"malformed block header: length field {count!r} is not a number",
                instrument=self.name,
                command=command,
            )
        return int(count)

    def _read_block_trailer(self, command: str | None) -> None:
        trailer = self.read_bytes(len(self._read_term), command=command)
        if trailer != self._read_term:
            raise self.out_of_step(
                f"block longer than its header says: expected the terminator "
                f"{self._read_term!r} after it, got {trailer!r}",
                instrument=self.name,
                command=command,
            )

    def _array_from(self, payload: bytes, kind: np.dtype[Any], command: str | None) -> NDArray[Any]:
        if len(payload) % kind.itemsize:
            raise self.out_of_step(
                f"indefinite block of {len(payload)} bytes is not a whole number of {kind} values",
                instrument=self.name,
                command=command,
            )
        return np.frombuffer(payload, dtype=kind)

    def close(self) -> None:
        self.transport.close()

    def __repr__(self) -> str:
        return f"Session({self.name!r})"
