"""The README, the env example, the Dockerfile and the compose files say true things."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

from app_integration.cli import _parser
from app_integration.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = sorted(name.upper() for name in Settings.model_fields)


def test_the_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:12]
    commands = [line.split("#")[0].strip() for line in head if line.startswith("make ")]
    assert commands == ["make demo", "make test"]


def test_every_setting_is_in_the_readme_table() -> None:
    table = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    documented = {name for line in table for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])}
    assert [name for name in SETTINGS if name not in documented] == []


def test_every_setting_is_in_the_env_example() -> None:
    example = (ROOT / ".docker.env.example").read_text(encoding="utf-8")
    assert [name for name in SETTINGS if not re.search(rf"^#? ?{name}=", example, re.MULTILINE)] == []


def test_the_original_variable_names_are_settings() -> None:
    original = {
        "REDMINE_PROTOCOL",
        "REDMINE_HOST",
        "REDMINE_PORT",
        "MATTERMOST_PROTOCOL",
        "MATTERMOST_HOST",
        "MATTERMOST_PORT",
        "PYTHON_BOT_APP_HOST",
        "PYTHON_BOT_APP_PORT",
        "ADMIN_REDMINE_KEY_API",
        "ADMIN_MATTERMOST_TOKEN",
        "REDMINE_MATTERMOST_BRIDGE_APP_TOKEN",
    }
    assert original <= set(SETTINGS)


def subcommands() -> set[str]:
    action = next(a for a in _parser()._actions if a.dest == "command")
    return set(action.choices)  # type: ignore[arg-type]


def test_the_dockerfile_names_real_entry_points() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert cmd[:3] == ["python", "-m", "app_integration"] and cmd[3] in subcommands()
    health = re.search(r"HEALTHCHECK.*?CMD (\[.*?\])\n", text, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert "/healthz" in health
    from flask import Flask

    from app_integration.adapters.runtime.health import health_blueprint

    app = Flask("t")
    app.register_blueprint(health_blueprint({}))
    assert app.test_client().get("/healthz").status_code == 200
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)


def test_the_compose_files_parse_and_run_real_commands() -> None:
    files = [
        ROOT / "docker-compose.yml",
        ROOT / "redmine_server" / "docker-compose.yml",
        ROOT / "mattermost_server" / "docker-compose.yml",
    ]
    parsed = {f: yaml.safe_load(f.read_text(encoding="utf-8")) for f in files}
    top = parsed[files[0]]
    assert top["include"] == ["redmine_server/docker-compose.yml", "mattermost_server/docker-compose.yml"]
    assert top["networks"]["default"]["name"] == "redmine-mattermost"
    bridges = {name: service for name, service in top["services"].items() if "build" in service}
    assert set(bridges) == {"bridge-1", "bridge-2"}  # two replicas of one image
    for service in bridges.values():
        command = service["command"]
        assert command[:3] == ["python", "-m", "app_integration"] and command[3] in subcommands()
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@bridge-db:5432/" in service["environment"]["DATABASE_URL"]
    assert top["services"]["bridge-db"]["image"].startswith("postgres:")
    # the proxy keeps the original bridge's name and port, in front of both replicas
    proxy = top["services"]["python_bot_app"]
    assert proxy["ports"] == ["8090:8090"]
    upstream = top["configs"]["bridge-proxy"]["content"]
    assert "server bridge-1:8090" in upstream and "server bridge-2:8090" in upstream
    assert {"redmine", "redmine-db"} <= set(parsed[files[1]]["services"])
    mattermost = parsed[files[2]]["services"]["mattermost"]
    assert re.match(r"mattermost/mattermost-team-edition:\d+\.\d+", mattermost["image"])


def test_the_manifest_template() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["app_id"] == "redmine-mattermost-bridge" and manifest["http"]["use_jwt"] is True
    assert manifest["bindings"]["path"] == "/bindings" and manifest["on_install"]["path"] == "/install"


def test_ci_runs_the_readmes_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in [" ".join(shlex.split(line)) for line in script.splitlines()]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-eq 5" in makefile  # pytest's "no tests" exit code fails the run
