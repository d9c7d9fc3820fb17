"""Drivers found through the `instrumentkit.drivers` entry-point group, matched on `*IDN?`.

An entry point names a module with a `DRIVERS` tuple, or a driver class itself, so a
third-party package adds drivers by declaring one entry point in its own metadata.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import warnings
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from typing_extensions import Unpack

from instrumentkit._identify import Identified, identify_transport
from instrumentkit.connect import ConnectionOptions
from instrumentkit.errors import DriverNotFound
from instrumentkit.instrument import Instrument

__all__ = ["driver_by_name", "identify", "match_driver", "open", "registered_drivers"]

GROUP = "instrumentkit.drivers"


@functools.cache
def registered_drivers() -> tuple[type[Instrument], ...]:
    """Every registered driver class, in entry-point order."""
    found: list[type[Instrument]] = []
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            loaded = entry.load()
        except Exception as error:  # a broken plug-in must not hide the others
            warnings.warn(
                f"driver entry point {entry.name!r} failed to load: {error}", stacklevel=2
            )
            continue
        candidates: Any = loaded.DRIVERS if isinstance(loaded, ModuleType) else (loaded,)
        for cls in candidates:
            if isinstance(cls, type) and issubclass(cls, Instrument) and cls not in found:
                found.append(cls)
    return tuple(found)


def driver_by_name(name: str) -> type[Instrument]:
    """A registered driver by class name (case-insensitive)."""
    by_name = {cls.__name__.casefold(): cls for cls in registered_drivers()}
    try:
        return by_name[name.casefold()]
    except KeyError:
        close = difflib.get_close_matches(name, [cls.__name__ for cls in registered_drivers()], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise DriverNotFound(f"no driver named {name!r}{hint}") from None


def match_driver(idn: str) -> type[Instrument] | None:
    """The first driver one of whose `idn_patterns` matches the reply."""
    for cls in registered_drivers():
        if any(re.search(p, idn, re.IGNORECASE) for p in cls.idn_patterns):
            return cls
    return None


def _close_matches(idn: str) -> list[str]:
    model = ",".join(idn.split(",")[:2]).casefold()
    names = {f"{cls.__name__} ({', '.join(cls.idn_patterns)})": cls for cls in registered_drivers()}
    scored = sorted(
        names,
        key=lambda label: (
            -max(
                (
                    difflib.SequenceMatcher(None, model, p.casefold()).ratio()
                    for p in names[label].idn_patterns
                ),
                default=0.0,
            )
        ),
    )
    return scored[:3]


def _identified(
    resource: str,
    options: dict[str, Any],
    name: str | None,
    write_termination: str | None,
    read_termination: str | None,
) -> Identified:
    terminators = None
    if write_termination is not None or read_termination is not None:
        terminators = (
            "\n" if write_termination is None else write_termination,
            "\n" if read_termination is None else read_termination,
        )
    return identify_transport(
        resource,
        options,
        name=name,
        terminators=terminators,
        drivers=registered_drivers(),
        match=match_driver,
    )


def identify(
    resource: str,
    *,
    write_termination: str | None = None,
    read_termination: str | None = None,
    **options: Unpack[ConnectionOptions],
) -> tuple[str, type[Instrument] | None]:
    """Ask `resource` for `*IDN?`; return the reply and the driver that serves it.

    Without terminators, `*IDN?\n` is tried first, then the terminators and serial
    framings the registered drivers declare (see `open`). Raises DriverNotFound listing
    each attempt when nothing answers.
    """
    found = _identified(resource, dict(options), None, write_termination, read_termination)
    found.transport.close()
    return found.idn, found.driver


def open(
    resource: str,
    *,
    driver: str | type[Instrument] | None = None,
    name: str | None = None,
    write_termination: str | None = None,
    read_termination: str | None = None,
    record: str | os.PathLike[str] | None = None,
    **options: Unpack[ConnectionOptions],
) -> Instrument:
    """Open an instrument, picking its driver from its `*IDN?` reply unless `driver` is given.

    Identification sends `*IDN?` with LF (or `write_termination`/`read_termination` when
    given). If no usable reply comes, it tries, each for at most one second, the other
    terminators and, on serial lines, the framings that registered drivers declare (at
    most six attempts in all); a DriverNotFound then lists each attempt. Terminators given
    here are also the opened instrument's. Instruments that do not answer `*IDN?` (serial
    gauges, spectrometers with binary protocols) are opened by naming their driver.

    `record="dmm.rec.yaml"` records every exchange of the connection (so does the
    directory in INSTRUMENTKIT_RECORD); `ik.open("replay://dmm.rec.yaml")` replays one
    with the driver it was recorded with (docs/recording.md).
    """
    from instrumentkit.record._hook import is_replay, recorded_driver, start_recording

    if driver is None and is_replay(resource):  # the recording names its driver
        driver, header = recorded_driver(resource)
        name = name or header.get("name")
    if driver is not None:
        cls = driver_by_name(driver) if isinstance(driver, str) else driver
        # Only when asked: a driver's own `open` (LineSensor) may not take `record`.
        recording: dict[str, Any] = {} if record is None else {"record": record}
        instrument = cls.open(resource, name=name, **recording, **options)
        _set_terminators(instrument, write_termination, read_termination)
        return instrument
    found = _identified(resource, dict(options), name, write_termination, read_termination)
    transport = found.transport
    cls = found.driver
    if cls is None:
        transport.close()
        raise DriverNotFound(
            f"no registered driver serves {found.idn!r}; "
            f"closest: {'; '.join(_close_matches(found.idn)) or 'none'}",
            instrument=name or str(resource),
        )
    if "timeout" not in options:
        transport.timeout = cls.default_timeout
    try:
        transport = start_recording(
            transport,
            record,
            cls,
            name=name,
            options={"timeout": transport.timeout, **options},
            idn=found.idn,
            write_termination=write_termination,
            read_termination=read_termination,
        )
        instrument = cls(transport, name=name)
    except BaseException:
        transport.close()
        raise
    _set_terminators(instrument, write_termination, read_termination)
    return instrument


def _set_terminators(
    instrument: Instrument, write_termination: str | None, read_termination: str | None
) -> None:
    if write_termination is not None:
        instrument.session.write_termination = write_termination
    if read_termination is not None:
        instrument.session.read_termination = read_termination
