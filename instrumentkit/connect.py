"""Open the right transport for a resource string.

| resource                                  | transport                          |
|-------------------------------------------|------------------------------------|
| `TCPIP[n]::host::port::SOCKET`            | SocketTransport (direct TCP)       |
| `COM3`, `/dev/ttyUSB0`, `scheme://...`    | SerialTransport (pyserial URL)     |
| any other VISA resource, or `backend=...` | VisaTransport (pyvisa)             |
| an open pyvisa resource / a Transport     | wrapped / used as it is            |
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypedDict

from instrumentkit.errors import ConnectionFailed
from instrumentkit.transport import Transport

__all__ = ["ConnectionOptions", "open_transport"]

_SOCKET = re.compile(r"^TCPIP\d*::([^:]+)::(\d+)::SOCKET$", re.IGNORECASE)
_SERIAL_PORT = re.compile(r"^(COM\d+|/dev/\S+)$", re.IGNORECASE)


class ConnectionOptions(TypedDict, total=False):
    """How to connect; every key is optional."""

    backend: str
    """pyvisa backend: "" (vendor VISA if installed, else pyvisa-py), "@py", "@ivi",
    "path/to/file.yaml@sim". Giving one always uses pyvisa, even for sockets."""
    timeout: float
    baudrate: int
    bytesize: int
    parity: Literal["N", "E", "O", "M", "S"]
    stopbits: float
    xonxoff: bool
    rtscts: bool
    dsrdtr: bool


_SERIAL_KEYS = ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "rtscts", "dsrdtr")


def _visa_serial_options(options: dict[str, Any]) -> dict[str, Any]:
    from pyvisa import constants

    parity = {
        "N": constants.Parity.none,
        "E": constants.Parity.even,
        "O": constants.Parity.odd,
        "M": constants.Parity.mark,
        "S": constants.Parity.space,
    }
    stop = {
        1: constants.StopBits.one,
        1.5: constants.StopBits.one_and_a_half,
        2: constants.StopBits.two,
    }
    translated: dict[str, Any] = {}
    if "baudrate" in options:
        translated["baud_rate"] = options["baudrate"]
    if "bytesize" in options:
        translated["data_bits"] = options["bytesize"]
    if "parity" in options:
        translated["parity"] = parity[options["parity"]]
    if "stopbits" in options:
        translated["stop_bits"] = stop[options["stopbits"]]
    return translated


def open_transport(resource: Any, **options: Any) -> Transport:
    """Open `resource` with `options` (see ConnectionOptions); raises ConnectionFailed."""
    if isinstance(resource, Transport):
        return resource
    timeout = float(options.pop("timeout", 5.0))
    backend = options.pop("backend", None)
    serial_options = {k: options.pop(k) for k in _SERIAL_KEYS if k in options}
    if options:
        raise TypeError(f"unknown connection options: {sorted(options)}")
    try:
        if not isinstance(resource, str):
            from instrumentkit.visa_transport import VisaTransport

            return VisaTransport(resource, timeout=timeout)
        socket_match = _SOCKET.match(resource)
        if socket_match and backend is None:
            from instrumentkit.socket_transport import SocketTransport

            host, port = socket_match.groups()
            return SocketTransport(host, int(port), timeout=timeout, resource=resource)
        if backend is None and ("://" in resource or _SERIAL_PORT.match(resource)):
            from instrumentkit.serial_transport import SerialTransport

            if resource.startswith("iksim://"):
                import instrumentkit.sim  # noqa: F401  registers the simulated lab's URL scheme

            return SerialTransport(resource, timeout=timeout, **serial_options)
        from instrumentkit.visa_transport import VisaTransport

        visa_options = (
            _visa_serial_options(serial_options) if resource.upper().startswith("ASRL") else {}
        )
        return VisaTransport(resource, backend=backend or "", timeout=timeout, **visa_options)
    except ConnectionError as error:
        raise ConnectionFailed(str(error), instrument=str(resource)) from error
