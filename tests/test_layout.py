"""The layout tells the architecture: no module imports from a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

import semjscc

ROOT = Path(semjscc.__file__).parent
# Lowest first; a module may import its own layer and the layers below it.
LAYERS = [
    {"errors", "parsing", "files", "config", "registry", "checkpoint", "progress", "version", "device"},
    {"channels", "semloss"},
    {"models"},
    {"metrics"},
    {"semantics"},
    {"losses"},
    {"baselines"},
    {"data"},
    {"plots"},
    {"evaluation", "training"},
    {"experiments"},
    {"cli", "__main__"},
]
LEVEL = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def imported_parts(path: Path) -> set[str]:
    """Top-level semjscc parts (``models``, ``engine`` ...) imported by a module."""
    package = path.relative_to(ROOT).parts[:-1]
    parts = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from .. import x": the names are the parts
                    target = [alias.name for alias in node.names]
                    parts.update(target)
                    continue
            elif node.module and node.module.startswith("semjscc"):
                target = node.module.split(".")[1:]
            else:
                continue
            if target:
                parts.add(target[0])
        elif isinstance(node, ast.Import):
            parts.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("semjscc."))
    return parts


def test_no_import_runs_back_up_the_layers() -> None:
    violations = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel == Path("__init__.py"):
            continue  # the package's public re-exports
        own = rel.parts[0].removesuffix(".py")
        for part in imported_parts(path):
            if part == "__version__":
                continue
            if part not in LEVEL:
                violations.append(f"{rel}: imports unknown part {part!r}")
            elif LEVEL[part] > LEVEL[own]:
                violations.append(f"{rel} ({own}) imports {part}")
    assert not violations, "\n".join(violations)


def module_name(path: Path) -> str:
    """``semjscc.experiments.eo.plan`` for ``.../experiments/eo/plan.py`` (packages: their
    ``__init__``'s name without it)."""
    parts = ("semjscc", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """The semjscc modules a module imports (``from .x import y``: ``x``, or ``x.y`` when
    ``y`` is a module itself)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + (node.module.split(".") if node.module else []))
            elif node.module and node.module.startswith("semjscc"):
                target = node.module
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("semjscc."))
    return {m for m in found if m in MODULES}


def test_there_are_no_import_cycles() -> None:
    graph = {name: imported_modules(path) - {name} for name, path in MODULES.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[str] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "\n".join(cycles)


def test_modules_stay_small() -> None:
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in ROOT.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 600]
    assert not long, "\n".join(long)


def test_importing_the_package_registers_every_experiment() -> None:
    """Every experiment subpackage is registered by ``import semjscc``, without the CLI."""
    import subprocess
    import sys

    code = ("import sys, semjscc\n"
            "from semjscc.registry import EXPERIMENTS\n"
            "print(sorted(EXPERIMENTS.names()), any(m.startswith('semjscc.cli') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    folders = list((ROOT / "experiments").glob("*/__init__.py"))
    names, cli = out.rsplit(" ", 1)
    assert cli == "False"
    assert names == str(sorted(["eo-semloss", "importance", "multihop-dhd", "ofdm"]))
    assert len(folders) == len(eval(names))
