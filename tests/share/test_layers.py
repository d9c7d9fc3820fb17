"""instrumentkit.share depends on transports and sessions only (DESIGN, "Sharing instruments")."""

from __future__ import annotations

import ast
from pathlib import Path

import instrumentkit.share

ALLOWED = {
    "instrumentkit.transport",
    "instrumentkit.connect",
    "instrumentkit.session",
    "instrumentkit.errors",
    "instrumentkit._yaml",  # the share file is read like every file users write
    "instrumentkit._fields",  # and its errors name the field the same way
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_share_imports_only_transports_sessions_and_errors() -> None:
    folder = Path(instrumentkit.share.__file__).parent
    used = {
        name
        for path in folder.glob("*.py")
        for name in _imports(path)
        if name.startswith("instrumentkit") and not name.startswith("instrumentkit.share")
    }
    assert used, "the scan found no instrumentkit imports at all"
    assert used <= ALLOWED, sorted(used - ALLOWED)
