"""Open the right transport for a resource string.

| resource                                  | transport                          |
|-------------------------------------------|------------------------------------|
| `TCPIP[n]::host::port::SOCKET`            | SocketTransport (direct TCP)       |
| `TCPIP[n]::host::hislip<x>[,port]::INSTR` | HislipTransport (direct HiSLIP)    |
| `COM3`, `/dev/ttyUSB0`, `scheme://...`    | SerialTransport (pyserial URL)     |
| any other VISA resource, or `backend=...` | VisaTransport (pyvisa)             |
| an open pyvisa resource / a Transport     | wrapped / used as it is            |
| `replay://path/to/x.rec.yaml`             | ReplayTransport (a recording)      |
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from instrumentkit.errors import ConfigError, ConnectionFailed, Timeout
from instrumentkit.transport import Transport

__all__ = ["ConnectionOptions", "ParsedResource", "open_transport", "parse_resource"]

_SOCKET = re.compile(r"^TCPIP\d*::([^:]+)::(\d+)::SOCKET$", re.IGNORECASE)
_HISLIP = re.compile(r"^TCPIP\d*::([^:]+)::(hislip[^,:]*)(?:,(\d+))?::INSTR$", re.IGNORECASE)
_SERIAL_PORT = re.compile(r"^(COM\d+|/dev/\S+)$", re.IGNORECASE)
_SERIAL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://(?!.*::)", re.IGNORECASE)
"""A pyserial URL; `ASRLsocket://host:port::INSTR` is a VISA resource, not a URL."""


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


_SCHEME_HOOKS = {"replay://": "instrumentkit.record:open_replay"}
"""Resource prefixes opened by a function of another module (`module:function`), which
gets the resource and the connection options."""
_SERIAL_KEYS = ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "rtscts", "dsrdtr")
# pyserial URL schemes that carry no serial framing (bytes go over TCP or nowhere).
_FRAMELESS_SCHEMES = ("socket", "loop", "spy")


@dataclass(frozen=True, slots=True)
class ParsedResource:
    """What a resource string names, found without opening anything."""

    resource: str
    transport: Literal["socket", "hislip", "serial", "visa"]
    """Which transport `open_transport` would use."""
    serial_line: bool
    """True when serial framing (baud rate, bits, parity) applies: a port, a serial URL
    or a VISA `ASRL` resource."""


def _serial_scheme_known(scheme: str) -> bool:
    import serial

    if scheme == "iksim":
        return True  # registered when instrumentkit.sim is imported
    return any(
        importlib.util.find_spec(f"{package}.protocol_{scheme}") is not None
        for package in serial.protocol_handler_packages
    )


def _transport_for(
    resource: str, backend: str | None
) -> Literal["socket", "hislip", "serial", "visa"]:
    if backend is not None:
        return "visa"
    if _SOCKET.match(resource):
        return "socket"
    if _HISLIP.match(resource):
        return "hislip"
    if _SERIAL_PORT.match(resource) or _SERIAL_URL.match(resource):
        return "serial"
    return "visa"


def parse_resource(resource: str, *, backend: str | None = None) -> ParsedResource:
    """Check that `resource` is a resource string `open_transport` understands.

    Nothing is opened and nothing is sent. Raises ConfigError naming the resource and the
    forms accepted. VISA resources are checked with pyvisa's own parser, so VISA aliases
    (names defined in a vendor VISA's configuration) are not accepted here.
    """
    if not isinstance(resource, str) or not resource.strip():
        raise ConfigError(f"a resource must be a non-empty string, not {resource!r}")
    transport = _transport_for(resource, backend)
    if transport in ("socket", "hislip"):
        return ParsedResource(resource, transport, serial_line=False)
    if transport == "serial" and _SERIAL_PORT.match(resource):
        return ParsedResource(resource, "serial", serial_line=True)
    if transport == "serial":
        scheme = resource.split("://", 1)[0].lower()
        if not _serial_scheme_known(scheme):
            raise ConfigError(
                f"{resource!r}: pyserial has no URL handler for {scheme!r}; known forms are "
                "socket://host:port, rfc2217://host:port, loop://, iksim://name"
            )
        return ParsedResource(resource, "serial", serial_line=scheme not in _FRAMELESS_SCHEMES)
    from pyvisa import rname

    try:
        parsed = rname.parse_resource_name(resource)
    except rname.InvalidResourceName as error:
        raise ConfigError(
            f"{resource!r} is not a resource: {error}. Use a VISA resource "
            "(TCPIP::host::INSTR, TCPIP::host::port::SOCKET, USB0::...::INSTR, "
            "GPIB0::12::INSTR, ASRL1::INSTR), a serial port (COM3, /dev/ttyUSB0) or a "
            "pyserial URL (socket://host:port)"
        ) from None
    serial_line = parsed.interface_type == "ASRL" and not any(
        parsed.board.lower().startswith(f"{scheme}://")  # type: ignore[attr-defined]
        for scheme in _FRAMELESS_SCHEMES
    )
    return ParsedResource(resource, "visa", serial_line=serial_line)


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


def _scheme_hook(resource: str) -> Callable[..., Any] | None:
    for prefix, target in _SCHEME_HOOKS.items():
        if resource.startswith(prefix):
            module_name, _, function = target.partition(":")
            return getattr(importlib.import_module(module_name), function)  # type: ignore[no-any-return]
    return None


def open_transport(resource: Any, **options: Any) -> Transport:
    """Open `resource` with `options` (see ConnectionOptions).

    Raises ConnectionFailed (refused, no such port or resource, port busy) or Timeout (no
    answer within `timeout`, which also bounds the open), both naming the resource.
    """
    if isinstance(resource, Transport):
        return resource
    if isinstance(resource, str) and (hook := _scheme_hook(resource)) is not None:
        return hook(resource, **options)  # type: ignore[no-any-return]
    timeout = float(options.pop("timeout", 5.0))
    backend = options.pop("backend", None)
    serial_options = {k: options.pop(k) for k in _SERIAL_KEYS if k in options}
    if options:
        raise TypeError(f"unknown connection options: {sorted(options)}")
    try:
        if not isinstance(resource, str):
            from instrumentkit.visa_transport import VisaTransport

            return VisaTransport(resource, timeout=timeout)
        kind = _transport_for(resource, backend)
        socket_match = _SOCKET.match(resource)
        if kind == "socket" and socket_match:
            from instrumentkit.socket_transport import SocketTransport

            host, port = socket_match.groups()
            return SocketTransport(host, int(port), timeout=timeout, resource=resource)
        hislip_match = _HISLIP.match(resource)
        if kind == "hislip" and hislip_match:
            from instrumentkit.hislip_transport import DEFAULT_HISLIP_PORT, HislipTransport

            host, sub_address, port = hislip_match.groups()
            return HislipTransport(
                host, int(port or DEFAULT_HISLIP_PORT), sub_address, timeout=timeout,
                resource=resource,
            )  # fmt: skip
        if kind == "serial":
            from instrumentkit.serial_transport import SerialTransport

            if resource.startswith("iksim://"):
                import instrumentkit.sim  # noqa: F401  registers the simulated lab's URL scheme

            return SerialTransport(resource, timeout=timeout, **serial_options)
        from instrumentkit.visa_transport import VisaTransport

        visa_options = (
            _visa_serial_options(serial_options) if resource.upper().startswith("ASRL") else {}
        )
        return VisaTransport(resource, backend=backend or "", timeout=timeout, **visa_options)
    except (ConnectionFailed, Timeout):
        raise
    except TimeoutError as error:
        raise Timeout(
            f"{error or 'no answer'}; check the address and that the instrument is on and "
            "reachable (a host that drops connections makes every open wait its timeout)",
            instrument=str(resource),
            timeout=timeout,
        ) from error
    except OSError as error:  # ConnectionError and the rest: refused, unreachable, no port
        raise ConnectionFailed(
            f"{error}; check the address, the cable, and that no other program holds the port",
            instrument=str(resource),
        ) from error
