"""A recording served as a simulated device: over loopback TCP, `iksim://` or `socket://`.

Programs in other processes or languages then run against the recorded instrument. Each
new connection starts the recording from its beginning; a message the recording does not
have is logged side by side (as replay raises it) and gets no reply.
"""

from __future__ import annotations

import logging
from typing import Any

from instrumentkit.record._format import Recording, load_recording
from instrumentkit.record._replay import Timing
from instrumentkit.record._script import Mode, ReplayMismatch, Script
from instrumentkit.sim._device import Device
from instrumentkit.sim._registry import attach
from instrumentkit.sim._server import LabServer, serve

__all__ = ["ReplayDevice", "serve_recording"]

log = logging.getLogger("instrumentkit.record")


class ReplayDevice(Device):
    """Answers what a host writes with the replies of `recording`."""

    def __init__(
        self,
        recording: Recording | str,
        *,
        mode: Mode = "strict",
        timing: Timing = "drop",
        **device_options: Any,
    ) -> None:
        super().__init__(**device_options)
        self.recording = load_recording(recording) if isinstance(recording, str) else recording
        self.mode = mode
        self.keep_timing = timing == "keep"
        self.script = Script(self.recording, mode)
        self._writes = {e.write for e in self.recording.exchanges if e.write is not None}

    def host_connected(self) -> None:
        super().host_connected()
        with self.lock:
            self.script = Script(self.recording, self.mode)
            for exchange in self.script.unasked():
                self.send(exchange.reply)

    def _message_length(self, inbox: bytes) -> int | None:
        """Bytes of the next recorded message at the start of `inbox`; None: wait for more."""
        if self.mode == "strict":
            script = self.script
            if script.position >= len(script.exchanges):
                return len(inbox)
            expected = script.exchanges[script.position].write or b""
            if inbox.startswith(expected):
                return len(expected)
            return None if expected.startswith(inbox) else len(inbox)
        whole = [len(write) for write in self._writes if inbox.startswith(write)]
        if whole:
            return max(whole)
        return None if any(write.startswith(inbox) for write in self._writes) else len(inbox)

    def receive(self, data: bytes) -> None:
        inbox = self._inbox
        inbox += data
        while inbox and (length := self._message_length(bytes(inbox))) is not None:
            message = bytes(inbox[:length])
            del inbox[:length]
            try:
                exchange = self.script.answer(message)
            except ReplayMismatch as mismatch:
                log.error("%s", mismatch)
                inbox.clear()
                return
            if exchange.reply:
                self.send(exchange.reply, delay=exchange.took if self.keep_timing else 0.0)
            for unasked in self.script.unasked():
                self.send(unasked.reply)


def serve_recording(
    path: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str | None = None,
    mode: Mode = "strict",
    timing: Timing = "drop",
) -> LabServer:
    """Serve the recording at `path` on TCP (`server.resource(name)`), and attach it as
    `iksim://<name>` for this process's serial clients. A context manager."""
    device = ReplayDevice(path, mode=mode, timing=timing)
    label = name or "recording"
    attach(label, device)
    return serve({label: device}, host=host, ports={label: port})
