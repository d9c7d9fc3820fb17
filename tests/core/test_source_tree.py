"""Scripts run from the checkout's root after a plain (non-editable) `pip install .`.

Python puts the current directory first on `sys.path`, so such a script imports the
checkout's `instrumentkit/`, whose `drivers/` and `acquisition/` sit beside it rather than
inside it (decision 0005). The installed copy here is a real wheel install into a fresh
venv; its dependencies come from the test venv through a path entry, which adds the
folder but does not run the test venv's editable-install hook.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import h5py
import pytest

import instrumentkit as ik
from instrumentkit._source_tree import CheckoutFinder, install_checkout_finder

ROOT = Path(__file__).resolve().parents[2]

WHERE = (
    "import json, sys, instrumentkit, instrumentkit.acquisition, instrumentkit.drivers.keysight;"
    "from instrumentkit._source_tree import CheckoutFinder;"
    "drivers = instrumentkit.registered_drivers();"
    "files = {m.__file__ for n, m in list(sys.modules.items())"
    " if n.split('.')[0] == 'instrumentkit' and getattr(m, '__file__', None)};"
    "print(json.dumps({'core': instrumentkit.__file__,"
    " 'acquisition': instrumentkit.acquisition.__file__,"
    " 'keysight': instrumentkit.drivers.keysight.__file__,"
    " 'drivers': len(drivers), 'files': sorted(files),"
    " 'finders': sum(isinstance(f, CheckoutFinder) for f in sys.meta_path)}))"
)


@pytest.fixture(scope="session")
def installed_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv's python with instrumentkit installed from this checkout, not editable."""
    home = tmp_path_factory.mktemp("plain-install")
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # Built from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
    source = home / "source"
    source.mkdir()
    for part in ("pyproject.toml", "README.md", "instrumentkit", "drivers", "acquisition"):
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__py*"))
        else:
            shutil.copy2(ROOT / part, source / part)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, source],
        check=True,
        capture_output=True,
    )
    (site / "test_venv_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def where(python: Path, cwd: Path) -> dict[str, object]:
    out = subprocess.run(
        [python, "-c", WHERE], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_python_in_the_checkout_root_imports_the_whole_source_tree(installed_python):
    found = where(installed_python, ROOT)
    # Every driver entry point loaded, and not one module came from the installed copy.
    assert found.pop("drivers") == len(ik.registered_drivers())
    assert all(Path(f).is_relative_to(ROOT) for f in found.pop("files")), "imported twice"  # type: ignore[attr-defined]
    assert found == {
        "core": str(ROOT / "instrumentkit" / "__init__.py"),
        "acquisition": str(ROOT / "acquisition" / "__init__.py"),
        "keysight": str(ROOT / "drivers" / "keysight" / "__init__.py"),
        "finders": 1,
    }


def test_elsewhere_the_installed_package_is_used_alone(installed_python, tmp_path):
    found = where(installed_python, tmp_path)
    site = Path(str(found["core"])).parent
    assert site != ROOT / "instrumentkit"
    assert not any(Path(f).is_relative_to(ROOT) for f in found["files"])  # type: ignore[attr-defined]
    assert found["acquisition"] == str(site / "acquisition" / "__init__.py")
    assert found["keysight"] == str(site / "drivers" / "keysight" / "__init__.py")
    assert found["finders"] == 0


def test_an_example_script_runs_from_the_checkout_root(installed_python, tmp_path):
    output = tmp_path / "sensors.h5"
    # `-c` puts the current directory first on sys.path, as `python my_lab.py` in the root does.
    script = (
        "import runpy, sys;"
        f"sys.argv = ['log_sensors.py', '--duration', '0.6', '--interval', '0.2',"
        f" '--output', {str(output)!r}];"
        "runpy.run_path('examples/log_sensors.py', run_name='__main__')"
    )
    out = subprocess.run(
        [installed_python, "-W", "error::UserWarning", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    with h5py.File(output, "r") as run:
        names = set(run)
        assert names, "the example wrote no sensor group"
        first = run[sorted(names)[0]]
        assert len(first["values"]) >= 1


def test_the_finder_is_only_installed_for_a_checkout(tmp_path):
    # An installed layout: the layers are inside the package folder.
    installed = tmp_path / "site" / "instrumentkit"
    for layer in ("drivers", "acquisition"):
        (installed / layer).mkdir(parents=True)
        (installed / layer / "__init__.py").write_text("")
    assert install_checkout_finder(str(installed / "__init__.py")) is None
    # Folders named like ours beside a package of another project are not taken.
    other = tmp_path / "other"
    (other / "instrumentkit").mkdir(parents=True)
    for layer in ("drivers", "acquisition"):
        (other / layer).mkdir()
        (other / layer / "__init__.py").write_text("")
    (other / "pyproject.toml").write_text('[project]\nname = "somethingelse"\n')
    assert install_checkout_finder(str(other / "instrumentkit" / "__init__.py")) is None


def test_the_finder_maps_exactly_the_two_layers():
    finder = CheckoutFinder(ROOT)
    spec = finder.find_spec("instrumentkit.drivers")
    assert spec is not None
    assert spec.origin == str(ROOT / "drivers" / "__init__.py")
    assert list(spec.submodule_search_locations or []) == [str(ROOT / "drivers")]
    assert finder.find_spec("instrumentkit.tests") is None
    assert finder.find_spec("instrumentkit.examples") is None
    assert finder.find_spec("drivers") is None


def fake_tree(root: Path, pyproject: str, *, inside: bool = False) -> Path:
    """A tree with instrumentkit/, the two layers beside it (or inside), and a pyproject."""
    package = root / "instrumentkit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for layer in ("drivers", "acquisition"):
        folder = (package if inside else root) / layer
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(pyproject)
    return package / "__init__.py"


OURS = (
    '[project]\nname = "instrumentkit"\n[tool.setuptools]\npackage-dir = { "instrumentkit" = '
    '"instrumentkit", "instrumentkit.drivers" = "drivers", '
    '"instrumentkit.acquisition" = "acquisition" }\n'
)


def test_a_checkout_needs_our_name_and_our_mapping(tmp_path):
    name_only = '[project]\nname = "instrumentkit"\n'
    mapping_only = OURS.replace('name = "instrumentkit"', 'name = "fork"')
    assert install_checkout_finder(str(fake_tree(tmp_path / "a", name_only))) is None
    assert install_checkout_finder(str(fake_tree(tmp_path / "b", mapping_only))) is None
    # Layers inside the package make it an installed one, even beside a checkout's layers.
    inside = fake_tree(tmp_path / "c", OURS, inside=True)
    for layer in ("drivers", "acquisition"):
        (tmp_path / "c" / layer).mkdir()
        (tmp_path / "c" / layer / "__init__.py").write_text("")
    assert install_checkout_finder(str(inside)) is None


def test_the_finder_goes_first_once_per_checkout(tmp_path):
    package_init = fake_tree(tmp_path / "checkout", OURS)
    installed: list[CheckoutFinder] = []
    try:
        finder = install_checkout_finder(str(package_init))
        assert finder is not None
        installed.append(finder)
        assert finder.root == tmp_path / "checkout"
        assert sys.meta_path[0] is finder  # before an editable install's own finder
        assert install_checkout_finder(str(package_init)) is finder
        assert sum(f is finder for f in sys.meta_path) == 1
        spec = finder.find_spec("instrumentkit.acquisition")
        assert spec is not None
        assert spec.origin == str(tmp_path / "checkout" / "acquisition" / "__init__.py")
    finally:
        for finder in installed:
            sys.meta_path.remove(finder)
