"""The live view: a read-only web page that follows one run file while it is written.

    instrumentkit view run.h5 --port 8050
    instrumentkit acquire examples/simulated_lab.yaml --view

Needs the `view` extra (Starlette, uvicorn): `pip install "instrumentkit[view]"`. See
docs/live-view.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["MISSING_EXTRA", "RunFollower", "ViewServer", "require_view_extra"]

MISSING_EXTRA = (
    "the live view needs the optional packages starlette and uvicorn: "
    "pip install 'instrumentkit[view]'"
)

if TYPE_CHECKING:
    from instrumentkit.view._follow import RunFollower
    from instrumentkit.view._server import ViewServer


def require_view_extra() -> None:
    """Raise ImportError with the one-line install hint when the `view` extra is missing."""
    for module in ("starlette", "uvicorn"):
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ImportError(MISSING_EXTRA) from error


def __getattr__(name: str) -> Any:
    if name == "RunFollower":
        from instrumentkit.view._follow import RunFollower

        return RunFollower
    if name == "ViewServer":
        require_view_extra()
        from instrumentkit.view._server import ViewServer

        return ViewServer
    raise AttributeError(name)
