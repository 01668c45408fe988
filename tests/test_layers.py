"""Imports flow one way: core <- etl; core <- charts <- dashboard <- pages/app.py.

The ETL writes the warehouse and the app reads it; neither imports the other. `core` is what
every layer shares (catalog, translations, formatting, paths, names) and imports none of them.
The walk reads every import statement, function-level ones included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"core", "etl", "charts", "dashboard", "pages", "app", "deploy", "benchmarks", "tests"}
# What each layer may import of ours (besides itself).
ALLOWED = {
    "core": set(),
    "etl": {"core"},
    "charts": {"core"},
    "dashboard": {"core", "charts"},
    "pages": {"core", "charts", "dashboard"},
    "app": {"core", "charts", "dashboard"},
    "deploy": set(),  # starts the app as processes; imports none of it
}


def _layer(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return "app" if rel == Path("app.py") else rel.parts[0]


def _imported_packages(path: Path) -> set[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return {(line, name) for line, name in found if name in OURS}


def _wrong_way_imports() -> list[str]:
    wrong = []
    files = [ROOT / "app.py"] + [p for layer in ALLOWED if layer != "app" for p in (ROOT / layer).rglob("*.py")]
    for path in files:
        layer = _layer(path)
        for line, package in sorted(_imported_packages(path)):
            if package != layer and package not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {package}")
    return wrong


def test_every_layer_imports_only_the_layers_below_it():
    assert _wrong_way_imports() == []


def test_the_walk_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from dashboard import fmt\n    import etl.load\n", encoding="utf-8")
    assert _imported_packages(module) == {(2, "dashboard"), (3, "etl")}
