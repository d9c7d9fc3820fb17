"""`instrumentkit record`: turn a recorded session into a pyvisa-sim file, or serve it."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from instrumentkit.record import load_recording
from instrumentkit.record._device import serve_recording
from instrumentkit.record._to_sim import SIM_RESOURCES, to_sim

__all__ = ["record"]


@click.group("record")
def record() -> None:
    """Use recorded sessions (ik.open(..., record="x.rec.yaml")): see docs/recording.md."""


@record.command("to-sim")
@click.argument("recording", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The pyvisa-sim YAML to write (default: RECORDING with .sim.yaml).",
)
def to_sim_command(recording: Path, output: Path | None) -> None:
    """Write a pyvisa-sim device file from RECORDING.

    Queries become dialogues, `X value` / `X?` pairs properties; binary replies and
    handshakes pyvisa-sim cannot serve are listed in the file's opening comment.
    """
    loaded = load_recording(str(recording))
    target = output or recording.with_name(recording.name.replace(".rec.yaml", "") + ".sim.yaml")
    target.write_text(to_sim(loaded, source=recording.name), encoding="utf-8")
    resource = SIM_RESOURCES["serial" if "baudrate" in loaded.connection else "visa"]
    click.echo(f"wrote {target}: pyvisa.ResourceManager('{target}@sim'), resource {resource}")


@record.command("serve")
@click.argument("recording", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="TCP port (0: any free).")
@click.option("--host", default="127.0.0.1", help="Loopback address to listen on.")
@click.option(
    "--mode",
    type=click.Choice(["strict", "lenient"]),
    default="strict",
    help="strict: the recorded order; lenient: answer queries by command.",
)
@click.option(
    "--timing",
    type=click.Choice(["drop", "keep"]),
    default="drop",
    help="keep: each reply takes as long as it did when recorded.",
)
def serve_command(recording: Path, port: int, host: str, mode: str, timing: str) -> None:
    """Serve RECORDING on loopback TCP until Ctrl-C, as if it were the instrument.

    Each connection replays it from the start. Reach it as TCPIP::host::port::SOCKET
    (VISA) or socket://host:port (pyserial, for serial recordings); a message the
    recording does not have is reported here and gets no reply.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with serve_recording(
            str(recording), host=host, port=port, name=recording.name, mode=mode, timing=timing
        ) as server:  # type: ignore[arg-type]
            bound = server.port(recording.name)
            click.echo(f"serving {recording} ({mode}, timing {timing})")
            click.echo(f"  VISA:     {server.resource(recording.name)}")
            click.echo(f"  pyserial: socket://{server.host}:{bound}")
            click.echo("press Ctrl-C to stop", nl=True)
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
