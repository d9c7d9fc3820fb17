"""Find the instruments attached to this computer: serial ports and VISA resources.

Network discovery (VXI-11 broadcast, mDNS for HiSLIP) sends packets to every LAN the
computer is on, so it runs only when asked for with `network=True`.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

__all__ = ["FoundResource", "find_resources"]


@dataclass(frozen=True, slots=True)
class FoundResource:
    resource: str
    kind: str
    description: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _serial_ports() -> list[FoundResource]:
    from serial.tools import list_ports

    return [
        FoundResource(port.device, "serial", port.description or "")
        for port in sorted(list_ports.comports(), key=lambda p: p.device)
    ]


_INSTRUMENT_CLASSES = ("INSTR", "SOCKET", "RAW")
"""VISA resource classes that are instruments; INTFC (interface boards, Prologix
adapters pyvisa-py offers on every serial port) and BACKPLANE are not."""


def _is_instrument(resource: str) -> bool:
    from pyvisa import rname

    try:
        return rname.parse_resource_name(resource).resource_class in _INSTRUMENT_CLASSES
    except rname.InvalidResourceName:
        return False


def _visa_resources(network: bool) -> list[FoundResource]:
    from pyvisa import constants

    from instrumentkit.visa_transport import resource_manager

    manager = resource_manager("")
    library = manager.visalib
    found: list[str] = []
    if type(library).__module__.startswith("pyvisa_py"):
        from pyvisa_py.sessions import Session

        for (interface, resource_class), session_class in Session.iter_valid_session_classes():
            if interface == constants.InterfaceType.tcpip and not network:
                continue
            if interface == constants.InterfaceType.asrl:
                continue  # listed as serial ports already
            if resource_class not in _INSTRUMENT_CLASSES:
                continue
            try:
                found += session_class.list_resources()
            except Exception:  # a bus whose backend is missing (no libusb, no gpib)
                continue
    else:
        found += [r for r in manager.list_resources("?*") if network or not r.startswith("TCPIP")]
    return [FoundResource(r, "visa", "") for r in sorted(set(found)) if _is_instrument(r)]


def find_resources(*, network: bool = False) -> list[FoundResource]:
    """Serial ports and VISA resources visible from here (LAN only with `network`).

    pyvisa-py warns about optional packages it lacks for some buses (psutil, zeroconf,
    pyusb); discovery lists what it can reach, so those warnings are not shown.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _serial_ports() + _visa_resources(network)
