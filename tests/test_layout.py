"""The layout tells the architecture: no module imports from a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

import semjscc

ROOT = Path(semjscc.__file__).parent
# Lowest first; a module may import its own layer and the layers below it.
LAYERS = [
    {"errors", "files", "config", "registry", "checkpoint", "progress"},
    {"channels", "semloss"},
    {"models"},
    {"metrics"},
    {"semantics"},
    {"losses"},
    {"baselines"},
    {"data"},
    {"plots"},
    {"engine"},
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
