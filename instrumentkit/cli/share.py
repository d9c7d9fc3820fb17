"""`instrumentkit share`: serve instruments over HiSLIP; `--usage` reads the usage record.

instrumentkit share share.yaml
instrumentkit share --lab default --port 4880
instrumentkit share --usage share.usage.sqlite --since 2026-12-01
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from instrumentkit.connect import open_transport
from instrumentkit.errors import ConfigError
from instrumentkit.share import (
    SharedInstrument,
    ShareServer,
    UsageRecord,
    parse_networks,
    summarize,
)
from instrumentkit.share._config import InstrumentSpec, ShareSpec, load_share, parse_share
from instrumentkit.share._server import is_loopback_host

__all__ = ["share"]

DEFAULT_LOG = "share-usage.sqlite"


def _console() -> Console:
    # Resource strings are copied from this table: never cut them to fit a narrow pipe.
    wide = None if sys.stdout.isatty() else 200
    return Console(highlight=False, soft_wrap=True, width=wide)


@click.command("share")
@click.argument("share_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lab", default=None, help="A simulated lab to share from: a lab file or 'default'.")
@click.option("--host", default=None, help="Listen address (default 127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Default 4880.")
@click.option(
    "--allow", default=None, metavar="CIDR,...",
    help="Client networks that may connect (required for a host other than loopback).",
)  # fmt: skip
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The usage record (SQLite; default beside the share file).")  # fmt: skip
@click.option("--usage", "usage_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=None, help="Print the usage in this record and exit.")  # fmt: skip
@click.option("--since", default=None, help="With --usage: only sessions from this date on.")
def share(
    share_file: Path | None,
    lab: str | None,
    host: str | None,
    port: int | None,
    allow: str | None,
    log_path: Path | None,
    usage_path: Path | None,
    since: str | None,
) -> None:
    """Share instruments over HiSLIP: any VISA opens them as TCPIP::host::hislip_<name>::INSTR.

    SHARE_FILE lists the instruments (see docs/sharing.md); with --lab and no file, every
    device of that simulated lab is shared. Runs until Ctrl-C.
    """
    if usage_path is not None:
        _print_usage(usage_path, since)
        return
    spec = _spec(share_file, lab)
    host = host or spec.host
    networks = parse_networks(allow.split(",")) if allow else None
    if networks is None and spec.allow is not None:
        networks = parse_networks(spec.allow)
    if not is_loopback_host(host) and networks is None:
        raise ConfigError(
            f"--host {host} makes the instruments reachable from other machines: give the "
            "networks that may connect with --allow (e.g. --allow 192.168.1.0/24)"
        )
    log = log_path or (Path(spec.log) if spec.log else None) or _default_log(share_file)
    console = _console()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _instruments(spec) as instruments:
            usage = UsageRecord(log)
            server = ShareServer(
                instruments, host=host, port=port if port is not None else spec.port,
                allow=networks, limits=spec.limits.limits(), usage=usage,
            )  # fmt: skip
            try:
                server.start()
                _print_table(console, server, spec, log)
                while not stop.wait(0.1):
                    pass
            finally:
                server.close()
                usage.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("Stopped.")


def _spec(share_file: Path | None, lab: str | None) -> ShareSpec:
    if share_file is not None:
        return load_share(share_file, lab=lab)
    if lab is None:
        raise click.UsageError("give a SHARE_FILE, or --lab default to share the simulated lab")
    from instrumentkit.sim import default_lab_path, load_lab

    lab_spec = load_lab(default_lab_path() if lab == "default" else lab)
    return parse_share(
        {"lab": lab, "instruments": {d.name: {"device": d.name} for d in lab_spec.devices}},
        source=f"lab {lab}",
    )


def _default_log(share_file: Path | None) -> Path:
    if share_file is None:
        return Path(DEFAULT_LOG)
    return share_file.with_name(f"{share_file.stem}.usage.sqlite")


@contextlib.contextmanager
def _instruments(spec: ShareSpec) -> Iterator[dict[str, SharedInstrument]]:
    """Open every instrument (starting the lab first when devices are named); close all."""
    with contextlib.ExitStack() as stack:
        lab = None
        if any(item.device is not None for item in spec.instruments.values()):
            from instrumentkit.sim import Lab, default_lab_path

            lab_file = default_lab_path() if spec.lab == "default" else spec.lab
            lab = stack.enter_context(Lab(lab_file or default_lab_path()))
        shared: dict[str, SharedInstrument] = {}
        for name, item in spec.instruments.items():
            instrument = _open(name, item, lab)
            stack.callback(instrument.close)
            shared[name] = instrument
        yield shared


def _open(name: str, item: InstrumentSpec, lab: object) -> SharedInstrument:
    rules = item.rules()
    if item.device is None:
        assert item.resource is not None
        transport = open_transport(item.resource, **item.options)
        return SharedInstrument(name, transport, rules)
    from dataclasses import replace

    from instrumentkit.sim import Lab, ScpiDevice

    assert isinstance(lab, Lab)
    try:
        resource = lab.resource(item.device)
    except KeyError as error:
        raise ConfigError(str(error.args[0]), field=f"instruments.{name}.device") from None
    device = lab.device(item.device)
    if not isinstance(device, ScpiDevice):  # a serial protocol of its own: bytes through
        rules = replace(rules, protocol="raw", status_query=None)
    return SharedInstrument(name, open_transport(resource, **item.options), rules)


def _print_table(console: Console, server: ShareServer, spec: ShareSpec, log: Path) -> None:
    table = Table("name", "resource", "backed by", "access", title=spec.description or "Shared")
    # Listening on every interface: clients reach this machine by its name.
    address = socket.gethostname() if server.host in ("0.0.0.0", "::") else None
    for name, instrument in server.instruments.items():
        rules = instrument.rules
        access = "read-only" if rules.read_only else "operators write, others query"
        if rules.operators is None and not rules.read_only:
            access = "read and write"
        table.add_row(name, server.resource(name, address), instrument.resource, access)
    console.print(table)
    first = next(iter(server.instruments))
    console.print(f"hislip0 is {first}. Usage record: {log}")
    if not is_loopback_host(server.host):
        networks = ", ".join(str(n) for n in server.allow)
        console.print(
            f"[bold yellow]Warning:[/] listening on {server.host}:{server.port}; clients from "
            f"{networks} can reach these instruments."
        )
    console.print("Sharing; press Ctrl-C to stop.")


def _print_usage(path: Path, since: str | None) -> None:
    start = None
    if since is not None:
        try:
            start = dt.datetime.fromisoformat(since).replace(tzinfo=dt.timezone.utc).timestamp()
        except ValueError:
            raise ConfigError(f"--since {since!r} is not a date (write 2026-12-01)") from None
    rows = summarize(path, start)
    table = Table(
        "instrument", "client", "sessions", "connected", "locked", "messages", "bytes in",
        "bytes out", title=f"Usage in {path}" + (f" since {since}" if since else ""),
    )  # fmt: skip
    for row in rows:
        table.add_row(
            row.instrument, row.client, str(row.sessions), _duration(row.connected_s),
            _duration(row.locked_s), str(row.messages), str(row.bytes_in), str(row.bytes_out),
        )  # fmt: skip
    _console().print(table)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
