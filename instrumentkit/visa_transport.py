"""A transport over pyvisa: pyvisa-py by default, a vendor VISA if installed, pyvisa-sim on demand.

Reads go straight to the VISA library (`visalib.read`), skipping pyvisa's high-level
wrappers, and binary reads switch the termination character off: with it on, a reply
stops at every terminator byte that happens to sit inside the binary payload.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError
from pyvisa.resources import MessageBasedResource

from instrumentkit.transport import TransportBase

__all__ = ["VisaTransport", "resource_manager"]

_CHUNK = 1 << 20
_OPEN_FLOOR = 0.5
"""Seconds an open may always take, however short the I/O timeout (a first USB or
GPIB open enumerates the bus)."""
_MAX_COUNT = constants.StatusCode.success_max_count_read
_MANAGERS: dict[str, pyvisa.ResourceManager] = {}
_MANAGERS_LOCK = threading.Lock()
_TIMEOUT_CODES = {constants.StatusCode.error_timeout}
_LOST_CODES = {
    constants.StatusCode.error_connection_lost,
    constants.StatusCode.error_invalid_object,
    constants.StatusCode.error_closing_failed,
    constants.StatusCode.error_io,
}


def resource_manager(backend: str = "") -> pyvisa.ResourceManager:
    """One ResourceManager per backend per process (opening one costs ~0.3 s)."""
    with _MANAGERS_LOCK:
        manager = _MANAGERS.get(backend)
        if manager is not None:
            try:
                manager.session  # noqa: B018  raises once someone closed the shared manager
            except pyvisa.errors.InvalidSession:
                manager = None
        if manager is None:
            manager = pyvisa.ResourceManager(backend)
            _MANAGERS[backend] = manager
        return manager


def _as_builtin(error: VisaIOError, what: str) -> OSError:
    if error.error_code in _TIMEOUT_CODES:
        return TimeoutError(what)
    if error.error_code in _LOST_CODES:
        return ConnectionError(f"{what}: {error.description}")
    return OSError(f"{what}: {error.description}")


def _open_resource(
    manager: pyvisa.ResourceManager, resource: str, options: dict[str, Any]
) -> pyvisa.resources.Resource:
    try:
        return manager.open_resource(resource, **options)
    except VisaIOError as error:
        raise ConnectionError(f"cannot open {resource}: {error.description}") from error
    except pyvisa.errors.Error as error:  # unknown interface, missing backend support
        raise ConnectionError(f"cannot open {resource}: {error}") from error
    except ValueError as error:  # a resource string pyvisa cannot parse
        raise ConnectionError(f"cannot open {resource}: {error}") from error


def _open_within(
    manager: pyvisa.ResourceManager, resource: str, timeout: float, options: dict[str, Any]
) -> pyvisa.resources.Resource:
    """Open `resource`, giving up after `timeout` seconds whatever the backend does.

    pyvisa-py's VXI-11 client waits ~5 s for a silent port mapper whatever the timeout
    asked for, so the open runs in a worker thread and the caller waits only `timeout`.
    A worker that finishes after the caller gave up closes what it opened.
    """
    outcome: list[Any] = []
    lock = threading.Lock()
    abandoned = threading.Event()

    def work() -> None:
        try:
            result: Any = _open_resource(manager, resource, options)
        except BaseException as error:  # handed to the caller, who raises it
            result = error
        with lock:
            if not abandoned.is_set():
                outcome.append(result)
                return
        if not isinstance(result, BaseException):
            with contextlib.suppress(Exception):
                result.close()

    worker = threading.Thread(target=work, name=f"open {resource}", daemon=True)
    worker.start()
    worker.join(max(timeout, _OPEN_FLOOR))
    with lock:
        if not outcome:
            abandoned.set()
            waited = max(timeout, _OPEN_FLOOR)
            raise TimeoutError(f"no answer while opening within {waited:g} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[no-any-return]


class VisaTransport(TransportBase):
    """Bytes over a pyvisa message-based resource."""

    def __init__(
        self,
        resource: str | MessageBasedResource,
        *,
        backend: str = "",
        timeout: float = 5.0,
        **resource_options: Any,
    ) -> None:
        self._opening: tuple[str, str, dict[str, Any]] | None = None
        if isinstance(resource, str):
            self._opening = (resource, backend, resource_options)
            opened = self._open(timeout)
        else:
            opened = resource
        self._owns_resource = self._opening is not None
        self._adopt(opened)
        self.timeout = timeout

    def _open(self, timeout: float) -> MessageBasedResource:
        assert self._opening is not None
        resource, backend, options = self._opening
        opened = _open_within(resource_manager(backend), resource, timeout, options)
        if not isinstance(opened, MessageBasedResource):
            opened.close()
            raise ConnectionError(f"{resource} is not a message-based resource")
        return opened

    def _adopt(self, opened: MessageBasedResource) -> None:
        self.visa = opened
        self.resource = str(opened.resource_name)
        self._lib = opened.visalib
        self._session = opened.session
        # Terminators are handled here, not by pyvisa: it must neither append nor strip.
        opened.write_termination = ""
        self._termchar: int | None = -1
        self._set_termchar(None)

    def reopen(self) -> None:
        """Open the resource again after the link was lost; a resource handed in already
        open cannot be (its owner opened it), so that stays a ConnectionError."""
        if self._opening is None:
            raise ConnectionError("the VISA resource was opened by its caller: reopen it there")
        with contextlib.suppress(VisaIOError, pyvisa.errors.InvalidSession):
            self.visa.close()
        self._adopt(self._open(self._timeout))
        self.timeout = self._timeout

    @property
    def timeout(self) -> float:
        return self._timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._timeout = seconds
        self.visa.timeout = seconds * 1000.0

    def _set_termchar(self, byte: int | None) -> None:
        if byte == self._termchar:
            return
        if byte is None:
            self._lib.set_attribute(
                self._session, constants.ResourceAttribute.termchar_enabled, False
            )
        else:
            self._lib.set_attribute(self._session, constants.ResourceAttribute.termchar, byte)
            self._lib.set_attribute(
                self._session, constants.ResourceAttribute.termchar_enabled, True
            )
        self._termchar = byte

    def write(self, data: bytes) -> None:
        try:
            self._lib.write(self._session, data)
        except VisaIOError as error:
            raise _as_builtin(error, "write failed") from error
        except pyvisa.errors.InvalidSession as error:
            raise ConnectionError(f"write failed: {error}") from error

    def read_until(self, terminator: bytes) -> bytes:
        self._set_termchar(terminator[-1] if terminator else None)
        parts: list[bytes] = []
        lib, session = self._lib, self._session
        try:
            # A reply longer than one chunk ends a read with "max count": expected here.
            with lib.ignore_warning(session, _MAX_COUNT):
                while True:
                    chunk, status = lib.read(session, _CHUNK)
                    parts.append(chunk)
                    if status == _MAX_COUNT:
                        continue
                    if (
                        len(terminator) > 1
                        and not chunk.endswith(terminator)
                        and (status == constants.StatusCode.success_termination_character_read)
                    ):
                        continue  # the last byte of a multi-byte terminator, alone
                    break
        except VisaIOError as error:
            raise _as_builtin(error, "read failed") from error
        except pyvisa.errors.InvalidSession as error:
            raise ConnectionError(f"read failed: {error}") from error
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if terminator and data.endswith(terminator):
            return data[: -len(terminator)]
        return data

    def read_into(self, buffer: memoryview) -> None:
        self._set_termchar(None)
        lib, session = self._lib, self._session
        position, total = 0, len(buffer)
        try:
            # Stopping at the requested count is how these reads end, not a warning.
            with lib.ignore_warning(session, _MAX_COUNT):
                while position < total:
                    chunk, _ = lib.read(session, min(total - position, _CHUNK))
                    buffer[position : position + len(chunk)] = chunk
                    position += len(chunk)
        except VisaIOError as error:
            raise _as_builtin(error, f"read failed after {position} of {total} bytes") from error

    def drain(self, quiet: float, limit: float) -> int:
        """Drop what arrives until a read of `quiet` s gets nothing."""
        self._set_termchar(None)
        lib, session = self._lib, self._session
        dropped = 0
        deadline = time.monotonic() + limit
        self.visa.timeout = quiet * 1000.0
        try:
            with lib.ignore_warning(session, _MAX_COUNT):
                while time.monotonic() < deadline:
                    try:
                        chunk, _ = lib.read(session, _CHUNK)
                    except VisaIOError as error:
                        if error.error_code in _TIMEOUT_CODES:
                            return dropped
                        raise _as_builtin(error, "drain failed") from error
                    dropped += len(chunk)
            return -1
        finally:
            self.visa.timeout = self._timeout * 1000.0

    def clear(self) -> None:
        """Device clear (USBTMC, VXI-11, HiSLIP, GPIB); a no-op where the backend has none."""
        try:
            self.visa.clear()
        except (NotImplementedError, AttributeError):
            return  # pyvisa-sim and some raw sockets: the drain and the sync must do
        except VisaIOError as error:
            if error.error_code in _TIMEOUT_CODES | _LOST_CODES:
                raise _as_builtin(error, "device clear failed") from error

    def close(self) -> None:
        if self._owns_resource:
            with contextlib.suppress(VisaIOError):
                self.visa.close()
