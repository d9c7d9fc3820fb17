"""Hold a HiSLIP instrument's lock (exclusive or shared) for a sequence of exchanges.

Our HislipTransport asks for locks on its asynchronous channel. pyvisa-py's VISA-level
HiSLIP session has no `lock`/`unlock`; its protocol client
(`pyvisa_py.protocols.hislip.Instrument`) does, so under a `VisaTransport` (a `backend=`
was given) this reaches that client. Either asks for the lock and gives it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from instrumentkit.errors import ConfigError, InstrumentError, Timeout
from instrumentkit.transport import Transport

__all__ = ["hislip_client", "hold_lock"]


def hislip_client(transport: Transport) -> Any | None:
    """The HiSLIP client of `transport` (ours, or pyvisa-py's under a VisaTransport), or None.
    Both answer `async_lock_request(timeout, key)` and `async_lock_release()` alike."""
    from instrumentkit.hislip_transport import HislipTransport

    if isinstance(transport, HislipTransport):
        return transport
    visa = getattr(transport, "visa", None)
    if visa is None:
        return None
    try:
        from pyvisa_py.protocols.hislip import Instrument
    except ImportError:  # pragma: no cover - pyvisa-py is a base dependency
        return None
    try:
        interface = visa.visalib.sessions[visa.session].interface
    except (AttributeError, KeyError, TypeError):
        return None  # another VISA library, or a closed resource
    return interface if isinstance(interface, Instrument) else None


@contextmanager
def hold_lock(transport: Transport, name: str, timeout: float, key: str) -> Iterator[None]:
    client = hislip_client(transport)
    if client is None:
        raise ConfigError(
            f"{name}: locks are for HiSLIP resources (TCPIP::host::hislip0::INSTR); "
            f"{transport.resource!r} is not one"
        )
    kind = f"shared lock {key!r}" if key else "exclusive lock"
    previous = client.timeout
    client.timeout = max(previous, timeout + 2.0)  # the answer comes after the lock wait
    try:
        answer = client.async_lock_request(timeout, key)
    finally:
        client.timeout = previous
    if answer == "failure":
        raise Timeout(
            f"the {kind} was not granted within {timeout:g} s: another client holds the "
            "instrument; try again later or with a longer timeout",
            instrument=name,
            timeout=timeout,
        )
    if answer != "success":
        raise InstrumentError(
            f"the server refused the {kind} ({answer}): observers of a shared instrument "
            "may not lock it, and a client holds one lock of each kind at most",
            instrument=name,
        )
    try:
        yield
    finally:
        client.async_lock_release()
