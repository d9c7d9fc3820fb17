"""Sources never stay where a run left them: at every end of a run (the sweep done, an
error, Ctrl-C, SIGTERM, a script's exception) each Source instrument is made safe, each in
its own thread with a deadline, and what could not be made safe is reported, never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from instrumentkit.errors import ValidationError
from instrumentkit.interfaces import Source
from instrumentkit.sourcing import SafeLimits

from ._sweep_read import provides
from ._writing import _in_threads

__all__ = ["apply_safe_limits", "make_sources_safe", "not_safe_reason", "source_instruments"]


def source_instruments(instruments: Mapping[str, Any]) -> dict[str, Any]:
    """The instruments that are Sources (they have outputs to make safe)."""
    return {name: device for name, device in instruments.items() if provides(device, Source)}


def _make_safe(device: Any) -> list[str]:
    try:
        return [str(problem) for problem in device.make_safe()]
    except Exception as error:  # a driver's make_safe must not hide the others'
        return [f"make_safe failed: {type(error).__name__}: {error}"]


def make_sources_safe(instruments: Mapping[str, Any], *, timeout: float) -> dict[str, list[str]]:
    """Make every Source of `instruments` safe (ramp to the safe level, output off), all at
    once; returns the problems per instrument (empty when every one is safe)."""
    sources = source_instruments(instruments)
    done, late = _in_threads(sources, _make_safe, timeout)
    problems = {name: found for name, found in done.items() if found}
    for name in late:
        problems[name] = [f"not made safe within {timeout:g} s (not answering?)"]
    return problems


def not_safe_reason(problems: Mapping[str, list[str]]) -> str:
    """The loud part of a run's reason when some source could not be made safe."""
    parts = [f"{name}: {'; '.join(found)}" for name, found in problems.items()]
    return "SOURCE NOT MADE SAFE, check its output by hand: " + " | ".join(parts)


def apply_safe_limits(name: str, device: Any, limits: Mapping[str, Any]) -> None:
    """Tighten a source's safe limits as a run config's `safe_limits:` says.

    `{max_level: 2}` applies to every output; `{"1": {max_level: 2}}` to output 1 only.
    Widening a limit, or naming an output the source does not have, raises ValidationError.
    """
    if not limits:
        return
    if not provides(device, Source):
        raise ValidationError(f"{name} is not a Source: it has no safe limits to set",
                              instrument=name)  # fmt: skip
    outputs = device.source_outputs()
    for output_name, changes in limits_by_output(limits, list(outputs)).items():
        output = outputs[output_name]
        output.safe_limits = output.safe_limits.tightened(**changes)


def limits_by_output(limits: Mapping[str, Any], outputs: list[str]) -> dict[str, dict[str, Any]]:
    """`safe_limits:` of a config as {output: {limit: value}}; raises ValidationError."""
    names = set(SafeLimits.__dataclass_fields__)
    if set(map(str, limits)) <= names:
        return {output: dict(limits) for output in outputs}
    by_output: dict[str, dict[str, Any]] = {}
    for key, changes in limits.items():
        if str(key) not in outputs:
            raise ValidationError(
                f"no output {key!r}; give {', '.join(sorted(names))} for every output, or "
                f"one entry per output: {', '.join(outputs) or '(the instrument itself)'}"
            )
        if not isinstance(changes, Mapping) or not set(map(str, changes)) <= names:
            raise ValidationError(f"output {key!r}: expected {{{', '.join(sorted(names))}}}")
        by_output[str(key)] = dict(changes)
    return by_output
