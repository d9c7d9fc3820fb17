"""Conformance of Source drivers: the output is a Setting in the snapshot, `ramp_to`
refuses beyond `max_level` before any byte, `make_safe` leaves every output off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from instrumentkit.errors import ValidationError
from instrumentkit.instrument import Component, Instrument
from instrumentkit.interfaces import Source
from instrumentkit.parameters import Setting
from instrumentkit.sourcing import SafeLimits

__all__ = ["source_runtime_problems", "source_static_problems"]


def _output_classes(driver: type[Instrument]) -> list[type[Component]]:
    groups = driver.channel_groups()
    name = getattr(driver, "source_channel_group", None)
    if name in groups:
        return [groups[name].channel_class]
    return [driver]


def source_static_problems(driver: type[Instrument]) -> list[str]:
    """What a Source driver must declare, checked without opening it."""
    if Source not in driver.interfaces:
        return []
    problems = []
    for output in _output_classes(driver):
        where = output.__name__
        if not isinstance(output.parameters().get("output"), Setting):
            problems.append(f"{where}: a source output needs a Setting named 'output'")
        if not isinstance(getattr(output, "safe_limits", None), SafeLimits):
            problems.append(f"{where}: a source output needs safe_limits (a SafeLimits)")
        for method in ("ramp_to", "make_safe"):
            if not callable(getattr(output, method, None)):
                problems.append(f"{where}: a source output needs {method}()")
    return problems


@contextmanager
def _counting_writes(instrument: Instrument) -> Iterator[list[bytes]]:
    transport: Any = instrument.session.transport
    written: list[bytes] = []
    original = transport.write

    def write(data: bytes) -> None:
        written.append(bytes(data))
        original(data)

    transport.write = write
    try:
        yield written
    finally:
        del transport.write


def source_runtime_problems(
    opened: Instrument, snapshot: dict[str, Any], *, drive: bool = True
) -> list[str]:
    """Check the opened source: `output` in the snapshot, a ramp beyond max_level refused
    with nothing sent and, if `drive`, every output on then off again by make_safe."""
    if not isinstance(opened, Source):
        return []
    problems = []
    name = type(opened).__name__
    outputs = dict(opened.source_outputs())
    for key, output in outputs.items():
        entry = snapshot if not key else snapshot.get("channels", {}).get(key, {})
        where = "output" if not key else f"channels.{key}.output"
        if "output" not in entry:
            problems.append(f"{name}: snapshot has no {where}")
        limit = output.safe_limits.max_level
        if limit is not None:
            with _counting_writes(opened) as written:
                try:
                    output.ramp_to(limit * 1.5 + 1.0)
                except ValidationError:
                    pass
                else:
                    problems.append(f"{name}: {where} ramp_to beyond max_level was accepted")
            if written:
                problems.append(f"{name}: {where} ramp_to beyond max_level sent {written[0]!r}")
        if drive:
            output.ramp_sleep = lambda seconds: None  # type: ignore[attr-defined]
            output.output = True
    if not drive:
        return problems
    left = opened.make_safe()
    if left:
        problems.append(f"{name}: make_safe() reported {left}")
    still_on = [key or "output" for key, output in outputs.items() if output.output]
    if still_on:
        problems.append(f"{name}: make_safe() left {still_on} on")
    return problems
