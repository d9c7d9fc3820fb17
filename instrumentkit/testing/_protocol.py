"""`expected_protocol`: test a driver against the exact bytes of its instrument manual."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from instrumentkit.instrument import Instrument
from instrumentkit.transport import TransportBase

__all__ = ["ProtocolMismatch", "ProtocolTransport", "expected_protocol"]

D = TypeVar("D", bound=Instrument)
Message = str | bytes | None
Pair = tuple[Message, Message]


class ProtocolMismatch(AssertionError):
    """The driver wrote or read something the expected protocol does not have."""


def _as_bytes(message: str | bytes, encoding: str) -> bytes:
    return message.encode(encoding) if isinstance(message, str) else message


class ProtocolTransport(TransportBase):
    """A transport that plays (command, reply) pairs in order and checks every write.

    Commands and replies are given without terminators; the transport adds the
    driver's write terminator to commands and its read terminator to text replies
    (bytes replies are sent exactly as given, for binary blocks).
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        *,
        write_termination: str = "\n",
        read_termination: str = "\n",
        encoding: str = "ascii",
        resource: str = "expected-protocol",
    ) -> None:
        self.resource = resource
        self.timeout = 1.0
        self.encoding = encoding
        self._write_term = write_termination.encode(encoding)
        self._read_term = read_termination.encode(encoding)
        self._pairs = list(pairs)
        self._index = 0
        self._output = bytearray()
        self.closed = False
        self.written: list[bytes] = []
        self._queue_unsolicited()

    def _reply_bytes(self, reply: str | bytes) -> bytes:
        if isinstance(reply, bytes):
            return reply
        return reply.encode(self.encoding) + self._read_term

    def _queue_unsolicited(self) -> None:
        """Replies with no command (the instrument talks first) go out right away."""
        while self._index < len(self._pairs) and self._pairs[self._index][0] is None:
            reply = self._pairs[self._index][1]
            if reply is not None:
                self._output += self._reply_bytes(reply)
            self._index += 1

    def write(self, data: bytes) -> None:
        self.written.append(data)
        if self._index >= len(self._pairs):
            raise ProtocolMismatch(f"unexpected write {data!r}: all expected pairs were used")
        command, reply = self._pairs[self._index]
        expected = _as_bytes(command, self.encoding) if command is not None else b""
        if isinstance(command, str):
            expected += self._write_term
        if data != expected:
            raise ProtocolMismatch(
                f"write #{self._index + 1}: expected {expected!r}, driver wrote {data!r}"
            )
        if self._output:
            raise ProtocolMismatch(
                f"driver wrote {data!r} while {bytes(self._output)!r} was still unread"
            )
        self._index += 1
        if reply is not None:
            self._output += self._reply_bytes(reply)
        self._queue_unsolicited()

    def read_until(self, terminator: bytes) -> bytes:
        index = self._output.find(terminator)
        if index < 0:
            raise TimeoutError(
                f"driver read up to {terminator!r}, but {bytes(self._output)!r} is left"
            )
        message = bytes(self._output[:index])
        del self._output[: index + len(terminator)]
        return message

    def read_into(self, buffer: memoryview) -> None:
        count = len(buffer)
        if count > len(self._output):
            raise TimeoutError(f"driver read {count} bytes, only {len(self._output)} are left")
        buffer[:] = self._output[:count]
        del self._output[:count]

    def check_done(self) -> None:
        if self._index < len(self._pairs):
            raise ProtocolMismatch(f"expected pairs not used: {self._pairs[self._index :]}")
        if self._output:
            raise ProtocolMismatch(f"driver left {bytes(self._output)!r} unread")

    def close(self) -> None:
        self.closed = True


@contextmanager
def expected_protocol(driver: type[D], pairs: Sequence[Pair], **driver_options: Any) -> Iterator[D]:
    """Open `driver` on a transport that expects exactly `pairs`, in order.

        with expected_protocol(Keysight34461A, [("VOLT:DC:RANG 10", None),
                                                ("VOLT:DC:RANG?", "+1.0E+01")]) as dmm:
            dmm.voltage_range = 10
            assert dmm.voltage_range == 10

    Fails on any unexpected write, on pairs left unused and on reply bytes left unread.
    A command of None is a reply the instrument sends unasked; a reply of None means
    the command has none. Replies given as bytes are sent verbatim (binary blocks).
    """
    transport = ProtocolTransport(
        pairs,
        write_termination=driver.write_termination,
        read_termination=driver.read_termination,
        encoding=driver.encoding,
    )
    instrument = driver(transport, **driver_options)
    yield instrument
    transport.check_done()
