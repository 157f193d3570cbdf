"""The folder tree is the architecture: this test keeps it true.

It reads every module of the package with :mod:`ast` (no import runs) and
fails when

* a module imports from a higher layer than its own (docs/architecture.md
  draws the layers),
* two top-level parts of the package import each other, directly or round a
  longer loop,
* a module imports a private name (``_name``), or a private module, from
  outside its own folder,
* a module grows past :data:`MAX_LINES` lines.

Old import paths left for users are lazy forwarders (``sdt_survey._deprecation``)
and import nothing, so they never show up as arrows.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sdt_survey"
MAX_LINES = 1000

#: Layer of each top-level part of the package, bottom (1) to top (7).
#: Within a layer, parts may import each other as long as there is no loop.
LAYERS: dict[str, float] = {
    # 1: contracts and kernels
    "errors": 1,
    "_version": 1,
    "results": 1,
    "files": 1,
    "_deprecation": 1,
    "_callable": 1,
    "_finite": 1,
    "_memory": 1,
    "_options": 1,
    "_progress": 1,
    "_spreadsheet_safe": 1,
    "_csv_text": 1,
    "_terminal": 1,
    "_untrusted": 1,
    "_lazy": 1,
    "stats": 1,
    # 2: instrument definitions
    "instrument": 2,
    "expressions": 2,
    # 3: platforms (write, read and detect their files), then generic reading and validation
    "platforms": 3,
    "export": 3,
    "responses": 3.5,
    # 4: the analysis data set
    "scoring": 4,
    "pseudonyms": 4,
    "identifiers": 4,
    # 5: analyses
    "reliability": 5,
    "factor": 5,
    "mixed": 5,
    "models": 5,
    "continuity": 5,
    "power": 5,
    "simulate": 5,
    "_plots": 5,
    # 6: what leaders read
    "cohorts": 6,
    "disclosure": 6,
    "ledger": 6,
    "distributions": 6,
    "report": 6,
    "study": 6,
    # 7: the command line and the demo
    "cli": 7,
    "demo": 7,
    "__main__": 7,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def resolve(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports() -> list[tuple[str, str, str | None, int]]:
    """(importer, imported module, imported name or None, line) for every import in the package."""
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [
                    (name, a.name, None, node.lineno) for a in node.names if a.name.startswith("sdt_survey")
                ]
            elif isinstance(node, ast.ImportFrom):
                target = resolve(name, node)
                if not target.startswith("sdt_survey"):
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if submodule in modules():
                        found.append((name, submodule, None, node.lineno))
                    else:
                        found.append((name, target, alias.name, node.lineno))
    return found


def part(module: str) -> str:
    """The top-level part of the package a module belongs to (``sdt_survey`` for the root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "sdt_survey"


def folder(module: str) -> str:
    return module if is_package(module) else module.rpartition(".")[0]


def test_every_part_has_a_layer():
    assert sorted({part(m) for m in modules()} - set(LAYERS) - {"sdt_survey"}) == []


def test_no_import_points_upward():
    upward = [
        f"{importer} (layer {LAYERS[part(importer)]}) imports {target} "
        f"(layer {LAYERS[part(target)]}), line {line}"
        for importer, target, _, line in imports()
        if part(importer) != "sdt_survey"
        and part(target) != "sdt_survey"
        and LAYERS[part(target)] > LAYERS[part(importer)]
    ]
    assert upward == []


def test_nothing_imports_the_package_root():
    """The root ``__init__`` is the public face; inside, modules import from where things live."""
    assert [
        f"{i} line {n}" for i, t, _, n in imports() if t == "sdt_survey" and part(i) != "sdt_survey"
    ] == []


def test_no_loop_between_parts():
    edges: dict[str, set[str]] = {}
    for importer, target, _, _ in imports():
        a, b = part(importer), part(target)
        if a != b and "sdt_survey" not in (a, b):
            edges.setdefault(a, set()).add(b)
    loops = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == path[0]:
                loops.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    assert loops == []


def private_owner(module: str) -> str | None:
    """The folder that owns ``module`` when it is private inside a subpackage, else None.

    A private module at the root (``sdt_survey._untrusted``) is a package-wide utility.
    """
    parts = module.split(".")
    for i in range(2, len(parts)):
        if parts[i].startswith("_") and not parts[i].startswith("__"):
            return ".".join(parts[:i])
    return None


def test_private_names_stay_in_their_folder():
    crossing = []
    for importer, target, name, line in imports():
        private_name = name is not None and name.startswith("_") and not name.startswith("__")
        if private_name and folder(target) != folder(importer):
            crossing.append(f"{importer} line {line}: {name} from {target}")
        owner = private_owner(target)
        if owner is not None and not (importer == owner or importer.startswith(owner + ".")):
            crossing.append(f"{importer} line {line}: private module {target}")
    assert crossing == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_is_small_enough_to_read(name):
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by concern (docs/architecture.md)"
