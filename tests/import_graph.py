"""The project's import graph, read from the source (no imports are executed).

Used by tests/test_architecture.py (layering, and every stage's code listed in dvc.yaml) and
runnable to print what a stage's `deps` must list:

    python tests/import_graph.py            # each stage's project files, as dvc.yaml lines
"""

from __future__ import annotations

import ast
import sys
import tomllib
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# "mockmentor.data" -> "data", as installed (pyproject's package-dir)
PACKAGE_DIRS: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]
# A stage's own entry module is found by its name in one of the stage folders.
STAGE_FOLDERS = ("data", "training", "evaluation")
# Files a module loads by path rather than by import: evaluate's metric modules, Alembic's migrations.
LOADED_BY_PATH = {
    "mockmentor/metrics/__init__.py": "mockmentor/metrics/*.py",
    "mockmentor/store/interviews.py": "mockmentor/store/migrations/**/*.py",
}


def module_file(module: str) -> Path | None:
    """The source file of a project module, or None for anything else."""
    for package in sorted(PACKAGE_DIRS, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            rest = module[len(package) :].lstrip(".").split(".") if module != package else []
            folder = REPO / PACKAGE_DIRS[package]
            candidate = folder.joinpath(*rest)
            if candidate.with_suffix(".py").is_file():
                return candidate.with_suffix(".py")
            if (candidate / "__init__.py").is_file():
                return candidate / "__init__.py"
            return None
    return None


def module_name(path: Path) -> str:
    relative = path.resolve().relative_to(REPO)
    for package, folder in sorted(PACKAGE_DIRS.items(), key=lambda item: len(item[1]), reverse=True):
        if relative.parts[: len(Path(folder).parts)] == Path(folder).parts:
            rest = list(relative.parts[len(Path(folder).parts) :])
            rest[-1] = rest[-1].removesuffix(".py")
            if rest[-1] == "__init__":
                rest.pop()
            return ".".join([package, *rest])
    raise ValueError(f"{path} is not in a project package")


@cache
def imports(path: Path) -> frozenset[str]:
    """Every project module `path` imports, at the top or inside a function (lazy imports run too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return frozenset(m for m in found if module_file(m) is not None)


def parents(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def closure(entry: Path) -> set[Path]:
    """Every project file that running `entry` may execute."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        relative = str(path.relative_to(REPO))
        if relative in LOADED_BY_PATH:
            todo += sorted(REPO.glob(LOADED_BY_PATH[relative]))
        for module in imports(path) | set(parents(module_name(path))):
            for target in [module, *parents(module)]:
                file = module_file(target)
                if file is not None and file not in seen:
                    todo.append(file)
    return seen


def stage_entry(stage: str) -> Path:
    for folder in STAGE_FOLDERS:
        if (REPO / folder / f"{stage}.py").is_file():
            return REPO / folder / f"{stage}.py"
    raise LookupError(f"stage '{stage}' has no module {stage}.py in {', '.join(STAGE_FOLDERS)}")


def stage_code(stage: str) -> list[str]:
    """The project files a stage runs, relative to the repository, sorted."""
    return sorted(str(p.relative_to(REPO)) for p in closure(stage_entry(stage)))


if __name__ == "__main__":
    import yaml

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for stage in sys.argv[1:] or stages:
        print(f"{stage}:")
        print("\n".join(f"      - {file}" for file in stage_code(stage)))
