"""The `replay` fixture's work: drivers opened on recordings, checked when the test ends."""

from __future__ import annotations

import os
from pathlib import Path

from instrumentkit.instrument import Instrument
from instrumentkit.record._replay import ReplayTransport, Timing
from instrumentkit.record._script import Mode
from instrumentkit.registry import open as open_instrument

__all__ = ["Replays"]


class Replays:
    """Opens recordings for one test; `problems()` lists what the test left undone.

    Relative paths are looked up from the test's folder, then from the project's root.
    """

    def __init__(self, *search: Path) -> None:
        self.search = search
        self.opened: list[Instrument] = []

    def _find(self, path: str | os.PathLike[str]) -> Path:
        given = Path(path)
        if given.is_absolute():
            return given
        for folder in self.search:
            if (folder / given).exists():
                return folder / given
        return given

    def __call__(
        self,
        path: str | os.PathLike[str],
        *,
        driver: str | type[Instrument] | None = None,
        mode: Mode = "strict",
        timing: Timing = "drop",
    ) -> Instrument:
        found = self._find(path)
        resource = f"replay://{found}?mode={mode}&timing={timing}"
        instrument = open_instrument(resource, driver=driver)
        self.opened.append(instrument)
        return instrument

    def problems(self) -> list[str]:
        """Divergences raised (even if the test caught them), exchanges not used, bytes
        not read; closes every instrument."""
        found: list[str] = []
        for instrument in self.opened:
            transport = instrument.session.transport
            instrument.close()
            if not isinstance(transport, ReplayTransport):
                continue
            found.extend(str(mismatch) for mismatch in transport.script.mismatches)
            try:
                transport.check_done()
            except AssertionError as error:
                found.append(str(error))
        return found
