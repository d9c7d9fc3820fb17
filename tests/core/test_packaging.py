"""Packaging and the dependency rule: core never imports drivers or acquisition."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "instrumentkit"
# The CLI is the composition root and the top-level __init__ the user facade: both may
# reach everything; so may the live view, an application on top of the run files (decision
# 0620). Every other core module must not.
COMPOSITION_ROOTS = {
    CORE / "__init__.py",
    *(CORE / "cli").rglob("*.py"),
    *(CORE / "view").rglob("*.py"),
}
FORBIDDEN = ("instrumentkit.drivers", "instrumentkit.acquisition")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_modules_never_import_drivers_or_acquisition():
    offenders = {}
    for path in CORE.rglob("*.py"):
        if path in COMPOSITION_ROOTS:
            continue
        bad = {m for m in imported_modules(path) if m.startswith(FORBIDDEN)}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_acquisition_never_imports_a_concrete_driver():
    offenders = {}
    for path in (ROOT / "acquisition").rglob("*.py"):
        bad = {m for m in imported_modules(path) if m.startswith("instrumentkit.drivers")}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_importing_instrumentkit_loads_neither_layer():
    code = (
        "import sys, instrumentkit, instrumentkit.session, instrumentkit.testing;"
        "print([m for m in sys.modules if m.startswith(('instrumentkit.drivers',"
        " 'instrumentkit.acquisition'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_drivers_and_acquisition_install_inside_the_namespace():
    import instrumentkit.acquisition
    import instrumentkit.drivers

    assert Path(instrumentkit.drivers.__file__).parent == ROOT / "drivers"
    assert Path(instrumentkit.acquisition.__file__).parent == ROOT / "acquisition"


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    mapping = {
        "instrumentkit": CORE,
        "instrumentkit.drivers": ROOT / "drivers",
        "instrumentkit.acquisition": ROOT / "acquisition",
    }
    found = set()
    for prefix, folder in mapping.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            name = ".".join((prefix, *relative))
            if not name.startswith("instrumentkit.drivers") or folder != CORE:
                found.add(name)
    assert found - listed == set(), "add these packages to pyproject.toml"


def test_every_vendor_package_has_an_entry_point():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entries = config["project"]["entry-points"]["instrumentkit.drivers"]
    vendors = {p.parent.name for p in (ROOT / "drivers").glob("*/__init__.py")}
    assert vendors == set(entries)
