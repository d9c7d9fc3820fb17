"""Import `drivers/` and `acquisition/` of a checkout as `instrumentkit.drivers`/`.acquisition`.

An installed instrumentkit holds both subpackages inside its own folder. A checkout does
not: they sit beside `instrumentkit/` (decision 0001). A script run from the checkout's
root imports the checkout's `instrumentkit/` (the current directory comes first on
`sys.path`) whatever was installed, so without help it finds neither subpackage. This
finder maps exactly those two names to the checkout's folders, and is installed only when
`instrumentkit` itself was imported from a checkout (decision 0005).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = ["install_checkout_finder"]

_LAYERS = ("drivers", "acquisition")


def _checkout_root(package_dir: Path) -> Path | None:
    """The checkout holding `package_dir`, or None for an installed package.

    An installed package has its layers inside it; a checkout has them beside it, next to
    a pyproject.toml that declares the `instrumentkit` project with the same mapping.
    """
    if any((package_dir / layer / "__init__.py").is_file() for layer in _LAYERS):
        return None
    root = package_dir.parent
    if not all((root / layer / "__init__.py").is_file() for layer in _LAYERS):
        return None
    try:
        pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    declares_us = 'name = "instrumentkit"' in pyproject
    maps_layers = all(f'"instrumentkit.{layer}" = "{layer}"' in pyproject for layer in _LAYERS)
    return root if declares_us and maps_layers else None


class CheckoutFinder(importlib.abc.MetaPathFinder):
    """Finds `instrumentkit.drivers` and `instrumentkit.acquisition` in one checkout."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages = {f"instrumentkit.{layer}": root / layer for layer in _LAYERS}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        folder = self.packages.get(fullname)
        if folder is None:
            return None
        # Their submodules are then found through the package's own __path__.
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def install_checkout_finder(package_file: str) -> CheckoutFinder | None:
    """Install the finder if `package_file` (instrumentkit's `__init__`) is in a checkout."""
    root = _checkout_root(Path(package_file).resolve().parent)
    if root is None:
        return None
    for finder in sys.meta_path:
        if isinstance(finder, CheckoutFinder) and finder.root == root:
            return finder
    finder = CheckoutFinder(root)
    # First: the layers come from the same tree as instrumentkit itself, even when an
    # editable install of another checkout maps these names too.
    sys.meta_path.insert(0, finder)
    return finder
