"""One check every driver passes: conventions, sim file, identity, snapshot, interfaces."""

from __future__ import annotations

import json
import re
import warnings
from types import SimpleNamespace
from typing import Any

from instrumentkit.errors import InstrumentError, ValidationError
from instrumentkit.instrument import Component, Instrument
from instrumentkit.parameters import Parameter, UnknownChoice, UnknownChoiceWarning
from instrumentkit.testing._source_conformance import (
    source_runtime_problems,
    source_static_problems,
)

__all__ = ["ConformanceFailure", "check_driver", "static_problems"]

DOC_VERBS = frozenset(
    [
        "Control",
        "Measure",
        "Get",
        "Set",
        "Read",
        "Select",
        "Enable",
        "Choose",
        "Configure",
        "Query",
        "Return",
    ]
)


class ConformanceFailure(AssertionError):
    """A driver breaks one or more of the project's conventions."""


def _component_classes(driver: type[Instrument]) -> list[type[Component]]:
    classes: list[type[Component]] = [driver]
    for group in driver.channel_groups().values():
        classes.append(group.channel_class)
    return classes


def static_problems(driver: type[Instrument]) -> list[str]:
    """Convention problems visible without opening the driver."""
    problems = []
    name = driver.__name__
    if not driver.idn_patterns and driver.sim_model is None:
        problems.append(f"{name}: no idn_patterns, so ik.open cannot pick it")
    for pattern in driver.idn_patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            problems.append(f"{name}: idn pattern {pattern!r} is invalid: {error}")
    if driver.sim_file is None and driver.sim_model is None:
        problems.append(f"{name}: neither a pyvisa-sim file nor a simulated-lab model")
    if not (driver.__doc__ or "").strip():
        problems.append(f"{name}: class has no docstring")
    for component in _component_classes(driver):
        for pname, parameter in component.parameters().items():
            where = f"{component.__name__}.{pname}"
            doc = (parameter.__doc__ or "").strip()
            if not doc:
                problems.append(f"{where}: no doc")
            elif doc.split()[0] not in DOC_VERBS:
                problems.append(f"{where}: doc should start with one of {sorted(DOC_VERBS)}")
            numeric = parameter.values is None and parameter.parse is float
            if numeric and parameter.units is None:
                problems.append(f"{where}: a numeric parameter declares no units (use '' if none)")
            if parameter.values is not None and parameter.get_command is not None:
                problems += _unknown_token_problems(where, parameter)
    return problems + source_static_problems(driver)


UNLISTED_TOKEN = "ZZUNLISTED9"
"""A reply no enumeration lists: an instrument left in a mode the driver does not know."""


def _unknown_token_problems(where: str, parameter: Parameter[Any]) -> list[str]:
    """An enumerated setting reads a token it does not list as UnknownChoice (decision
    0005), and refuses to set it back."""
    owner = SimpleNamespace(name="conformance", fields={"ch": 1})
    command = parameter.get_command or ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownChoiceWarning)
            value = parameter.decode(UNLISTED_TOKEN, owner, command)  # type: ignore[arg-type]
    except Exception as error:  # any exception is the finding
        return [f"{where}: an unlisted reply token raises {type(error).__name__}: {error}"]
    if not isinstance(value, UnknownChoice) or value.raw != UNLISTED_TOKEN:
        return [f"{where}: an unlisted reply token reads as {value!r}, not UnknownChoice"]
    encode = getattr(parameter, "encode", None)
    if encode is not None:
        try:
            encode(owner, value)
        except ValidationError:
            pass
        else:
            return [f"{where}: an UnknownChoice read back can be set"]
    return []


def check_driver(driver: type[Instrument], instrument: Instrument | None = None) -> None:
    """Raise ConformanceFailure listing every problem of `driver`.

    Opens the driver on its pyvisa-sim file (or its simulated-lab model) unless an
    open `instrument` is given, then checks its identity, snapshot and interfaces.
    """
    problems = static_problems(driver)
    owned = instrument is None
    try:
        opened = instrument or driver.open_sim(fresh=True)
    except (InstrumentError, OSError, ImportError) as error:
        problems.append(f"{driver.__name__}: cannot be opened on its simulation: {error}")
        raise ConformanceFailure("\n".join(problems)) from error
    try:
        problems += _runtime_problems(driver, opened)
        # Outputs are switched on only on the driver's own simulation, never on a
        # caller's (possibly real) instrument.
        problems += source_runtime_problems(opened, opened.snapshot(), drive=owned)
    finally:
        if owned:
            opened.close()
    if problems:
        raise ConformanceFailure("\n".join(problems))


def _runtime_problems(driver: type[Instrument], opened: Instrument) -> list[str]:
    problems: list[str] = []
    name = driver.__name__
    if driver.idn_patterns:
        idn = opened.session.query("*IDN?")
        if not any(re.search(p, idn, re.IGNORECASE) for p in driver.idn_patterns):
            problems.append(
                f"{name}: simulated *IDN? {idn!r} matches none of {driver.idn_patterns}"
            )
    snapshot: dict[str, Any] = opened.snapshot()
    try:
        json.dumps(snapshot)
    except TypeError as error:
        problems.append(f"{name}: snapshot is not JSON-serialisable: {error}")
    for pname, entry in snapshot.items():
        if isinstance(entry, dict) and "error" in entry:
            problems.append(f"{name}.{pname}: snapshot read failed: {entry['error']}")
    for interface in driver.interfaces:
        if not isinstance(opened, interface):
            problems.append(f"{name}: claims {interface.__name__} but does not satisfy it")
    return problems
