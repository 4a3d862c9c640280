"""The import rules of ARCHITECTURE.md: the pipeline flows one way and no module cycle exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "infbench"

# Packages that hold measurement and its analysis: they must never reach up into presentation or commands.
CORE = ("engines", "monitors", "sessions", "analysis")
FORBIDDEN = {
    **{
        core: ("infbench.tui", "infbench.commands", "infbench.report", "infbench.run", "infbench.cli")
        for core in CORE
    },
    "plan": ("infbench.tui", "infbench.commands", "infbench.report", "infbench.run", "infbench.cli"),
    "report": ("infbench.tui", "infbench.commands", "infbench.run", "infbench.cli"),
    "run": ("infbench.tui", "infbench.commands", "infbench.cli"),
    "tui": ("infbench.commands", "infbench.cli"),
}
THIRD_PARTY_FORBIDDEN = {core: ("textual",) for core in (*CORE, "plan", "report", "run")}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module imported by `path` (module-level and inside functions), with its line."""
    tree = ast.parse(path.read_text(), str(path))
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
            out.extend((f"{node.module}.{alias.name}", node.lineno) for alias in node.names)
    return out


def _sources() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else ""


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layer_rules(path: Path) -> None:
    """engines/monitors/sessions/analysis/plan never import run, report, tui or commands; report never run/tui."""
    package = _package(path)
    bad = []
    for name, line in _imports(path):
        for prefix in FORBIDDEN.get(package, ()):
            if name == prefix or name.startswith(prefix + "."):
                bad.append(f"line {line}: {name}")
        for prefix in THIRD_PARTY_FORBIDDEN.get(package, ()):
            if name == prefix or name.startswith(prefix + "."):
                bad.append(f"line {line}: {name}")
    assert not bad, f"{path.relative_to(ROOT)} ({package}/) breaks the import rules: {bad}"


# The shared vocabulary at the package root, which every layer may import: it imports no layer itself.
FOUNDATION = ("errors", "records", "vocab", "metrics", "logs")
LAYERS = (
    "engines",
    "monitors",
    "sessions",
    "analysis",
    "plan",
    "report",
    "run",
    "tui",
    "commands",
    "testing",
)


@pytest.mark.parametrize("name", FOUNDATION)
def test_foundation_modules_import_no_layer(name: str) -> None:
    """errors, records, vocab, metrics and logs are leaves: importing any layer (or the CLI) would tie them up."""
    path = ROOT / f"{name}.py"
    assert path.exists(), f"infbench/{name}.py is gone: update FOUNDATION"
    bad = [
        f"line {line}: {imported}"
        for imported, line in _imports(path)
        for layer in (*LAYERS, "cli")
        if imported == f"infbench.{layer}" or imported.startswith(f"infbench.{layer}.")
    ]
    assert not bad, f"infbench/{name}.py imports a layer: {bad}"


def test_no_module_import_cycles() -> None:
    """No two infbench modules import each other, directly or through others (function-level imports count)."""
    modules = {_module_name(p): p for p in _sources()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for imported, _line in _imports(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if (
                imported
                and imported != name
                and not name.startswith(imported + ".")
                and imported != "infbench"
            ):
                deps.add(imported)
        graph[name] = deps
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
