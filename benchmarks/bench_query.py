"""Per-query cost of the driver stack vs raw pyvisa, and block reads vs np.frombuffer.

    python benchmarks/bench_query.py [--queries 5000] [--rounds 7]

1. A driver parameter read (`dmm.nplc`: format, lock, write, read, parse) against raw
   pyvisa `float(resource.query(...))` on the same pyvisa-sim device, same process,
   rounds interleaved so drift hits both alike. Ratio target: <= 1.10.
2. `Session.query_block` of a 10 MB int16 IEEE block from an in-memory transport
   against reading the same bytes and calling `np.frombuffer` on them. Target: within 5%.
3. The same parameter read as 1 with `record=` (every exchange written to a recording
   file) against the same driver not recording, rounds interleaved. Target: < 5% more.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from instrumentkit import Session
from instrumentkit.drivers.keysight import Keysight34461A
from instrumentkit.simfiles import sim_backend
from instrumentkit.transport import TransportBase
from instrumentkit.visa_transport import resource_manager


class MemoryTransport(TransportBase):
    """Replays one reply from memory for every write: no I/O, only the stack's cost."""

    def __init__(self, reply: bytes) -> None:
        self.resource = "memory"
        self.reply = reply
        self.position = len(reply)

    def write(self, data: bytes) -> None:
        self.position = 0

    def read_until(self, terminator: bytes) -> bytes:
        end = self.reply.index(terminator, self.position)
        message = self.reply[self.position : end]
        self.position = end + len(terminator)
        return message

    def read_into(self, buffer: memoryview) -> None:
        end = self.position + len(buffer)
        buffer[:] = memoryview(self.reply)[self.position : end]
        self.position = end


def per_call_us(function, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count * 1e6


def bench_parameter_read(queries: int, rounds: int) -> tuple[float, float]:
    backend = sim_backend(Keysight34461A)
    raw = resource_manager(backend).open_resource(
        Keysight34461A.sim_resource, read_termination="\n", write_termination="\n"
    )
    dmm = Keysight34461A.open_sim(fresh=False)
    raw_times, driver_times = [], []
    for _ in range(rounds):
        raw_times.append(per_call_us(lambda: float(raw.query("VOLT:DC:NPLC?")), queries))
        driver_times.append(per_call_us(lambda: dmm.nplc, queries))
    raw.close()
    dmm.close()
    return statistics.median(raw_times), statistics.median(driver_times)


def compare_recording(
    open_plain: Callable[[], Keysight34461A],
    open_recorded: Callable[[Path], Keysight34461A],
    queries: int,
    rounds: int,
) -> tuple[float, float, float, float]:
    """`dmm.nplc` without and with `record=`, in many short rounds that alternate which
    goes first: us per query of each (medians), the median of the rounds' ratios, and the
    ratio of the fastest rounds (the least disturbed by other processes)."""
    with tempfile.TemporaryDirectory() as folder:
        plain = open_plain()
        recorded = open_recorded(Path(folder) / "dmm.rec.yaml")
        short = max(1, queries // 10)
        plain_times: list[float] = []
        recorded_times: list[float] = []
        ratios = []
        for index in range(rounds * 10):
            pair = [(plain_times, plain), (recorded_times, recorded)]
            for times, dmm in pair if index % 2 else pair[::-1]:
                times.append(per_call_us(lambda dmm=dmm: dmm.nplc, short))
            ratios.append(recorded_times[-1] / plain_times[-1])
        plain.close()
        recorded.close()
    return (
        statistics.median(plain_times),
        statistics.median(recorded_times),
        statistics.median(ratios),
        min(recorded_times) / min(plain_times),
    )


def bench_recording(queries: int, rounds: int) -> dict[str, tuple[float, float, float, float]]:
    """Recording's cost on pyvisa-sim (no I/O at all: the worst case) and on the
    simulated lab's DMM over loopback TCP (a real socket, like an instrument's)."""
    from instrumentkit.sim import create, serve

    backend = sim_backend(Keysight34461A)
    resource = Keysight34461A.sim_resource
    figures = {
        "pyvisa-sim": compare_recording(
            lambda: Keysight34461A.open(resource, backend=backend),
            lambda path: Keysight34461A.open(resource, backend=backend, record=path),
            queries,
            rounds,
        )
    }
    # One client per simulated device: two identical DMMs, one for each side.
    devices = {name: create("keysight-34461a", seed=1) for name in ("plain", "recorded")}
    with serve(devices) as lab:
        figures["lab TCP"] = compare_recording(
            lambda: Keysight34461A.open(lab.resource("plain")),
            lambda path: Keysight34461A.open(lab.resource("recorded"), record=path),
            queries // 5,
            rounds,
        )
    return figures


def bench_block(size_bytes: int, rounds: int) -> tuple[float, float]:
    payload = np.arange(size_bytes // 2, dtype="<i2").tobytes()
    length = str(len(payload)).encode()
    reply = b"#" + str(len(length)).encode() + length + payload + b"\n"
    header = 2 + len(length)

    raw_transport = MemoryTransport(reply)

    def raw_read() -> np.ndarray:
        raw_transport.write(b"CURV?\n")
        data = raw_transport.read_exact(len(reply))
        return np.frombuffer(data[header : header + len(payload)], dtype="<i2")

    session = Session(MemoryTransport(reply), name="memory")
    assert np.array_equal(raw_read(), session.query_block("CURV?", dtype=np.int16))
    raw_times, stack_times = [], []
    for _ in range(rounds):
        raw_times.append(per_call_us(raw_read, 20))
        stack_times.append(per_call_us(lambda: session.query_block("CURV?", dtype=np.int16), 20))
    return statistics.median(raw_times), statistics.median(stack_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    raw_us, driver_us = bench_parameter_read(args.queries, args.rounds)
    block_raw_us, block_us = bench_block(10_000_000, args.rounds)
    recording = bench_recording(args.queries, args.rounds)
    print(f"{'work':<44}{'raw':>12}{'instrumentkit':>16}{'ratio':>8}")
    print(
        f"{'parameter read, pyvisa-sim (us/query)':<44}{raw_us:>12.1f}{driver_us:>16.1f}"
        f"{driver_us / raw_us:>8.3f}"
    )
    print(
        f"{'10 MB int16 block, in memory (ms/block)':<44}{block_raw_us / 1e3:>12.2f}"
        f"{block_us / 1e3:>16.2f}{block_us / block_raw_us:>8.3f}"
    )
    for path, (plain_us, recording_us, ratio, fastest) in recording.items():
        label = f"record= vs not, {path} (us/query)"
        print(f"{label:<44}{plain_us:>12.1f}{recording_us:>16.1f}{ratio:>8.3f}")
        print(f"  fastest rounds: {fastest:.3f}")


if __name__ == "__main__":
    main()
