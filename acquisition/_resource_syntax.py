"""Is a resource string one that `instrumentkit.connect.open_transport` can open? Syntax only.

A run config's resources are checked before the lab starts or any connection opens, so a
typo (`NOTAVISA::::garbage`) is a ConfigError naming the field rather than a failure after
half the bench was set up. The forms follow `open_transport`: VISA resource names (checked
by pyvisa's own grammar, `pyvisa.rname`), serial ports (`COM3`, `/dev/ttyUSB0`) and pyserial
URLs whose scheme has a handler (`socket://`, `loop://`, `iksim://`...).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from typing import Any

from instrumentkit.errors import ConfigError

__all__ = ["resource_problem", "serial_options_problem"]

_SERIAL_PORT = re.compile(r"^(COM\d+|/dev/\S+)$", re.IGNORECASE)
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Where pyserial looks for `protocol_<scheme>` modules: its own, and the simulated lab's
# (registered when instrumentkit.sim is imported; find_spec imports that package, no lab).
_URL_PACKAGES = ("serial.urlhandler", "instrumentkit.sim")

_FORMS = (
    "a VISA resource name (TCPIP::10.0.0.5::INSTR, TCPIP::10.0.0.5::5025::SOCKET, "
    "GPIB0::12::INSTR, USB0::0x0957::0x1796::MY123::INSTR, ASRL3::INSTR), a serial port "
    "(COM3, /dev/ttyUSB0) or a pyserial URL (socket://host:port)"
)


def resource_problem(resource: str, *, backend: str | None = None) -> str | None:
    """Why `resource` cannot be opened as written, or None when its syntax is right."""
    if backend is None:
        url = _URL.match(resource)
        if url:
            return _url_problem(resource, url.group(1))
        if _SERIAL_PORT.match(resource):
            return None
    from pyvisa import rname

    try:
        parsed = rname.parse_resource_name(resource)
    except rname.InvalidResourceName as error:
        text = str(error)
        detail = text[text.index("The syntax") :] if "The syntax" in text else text.split(": ")[-1]
        return f"cannot parse resource {resource!r}: {detail.rstrip('.')}; give {_FORMS}"
    port = getattr(parsed, "port", None)
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return f"resource {resource!r}: port {port} is not a TCP port (1-65535)"
    return None


_SERIAL_OPTIONS = ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "rtscts", "dsrdtr")


def serial_options_problem(resource: str, options: Mapping[str, Any]) -> str | None:
    """Serial settings on a resource that is not a serial line would be silently ignored."""
    given = [key for key in _SERIAL_OPTIONS if key in options]
    if not given or _URL.match(resource) or _SERIAL_PORT.match(resource):
        return None
    from pyvisa import rname

    interface = rname.parse_resource_name(resource).interface_type
    if interface.upper() == "ASRL":
        return None
    verb = "applies" if len(given) == 1 else "apply"
    return (
        f"{', '.join(given)} {verb} only to serial lines (COM3, /dev/ttyUSB0, ASRL...::INSTR, "
        f"pyserial URLs), not to the {interface} resource {resource!r}"
    )


def _url_problem(resource: str, scheme: str) -> str | None:
    if scheme.lower() == "replay":  # a recorded session played back (docs/recording.md)
        from instrumentkit.record._replay import parse_replay_url

        try:  # its options (?mode=lenient) are not part of the file's name
            recording = parse_replay_url(resource)[0]
        except ConfigError as error:
            return str(error)
        if not os.path.isfile(recording):
            return f"resource {resource!r}: no recording {recording!r} to replay"
        return None
    module = f"protocol_{scheme.lower()}"
    for package in _URL_PACKAGES:
        try:
            if importlib.util.find_spec(f"{package}.{module}") is not None:
                return None
        except ImportError:
            continue
    return (
        f"resource {resource!r}: pyserial has no handler for URLs of scheme {scheme!r} "
        "(known: socket, loop, rfc2217, spy, alt, hwgrep, iksim)"
    )
