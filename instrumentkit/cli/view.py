"""`instrumentkit view FILE`: the live view of a run file, in the browser."""

from __future__ import annotations

import signal
import threading
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click
from rich.console import Console

if TYPE_CHECKING:
    from instrumentkit.view._server import ViewServer

__all__ = ["live_view", "require_view", "start_view", "view"]

END_GRACE_SECONDS = 3.0
"""How long `acquire --view` waits, after the run, for open pages to learn how it ended."""


def require_view() -> None:
    """A ClickException naming the `view` extra when Starlette or uvicorn is missing."""
    from instrumentkit.view import require_view_extra

    try:
        require_view_extra()
    except ImportError as error:
        raise click.ClickException(str(error)) from None


def start_view(
    path: Path, *, host: str = "127.0.0.1", port: int = 0, allow_remote: bool = False
) -> ViewServer:
    """A started ViewServer for `path`, or a ClickException naming the missing extra."""
    require_view()
    from instrumentkit.view._server import ViewServer

    return ViewServer(path, host=host, port=port, allow_remote=allow_remote).start()


@click.command("view")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (0: any free port; the address is printed).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; a non-loopback one needs --allow-remote.")  # fmt: skip
@click.option("--allow-remote", is_flag=True,
              help="Allow a --host other machines reach (no authentication!).")  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
def view(file: Path, port: int, host: str, allow_remote: bool, open_browser: bool) -> None:
    """Serve a read-only live view of the run FILE (being written, finished or killed).

    The page shows the run's status, every stream's rows and rate, the errors and one plot
    per stream, following the file as it grows. Ctrl-C stops the server.
    """
    _check_run_file(file)
    server = start_view(file, host=host, port=port, allow_remote=allow_remote)
    url = server.url
    click.echo(f"Live view of {file} at {url} (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(url)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Ctrl-C and SIGTERM end the server quietly (exit 0): a viewer has nothing to lose.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.2) and not server.wait(0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
    click.echo("Stopped.")


@contextmanager
def live_view(path: Path, console: Console | None) -> Iterator[None]:
    """For `acquire --view`: the run's live view while the block runs (none if no console).

    After the run, open pages get their final update (completed/aborted) before it stops.
    """
    if console is None:
        yield
        return
    server = start_view(path)
    console.print(f"Live view: {server.url}")
    try:
        yield
    finally:
        server.stop(wait_for_pages=END_GRACE_SECONDS)


def _check_run_file(file: Path) -> None:
    """Refuse a file that is not a run file now, not in the page; one being created is fine."""
    from instrumentkit.acquisition import open_run

    try:
        open_run(file, lazy=True).close()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except OSError:
        pass  # held by a writer that has not yet switched to SWMR: the page waits for it
