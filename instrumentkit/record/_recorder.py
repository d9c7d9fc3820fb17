"""A transport that records every exchange of the transport it wraps into a recording file.

An exchange is a write and every byte read after it until the next write. It is written
to the file when it is complete (at the next write, at `close()`, or when the interpreter
exits, Ctrl-C included) and the file is flushed at most every `flush_interval` seconds and
at those ends, so the file on disk is always valid YAML holding every finished exchange
(decision 0901).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from typing import Any, TextIO

from instrumentkit.record._format import entry_text, header_text
from instrumentkit.transport import Transport, TransportBase

__all__ = ["RecordingTransport"]

_OPEN: weakref.WeakSet[RecordingTransport] = weakref.WeakSet()


@atexit.register
def _finish_all() -> None:
    """A script stopped by Ctrl-C (or one that never closes) still gets its last exchange."""
    for recorder in list(_OPEN):
        recorder.finish()


class RecordingTransport(TransportBase):
    """Wraps `inner`: every byte goes through it unchanged and is written to `path`.

    `header` (driver, IDN, connection options ...) opens the file. Capabilities of the
    inner transport that the session looks for with `getattr` (`drain`, `clear`,
    `reset_input`, `read_some_into`, `settings`) exist here only when `inner` has them.
    """

    def __init__(
        self,
        inner: Transport,
        path: str,
        header: dict[str, Any],
        *,
        flush_interval: float = 0.1,
    ) -> None:
        self.inner = inner
        self.resource = inner.resource
        self.path = path
        self.flush_interval = flush_interval
        self._file: TextIO | None = open(path, "w", encoding="utf-8")  # noqa: SIM115
        self._file.write(header_text(header))
        self._file.flush()
        self._lock = threading.Lock()
        self._start = time.perf_counter()
        self._last_flush = self._start
        self._write: bytes | None = None
        self._write_at = 0.0
        self._reply = bytearray()
        self._reply_end = 0.0
        self._pending = False
        for name in ("drain", "clear", "reset_input"):
            method = getattr(inner, name, None)
            if callable(method):
                setattr(self, name, method)
        if callable(getattr(inner, "read_some_into", None)):
            self.read_some_into = self._read_some_into
        if hasattr(inner, "settings"):
            self.settings = inner.settings
        _OPEN.add(self)

    @property  # type: ignore[override]
    def timeout(self) -> float:
        return self.inner.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.inner.timeout = seconds

    # -- the exchange in progress
    def _complete(self, now: float) -> None:
        """Write the exchange in progress (if any) and flush if the interval has passed."""
        file = self._file
        if self._pending and file is not None:
            self._pending = False  # first: an interrupt below must not write it twice
            took = max(0.0, self._reply_end - self._write_at) if self._reply else 0.0
            file.write(
                entry_text(self._write, bytes(self._reply), self._write_at - self._start, took)
            )
            if now - self._last_flush >= self.flush_interval:
                file.flush()
                self._last_flush = now

    def _received(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:  # bytes before any write: the instrument talked first
            self._pending = True
            self._write = None
            self._write_at = time.perf_counter()
            self._reply.clear()
        self._reply += data
        self._reply_end = time.perf_counter()

    # -- Transport
    def write(self, data: bytes) -> None:
        now = time.perf_counter()
        with self._lock:
            self._complete(now)
            self._pending = True
            self._write = bytes(data)
            self._write_at = now
            self._reply.clear()
        self.inner.write(data)

    def read_until(self, terminator: bytes) -> bytes:
        message = self.inner.read_until(terminator)
        with self._lock:
            self._received(message)
            self._reply += terminator
        return message

    def read_into(self, buffer: memoryview) -> None:
        self.inner.read_into(buffer)
        with self._lock:
            self._received(buffer)

    def _read_some_into(self, buffer: memoryview) -> int:
        count: int = self.inner.read_some_into(buffer)  # type: ignore[attr-defined]
        with self._lock:
            self._received(buffer[:count])
        return count

    def finish(self) -> None:
        """Write the last exchange and close the file (the connection stays open)."""
        with self._lock:
            self._complete(time.perf_counter())
            file, self._file = self._file, None
        if file is not None:
            file.close()
        _OPEN.discard(self)

    def abort(self) -> None:
        abort = getattr(self.inner, "abort", None)
        (abort if callable(abort) else self.inner.close)()
        self.finish()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.finish()

    def __repr__(self) -> str:
        return f"RecordingTransport({self.inner!r} -> {self.path!r})"
