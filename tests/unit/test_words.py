"""One word per concept (docs/words.md): the glossary names real places, the flows' folders use the flows'
words, and a retired word does not come back as a name in the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "words.md"
CODE = ("app_integration", "mattermost_server", "benchmarks", "tests")
FLOWS = {"commands", "posts", "updates"}


def rows() -> list[list[str]]:
    found = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| **") and len(cells) == 4:
            found.append(cells)
    return found


def _squashed(name: str) -> str:
    return name.replace("_", "").replace(".", "").lower()


def names_in(path: Path) -> set[str]:
    """Every name a reader meets in a file: its path's parts, and the modules, classes, functions, arguments,
    attributes and variables it defines or uses."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set(path.relative_to(ROOT).with_suffix("").parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
            found.add(node.arg)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(node.module.split("."))
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(part for alias in node.names for part in alias.name.split("."))
    return found


def test_the_glossary_names_places_that_exist() -> None:
    listed = rows()
    missing = []
    for word, _means, where, _not in listed:
        for place in re.findall(r"`([\w./]+(?:/|\.py))`", where):
            if not (ROOT / place).exists():
                missing.append(f"{word}: {place}")
    assert len(listed) >= 20 and missing == []


def test_each_flow_has_one_folder_name_in_the_core_and_in_mattermost() -> None:
    for parent in (ROOT / "app_integration" / "core", ROOT / "app_integration" / "adapters" / "mattermost"):
        folders = {p.name for p in parent.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
        assert folders - {"ports"} <= FLOWS, (parent, folders)
    assert {p.name for p in (ROOT / "app_integration" / "core").iterdir() if p.is_dir()} >= FLOWS


def test_no_retired_word_comes_back_as_a_name() -> None:
    """A retired name is matched inside every name in the code (`NotificationStore` in `FakeNotificationStore`,
    `chat_commands` in a module path); a dotted one (`services.links`) as written."""
    retired = [word for *_rest, not_called in rows() for word in re.findall(r"`([\w.]+)`", not_called)]
    assert {"chat_commands", "NotificationStore", "remind_due", "services.links"} <= set(retired)
    plain = {_squashed(word) for word in retired if "." not in word}
    dotted = [re.compile(rf"\b{re.escape(word)}\b") for word in retired if "." in word]
    used: list[str] = []
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == Path(__file__).name:
                continue
            text = path.read_text(encoding="utf-8")
            used += [f"{path.relative_to(ROOT)}: {p.pattern}" for p in dotted if p.search(text)]
            names = {_squashed(name): name for name in names_in(path)}
            used += [f"{path.relative_to(ROOT)}: {names[n]}" for n in names for word in plain if word in n]
    assert used == []
