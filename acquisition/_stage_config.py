"""Stages named in a run config, e.g. for a stream::

    stages:
      - block_average: 4                 # one parameter: given bare
      - decimate: {factor: 10, along: record}
      - scale: {factor: 1000}
      - units: mV
      - find_peaks: {max_peaks: 5, prominence: 50}

Names resolve only in the table below; parameters are checked by building the stage, so
a bad value is a ConfigError naming `streams.<name>.stages[<i>].<stage>` before any
instrument is touched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from instrumentkit.errors import ConfigError

from ._record_stages import Deferred, Units
from .stages import (
    PSD,
    BlockAverage,
    Decimate,
    FFTMagnitude,
    FindPeaks,
    Polynomial,
    RunningAverage,
    Scale,
    SubtractDark,
)

__all__ = ["STAGES", "build_stages", "check_stages"]

_PEAK_CRITERIA = ("height", "threshold", "distance", "prominence", "width", "wlen", "rel_height",
                  "plateau_size")  # fmt: skip
_RECORD_ONLY = {"subtract_dark", "fft", "psd", "find_peaks"}


def _decimate(factor: int, along: str = "stream", antialias: bool = False) -> Decimate:
    if along not in ("stream", "record"):
        raise ValueError(f"along must be 'stream' (rows) or 'record' (samples), not {along!r}")
    return Decimate(factor, antialias=antialias, axis=0 if along == "stream" else -1)


def _check_window(window: str | None, scaling: str, scalings: tuple[str, ...]) -> None:
    """Refuse now what SciPy would refuse (or, for FFT scaling, ignore) at the first record."""
    if scaling not in scalings:
        raise ValueError(f"scaling must be one of {', '.join(scalings)}, not {scaling!r}")
    if window is None:
        return
    from scipy.signal import get_window  # only configs with an fft or psd stage pay for it

    try:
        get_window(window, 16)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"unknown window {window!r} ({error}); give a scipy.signal.get_window name such "
            "as hann, hamming, blackman, boxcar"
        ) from None


def _fft(window: str | None = "hann", scaling: str = "amplitude") -> FFTMagnitude:
    _check_window(window, scaling, ("amplitude", "none"))
    return FFTMagnitude(window=window, scaling=scaling)  # type: ignore[arg-type]


def _psd(
    fs: float | None = None,
    nperseg: int = 256,
    noverlap: int | None = None,
    window: str = "hann",
    scaling: str = "density",
) -> Any:
    _check_window(window, scaling, ("density", "spectrum"))
    options: dict[str, Any] = {"nperseg": nperseg, "noverlap": noverlap, "window": window,
                               "scaling": scaling}  # fmt: skip
    if fs is not None:
        return PSD(fs, **options)
    PSD(1.0, **options)  # check the options now; the rate comes from the first waveform
    return Deferred(lambda first: PSD(1.0 / first.dx, **options), "psd")


def _find_peaks(max_peaks: int, interpolate: bool = True, **criteria: Any) -> Any:
    unknown = sorted(set(criteria) - set(_PEAK_CRITERIA))
    if unknown:
        raise ValueError(f"unknown find_peaks option(s) {unknown}; known: {list(_PEAK_CRITERIA)}")
    if max_peaks < 1:
        raise ValueError(f"max_peaks must be >= 1, got {max_peaks}")

    def build(first: Any) -> FindPeaks:
        axis = getattr(first, "wavelengths", None)
        return FindPeaks(max_peaks, x=axis, interpolate=interpolate, **criteria)

    return Deferred(build, "find_peaks")


STAGES: dict[str, Callable[..., Any]] = {
    "running_average": lambda window: RunningAverage(window),
    "block_average": lambda size: BlockAverage(size),
    "decimate": _decimate,
    "subtract_dark": lambda dark: SubtractDark(dark),
    "polynomial": lambda coefficients: Polynomial(coefficients),
    "scale": lambda factor, offset=0.0: Scale(factor, offset),
    "fft": _fft,
    "psd": _psd,
    "find_peaks": _find_peaks,
    "units": lambda units: Units(str(units)),
}
"""Config name -> factory taking the stage's parameters."""


def _build_one(name: str, params: Any) -> Any:
    factory = STAGES[name]
    args, options = ((), dict(params)) if isinstance(params, Mapping) else ((params,), {})
    try:
        inspect.signature(factory).bind(*args, **options)
    except TypeError:
        raise ValueError(_parameter_problem(name, factory, params)) from None
    return factory(*args, **options)


def _parameter_problem(name: str, factory: Callable[..., Any], given: Any) -> str:
    """Which parameter is unknown or missing, and the stage's parameters (not a TypeError
    about a lambda's arguments)."""
    parameters = inspect.signature(factory).parameters
    known = [p for p in parameters if parameters[p].kind is not inspect.Parameter.VAR_KEYWORD]
    if name == "find_peaks":
        known += _PEAK_CRITERIA
    listed = f"{name} takes {', '.join(known)}"
    options = dict(given) if isinstance(given, Mapping) else {}
    unknown = [key for key in options if key not in known]
    if unknown:
        return f"unknown parameter {', '.join(map(repr, unknown))}; {listed}"
    missing = [p for p in known if p in parameters and p not in options
               and parameters[p].default is inspect.Parameter.empty]  # fmt: skip
    if isinstance(given, Mapping) and missing:
        return f"missing parameter {', '.join(map(repr, missing))}; {listed}"
    return f"give its parameters as a mapping ({listed}) or a single value"


def check_stages(
    stages: list[dict[str, Any]], *, field: str, source: str, kind: str | None = None
) -> None:
    """Raise ConfigError for an unknown stage, bad parameters or one that does not fit `kind`."""
    for index, entry in enumerate(stages):
        name, params = next(iter(entry.items()))
        where = f"{field}[{index}].{name}"
        if name not in STAGES:
            known = ", ".join(STAGES)
            raise ConfigError(f"unknown stage; stages: {known}", field=where, source=source)
        if kind == "readings" and (
            name in _RECORD_ONLY or (name == "decimate" and _along(params) == "record")
        ):
            raise ConfigError(
                "works within records (waveforms, spectra), not on readings",
                field=where,
                source=source,
            )
        if name in ("fft", "psd") and kind == "spectra":
            raise ConfigError(
                f"{name} needs waveforms (a time axis), not spectra", field=where, source=source
            )
        try:
            _build_one(name, params)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"bad parameters: {error}", field=where, source=source) from None


def _along(params: Any) -> str:
    return str(params.get("along", "stream")) if isinstance(params, Mapping) else "stream"


def build_stages(stages: list[dict[str, Any]]) -> list[Any]:
    """The stage objects of a checked `stages:` list, in order."""
    return [_build_one(*next(iter(entry.items()))) for entry in stages]
