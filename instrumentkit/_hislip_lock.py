"""Hold a HiSLIP instrument's lock (exclusive or shared) for a sequence of exchanges.

Our HislipTransport asks for locks on its asynchronous channel. pyvisa-py's VISA-level
HiSLIP session has no `lock`/`unlock`; its protocol client
(`pyvisa_py.protocols.hislip.Instrument`) does, so under a `VisaTransport` (a `backend=`
was given) this reaches that client. Either asks for the lock and gives it back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from instrumentkit.errors import ConfigError, InstrumentError, Timeout
from instrumentkit.transport import PeerReportedError, Transport

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
def hold_lock(
    transport: Transport,
    name: str,
    timeout: float,
    key: str,
    translate: Callable[[OSError, str | None], Exception],
) -> Iterator[None]:
    """Hold the lock for the block; `translate` turns the client's I/O errors into the
    session's (naming the instrument)."""
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
    except (OSError, RuntimeError) as error:  # e.g. a server without locks answers Error
        raise translate(_as_os_error(error), f"(request the {kind})") from error
    finally:
        client.timeout = previous
    if answer == "failure":
        raise Timeout(
            f"the {kind} was not granted within {timeout:g} s: another client holds the "
            "instrument; try again later or with a longer timeout",
            instrument=name,
            timeout=timeout,
        )
    if answer not in _GRANTED:
        raise InstrumentError(
            f"the server refused the {kind} ({answer}): observers of a shared instrument "
            "may not lock it, and a client holds one lock of each kind at most",
            instrument=name,
        )
    done = False
    try:
        yield
        done = True
    finally:
        _release(client, name, kind, translate, report=done)


_GRANTED = ("success", "success shared")
"""Lock answers that grant it ("success shared", pyvisa-py's name for code 2, is not in
IVI-6.1 for a request, but a server that sends it granted the lock)."""


def _release(
    client: Any,
    name: str,
    kind: str,
    translate: Callable[[OSError, str | None], Exception],
    *,
    report: bool,
) -> None:
    """Give the lock back; with `report` (the block ran through) a failed release is
    raised, else it would hide the block's own error."""
    try:
        answer = client.async_lock_release()
    except (OSError, RuntimeError) as error:
        if report:
            raise translate(_as_os_error(error), f"(release the {kind})") from error
        return
    if answer == "error" and report:
        raise InstrumentError(
            f"the server says this client held no lock when releasing the {kind}: the lock "
            "was lost during the block (a device clear, a reconnect), so another client may "
            "have used the instrument in between; check the results of the block",
            instrument=name,
        )


def _as_os_error(error: OSError | RuntimeError) -> OSError:
    """pyvisa-py's protocol client raises RuntimeError for what ours raises as OSError: a
    server's Error answer (it read the whole message: in step), a dropped connection, or a
    header it could not read (out of step)."""
    if isinstance(error, OSError):
        return error
    text = f"pyvisa-py's HiSLIP client: {error}"
    if "received 'Error" in str(error):
        return PeerReportedError(text)
    if "dropped" in str(error):
        return ConnectionResetError(text)
    return OSError(text)
