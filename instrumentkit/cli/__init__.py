"""The `instrumentkit` command: the composition root, which may import everything."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from instrumentkit._version import __version__
from instrumentkit.cli._instruments import drivers_command, identify_command, list_command
from instrumentkit.errors import ConfigError, InstrumentError

__all__ = ["main"]

# Command groups that live in their own modules; each is optional so a partial
# install (or a module still being written) never breaks the other verbs.
_PLUGGABLE = (
    ("instrumentkit.cli.sim", "sim"),
    ("instrumentkit.cli.acquire", "acquire"),
    ("instrumentkit.cli.acquire", "inspect"),
    ("instrumentkit.cli.acquire", "plot"),
    ("instrumentkit.cli.view", "view"),
    ("instrumentkit.cli.share", "share"),
)


class _Main(click.Group):
    """Turns instrumentkit errors into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InstrumentError, OSError) as error:
            if ctx.meta.get("instrumentkit.debug"):
                raise
            click.echo(f"Error: {error}", err=True)  # click's own style (usage errors)
            ctx.exit(2 if isinstance(error, ConfigError) else 1)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="instrumentkit")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Control lab instruments and stream what they measure into HDF5."""
    ctx.meta["instrumentkit.debug"] = debug


main.add_command(list_command)
main.add_command(identify_command)
main.add_command(drivers_command)

for module_name, attribute in _PLUGGABLE:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as missing:
        if missing.name != module_name:
            raise
        continue
    command = getattr(module, attribute, None)
    if isinstance(command, click.Command):
        main.add_command(command, attribute)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
