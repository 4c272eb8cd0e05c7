"""The layout is the design: counted from the imports, nothing reaches up a layer, no two flows or systems
lean on each other sideways, there is no import circle, and no file outgrows a reader."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "app_integration"
MAX_LINES = 400

# Each folder with its layer (lower may not import higher) and what it is. Packages on one layer are
# siblings: a flow, or a system, that does not import its sibling.
LAYERS: dict[str, tuple[int, str]] = {
    "app_integration.core": (0, "the kernel every flow shares: models, ports, settings, errors, privacy"),
    "app_integration.core.ports": (0, "the kernel's ports: every Protocol the adapters implement"),
    "app_integration.core.commands": (1, "flow 1: commands people type or click"),
    "app_integration.core.posts": (1, "flow 2: what the bridge does with posts"),
    "app_integration.core.updates": (1, "flow 3: Redmine coming back into the chat"),
    "app_integration.adapters": (2, "what every adapter shares: metrics, request bodies"),
    "app_integration.adapters.store": (3, "system: the bridge's own database"),
    "app_integration.adapters.store.migrations": (3, "system: the bridge's own database, its schema"),
    "app_integration.adapters.store.migrations.versions": (3, "system: the bridge's own database, its schema"),
    "app_integration.adapters.redmine": (3, "system: Redmine"),
    "app_integration.adapters.mattermost": (4, "system: Mattermost, its REST API"),
    "app_integration.adapters.mattermost.commands": (5, "system: Mattermost, flow 1's surfaces"),
    "app_integration.adapters.mattermost.posts": (5, "system: Mattermost, flow 2's websocket"),
    "app_integration.adapters.runtime": (6, "the process runtime: wiring, servers, the leader's clockwork"),
    "app_integration": (7, "the command line"),
}
# The one sideways import that is the design: the ticket emoji's DM (flow 2) carries a signed button, made as
# flow 1's surfaces make theirs.
ALLOWED_SIDEWAYS = {
    ("app_integration.adapters.mattermost.posts", "app_integration.adapters.mattermost.commands"),
    # The ports are the kernel's own: they speak its models, and its services hold them.
    ("app_integration.core", "app_integration.core.ports"),
    ("app_integration.core.ports", "app_integration.core"),
}


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def package_of(module: str, known: dict[str, Path]) -> str:
    path = known[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(
    module: str, path: Path, known: dict[str, Path], prefix: str | tuple[str, ...] = "app_integration"
) -> set[str]:
    """Every import of the package's own modules, those made for type checking alone included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix):
            assert node.level == 0, f"{module}: relative import"
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith(prefix)}
    return {m for m in found if m in known and m != module}


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    known = modules(package)
    return {m: imports_of(m, p, known, package.name) for m, p in known.items()}


SOURCE_FOLDERS = ("app_integration", "mattermost_server", "benchmarks", "tests", "imgs")


def repository_graph() -> dict[str, set[str]]:
    """Every module of the checkout and its imports of the checkout's own modules, across folders."""
    known = {m: p for folder in SOURCE_FOLDERS for m, p in modules(ROOT / folder).items()}
    return {m: imports_of(m, p, known, SOURCE_FOLDERS) for m, p in known.items()}


def test_every_folder_is_declared_with_its_layer() -> None:
    known = modules()
    assert {package_of(m, known) for m in known} == set(LAYERS)


def test_no_module_imports_one_above_it_or_a_sibling_beside_it() -> None:
    known = modules()
    edges = graph()
    wrong = []
    for module, targets in edges.items():
        here = package_of(module, known)
        for target in targets:
            there = package_of(target, known)
            if LAYERS[there][0] > LAYERS[here][0]:
                wrong.append(f"{module} -> {target} (up)")
            elif LAYERS[there][0] == LAYERS[here][0] and there != here and (here, there) not in ALLOWED_SIDEWAYS:
                wrong.append(f"{module} -> {target} (sideways)")
    assert len(edges) > 80 and wrong == []


KERNEL_MOST = 12  # modules (or packages) at the kernel's top: what a newcomer reads first


def test_the_kernel_is_small_and_each_part_of_it_is_shared() -> None:
    """The kernel holds only what flows share: at most KERNEL_MOST modules at its top, and each is imported by
    more than one flow or adapter (a module one flow alone uses lives in that flow)."""
    known = modules()
    flows = {name for name, (layer, _what) in LAYERS.items() if layer == 1}
    top = sorted(m for m in known if m.startswith("app_integration.core.") and m.count(".") == 2 and m not in flows)
    users: dict[str, set[str]] = {m: set() for m in top}
    kernel_packages = {"app_integration.core", "app_integration.core.ports"}
    for module, targets in graph().items():
        place = package_of(module, known)
        for target in targets:
            part = ".".join(target.split(".")[:3])
            if part in users and place not in kernel_packages:
                users[part].add(place)
    lonely = {m: sorted(places) for m, places in users.items() if len(places) < 2}
    assert len(top) <= KERNEL_MOST and lonely == {}, (len(top), top, lonely)


@pytest.mark.parametrize("scope", ["app_integration", "mattermost_server", "repository"])
def test_there_is_no_import_circle(scope: str) -> None:
    """Within the package, within the emulator, and across the whole checkout (the tests, the benchmarks and
    the sandbox import one another's modules: none of them may close a loop)."""
    edges = repository_graph() if scope == "repository" else graph(ROOT / scope)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []


@pytest.mark.parametrize("folder", ["app_integration", "mattermost_server", "benchmarks", "redmine_server", "tests"])
def test_no_file_is_over_400_lines(folder: str) -> None:
    files = [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".sh", ".rb"}]
    long = {
        str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert files and long == {}


def test_the_package_imports_nothing_a_wheel_does_not_carry() -> None:
    """The sandbox (emulator, demo), the tests and the benchmarks stay in the checkout: an installed bridge
    must never reach for them."""
    outside = {"mattermost_server", "tests", "benchmarks", "redmine_server", "imgs"}
    reached = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if hits := {n.split(".")[0] for n in names} & outside:
                reached[str(path.relative_to(ROOT))] = hits
    assert reached == {}


def test_the_cli_says_where_the_demo_is() -> None:
    done = subprocess.run([sys.executable, "-m", "app_integration", "demo"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "make demo" in done.stderr and "mattermost_server.demo" in done.stderr
    assert "Traceback" not in done.stderr
