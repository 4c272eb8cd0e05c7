"""Shared fixtures: the real Redmine, the Mattermost emulator, and a bridge wired to both."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "mattermost"
IN_CI = os.environ.get("CI") == "true"
PROVISION = ROOT / "redmine_server" / "provision_local.sh"
SLASH_TOKEN = "slash-token-" + "x" * 20
JWT_SECRET = "jwt-secret-" + "y" * 32
SIGNING_KEY = "signing-key-" + "z" * 32
LINK_KEY = "8Q8lJ0u0cqHkD1rjTQ5xqjJmS2e1v1lZ0mXk3Hn4S7Y="  # a Fernet key for the tests' stored API keys
# alice, bob and carol exist in Redmine; dave is locked there; ghost has no Redmine account; erin is unmapped.
USER_MAP = "alice=alice,bob=bob,carol=carol,dave=dave,ghost=ghost"


@dataclass
class RedmineInfo:
    url: str
    admin_key: str
    version: str
    started_here: bool = False
    seed: dict[str, Any] = field(default_factory=dict)
    server: str = "?"


_summary: dict[str, Any] = {"redmines": {}, "integration": {"passed": 0, "failed": 0, "skipped": 0}}
_uses_redmine: set[str] = set()


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the real Redmine is required in CI: {reason}")
    pytest.skip(f"no real Redmine: {reason}")


def _parse(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line and line[:1].isupper())


def _provision(instance: str) -> Iterator[RedmineInfo]:
    env = {**os.environ, "REDMINE_LOCAL_INSTANCE": instance}
    was_running = subprocess.run([str(PROVISION), "status"], check=False, env=env).returncode == 0
    try:
        done = subprocess.run(
            [str(PROVISION), "start"], capture_output=True, text=True, timeout=900, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        _unavailable(f"{PROVISION.name} ({instance}) did not finish: {error}")
    if done.returncode != 0:
        _unavailable(f"{PROVISION.name} ({instance}) failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    values = _parse(done.stdout)
    info = RedmineInfo(
        values["REDMINE_URL"],
        values["REDMINE_ADMIN_KEY"],
        values.get("REDMINE_VERSION", "?"),
        started_here=not was_running,
        seed=json.loads(values.get("SEED_JSON", "{}")),
        server=values.get("REDMINE_SERVER", "?"),
    )
    _summary["redmines"][instance] = info
    yield info
    if info.started_here:
        subprocess.run([str(PROVISION), "stop"], check=False, capture_output=True, env=env)


@pytest.fixture(scope="session")
def redmine() -> Iterator[RedmineInfo]:
    """The tests' Redmine 5.0.4: SQLite under WEBrick, the small case (or REDMINE_TEST_URL)."""
    url, key = os.environ.get("REDMINE_TEST_URL"), os.environ.get("REDMINE_TEST_ADMIN_KEY")
    if url and key:
        info = RedmineInfo(url.rstrip("/"), key, os.environ.get("REDMINE_TEST_VERSION", "external"))
        _summary["redmines"]["external"] = info
        yield info
        return
    yield from _provision("bridge-tests")


@pytest.fixture(scope="session")
def production_redmine() -> Iterator[RedmineInfo]:
    """Redmine 5.0.4 shaped like production: PostgreSQL, Puma in cluster mode. What concurrency is tested on."""
    yield from _provision("bridge-prod")


@pytest.fixture(scope="session")
def company_redmine() -> Iterator[RedmineInfo]:
    """Redmine 5.0.4 seeded like a real company's (redmine_server/seed_company.rb): custom fields, per-tracker
    fields, workflow field permissions, a group, versions, and projects whose outsiders may not view issues."""
    yield from _provision("bridge-company")


@pytest.fixture
def company_bridge(company_redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> Bridge:
    settings = bridge_settings(
        company_redmine.url, company_redmine.admin_key, emulator.url, emulator.bot_token, tmp_path
    )
    return build_bridge(settings, None)


@pytest.fixture
def company_client(company_bridge: Bridge) -> Iterator[Any]:
    """The web app wired to the company's Redmine and the emulator."""
    from app_integration.adapters.runtime.web_app import create_app

    company_bridge.users.sync_map(company_bridge.chat)
    with create_app(company_bridge.settings, company_bridge).test_client() as test_client:
        yield test_client


def both_redmines(request: pytest.FixtureRequest) -> RedmineInfo:
    """For a module's own `redmine` fixture, parametrized over ("webrick-sqlite", "puma-postgresql"): the tests
    whose truth depends on concurrency run on both servers."""
    name = "production_redmine" if request.param == "puma-postgresql" else "redmine"
    info: RedmineInfo = request.getfixturevalue(name)
    return info


@pytest.fixture(scope="session")
def shared() -> Path:
    if not FIXTURES.is_dir():
        message = (
            f"{SHARED} is not beside this clone: it holds the Mattermost payload fixtures and the "
            "official OpenAPI spec these tests check against"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return SHARED


@pytest.fixture
def emulator(shared: Path) -> Iterator[Any]:
    from mattermost_server.emulator import MattermostEmulator

    emulator = MattermostEmulator().start()
    bot = emulator.bot
    people = [emulator.add_user(name) for name in ("alice", "bob", "carol", "dave", "ghost", "erin")]
    emulator.add_channel("town-square", [bot, *people])
    emulator.add_channel("off-topic", people)
    yield emulator
    emulator.stop()
    assert emulator.spec_errors == [], "the bridge sent requests that the official spec rejects"


def bridge_settings(
    redmine_url: str, admin_key: str, mattermost_url: str, bot_token: str, tmp_path: Path, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "redmine_url": redmine_url,
        "admin_redmine_key_api": admin_key,
        "mattermost_url": mattermost_url,
        "redmine_mattermost_bridge_app_token": bot_token,
        "mattermost_slash_tokens": SLASH_TOKEN,
        "app_jwt_secret": JWT_SECRET,
        "request_signing_key": SIGNING_KEY,
        "link_encryption_keys": LINK_KEY,
        "user_map": USER_MAP,
        "database_url": f"sqlite:///{tmp_path / 'bridge.sqlite3'}",
        "app_root_url": "http://bridge.test:8090",
        "redmine_cache_ttl": 300.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def bridge(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> Bridge:
    settings = bridge_settings(redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path)
    return build_bridge(settings, None)


def random_key() -> str:
    return secrets.token_hex(8)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _uses_redmine:
        return
    if report.when == "call":
        _summary["integration"][report.outcome] += 1
    elif report.outcome == "skipped":
        _summary["integration"]["skipped"] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    redmines: dict[str, RedmineInfo] = _summary["redmines"]
    counts = _summary["integration"]
    terminalreporter.write_sep("-", "real Redmine")
    if not redmines:
        terminalreporter.write_line("Redmine used: none (integration tests did not reach one)")
    for instance, info in redmines.items():
        terminalreporter.write_line(f"Redmine used: {info.url} (Redmine {info.version}; {info.server}; {instance})")
    terminalreporter.write_line(
        f"integration tests against it: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"redmine", "production_redmine", "company_redmine"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
            _uses_redmine.add(item.nodeid)


SEEDED_SUBJECTS = {
    "public": "Seeded: public issue in demo",
    "secret": "Seeded: issue in the private project",
    "private": "Seeded: private issue in demo",
}


@pytest.fixture(scope="session")
def seeded(redmine: RedmineInfo) -> dict[str, int]:
    """Ids of the seeded issues, found by subject as alice (who can see all three), however many issues exist."""
    import requests

    found = requests.get(
        f"{redmine.url}/issues.json",
        params={"subject": "~Seeded:", "status_id": "*", "limit": 100},
        headers={"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": "alice"},
        timeout=10,
    ).json()["issues"]
    by_subject = {issue["subject"]: issue["id"] for issue in found}
    return {name: by_subject[subject] for name, subject in SEEDED_SUBJECTS.items()}


@pytest.fixture
def client(bridge: Bridge) -> Iterator[Any]:
    """The web app wired to the real Redmine and the emulator, as a Flask test client."""
    from app_integration.adapters.runtime.web_app import create_app

    bridge.users.sync_map(bridge.chat)  # what `serve` does once, before its workers build their apps
    with create_app(bridge.settings, bridge).test_client() as test_client:
        yield test_client


@pytest.fixture
def channel(emulator: Any) -> str:
    """The id of the emulator's town-square, where the bot and every person are members."""
    return next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")


def issues_matching(redmine: RedmineInfo, text: str) -> list[dict[str, Any]]:
    """Every issue whose subject holds `text`, as the admin sees them."""
    import requests

    found: list[dict[str, Any]] = requests.get(
        f"{redmine.url}/issues.json",
        params={"subject": f"~{text}", "status_id": "*", "limit": 100},
        headers={"X-Redmine-API-Key": redmine.admin_key},
        timeout=10,
    ).json()["issues"]
    return found


PG_PROVISION = ROOT / "tests" / "postgres" / "provision_local.sh"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A real PostgreSQL from Debian's packages, provisioned like Redmine; skipped locally without one."""
    url = os.environ.get("BRIDGE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    was_running = subprocess.run([str(PG_PROVISION), "status"], check=False, capture_output=True).returncode == 0
    try:
        done = subprocess.run([str(PG_PROVISION), "start"], capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        done = subprocess.CompletedProcess([], 1, "", str(error))
    found = [line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("DATABASE_URL=")]
    if done.returncode != 0 or not found:
        reason = f"{PG_PROVISION.name} failed: {done.stderr.strip()[-300:]}"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"no PostgreSQL: {reason}")
    yield found[0]
    if not was_running:
        subprocess.run([str(PG_PROVISION), "stop"], check=False, capture_output=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each engine the bridge supports: SQLite, and a real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    yield request.getfixturevalue("postgres_database")


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the real PostgreSQL, dropped afterwards."""
    from sqlalchemy import create_engine, text

    admin_url = postgres_admin_url
    name = "bridge_t" + secrets.token_hex(6)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
