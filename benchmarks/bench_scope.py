"""Oscilloscope `fetch` over the simulated lab's TCP server against the physical limit.

    python benchmarks/bench_scope.py [--sizes 10000 1000000 10000000] [--rounds 5]
                                     [--seconds 0.4] [--pin] [--no-pyvisa]

A simulated Tektronix MSO4104 runs in a child process (so its Python never competes with
the client's), stopped after one acquisition, serving 16-bit big-endian `CURVe?` blocks.
For each record length, against the same server, in interleaved rounds (every path once
per round, each for about `--seconds`; a shared machine's load then weighs on all paths
alike, and each ratio is taken within its round):

- socket: a plain socket sends `CURVe?` and `recv_into`s the block into a preallocated
  buffer: the physical limit of getting the waveform's bytes.
- socket, fetch's exchange: a plain socket sends exactly what `fetch` sends
  (`DATa:SOUrce CH1;:WFMOutpre:<fields>?;:CURVe?`) and `recv_into`s the same reply bytes:
  the physical limit of a fetch that asks the scope for its scaling, as every fetch must.
- instrumentkit: `TektronixMSO4000.fetch(1)`: source, preamble and `CURVe?` in one
  message (decision 0305), the block straight into an int16 array, a `Waveform` with its
  scaling and time axis, volts computed when first read (decision 0304).
- fetch + volts: the same, then reading `waveform.y` (float64 volts), i.e. what a fetch
  cost when it converted eagerly.
- block: the bare `CURVe?` block through the driver's session (`query_block`).
- pyvisa: pyvisa-py's `query_binary_values` plus a preamble query and hand-written NumPy
  scaling, the way users do it today (timed once, after the rounds: it is slow).

Prints waveforms/s and MB/s (block bytes) of each, and the median (range) over rounds of
each path's speed relative to the plain socket in the same round.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

SIZES = (10_000, 1_000_000, 10_000_000)
PREAMBLE = (
    "WFMOutpre:ENCdg?;BYT_Nr?;BYT_Or?;BN_Fmt?;NR_Pt?;XINcr?;XZEro?;PT_Off?;YMUlt?;YOFf?;YZEro?"
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


def fetch_exchange() -> list[bytes]:
    """The message `fetch(1)` sends: source, preamble and `CURVe?` (decision 0305)."""
    return [f"DATa:SOUrce CH1;:{PREAMBLE};:CURVe?\n".encode()]


def reply_lengths(host: str, port: int, messages: list[bytes]) -> list[int]:
    """Bytes of the reply to each message (0 for a command), found by asking once."""
    lengths = []
    with socket.create_connection((host, port)) as sock:
        for message in messages:
            if not message.rstrip().endswith(b"?"):
                sock.sendall(message)
                lengths.append(0)
                continue
            sock.sendall(message + b"*OPC?\n")  # a known last reply marks the end
            reply = bytearray()
            while not reply.endswith(b"\n1\n"):
                reply += sock.recv(1 << 20)
            lengths.append(len(reply) - 2)
    return lengths


def socket_path(host: str, port: int, messages: list[bytes], lengths: list[int]) -> Callable:
    """A plain socket sending `messages` and `recv_into`-ing each reply's known length."""
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = bytearray(max(lengths))
    view = memoryview(buffer)

    def run() -> None:
        for message, length in zip(messages, lengths, strict=True):
            sock.sendall(message)
            position = 0
            while position < length:
                position += sock.recv_into(view[position:length])

    run.close = sock.close  # type: ignore[attr-defined]
    return run


def driver_paths(resource: str) -> tuple[Any, dict[str, Callable[[], Any]]]:
    from instrumentkit.drivers.tektronix import TektronixMSO4000

    scope = TektronixMSO4000.open(resource, timeout=60)
    return scope, {
        "fetch": lambda: scope.fetch(1),
        "fetch+volts": lambda: scope.fetch(1).y,
        "block": lambda: scope.session.query_block("CURVe?", dtype=">i2"),
    }


def bench_size(host: str, port: int, points: int, rounds: int, seconds: float) -> dict:
    """Per path: seconds per call in each round (interleaved rounds, one client at a time)."""
    resource = f"TCPIP::{host}::{port}::SOCKET"
    exchange = fetch_exchange()
    plain = [b"CURVe?\n"]
    lengths = {"socket": reply_lengths(host, port, plain)}
    lengths["socket, fetch's exchange"] = reply_lengths(host, port, exchange)
    messages = {"socket": plain, "socket, fetch's exchange": exchange}
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name in messages:
            run = socket_path(host, port, messages[name], lengths[name])
            try:
                times.setdefault(name, []).append(timed(run, seconds))
            finally:
                run.close()  # type: ignore[attr-defined]
        scope, paths = driver_paths(resource)
        try:
            for name, run in paths.items():
                times.setdefault(name, []).append(timed(run, seconds))
        finally:
            scope.close()
    return times


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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.4, help="time per path and round")
    parser.add_argument("--no-pyvisa", action="store_true", help="skip the slow pyvisa path")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="server on CPU 0, client on CPU 1 (Linux): steadier figures on a small VM",
    )
    options = parser.parse_args()

    ports: Any = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=serve_scope, args=(ports, stop), daemon=True)
    server.start()
    if options.pin:
        os.sched_setaffinity(server.pid, {0})
        os.sched_setaffinity(0, {1})
    port = ports.get(timeout=60)
    resource = f"TCPIP::127.0.0.1::{port}::SOCKET"
    results = []
    try:
        for points in options.sizes:
            nbytes = prepare(resource, points)
            times = bench_size("127.0.0.1", port, points, options.rounds, options.seconds)
            if not options.no_pyvisa:
                minimum = 2 if points >= 1_000_000 else 3
                times["pyvisa"] = [bench_pyvisa(resource, options.seconds * 2, minimum)]
            results.append((points, nbytes, times))
    finally:
        stop.set()
        server.join(10)

    print(f"{options.rounds} interleaved rounds; ratio = speed vs the plain socket's `CURVe?` in")
    print("the same round: median (min-max)")
    for points, nbytes, times in results:
        socket_times = times["socket"]
        print(f"\n{points:,} points ({nbytes / 1e6:.2f} MB block)")
        print(f"  {'path':<26} {'wf/s':>9} {'MB/s':>7}  ratio")
        for name, runs in times.items():
            per_call = statistics.median(runs)
            ratios = [s / t for s, t in zip(socket_times, runs, strict=False)]
            if name == "pyvisa":
                ratios = [statistics.median(socket_times) / runs[0]]
            spread = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
            print(f"  {name:<26} {1 / per_call:>9.1f} {nbytes / 1e6 / per_call:>7.0f}  {spread}")


if __name__ == "__main__":
    main()
