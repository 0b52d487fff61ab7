"""The engine's layout: `rules/` is pure (no Slack, no bot) and its modules import one way,
each step of reading a message handed what it needs (STYLE.md)."""

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules"


def imports() -> dict[str, set[str]]:
    """Each module of rules/ and the rules/ modules it imports."""
    graph = {}
    for path in RULES.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[path.stem] = found
    return graph


def test_the_engine_never_imports_the_bot():
    assert {name: deps for name, deps in imports().items()
            if any(d == "bot" or d.startswith("bot.") for d in deps)} == {}


def test_the_engine_has_no_import_cycle():
    graph = {name: {d.removeprefix("rules.") for d in deps if d.startswith("rules.")}
             for name, deps in imports().items()}
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in seen:
            return
        for dep in graph.get(name, ()):
            visit(dep, (*path, name))
        seen.add(name)

    for name in graph:
        visit(name, ())
