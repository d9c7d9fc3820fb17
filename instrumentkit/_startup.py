"""Signals while the command line starts: one line and exit code 130, never a traceback.

`python -m instrumentkit` and the `instrumentkit` command import the package (NumPy,
pyvisa, h5py: most of a second) before any command can take over SIGINT and SIGTERM.
A signal in that time used to print a `KeyboardInterrupt` traceback (SIGINT) or kill the
process silently with -15 (SIGTERM). Nothing has been written yet, so the process just
says so and exits; commands that write install their own handlers (decision 0009).
Only a process launched as the command line gets this: importing the package from a
script or a test never touches its signal handlers.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

__all__ = ["guard_command_line", "launched_as_command_line"]

EXIT_INTERRUPTED = 130
_HOW = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}


def launched_as_command_line() -> bool:
    """Whether this process is `python -m instrumentkit ...` or the `instrumentkit` script."""
    argv = list(getattr(sys, "orig_argv", ()))
    if "-m" in argv:
        index = argv.index("-m")
        return argv[index + 1 : index + 2] == ["instrumentkit"]
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    return script in ("instrumentkit", "instrumentkit.exe")


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os.write(2, f"instrumentkit: {_HOW.get(signum, 'stopped')}; nothing was recorded\n".encode())
    os._exit(EXIT_INTERRUPTED)


def guard_command_line() -> None:
    """Exit with one line on SIGINT/SIGTERM until a command installs its own handling."""
    if threading.current_thread() is not threading.main_thread():
        return
    if not launched_as_command_line():
        return
    for number in _HOW:
        if signal.getsignal(number) in (signal.default_int_handler, signal.SIG_DFL):
            signal.signal(number, _exit_now)


guard_command_line()
