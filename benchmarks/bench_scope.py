"""Oscilloscope `fetch` over the simulated lab's TCP server against the physical limit.

    python benchmarks/bench_scope.py [--sizes 10000 1000000 10000000] [--seconds 1.5]

A simulated Tektronix MSO4104 runs in a child process (so its Python never competes with
the client's), stopped after one acquisition, serving 16-bit big-endian `CURVe?` blocks.
For each record length, in the same run and against the same server:

- socket: a plain socket sends `CURVe?` and `recv_into`s the block into a preallocated
  buffer: the physical limit of getting those bytes.
- instrumentkit: `TektronixMSO4000.fetch(1)`: source, preamble and `CURVe?` (one message
  for short records, two for long ones: decision 0303), the block straight into an int16
  array, a `Waveform` with its scaling and time axis, volts computed when first read
  (decision 0304).
- fetch + volts: the same, then reading `waveform.y` (float64 volts), i.e. what a fetch
  cost when it converted eagerly.
- block: the bare `CURVe?` block through the driver's session (`query_block`), i.e. fetch
  without its preamble query and its conversion to float64 volts.
- pyvisa: pyvisa-py's `query_binary_values` plus a preamble query and hand-written NumPy
  scaling, the way users do it today.

Prints waveforms/s and MB/s (block bytes) of each, and ratios to the plain socket.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

SIZES = (10_000, 1_000_000, 10_000_000)
PREAMBLE = (
    "WFMOutpre:BYT_Nr?;BYT_Or?;ENCdg?;BN_Fmt?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
)


def serve_scope(ports: Any, stop: Any) -> None:
    """Child process: one MSO4104 model on an ephemeral port until `stop` is set."""
    from instrumentkit.drivers.tektronix.mso4000_sim import MSO4104Model
    from instrumentkit.sim import serve

    sources = {1: {"shape": "sine", "amplitude": 0.4, "frequency": 1e3, "noise": 0.01}}
    with serve({"scope": MSO4104Model(seed=1, sources=sources)}) as lab:
        ports.put(lab.port("scope"))
        stop.wait()


def prepare(resource: str, points: int) -> int:
    """Set the record length, take one record, return the block size in bytes."""
    from instrumentkit.drivers.tektronix import TektronixMSO4000

    with TektronixMSO4000.open(resource, timeout=60) as scope:
        for channel in (2, 3, 4):
            scope.channels[channel].enabled = False
        scope.timebase_scale = 1e-3
        scope.record_length = points
        scope.data_start, scope.data_stop = 1, points
        scope.data_width = 2
        scope.data_encoding = "ribinary"
        scope.single()
        scope.wait_for_acquisition(timeout=60)
        return len(scope.fetch(1)) * 2


def timed(run: Callable[[], Any], seconds: float, minimum: int = 3) -> float:
    """Median seconds per call, repeating for about `seconds` (at least `minimum` times)."""
    run()  # warm up: connection, caches, page faults of the first buffers
    durations: list[float] = []
    started = time.perf_counter()
    while len(durations) < minimum or time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        run()
        durations.append(time.perf_counter() - begin)
        if len(durations) >= 200:
            break
    return statistics.median(durations)


def bench_socket(host: str, port: int, nbytes: int, seconds: float) -> float:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = bytearray(nbytes + 1)  # the block and its terminator
    view = memoryview(buffer)
    header_length = 2 + len(str(nbytes))

    def run() -> np.ndarray:
        sock.sendall(b"CURVe?\n")
        header = b""
        while len(header) < header_length:
            header += sock.recv(header_length - len(header))
        position = 0
        while position < len(buffer):
            position += sock.recv_into(view[position:])
        return np.frombuffer(buffer, dtype=">i2", count=nbytes // 2)

    try:
        return timed(run, seconds)
    finally:
        sock.close()


def bench_instrumentkit(resource: str, seconds: float) -> tuple[float, float, float]:
    """Seconds per `fetch(1)`, per `fetch(1).y` and per bare `CURVe?` block (the transfer)."""
    from instrumentkit.drivers.tektronix import TektronixMSO4000

    with TektronixMSO4000.open(resource, timeout=60) as scope:
        fetch = timed(lambda: scope.fetch(1), seconds)
        volts = timed(lambda: scope.fetch(1).y, seconds)
        block = timed(lambda: scope.session.query_block("CURVe?", dtype=">i2"), seconds)
        return fetch, volts, block


def bench_pyvisa(resource: str, seconds: float, minimum: int) -> float:
    import pyvisa

    manager = pyvisa.ResourceManager("@py")
    scope = manager.open_resource(resource, read_termination="\n", write_termination="\n")
    scope.timeout = 120_000
    scope.write("HEADer OFF;VERBose ON")

    def run() -> np.ndarray:
        fields = scope.query(PREAMBLE).split(";")
        x_increment, x_zero, point_offset = (float(f) for f in fields[5:8])
        y_multiplier, y_offset, y_zero = (float(f) for f in fields[8:11])
        codes = scope.query_binary_values(
            "CURVe?", datatype="h", is_big_endian=True, container=np.array
        )
        volts = (codes - y_offset) * y_multiplier + y_zero
        times = x_zero + (np.arange(codes.size) - point_offset) * x_increment
        return volts, times

    try:
        return timed(run, seconds, minimum)
    finally:
        scope.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seconds", type=float, default=1.5, help="time per method and size")
    options = parser.parse_args()

    ports: Any = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve_scope, args=(ports, stop), daemon=True)
    server.start()
    port = ports.get(timeout=60)
    resource = f"TCPIP::127.0.0.1::{port}::SOCKET"
    rows = []
    try:
        for points in options.sizes:
            nbytes = prepare(resource, points)
            raw = bench_socket("127.0.0.1", port, nbytes, options.seconds)
            ours, volts, block = bench_instrumentkit(resource, options.seconds)
            theirs = bench_pyvisa(resource, options.seconds, 2 if points >= 1_000_000 else 3)
            rows.append((points, nbytes, raw, ours, volts, block, theirs))
    finally:
        stop.set()
        server.join(10)

    mb = 1e6
    print(
        f"{'points':>10} {'MB':>6} | {'socket MB/s':>11} | {'fetch wf/s':>10} {'MB/s':>6} "
        f"{'ratio':>5} | {'+volts wf/s':>11} {'ratio':>5} | {'block MB/s':>10} {'ratio':>5} | "
        f"{'pyvisa wf/s':>11} {'MB/s':>6} {'ratio':>5}"
    )
    for points, nbytes, raw, ours, volts, block, theirs in rows:
        print(
            f"{points:>10,} {nbytes / mb:>6.2f} | {nbytes / mb / raw:>11.0f} | "
            f"{1 / ours:>10.1f} {nbytes / mb / ours:>6.0f} {raw / ours:>5.2f} | "
            f"{1 / volts:>11.1f} {raw / volts:>5.2f} | "
            f"{nbytes / mb / block:>10.0f} {raw / block:>5.2f} | "
            f"{1 / theirs:>11.2f} {nbytes / mb / theirs:>6.1f} {raw / theirs:>5.3f}"
        )


if __name__ == "__main__":
    main()
