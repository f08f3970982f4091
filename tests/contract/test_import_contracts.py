"""The import contracts bite: each planted violation fails `lint-imports`, naming the contract it breaks.

The workspace's packages are copied to a temporary directory, one import line is appended to one module, and
`lint-imports` runs with the copies first on `PYTHONPATH`. The packages are installed editable (a `.pth` line per
source folder, read after `PYTHONPATH`), so the copies shadow them; a test checks that before trusting the rest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@dataclass(frozen=True)
class Planted:
    module: str  # path of the module under its source folder
    line: str  # the import appended to it
    breaks: tuple[str, ...]  # ids of the contracts (pyproject.toml) that must then fail


PLANTED = [
    # Outbound is its own service now: its routing rules importing its HTTP entrypoint.
    Planted(
        "civicloop_outbound/domain/routing.py",
        "import civicloop_outbound.entrypoints.http",
        ("outbound-layers", "domain-no-io"),
    ),
    Planted("civicloop_intake/domain/submissions.py", "import psycopg", ("domain-no-io",)),
    # The gateway's domain reaching for outbound's store: another service now, and IO (psycopg) through it.
    Planted(
        "civicloop_gateway/domain/catalogue.py",
        "import civicloop_outbound.service_layer.store",
        ("services-independent", "domain-no-io"),
    ),
    Planted(
        "civicloop_geo/domain/places.py", "import civicloop_geo.settings", ("geo-layers", "domain-no-io")
    ),
    Planted(
        "civicloop_events/registry.py",
        "import civicloop_testing",
        ("no-test-support", "libraries-layers"),
    ),
]


def contract_names() -> dict[str, str]:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    return {c["id"]: c["name"] for c in contracts}


def source_folders() -> list[Path]:
    """Each package's folder: libs/NAME/src/PKG, services/NAME/src/PKG, services/NAME/PART/src/PKG."""
    patterns = ("libs/*/src/civicloop_*", "services/*/src/civicloop_*", "services/*/*/src/civicloop_*")
    return sorted(p for pattern in patterns for p in ROOT.glob(pattern) if p.is_dir())


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    """Every workspace package, copied side by side into one folder."""
    for package in source_folders():
        shutil.copytree(package, tmp_path / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def run(copies: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copies), "COLUMNS": "1000", "NO_COLOR": "1"}
    return subprocess.run(
        [*args], cwd=copies, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def lint_imports(copies: Path) -> subprocess.CompletedProcess[str]:
    return run(copies, str(LINT_IMPORTS), "--no-cache", "--config", str(PYPROJECT))


def test_the_copies_shadow_the_installed_packages(copies: Path):
    names = [p.name for p in source_folders()]
    assert {
        "civicloop_events",
        "civicloop_testing",
        "civicloop_open311",
        "civicloop_gateway",
        "civicloop_outbound",
        "civicloop_backend_adapters",
        "civicloop_geo",
    } <= set(names)
    code = f"import importlib; print(*(importlib.import_module(n).__file__ for n in {names!r}), sep='\\n')"
    found = run(copies, sys.executable, "-c", code)
    assert found.returncode == 0, found.stderr
    files = found.stdout.split()
    assert len(files) == len(names)
    assert all(Path(f).is_relative_to(copies) for f in files), files


def test_the_tree_as_it_is_keeps_every_contract(copies: Path):
    result = lint_imports(copies)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("planted", PLANTED, ids=lambda p: f"{p.module} {p.line}")
def test_a_planted_violation_fails_naming_its_contract(copies: Path, planted: Planted):
    module = copies / planted.module
    assert module.is_file(), f"{planted.module} is not in the workspace: re-point this row"
    module.write_text(module.read_text() + f"\n{planted.line}  # planted\n")
    result = lint_imports(copies)
    assert result.returncode != 0, result.stdout
    names = contract_names()
    for contract in planted.breaks:
        assert f"{names[contract]} BROKEN" in result.stdout, (contract, result.stdout)
