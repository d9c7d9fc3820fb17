"""pyserial URL handler for `iksim://`: a serial port wired to a simulated device, in-process.

    iksim://<name>                         the device attached with instrumentkit.sim.attach()
    iksim://model/<model>?seed=1&latency=0.002   a fresh instance of a registered model

Options for either form: `byte_time=1` spends each reply's transmission time at the
port's baud rate (10 bits per byte at 8N1) on the device's clock. Model URLs also take
`clock=manual` (a ManualClock: delays cost no real time) and the model's own parameters.
pyserial finds this module because importing `instrumentkit.sim` appends that package to
`serial.protocol_handler_packages`. The device model is `port.device`; the port settings
it was opened with are in `device.line_settings`.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from instrumentkit._yaml import load_yaml
from instrumentkit.errors import ConfigError
from instrumentkit.sim._clock import ManualClock
from instrumentkit.sim._device import Device, Packet
from instrumentkit.sim._registry import attached, create

__all__ = ["Serial"]

_in_use: dict[int, str] = {}
_in_use_lock = threading.Lock()
_PARITY_BITS = {"N": 0, "E": 1, "O": 1, "M": 1, "S": 1}


def _value(text: str) -> Any:
    # Plain scalars only, read like every YAML a user writes: "1" -> 1, "true" -> True,
    # "5e-4" -> 0.0005 (YAML 1.2 numbers); anything else stays the text it was.
    try:
        loaded = load_yaml(text, source="iksim URL")
    except ConfigError:
        return text
    return loaded if isinstance(loaded, (int, float, bool, str)) else text


class Serial(SerialBase):
    """A serial port whose far end is a simulated device."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.device: Device | None = None
        self.byte_time = False
        self._rx = bytearray()
        self._lost = False
        self._line_free_at = 0.0
        super().__init__(*args, **kwargs)

    # -- opening
    def open(self) -> None:
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        device = self._device_for(str(self._port))
        with _in_use_lock:
            if id(device) in _in_use:
                raise SerialException(
                    f"{self._port} is busy: already open as {_in_use[id(device)]}"
                )
            _in_use[id(device)] = str(self._port)
        self.device = device
        self._rx.clear()
        self._lost = False
        self.is_open = True
        self._reconfigure_port()
        device.host_connected()

    def _device_for(self, url: str) -> Device:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "iksim":
            raise SerialException(f"expected an iksim:// URL, got {url!r}")
        options = {k: _value(v[-1]) for k, v in urllib.parse.parse_qs(parts.query).items()}
        self.byte_time = bool(options.pop("byte_time", False))
        try:
            if parts.netloc == "model":
                if options.get("clock") == "manual":
                    options["clock"] = ManualClock()
                return create(parts.path.strip("/"), **options)
            if options:
                raise SerialException(f"{url}: options {sorted(options)} only apply to models")
            return attached(parts.netloc)
        except (LookupError, ValueError) as error:
            raise SerialException(f"cannot open {url}: {error}") from error

    def _reconfigure_port(self) -> None:
        if not isinstance(self._baudrate, int) or not 0 < self._baudrate < 2**32:
            raise ValueError(f"invalid baudrate: {self._baudrate!r}")
        if self.device is not None:
            self.device.line_settings = self.get_settings()

    def close(self) -> None:
        if self.is_open and self.device is not None:
            with _in_use_lock:
                _in_use.pop(id(self.device), None)
            self.device.host_disconnected()
        self.is_open = False
        super().close()

    # -- bytes
    def _arrived(self, packet: Packet) -> None:
        if self.byte_time and packet.data:
            assert self.device is not None
            bits = 1 + self._bytesize + _PARITY_BITS.get(self._parity, 0) + self._stopbits
            start = max(self._line_free_at, packet.release)
            self._line_free_at = start + len(packet.data) * bits / self._baudrate
            self.device.clock.wait_until(self._line_free_at, None)
        self._rx += packet.data
        if packet.disconnect:
            self._lost = True
            assert self.device is not None
            self.device.host_disconnected()

    def _collect_released(self) -> None:
        assert self.device is not None
        while not self._lost and (packet := self.device.outbox.released()) is not None:
            self._arrived(packet)

    def _check_open(self) -> Device:
        if not self.is_open or self.device is None:
            raise PortNotOpenError()
        return self.device

    @property
    def in_waiting(self) -> int:
        self._check_open()
        self._collect_released()
        return len(self._rx)

    def read(self, size: int = 1) -> bytes:
        device = self._check_open()
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        self._collect_released()
        while len(self._rx) < size and not self._lost and timeout != 0:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            packet = device.outbox.take(remaining)
            if packet is not None:
                self._arrived(packet)
        if not self._rx and self._lost:
            raise SerialException("the simulated device dropped the connection")
        data = bytes(self._rx[:size])
        del self._rx[:size]
        return data

    def write(self, data: bytes | bytearray | memoryview) -> int:
        device = self._check_open()
        if self._lost:
            raise SerialException("the simulated device dropped the connection")
        payload = bytes(data)
        device.host_write(payload)
        return len(payload)

    def reset_input_buffer(self) -> None:
        self._check_open()
        self._collect_released()
        self._rx.clear()

    def reset_output_buffer(self) -> None:
        self._check_open()

    @property
    def out_waiting(self) -> int:
        return 0

    # Control lines: nothing to drive, but pyserial calls these on open.
    def _update_rts_state(self) -> None:
        pass

    def _update_dtr_state(self) -> None:
        pass

    def _update_break_state(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True
