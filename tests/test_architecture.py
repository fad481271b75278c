"""The shape of the code: no import cycles, a core that knows no platform, a store that knows
no search."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters")
PLATFORM_LIBRARIES = ("slack_bolt", "slack_sdk", "discord")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
}


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that runs (in functions too), leaving out `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_imports(child))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_imports(node)


def imports_of(module: str) -> set[str]:
    """The modules `module` imports: project modules by name, others by their top package."""
    found: set[str] = set()
    tree = ast.parse(MODULES[module].read_text())
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    path: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if cycle := visit(target):
                return cycle
        path.pop()
        done.add(module)
        return None

    return visit(start)


def test_no_import_cycle_in_bot_or_adapters() -> None:
    graph = {module: imports_of(module) & MODULES.keys() for module in MODULES}
    cycles = [cycle for module in sorted(MODULES) if (cycle := _cycle_from(module, graph))]
    assert not cycles, " -> ".join(cycles[0])


def test_the_cycle_check_sees_a_cycle() -> None:
    assert _cycle_from("a", {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle_from("a", {"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("bot")))
def test_the_core_imports_no_platform_library(module: str) -> None:
    tops = {name.split(".")[0] for name in imports_of(module)}
    assert not tops & set(PLATFORM_LIBRARIES), module


def test_only_the_registry_of_platforms_names_slack_and_discord_in_the_core() -> None:
    named = {
        module
        for module in MODULES
        if module.startswith("bot")
        and any(i.startswith(("adapters.slack", "adapters.discord")) for i in imports_of(module))
    }
    assert named == set()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("bot.store")))
def test_the_store_knows_nothing_above_it(module: str) -> None:
    above = ("bot.search", "bot.core", "bot.commands", "bot.service", "bot.app", "adapters")
    assert not {name for name in imports_of(module) if name.startswith(above)}, module
