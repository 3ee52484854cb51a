"""The shape of the house: apps import downwards only, and no module imports itself back through
others, counting imports inside functions (where a cycle hides from Python's own checks)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lower first. `config` is wiring and infrastructure (settings, Celery, health): only the console,
# which shows that infrastructure to operators, reads it.
# `api` is the HTTP framework: it sits on accounts' identity and roles, and every app's endpoints
# sit on it, accounts' own (`accounts.api`: users, facilities, keys, tokens) included.
LAYERS = ["accounts", "api", "events", "analytics", "reports", "console"]
MAY_READ_CONFIG = {"console"}
ON_THE_FRAMEWORK = {"accounts.api"}  # parts of a lower app that sit on the framework


def layer(module: str) -> float:
    if any(module == part or module.startswith(f"{part}.") for part in ON_THE_FRAMEWORK):
        return LAYERS.index("api") + 0.5
    return LAYERS.index(module.split(".")[0])


def modules() -> dict[str, Path]:
    found = {}
    for package in [*LAYERS, "config"]:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, at any depth; ``from a import b`` gives both
    ``a`` and ``a.b`` (only the one that is a module will match)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: {target for target in imports(path) if target in found and target != name}
            for name, path in found.items()}  # fmt: skip


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    upward = []
    for module, targets in edges.items():
        package = module.split(".")[0]
        for target in targets:
            target_package = target.split(".")[0]
            if package == "config" or (target_package == package and layer(target) <= layer(module)):
                continue
            allowed = package in MAY_READ_CONFIG if target_package == "config" else layer(target) < layer(module)
            if not allowed:
                upward.append(f"{module} -> {target}")
    return sorted(upward)


def cycles_in(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return cycles


def test_apps_import_only_the_apps_below_them():
    assert upward_imports(graph()) == []


def test_no_module_imports_itself_back():
    assert cycles_in(graph()) == []


def test_the_checks_see_a_function_level_import_an_upward_import_and_a_cycle(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def later():\n    from reports.services.runs import report_run_execute\n")
    assert "reports.services.runs" in imports(source)
    assert upward_imports({"analytics.answers": {"reports.building", "accounts.roles"}}) == [
        "analytics.answers -> reports.building"
    ]
    assert upward_imports({"reports.health": {"config.health"}}) == ["reports.health -> config.health"]
    assert upward_imports({"accounts.scope": {"api.base"}, "accounts.api.views": {"api.base"}}) == [
        "accounts.scope -> api.base"
    ]
    assert upward_imports({"accounts.selectors": {"accounts.api.views"}}) == [
        "accounts.selectors -> accounts.api.views"
    ]
    edges = {"a.one": {"a.two"}, "a.two": {"a.three"}, "a.three": {"a.one"}, "a.four": {"a.one"}}
    assert cycles_in(edges) == [["a.one", "a.three", "a.two"]]
