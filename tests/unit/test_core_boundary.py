"""The core imports no web framework and no HTTP, Redmine or Mattermost client."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "app_integration" / "core"
FORBIDDEN = {
    "flask",
    "werkzeug",
    "gunicorn",
    "requests",
    "httpx",
    "urllib3",
    "redminelib",
    "mattermostautodriver",
    "mattermostdriver",
    "websockets",
    "sqlalchemy",
    "alembic",
    "jwt",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_core_imports_no_framework_or_client() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 10
    offenders = {f.name: sorted(imported_modules(f) & FORBIDDEN) for f in files if imported_modules(f) & FORBIDDEN}
    assert offenders == {}


def test_the_core_does_not_reach_into_the_adapters() -> None:
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if "adapters" in m.split(".")], path
