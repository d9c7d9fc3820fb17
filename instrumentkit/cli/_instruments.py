"""`instrumentkit list`, `identify` and `drivers`."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from instrumentkit.discovery import find_resources
from instrumentkit.registry import identify, registered_drivers

_FILE_WIDTH = 1000
"""Columns for output that is not a terminal (a file, a pipe): wide enough that tables are
never wrapped or cut ('KeysightInfiniiVi...' at rich's default of 80)."""


def _console() -> Console:
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = _FILE_WIDTH
    return console


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--network", is_flag=True, help="Also discover LAN instruments (sends broadcasts).")
def list_command(as_json: bool, network: bool) -> None:
    """List serial ports and VISA resources found on this computer."""
    found = find_resources(network=network)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in found], indent=2))
        return
    table = Table("resource", "kind", "description", title="Instruments found")
    for item in found:
        table.add_row(item.resource, item.kind, item.description)
    console = _console()
    console.print(table)
    if not found:
        console.print("Nothing found. Try `instrumentkit sim serve` for the simulated lab.")


@click.command("identify")
@click.argument("resource")
@click.option("--backend", default=None, help='pyvisa backend, e.g. "@py" or "lab.yaml@sim".')
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for *IDN?.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def identify_command(resource: str, backend: str | None, timeout: float, as_json: bool) -> None:
    """Ask RESOURCE for *IDN? and show the driver that serves it."""
    options: dict[str, object] = {"timeout": timeout}
    if backend:
        options["backend"] = backend
    idn, driver = identify(resource, **options)  # type: ignore[arg-type]
    name = f"{driver.__module__}.{driver.__name__}" if driver else None
    if as_json:
        click.echo(json.dumps({"resource": resource, "idn": idn, "driver": name}))
        return
    click.echo(f"{resource}: {idn}")
    click.echo(f"driver: {name or 'none registered (see `instrumentkit drivers`)'}")


def _serial_framing(options: dict[str, object]) -> str:
    if "baudrate" not in options:
        return "-"
    bits = options.get("bytesize", 8)
    return f"{options['baudrate']} {bits}{options.get('parity', 'N')}{options.get('stopbits', 1)}"


def drivers_markdown(rows: list[dict[str, object]], classes: list[type]) -> str:
    """The supported-models table of docs/supported-models.md, from the registry."""
    lines = [
        "| driver | module | interface | serial default | pyvisa-sim file | simulated-lab model |",
        "|---|---|---|---|---|---|",
    ]
    for row, cls in zip(rows, classes, strict=True):
        framing = _serial_framing(dict(cls.connection_defaults))  # type: ignore[attr-defined]
        interfaces = ", ".join(row["interfaces"])  # type: ignore[call-overload]
        lines.append(
            f"| `{row['driver']}` | `{row['module']}` | {interfaces} | {framing} "
            f"| {row['pyvisa_sim'] or '-'} | {row['sim_model'] or '-'} |"
        )
    return "\n".join(lines) + "\n"


@click.command("drivers")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--markdown", is_flag=True, help="Print the supported-models Markdown table.")
def drivers_command(as_json: bool, markdown: bool) -> None:
    """List the registered drivers and the instruments they serve."""
    classes = list(registered_drivers())
    rows = [
        {
            "driver": cls.__name__,
            "module": cls.__module__,
            "interfaces": [i.__name__ for i in cls.interfaces],
            "idn_patterns": list(cls.idn_patterns),
            "pyvisa_sim": cls.sim_file or "",
            "sim_model": cls.sim_model or "",
        }
        for cls in classes
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if markdown:
        click.echo(drivers_markdown(rows, classes), nl=False)
        return
    table = Table("driver", "interfaces", "serves (*IDN? pattern)", "simulation", title="Drivers")
    for row in rows:
        simulation = ", ".join(s for s in (row["pyvisa_sim"], row["sim_model"]) if s)
        table.add_row(
            f"{row['driver']}\n[dim]{row['module']}[/dim]",
            ", ".join(row["interfaces"]),
            "\n".join(row["idn_patterns"]) or "(named explicitly)",
            simulation,
        )
    _console().print(table)
