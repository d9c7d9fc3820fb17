"""What sharing an instrument over HiSLIP costs, against reaching it straight.

    python benchmarks/bench_share.py [--queries 500] [--rounds 15] [--block-mb 10]
                                     [--latency 0] [--placement machines|one-cpu|free]

Three processes: this one is the client; a second plays the instrument PC and runs the
share, as `instrumentkit share` does; a third holds two identical simulated instruments
(a simulated device serves one client at a time, so each path gets its own), standing for
the hardware the PC drives. The client reaches one instrument straight through its raw
socket and the other through the share on loopback. Rounds interleave so drift hits both
alike; the best round of each path is the figure (as `timeit` does), medians beside it.

Where the processes run decides the small query's figure on a small VM, so it is chosen:
- `machines` (default on Linux with 2+ CPUs): the client on one CPU, the instrument PC and
  its instruments on another, as a client and a share are two machines. Every message
  between client and instrument PC crosses CPUs on both paths alike; the share adds its
  own work and its local hop to the instrument.
- `one-cpu`: all three on one CPU: the total CPU work of each path, switches included.
- `free`: wherever the scheduler puts them (3 processes on 2 vCPUs here).

The same client stack goes both ways (decision 0801): our Session on the raw socket
(`TCPIP::...::SOCKET`, SocketTransport) against our Session on the share
(`TCPIP::...::hislip_<name>,PORT::INSTR`, HislipTransport).

1. A small query (`*IDN?`), `Session.query`. Target: at most 2x the time.
2. A 10 MB IEEE block, `Session.query_block`. Target: at least 0.5x the throughput.
3. Reported: pyvisa-py's HiSLIP protocol client through the share (`send`/`receive`),
   against the same straight Session, for the small query and the block.
4. Reported: pyvisa-py's VISA layer on both paths (`TCPIP::...::SOCKET` vs
   `TCPIP::...::hislip_<name>,PORT::INSTR` with `backend="@py"`), `query("*IDN?")`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import numpy as np
import pyvisa
from pyvisa_py.protocols import hislip

from instrumentkit.connect import open_transport
from instrumentkit.session import Session
from instrumentkit.share import InstrumentRules, SharedInstrument, ShareServer
from instrumentkit.sim import ScpiDevice, binary_block, command, serve


class BlockSource(ScpiDevice):
    idn = "Acme,BENCH,0001,1.0"

    @command(":BLOCk?")
    def block(self, size: str) -> bytes:
        return binary_block(self._payload(int(size)))

    def _payload(self, size: int) -> np.ndarray:
        cached = getattr(self, "_cached", None)
        if cached is None or cached.size != size:
            cached = self._cached = (np.arange(size) % 251).astype(np.uint8)
        return cached


def per_call_us(function: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - start) / count * 1e6


def seconds_of(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def instruments(pipe: Connection, latency: float, cpu: int | None) -> None:
    """The instruments' process: both devices, until told to stop."""
    pin(cpu)
    devices = {
        "straight": BlockSource(seed=1, latency=latency),
        "shared": BlockSource(seed=2, latency=latency),
    }
    with serve(devices) as lab:
        pipe.send((lab.resource("straight"), lab.resource("shared")))
        pipe.recv()


def instrument_pc(pipe: Connection, latency: float, cpu: int | None) -> None:
    """The instrument PC's process: the share of one device, until told to stop."""
    pin(cpu)
    ours, theirs = multiprocessing.Pipe()
    devices = SPAWN.Process(target=instruments, args=(theirs, latency, cpu))
    devices.start()
    try:
        straight, backing = ours.recv()
        shared = SharedInstrument("bench", open_transport(backing), InstrumentRules(timeout=30.0))
        with ShareServer({"bench": shared}, port=0) as server:
            pipe.send((straight, server.port))
            pipe.recv()
        shared.close()
    finally:
        ours.send("stop")
        devices.join(30)


SPAWN = multiprocessing.get_context("spawn")
PLACEMENTS = ("machines", "one-cpu", "free")


def cpus_for(placement: str) -> tuple[int | None, int | None]:
    """(client CPU, instrument PC CPU) for a placement; None: the scheduler's choice."""
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if placement == "free" or not usable:
        return None, None
    if placement == "one-cpu" or len(usable) < 2:
        return usable[0], usable[0]
    return usable[0], usable[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block-mb", type=float, default=10.0)
    parser.add_argument(
        "--latency", type=float, default=0.0,
        help="seconds each device takes to answer (a real instrument: 2e-4 and up)",
    )  # fmt: skip
    parser.add_argument(
        "--placement", choices=PLACEMENTS, default="machines",
        help="where the processes run (see the module's text); falls back to one CPU "
        "when only one is usable, to free where affinity is not supported",
    )  # fmt: skip
    args = parser.parse_args()
    size = int(args.block_mb * 1e6)
    client_cpu, pc_cpu = cpus_for(args.placement)
    print(f"placement {args.placement}: client on CPU {client_cpu}, instrument PC on CPU {pc_cpu}")
    ours, theirs = multiprocessing.Pipe()
    pc = SPAWN.Process(target=instrument_pc, args=(theirs, args.latency, pc_cpu))
    pc.start()
    pin(client_cpu)
    try:
        resource, port = ours.recv()
        results = measure(resource, port, size, args.queries, args.rounds)
    finally:
        ours.send("stop")
        pc.join(30)
    for label, unit, (straight, shared), better in zip(
        (
            "small query *IDN?",
            f"{args.block_mb:g} MB block",
            "pyvisa-py client *IDN?",
            f"pyvisa-py client {args.block_mb:g} MB",
            "pyvisa-py VISA *IDN?",
        ),
        ("us", "MB/s", "us", "MB/s", "us"),
        results,
        (min, max, min, max, min),
        strict=True,
    ):
        best = better(shared) / better(straight)
        typical = statistics.median(shared) / statistics.median(straight)
        print(
            f"{label:24s} straight {better(straight):8.1f} {unit:4s} (median "
            f"{statistics.median(straight):8.1f})   share {better(shared):8.1f} {unit:4s} "
            f"(median {statistics.median(shared):8.1f})   ratio best {best:.2f}, "
            f"median {typical:.2f}"
        )
    print(
        "targets: small query ratio <= 2; block ratio >= 0.5 (our Session both ways); "
        "pyvisa-py rows reported"
    )


Pair = tuple[list[float], list[float]]


def measure(resource: str, port: int, size: int, queries: int, rounds: int) -> tuple[Pair, ...]:
    straight = Session(open_transport(resource, timeout=30.0))
    shared = Session(open_transport(f"TCPIP::127.0.0.1::hislip_bench,{port}::INSTR", timeout=30.0))
    client = hislip.Instrument("127.0.0.1", port=port, sub_address="hislip_bench", timeout=30.0)

    def client_query() -> bytes:
        client.send(b"*IDN?\n")
        return client.receive()

    def client_block() -> bytes:
        client.send(f":BLOC? {size}\n".encode())
        return client.receive(size + 64)

    command = f":BLOC? {size}"
    assert shared.query("*IDN?") == straight.query("*IDN?")
    assert client_query() == straight.query("*IDN?").encode() + b"\n"
    assert np.array_equal(shared.query_block(command), straight.query_block(command))
    assert len(client_block()) == size + 2 + len(str(size)) + 1
    paths: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "straight": (lambda: straight.query("*IDN?"), lambda: straight.query_block(command)),
        "shared": (lambda: shared.query("*IDN?"), lambda: shared.query_block(command)),
        "client": (client_query, client_block),
    }
    small: dict[str, list[float]] = {name: [] for name in paths}
    block: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, (query, fetch) in paths.items():
            small[name].append(per_call_us(query, queries))
            block[name].append(size / seconds_of(fetch) / 1e6)
    client.close()
    shared.close()
    straight.close()  # one client per simulated device: free it for pyvisa-py's socket
    visa = _visa_layer(resource, port, queries, rounds)
    return (
        (small["straight"], small["shared"]),
        (block["straight"], block["shared"]),
        (small["straight"], small["client"]),
        (block["straight"], block["client"]),
        visa,
    )


def _visa_layer(resource: str, port: int, queries: int, rounds: int) -> Pair:
    """pyvisa-py's VISA layer on both paths."""
    rm = pyvisa.ResourceManager("@py")
    socket_resource = rm.open_resource(resource, read_termination="\n", write_termination="\n")
    hislip_resource = rm.open_resource(
        f"TCPIP::127.0.0.1::hislip_bench,{port}::INSTR", read_termination="\n"
    )
    socket_times: list[float] = []
    hislip_times: list[float] = []
    for _ in range(rounds):
        socket_times.append(per_call_us(lambda: socket_resource.query("*IDN?"), queries // 4))
        hislip_times.append(per_call_us(lambda: hislip_resource.query("*IDN?"), queries // 4))
    rm.close()
    return socket_times, hislip_times


if __name__ == "__main__":
    main()
