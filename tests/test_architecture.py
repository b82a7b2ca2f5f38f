"""The architecture as a contract: packages import one way only, never each other's privates.

Layers, lowest first (DESIGN.md): the bottom (errors, configpath), sources, warehouse, frames and
labels, the array statistics, the analyses, plots, reports, then the demo, the shipped test suites
and the CLI. A module may import its own package and any package of a lower layer, nothing else:
no upward import (not even a lazy one inside a function) and no import of another package's private
``_module``. Imports made only for type checking are exempt. Also checked: ``import runlab.stats``
loads no warehouse, frames or pandas, and no function runs past 60 lines without a docstring
that says why.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "runlab"

LAYERS: dict[str, int] = {
    "__init__": 0, "errors": 0, "configpath": 0, "csvsafe": 0,
    "sources": 1,
    "warehouse": 2,
    "frames": 3, "labels": 3,
    "stats": 4,
    "compare": 5, "sweep": 5, "envconfig": 5,
    "rewards": 6, "curves": 6, "samples": 6,
    "plots": 7,
    "reports": 8, "compat": 8,
    "demo": 9, "testing": 9,
    "cli": 10,
}
MAX_LINES = 60


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of import nodes under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    return skip


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree)
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "runlab":
                # ``from runlab import stats`` names a package; ``__version__`` is the root's own.
                out.extend((node.lineno, f"runlab.{a.name}" if (SRC / a.name).exists()
                            or (SRC / f"{a.name}.py").exists() else "runlab.__init__") for a in node.names)
            elif node.module.startswith("runlab."):
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.startswith("runlab."))
    return out


MODULES = sorted(p for p in SRC.rglob("*.py"))


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in MODULES}
    assert packages <= set(LAYERS), f"packages without a layer in this test: {packages - set(LAYERS)}"


def test_imports_go_one_way_and_never_into_another_package_s_privates() -> None:
    problems = []
    for path in MODULES:
        own = _package(path)
        for line, module in _imports(path):
            parts = module.split(".")
            target = parts[1]
            where = f"{path.relative_to(SRC.parent)}:{line} imports {module}"
            if target == own:
                continue
            if LAYERS.get(target, 99) >= LAYERS[own]:
                problems.append(f"{where} (layer {own}={LAYERS[own]} -> {target}={LAYERS.get(target)})")
            if len(parts) > 2 and parts[2].startswith("_"):
                problems.append(f"{where} (private module of another package)")
    assert not problems, "\n".join(problems)


def _long_functions() -> list[str]:
    out = []
    for path in MODULES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if length > MAX_LINES and "long because" not in doc.lower():
                    out.append(f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_function_over_sixty_lines_without_a_reason() -> None:
    """A longer function says why in its docstring, with the words 'long because'."""
    long = _long_functions()
    assert not long, "\n".join(long)


@pytest.mark.parametrize(("module", "banned"), [
    ("runlab.stats", ("runlab.warehouse", "runlab.frames", "runlab.compare", "pandas", "duckdb", "statsmodels")),
    ("runlab.configpath", ("runlab.warehouse", "pandas", "numpy")),
    ("runlab.sweep", ("optuna", "runlab.warehouse")),
])
def test_light_packages_stay_light(module: str, banned: tuple[str, ...]) -> None:
    heavy = "('pandas', 'duckdb', 'statsmodels', 'optuna', 'numpy')"
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {heavy} or m.startswith('runlab.'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    mods = set(loaded.split(",")) if loaded else set()
    hit = sorted(m for m in mods if any(m == b or m.startswith(b + ".") for b in banned))
    assert not hit, f"import {module} loads {hit}"
