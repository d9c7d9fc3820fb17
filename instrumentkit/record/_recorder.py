"""A transport that records every exchange of the transport it wraps into a recording file.

An exchange is a write and every byte read after it until the next write. It is
formatted when it is complete (at the next write) and goes to the file at most
`flush_interval` seconds later, flushed, and at once at `close()` and when the
interpreter exits (Ctrl-C included): the file on disk is always valid YAML holding the
finished exchanges, and a clean or interrupted end loses none (decision 0901). The query
path pays a dictionary look-up per message text seen before, two clock reads and a list
append; the file write is shared by every exchange of an interval.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import weakref
from typing import Any, TextIO

from instrumentkit.record._format import header_text, reply_lines, write_lines
from instrumentkit.transport import Transport, TransportBase

__all__ = ["RecordingTransport"]

_OPEN: weakref.WeakSet[RecordingTransport] = weakref.WeakSet()
_CACHED_BYTES = 256
"""Messages up to this long keep their formatted text (commands, short replies)."""
_CACHE_ENTRIES = 4096


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
        self._flush_at = self._start + flush_interval
        self._finished: list[Any] = []
        self._writes: dict[bytes | None, str] = {}
        self._replies: dict[bytes, str] = {}
        self._write: bytes | None = None
        self._write_at = 0.0
        self._reply: bytes | bytearray = b""
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
    def _text(self, cache: dict[Any, str], data: Any, render: Any) -> str:
        """Format a message not in `cache`; keep the text of short ones for next time."""
        text: str = render(data)
        if (data is None or len(data) <= _CACHED_BYTES) and len(cache) < _CACHE_ENTRIES:
            cache[data] = text
        return text

    def _keep(self) -> None:
        """Keep the exchange in progress for the next batch."""
        self._pending = False  # first: an interrupt below must not record it twice
        self._finished += (self._write, self._reply, self._write_at, self._reply_end)

    def _flush(self, now: float) -> None:
        """Format the exchanges kept (in a batch: off each exchange's path) and write them.

        They leave `_finished` only once on disk: a Ctrl-C while formatting or writing
        (the query path calls this, so the interrupt lands here once an interval) takes
        back what was half written, and `finish()` writes them all, once.
        """
        with self._lock:
            finished = self._finished
            count = len(finished)
            start, writes, replies, text = self._start, self._writes, self._replies, self._text
            entries = []
            items = iter(finished[:count])
            for write, reply, at, end in zip(items, items, items, items, strict=True):
                if write is not None:
                    write = bytes(write)
                opening = writes.get(write) or text(writes, write, write_lines)
                if not reply:
                    entries.append(f"{opening}  at: {at - start:.6f}\n")
                    continue
                reply = bytes(reply)
                body = replies.get(reply) or text(replies, reply, reply_lines)
                entries.append(f"{opening}  at: {at - start:.6f}\n{body}  took: {end - at:.6f}\n")
            if self._file is not None and entries:
                self._write_whole(self._file, "".join(entries))
            del finished[:count]
            self._flush_at = now + self.flush_interval

    @staticmethod
    def _write_whole(file: TextIO, text: str) -> None:
        """Write and flush `text`, or leave the file as it was (then raise)."""
        position = file.tell()
        written = False
        try:
            file.write(text)
            file.flush()
            written = True
        finally:
            if not written:
                with contextlib.suppress(OSError, ValueError):
                    file.seek(position)
                    file.truncate()

    def _unasked(self) -> None:
        """Bytes before any write: the instrument talked first."""
        self._pending = True
        self._write = None
        self._write_at = time.perf_counter()
        self._reply = b""

    # -- Transport (the query path: kept short, see the module's docstring)
    def write(self, data: bytes) -> None:
        now = time.perf_counter()
        if self._pending:
            self._pending = False
            # Flat, four items per exchange: no container per exchange for the cyclic GC.
            self._finished += (self._write, self._reply, self._write_at, self._reply_end)
            if now >= self._flush_at:
                self._flush(now)
        self._write = data  # made bytes (if a caller passed a bytearray) when formatted
        self._write_at = now
        self._reply = b""
        self._pending = True
        self.inner.write(data)

    def read_until(self, terminator: bytes) -> bytes:
        message = self.inner.read_until(terminator)
        if not self._pending:
            self._unasked()
        # The usual reply is the first of its exchange: one concatenation, not two.
        self._reply = (self._reply + message if self._reply else message) + terminator
        self._reply_end = time.perf_counter()
        return message

    def read_into(self, buffer: memoryview) -> None:
        self.inner.read_into(buffer)
        if not self._pending:
            self._unasked()
        if len(buffer) > _CACHED_BYTES and isinstance(self._reply, bytes):
            self._reply = bytearray(self._reply)  # a block: grow in place, copy once
        self._reply += buffer
        self._reply_end = time.perf_counter()

    def _read_some_into(self, buffer: memoryview) -> int:
        count: int = self.inner.read_some_into(buffer)  # type: ignore[attr-defined]
        if not self._pending:
            self._unasked()
        self._reply += buffer[:count]
        self._reply_end = time.perf_counter()
        return count

    def finish(self) -> None:
        """Write every exchange, the one in progress included, and close the file (the
        connection stays open). Called by `close()` and at interpreter exit."""
        if self._pending:
            self._keep()
        self._flush(time.perf_counter())
        with self._lock:
            file, self._file = self._file, None
        if file is not None:
            file.close()
        _OPEN.discard(self)

    def __del__(self) -> None:
        # An instrument dropped without close(): its exchanges still reach the file.
        if getattr(self, "_file", None) is not None:
            self.finish()

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
