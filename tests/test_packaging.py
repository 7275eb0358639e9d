"""What ``pip install`` installs is the whole gateway: every top-level package and module is listed.

The tests import from the checkout (the working directory comes first on ``sys.path``), so a package
missing from pyproject's list passes them all and then fails where the code is installed: the
``onestop`` command of ``make demo`` (an editable install maps only the listed names) and the
container image (``pip install .``).
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch

from config import PROJECT_ROOT

NOT_INSTALLED = {"tests", "web", "deploy", "docs", "var"}


def _setuptools() -> dict[str, object]:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool: dict[str, object] = pyproject["tool"]["setuptools"]
    return tool


def test_every_top_level_package_is_installed() -> None:
    patterns = _setuptools()["packages"]["find"]["include"]  # type: ignore[index]
    packages = {
        path.name
        for path in PROJECT_ROOT.iterdir()
        if (path / "__init__.py").is_file() and path.name not in NOT_INSTALLED
    }
    missing = sorted(p for p in packages if not any(fnmatch(p, pattern) for pattern in patterns))
    assert not missing, f"add to [tool.setuptools.packages.find] include: {missing}"


def test_every_top_level_module_is_installed() -> None:
    modules = {path.stem for path in PROJECT_ROOT.glob("*.py")}
    missing = sorted(modules - set(_setuptools()["py-modules"]))  # type: ignore[arg-type]
    assert not missing, f"add to [tool.setuptools] py-modules: {missing}"


def test_the_container_image_copies_every_package_and_module() -> None:
    """deploy/Dockerfile copies the sources by name (no build tools or tests in the image): a new
    package must be named there too, or the image starts without it."""
    dockerfile = (PROJECT_ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    copied = {
        word.rstrip("/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for word in line.split()[1:-1]
        if not word.startswith("--")
    }
    wanted = {
        path.name
        for path in PROJECT_ROOT.iterdir()
        if (path / "__init__.py").is_file() and path.name not in NOT_INSTALLED | {"bench"}
    } | {path.name for path in PROJECT_ROOT.glob("*.py")}
    assert not wanted - copied, f"deploy/Dockerfile does not COPY {sorted(wanted - copied)}"
