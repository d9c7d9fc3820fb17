"""The byte-level contract every connection meets: bytes in, bytes out.

Transports raise the built-in `TimeoutError` and `ConnectionError`, and `PeerReportedError`
for an error the far end reported about a message while the link stays in step (a HiSLIP
server's Error); the session that owns a transport turns them into instrumentkit errors
naming the instrument and the command, which a transport cannot know.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, runtime_checkable

from instrumentkit.errors import show_bytes

__all__ = ["PeerReportedError", "Transport", "TransportBase", "reopen", "unterminated"]


class PeerReportedError(OSError):
    """The far end reported an error about a message and carries on (a HiSLIP server's
    non-fatal Error): the exchange failed, the link is still in step."""


def reopen(transport: object) -> bool:
    """Open a lost connection again if the transport can (`reopen()`: raw sockets, serial
    ports, VISA resources it opened; decision 0010); False if it has no way to.
    Raises the transport's ConnectionError while the instrument is still away."""
    again = getattr(transport, "reopen", None)
    if not callable(again):
        return False
    again()
    return True


def unterminated(pending: bytes | bytearray, terminator: bytes) -> TimeoutError:
    """A read that timed out with bytes but no terminator says what came: a wrong read
    terminator (CR where LF was expected) shows at a glance."""
    if not pending:
        return TimeoutError()
    return TimeoutError(
        f"{len(pending)} bytes arrived without the terminator {terminator!r}: "
        f"{show_bytes(pending, 80)}"
    )


@runtime_checkable
class Transport(Protocol):
    """A connection to one instrument."""

    resource: str
    """The address it was opened on, for messages (`TCPIP::...`, `/dev/ttyUSB0`)."""

    timeout: float
    """Seconds a read may wait for its bytes before raising `TimeoutError`."""

    def write(self, data: bytes) -> None: ...

    def read_until(self, terminator: bytes) -> bytes:
        """Bytes up to, not including, `terminator` (or up to the message end)."""
        ...

    def read_into(self, buffer: memoryview) -> None:
        """Fill `buffer` exactly, waiting up to `timeout` for the bytes."""
        ...

    def close(self) -> None: ...


class TransportBase:
    """Shared conveniences: `read_exact` and the context manager."""

    resource: str = ""
    timeout: float = 5.0

    def read_into(self, buffer: memoryview) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def read_exact(self, count: int) -> bytes:
        buffer = bytearray(count)
        self.read_into(memoryview(buffer))
        return bytes(buffer)

    # Optional, found by the session with getattr (a third-party transport may lack them):
    # `drain(quiet, limit) -> int` drops input until `quiet` s pass without a byte (-1 if
    # bytes still come after `limit` s); `clear()` is a device clear where the bus has one;
    # `abort()` ends a read blocked in another thread (default: `close()`).
    def abort(self) -> None:
        """End the connection now, waking a read blocked in another thread."""
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self) -> TransportBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.resource!r})"
