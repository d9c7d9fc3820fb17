"""The page's files ship in a non-editable install, and the `view` extra names its packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]
STATIC = (
    "index.html",
    "view.js",
    "view.css",
    "uPlot.iife.min.js",
    "uPlot.min.css",
    "uPlot.LICENSE",
)


def test_a_built_wheel_holds_the_page_and_uplot(tmp_path):
    source = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.h5")
    for folder in ("instrumentkit", "drivers", "acquisition"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("instrumentkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith("/METADATA"))
        script = archive.read("instrumentkit/view/static/uPlot.iife.min.js")
    for name in STATIC:
        assert f"instrumentkit/view/static/{name}" in names, name
    assert script == (ROOT / "instrumentkit/view/static/uPlot.iife.min.js").read_bytes()
    assert "Provides-Extra: view" in metadata
    assert 'Requires-Dist: starlette>=0.37; extra == "view"' in metadata
    assert 'Requires-Dist: uvicorn>=0.29; extra == "view"' in metadata
