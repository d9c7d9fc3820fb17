"""A transport that plays a recording back as if it were the instrument.

    replay://dmm.rec.yaml                      strict, recorded timing dropped
    replay:///abs/path/dmm.rec.yaml?mode=lenient&timing=keep

`open_transport` hands `replay://` resources here, so `ik.open`, `Driver.open` and run
configs all accept them.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any, Literal

from instrumentkit.errors import ConfigError
from instrumentkit.record._format import Recording, load_recording
from instrumentkit.record._script import Mode, Script
from instrumentkit.transport import TransportBase

__all__ = ["ReplayTransport", "open_replay", "parse_replay_url"]

Timing = Literal["drop", "keep"]
SCHEME = "replay://"


def parse_replay_url(resource: str) -> tuple[str, Mode, Timing]:
    """The recording's path, the mode and the timing a `replay://` resource names."""
    if not resource.startswith(SCHEME):
        raise ConfigError(f"{resource!r} is not a replay:// resource")
    path, _, query = resource[len(SCHEME) :].partition("?")
    options = {key: values[-1] for key, values in urllib.parse.parse_qs(query).items()}
    mode = options.pop("mode", "strict")
    timing = options.pop("timing", "drop")
    if options or mode not in ("strict", "lenient") or timing not in ("drop", "keep"):
        raise ConfigError(
            f"{resource!r}: a replay resource takes mode=strict|lenient and timing=drop|keep, "
            f"got {query!r}"
        )
    if not path:
        raise ConfigError(f"{resource!r} names no recording file (replay://path/to/x.rec.yaml)")
    return urllib.parse.unquote(path), mode, timing  # type: ignore[return-value]


class ReplayTransport(TransportBase):
    """Answers each write with the recorded reply; a write the recording does not have
    at this point raises ReplayMismatch (a ProtocolError) showing both, side by side.

    Reads past the recorded reply raise TimeoutError, as the instrument's silence did
    (the session reports it as a Timeout). `timing="keep"` makes each reply wait as long
    as it took when recorded.
    """

    def __init__(
        self,
        recording: Recording | str,
        *,
        mode: Mode = "strict",
        timing: Timing = "drop",
        timeout: float = 5.0,
        resource: str | None = None,
    ) -> None:
        if isinstance(recording, str):
            recording = load_recording(recording)
        if timing not in ("drop", "keep"):
            raise ValueError(f"replay timing must be 'drop' or 'keep', not {timing!r}")
        self.recording = recording
        self.script = Script(recording, mode)
        self.resource = resource or f"{SCHEME}{recording.path}"
        self.timeout = timeout
        self.keep_timing = timing == "keep"
        self._output = bytearray()
        self._ready_at = 0.0
        self.closed = False
        self._queue_unasked()

    def _queue_unasked(self) -> None:
        for exchange in self.script.unasked():
            self._output += exchange.reply

    def _wait_for_reply(self) -> None:
        if self.keep_timing:
            delay = self._ready_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def _check_open(self) -> None:
        if self.closed:
            raise ConnectionError("the replay was closed")

    def write(self, data: bytes) -> None:
        self._check_open()
        exchange = self.script.answer(bytes(data))
        self._output += exchange.reply
        self._ready_at = time.monotonic() + exchange.took
        self._queue_unasked()

    def _ran_out(self, wanted: str) -> TimeoutError:
        position = self.script.position
        return TimeoutError(
            f"the program read {wanted}, but the recording {self.recording.path} has only "
            f"{len(self._output)} more reply bytes after exchange {position}"
        )

    def read_until(self, terminator: bytes) -> bytes:
        self._check_open()
        self._wait_for_reply()
        index = self._output.find(terminator)
        if index < 0:
            raise self._ran_out(f"up to {terminator!r}")
        message = bytes(self._output[:index])
        del self._output[: index + len(terminator)]
        return message

    def read_into(self, buffer: memoryview) -> None:
        self._check_open()
        self._wait_for_reply()
        count = len(buffer)
        if count > len(self._output):
            raise self._ran_out(f"{count} bytes")
        buffer[:] = self._output[:count]
        del self._output[:count]

    def read_some_into(self, buffer: memoryview) -> int:
        """Serial drivers read a frame's first byte and what is there: see SerialTransport."""
        self._check_open()
        self._wait_for_reply()
        if not self._output:
            raise self._ran_out("a byte")
        count = min(len(buffer), len(self._output))
        buffer[:count] = self._output[:count]
        del self._output[:count]
        return count

    def reset_input(self) -> None:
        self._output.clear()

    def drain(self, quiet: float, limit: float) -> int:
        dropped = len(self._output)
        self._output.clear()
        return dropped

    @property
    def pending(self) -> bytes:
        """Reply bytes the program has not read yet."""
        return bytes(self._output)

    def check_done(self) -> None:
        """Raise AssertionError if recorded exchanges were not used or reply bytes not read."""
        problems = []
        if self.script.unused():
            problems.append(self.script.describe_unused())
        if self._output:
            problems.append(f"{len(self._output)} reply bytes were never read")
        if problems:
            raise AssertionError(f"replay of {self.recording.path}: " + "; ".join(problems))

    def close(self) -> None:
        self.closed = True


def open_replay(resource: str, **options: Any) -> ReplayTransport:
    """`open_transport`'s hook for `replay://`: connection options of the recorded
    instrument (timeout, baud rate ...) are accepted; only `timeout` is used."""
    path, mode, timing = parse_replay_url(resource)
    timeout = float(options.get("timeout", 5.0))
    return ReplayTransport(path, mode=mode, timing=timing, timeout=timeout, resource=resource)
