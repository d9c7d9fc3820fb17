"""Capture waveforms from an oscilloscope and save them to HDF5.

    python examples/scope_capture.py                          # a simulated scope, 100 waveforms
    python examples/scope_capture.py --model rigol-ds1054z --count 20 --output run.h5
    python examples/scope_capture.py --resource TCPIP::192.168.1.30::INSTR --channels 1 2

Without `--resource` it starts the simulated lab in this process (a scope model from
`instrumentkit.sim.models()`) and talks to it over TCP like to a real instrument. The
driver is picked from the instrument's `*IDN?` reply. Each capture arms one acquisition
(`single`), waits for it, and fetches every requested channel of that acquisition.

File layout (plain h5py until the acquisition pipeline takes over):
/waveforms/CH<n>/volts  (count, points) float64, attrs units, x0, dx, x_units
/waveforms/CH<n>/raw    (count, points) ADC codes as the scope sent them
/waveforms/timestamps_ns (count,) int64
root attrs: idn, driver, resource, settings (JSON snapshot before the first capture)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

import instrumentkit as ik


@contextlib.contextmanager
def simulated_scope(model: str, seed: int) -> Iterator[str]:
    """Serve one simulated scope on a loopback port; yields its VISA resource string."""
    from instrumentkit.sim import create, serve

    with serve({"scope": create(model, seed=seed)}) as lab:
        yield lab.resource("scope")


def configure(scope: ik.Instrument, options: argparse.Namespace) -> None:
    """Channels on at the given scale, a rising edge trigger on the first channel."""
    channels = scope.channels  # type: ignore[attr-defined]
    for number in channels:
        channels[number].enabled = number in options.channels
    for number in options.channels:
        channels[number].scale = options.scale
    scope.timebase_scale = options.timebase  # type: ignore[attr-defined]
    scope.trigger_source = options.channels[0]  # type: ignore[attr-defined]
    scope.trigger_slope = "rising"  # type: ignore[attr-defined]


def capture(scope: ik.Oscilloscope, options: argparse.Namespace, path: Path) -> int:
    """Take `options.count` acquisitions into `path`; returns how many were written."""
    with h5py.File(path, "w") as file:
        group = file.create_group("waveforms")
        stamps = group.create_dataset("timestamps_ns", (options.count,), dtype=np.int64)
        datasets: dict[str, tuple[h5py.Dataset, h5py.Dataset]] = {}
        for index in range(options.count):
            scope.single()
            scope.wait_for_acquisition(timeout=options.timeout)
            waveforms = scope.fetch_all(options.channels)
            stamps[index] = waveforms[0].timestamp_ns
            for waveform in waveforms:
                if waveform.channel not in datasets:
                    datasets[waveform.channel] = create_datasets(group, waveform, options.count)
                volts, raw = datasets[waveform.channel]
                volts[index] = waveform.y
                if waveform.raw is not None:
                    raw[index] = waveform.raw
            if (index + 1) % 10 == 0 or index + 1 == options.count:
                print(f"{index + 1}/{options.count} captures", file=sys.stderr)
        file.attrs["driver"] = type(scope).__name__
        return options.count


def create_datasets(group: h5py.Group, waveform: ik.Waveform, count: int) -> tuple:
    channel = group.create_group(waveform.channel)
    points = len(waveform)
    chunk = (max(1, min(count, (1 << 20) // (8 * points))), points)
    volts = channel.create_dataset("volts", (count, points), dtype=np.float64, chunks=chunk)
    volts.attrs.update(units=waveform.units, x0=waveform.x0, dx=waveform.dx, x_units="s")
    raw_dtype = waveform.raw.dtype if waveform.raw is not None else np.int16
    raw = channel.create_dataset("raw", (count, points), dtype=raw_dtype, chunks=chunk)
    raw.attrs.update(units="counts", **{k: v for k, v in waveform.meta.items() if k != "preamble"})
    return volts, raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Capture oscilloscope waveforms into HDF5.")
    parser.add_argument("--resource", help="VISA resource of a real scope (default: simulated)")
    parser.add_argument("--backend", help="pyvisa backend for --resource ('@py', 'file.yaml@sim')")
    parser.add_argument("--model", default="keysight-dsox3034t", help="simulated scope model")
    parser.add_argument("--seed", type=int, default=1, help="noise seed of the simulated scope")
    parser.add_argument("--count", type=int, default=100, help="number of captures")
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scale", type=float, default=0.5, help="volts per division")
    parser.add_argument("--timebase", type=float, default=2e-4, help="seconds per division")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per acquisition")
    parser.add_argument("--output", type=Path, default=Path("scope_capture.h5"))
    options = parser.parse_args(argv)

    with contextlib.ExitStack() as stack:
        resource = options.resource or stack.enter_context(
            simulated_scope(options.model, options.seed)
        )
        connection = {"backend": options.backend} if options.backend else {}
        scope = stack.enter_context(ik.open(resource, **connection))
        if not isinstance(scope, ik.Oscilloscope):
            parser.error(f"{resource} is a {type(scope).__name__}, not an oscilloscope")
        configure(scope, options)
        settings = json.dumps(scope.snapshot())
        started = time.perf_counter()
        written = capture(scope, options, options.output)
        elapsed = time.perf_counter() - started
        with h5py.File(options.output, "a") as file:
            file.attrs.update(
                idn=scope.session.query("*IDN?"), resource=resource, settings=settings
            )
    print(
        f"{written} captures of channels {options.channels} in {elapsed:.2f} s -> {options.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
