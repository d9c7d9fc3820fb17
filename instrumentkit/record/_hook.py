"""Where opening an instrument meets recording and replay: `record=`, INSTRUMENTKIT_RECORD,
and the recorded terminators and driver a `replay://` resource brings along."""

from __future__ import annotations

import datetime
import functools
import importlib
import os
import platform
import re
import threading
from collections.abc import Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any

from instrumentkit._version import __version__
from instrumentkit.errors import ConfigError, DriverNotFound, InstrumentError
from instrumentkit.record._format import load_recording
from instrumentkit.record._recorder import RecordingTransport
from instrumentkit.record._replay import SCHEME, ReplayTransport, parse_replay_url
from instrumentkit.session import Session
from instrumentkit.transport import Transport

if TYPE_CHECKING:
    from instrumentkit.instrument import Instrument

__all__ = ["ENVIRONMENT", "apply_recorded_session", "recorded_driver", "start_recording"]

ENVIRONMENT = "INSTRUMENTKIT_RECORD"
"""A directory: every instrument a script opens is recorded there as `<name>.rec.yaml`."""
_SERIAL_KEYS = ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "rtscts", "dsrdtr")
_taken: set[str] = set()
_taken_lock = threading.Lock()


def _file_for(directory: str, name: str) -> str:
    """`DIR/<name>.rec.yaml`, numbered when this process already records one of that name."""
    os.makedirs(directory, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "instrument"
    with _taken_lock:
        number = 1
        path = os.path.join(directory, f"{stem}.rec.yaml")
        while path in _taken:
            number += 1
            path = os.path.join(directory, f"{stem}-{number}.rec.yaml")
        _taken.add(path)
    return path


def _versions(driver: type) -> dict[str, str]:
    versions = {"instrumentkit": __version__, "python": platform.python_version()}
    for package in ("pyvisa", "pyvisa-py", "pyserial", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    top = driver.__module__.split(".")[0]
    try:  # most packages are distributed under their import name
        versions["driver"] = f"{top} {metadata.version(top)}"
    except metadata.PackageNotFoundError:
        for dist in _distributions().get(top, [])[:1]:
            versions["driver"] = f"{dist} {metadata.version(dist)}"
    return versions


@functools.cache
def _distributions() -> Mapping[str, list[str]]:
    """Import name -> distributions (reads every installed package's metadata: ~1 s)."""
    return metadata.packages_distributions()


def _ask_idn(transport: Transport, write_termination: str, read_termination: str) -> str | None:
    """The `*IDN?` reply, asked before recording starts (None if it does not answer)."""
    session = Session(
        transport, write_termination=write_termination, read_termination=read_termination
    )
    try:
        return session.query("*IDN?")
    except InstrumentError:
        return None


def _connection(
    transport: Transport, options: dict[str, Any], write_termination: str, read_termination: str
) -> dict[str, Any]:
    connection: dict[str, Any] = {
        "write_termination": write_termination,
        "read_termination": read_termination,
        "timeout": float(options.get("timeout", transport.timeout)),
    }
    settings = getattr(transport, "settings", None)
    framing = dict(settings) if isinstance(settings, dict) else {}
    framing.update({k: options[k] for k in _SERIAL_KEYS if k in options})
    connection.update({k: framing[k] for k in _SERIAL_KEYS if k in framing})
    if options.get("backend"):
        connection["backend"] = options["backend"]
    return connection


def start_recording(
    transport: Transport,
    record: str | os.PathLike[str] | None,
    driver: type[Instrument],
    *,
    name: str | None,
    options: dict[str, Any],
    idn: str | None = None,
    write_termination: str | None = None,
    read_termination: str | None = None,
) -> Transport:
    """`transport` wrapped in a recorder when `record` or INSTRUMENTKIT_RECORD asks for one.

    Replays and transports already recorded are returned as they are (nothing is recorded
    twice). A driver that matches on `*IDN?` is asked for it first, unrecorded, so the
    header holds the identity even when the script never asks.
    """
    if isinstance(transport, (RecordingTransport, ReplayTransport)):
        return transport
    label = name or driver.__name__
    if record is not None:
        path = os.fspath(record)
    else:
        directory = os.environ.get(ENVIRONMENT)
        if not directory:
            return transport
        path = _file_for(directory, label)
    write_term = driver.write_termination if write_termination is None else write_termination
    read_term = driver.read_termination if read_termination is None else read_termination
    if idn is None and driver.idn_patterns:
        idn = _ask_idn(transport, write_term, read_term)
    header = {
        "resource": transport.resource,
        "name": label,
        "driver": f"{driver.__module__}.{driver.__qualname__}",
        "idn": idn,
        "recorded": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(driver),
        "connection": _connection(transport, options, write_term, read_term),
    }
    try:
        return RecordingTransport(transport, path, header)
    except OSError as error:
        raise ConfigError(
            f"cannot write the recording: {error.strerror or error}; check the directory "
            "exists and is writable",
            source=path,
        ) from None


def recorded_driver(resource: str) -> tuple[type[Instrument], dict[str, Any]]:
    """The driver class a `replay://` recording was made with, and its header."""
    from instrumentkit.registry import registered_drivers

    path, _, _ = parse_replay_url(resource)
    header = load_recording(path).header
    qualified = str(header.get("driver") or "")
    for cls in registered_drivers():
        if f"{cls.__module__}.{cls.__qualname__}" == qualified:
            return cls, header
    module_name, _, class_name = qualified.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise DriverNotFound(
            f"the recording names driver {qualified!r}, which is not installed; pass "
            "driver=... to open it with another",
            instrument=resource,
        ) from None
    return cls, header  # type: ignore[no-any-return]


def apply_recorded_session(instrument: Instrument) -> None:
    """On a replay, use the terminators the recording was made with."""
    transport = instrument.session.transport
    if not isinstance(transport, ReplayTransport):
        return
    connection = transport.recording.connection
    if isinstance(connection.get("write_termination"), str):
        instrument.session.write_termination = connection["write_termination"]
    if isinstance(connection.get("read_termination"), str):
        instrument.session.read_termination = connection["read_termination"]


def is_replay(resource: object) -> bool:
    return isinstance(resource, str) and resource.startswith(SCHEME)
