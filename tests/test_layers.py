"""The rooms' doors (docs/architecture.md), checked on the source itself.

Every module of shared/, kiosk/ and counter/ is imported in a fresh interpreter per package
(an import circle or a missing module fails there, whatever order other tests imported things
in), and the import graph is built from the source with `ast`:

- no cycle of module-level imports inside a package, and none either once function-local
  imports are counted: an import moved into a function to dodge a circle hides the circle
  without breaking it (function-local imports are kept only to spare a heavy start-up);
- shared/ never imports Flask, kiosk/ or counter/; kiosk/ and counter/ never import each other;
- no module imports a name beginning with "_" from another project module.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "kiosk", "counter")

# Run by Alembic with a connection in its context, never imported on its own: importing it
# alone raises on purpose (shared/migrations/env.py).
NOT_IMPORTABLE = {"shared.migrations.env"}

# Known breaches outside counter/, left for whoever changes those rooms: each entry is
# (importing module, imported module, name) and is removed once fixed. The test fails if an
# entry no longer occurs, so this list cannot outlive the problem.
ALLOWED_PRIVATE_IMPORTS: set[tuple[str, str, str]] = set()


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen in the importing module."""

    importer: str
    module: str  # the project module (or outside package) it loads
    name: str | None  # the name taken with `from … import name`, if not a module
    top_level: bool  # run when the importing module is loaded (not inside a function)
    type_only: bool  # under `if TYPE_CHECKING:`, never run: it cannot close a circle
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of the packages, by dotted name."""
    return {module_name(root, path): path
            for package in packages for path in sorted((root / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(body: list[ast.stmt], top_level: bool, type_only: bool = False
                ) -> Iterator[tuple[ast.stmt, bool, bool]]:
    """Every statement, whether it runs when the module is loaded, and whether it is only
    for the type checker (never run at all)."""
    for node in body:
        yield node, top_level, type_only
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _statements(node.body, False, True)
            yield from _statements(node.orelse, top_level, type_only)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _statements(node.body, False, type_only)
        elif isinstance(node, ast.ClassDef):
            yield from _statements(node.body, top_level, type_only)
        else:
            nested: list[ast.stmt] = []
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, field, None) or []:
                    if isinstance(child, ast.stmt):
                        nested.append(child)
                    elif isinstance(child, (ast.ExceptHandler, ast.match_case)):
                        nested.extend(child.body)
            yield from _statements(nested, top_level, type_only)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The imports of one module, each resolved to a project module where it names one."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, top_level, type_only in _statements(tree.body, True):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, None, top_level, type_only, node.lineno)
                      for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:  # `from counter import board`: the module itself
                    found.append(Import(name, submodule, None, top_level, type_only, node.lineno))
                else:
                    found.append(Import(name, source, alias.name, top_level, type_only, node.lineno))
    return found


def all_imports(root: Path, packages: Iterable[str]) -> list[Import]:
    modules = project_modules(root, packages)
    return [i for name, path in modules.items() for i in imports_of(name, path, modules)]


def room(module: str) -> str:
    return module.split(".")[0]


def cycles(imports: Iterable[Import], package: str, local_too: bool = False) -> set[tuple[str, ...]]:
    """The strongly connected groups (Tarjan) of imports inside one package: module-level
    ones, and with local_too the function-local ones as well."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        if (i.top_level or local_too) and not i.type_only and room(i.importer) == package and room(i.module) == package:
            graph.setdefault(i.importer, set()).add(i.module)
            graph.setdefault(i.module, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.add(tuple(sorted(group)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def forbidden(imports: Iterable[Import]) -> list[str]:
    """Imports that cross a door the wrong way (function-local ones included)."""
    refused = {"shared": ("flask", "kiosk", "counter"), "kiosk": ("counter",), "counter": ("kiosk",)}
    return [f"{i.importer}:{i.line} imports {i.module}" for i in imports
            if room(i.module) in refused.get(room(i.importer), ())]


def private_imports(imports: Iterable[Import]) -> set[tuple[str, str, str]]:
    """(importer, module, name) for every `_name` taken from another project module."""
    return {(i.importer, i.module, i.name) for i in imports
            if i.name and i.name.startswith("_") and room(i.module) in PACKAGES
            and i.module != i.importer}


# The checks are shown to find what they look for, on a small planted tree.

def _plant(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checks_find_planted_breaches(tmp_path: Path) -> None:
    _plant(tmp_path, {
        "counter/__init__.py": "",
        "counter/a.py": "from counter.b import thing\n",
        "counter/b.py": "from counter import a\nfrom counter.c import _secret\n",
        "counter/c.py": "def f():\n    from counter import a\n_secret = 1\n",
        "counter/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from counter import e\n",
        "counter/e.py": "from . import d\n",
        "kiosk/__init__.py": "",
        "kiosk/x.py": "def f():\n    import counter.a\n",
        "shared/__init__.py": "",
        "shared/y.py": "try:\n    from flask import g\nexcept ImportError:\n    pass\n",
    })
    imports = all_imports(tmp_path, PACKAGES)
    # a <-> b is a circle; c imports a only inside a function, d imports e only for types.
    assert cycles(imports, "counter") == {("counter.a", "counter.b")}
    assert cycles(imports, "counter", local_too=True) == {("counter.a", "counter.b", "counter.c")}
    assert sorted(forbidden(imports)) == ["kiosk.x:2 imports counter.a", "shared.y:2 imports flask"]
    assert private_imports(imports) == {("counter.b", "counter.c", "_secret")}


# The real tree.

IMPORTS = all_imports(ROOT, PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_imports_in_a_fresh_interpreter(package: str, tmp_path: Path) -> None:
    names = sorted(n for n in project_modules(ROOT, [package]) if n not in NOT_IMPORTABLE)
    env = dict(os.environ)
    # The wsgi modules build their app at import: give them an instance folder each.
    env["KIOSK_HOME"] = str(tmp_path / "kiosk")
    env["COUNTER_HOME"] = str(tmp_path / "counter")
    if package == "kiosk":
        from kiosk.config import ensure_home
        ensure_home(tmp_path / "kiosk")
    script = ("import importlib, json, sys\n"
              "for name in json.loads(sys.argv[1]):\n"
              "    importlib.import_module(name)\n")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(names)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_level_import_circle(package: str) -> None:
    assert cycles(IMPORTS, package) == set()


@pytest.mark.parametrize("package", PACKAGES)
def test_no_circle_hidden_in_a_function(package: str) -> None:
    assert cycles(IMPORTS, package, local_too=True) == set()


def test_doors_open_one_way() -> None:
    assert forbidden(IMPORTS) == []


def test_no_private_name_taken_from_another_module() -> None:
    found = private_imports(IMPORTS)
    assert found - ALLOWED_PRIVATE_IMPORTS == set()
    assert ALLOWED_PRIVATE_IMPORTS - found == set(), "an allowed import is gone: remove it from the list"
