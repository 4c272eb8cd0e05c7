"""A bridge restarted on a database it cannot write (issue 33, point 3): it starts, `/readyz` answers 503 naming
the store and why, and the log says so in one line, with no traceback. Two real shapes: a SQLite file the
process may not change (immutable, which holds even for root), and a PostgreSQL database that refuses writes
(default_transaction_read_only, as a hot standby does)."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app_integration.adapters.runtime import health
from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import build_bridge
from app_integration.adapters.store.state_store import BridgeStore
from tests.conftest import RedmineInfo, bridge_settings


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite store, then made immutable (chattr +i)."""
    path = tmp_path / "bridge.sqlite3"
    BridgeStore(f"sqlite:///{path}").engine.dispose()
    path.chmod(0o644)  # as an older version left it: the start would change it, and may not
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"this file system cannot make a file immutable: {made.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def readiness(settings: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, str]]:
    monkeypatch.setattr(health, "READY_CACHE_SECONDS", 0.0)
    client = create_app(settings, build_bridge(settings, None, migrate=False)).test_client()
    answer = client.get("/readyz")
    return answer.status_code, answer.get_json()["checks"]


def test_an_immutable_sqlite_store_starts_and_is_not_ready(
    immutable: Path,
    redmine: RedmineInfo,
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = bridge_settings(
        redmine.url,
        redmine.admin_key,
        emulator.url,
        emulator.bot_token,
        immutable.parent,
        database_url=f"sqlite:///{immutable}",
    )
    with caplog.at_level(logging.WARNING):
        status, checks = readiness(settings, monkeypatch)  # before the fix: PermissionError from chmod at start
    assert status == 503 and checks["redmine"] == "ok" and checks["mattermost"] == "ok"
    assert checks["store"].startswith("failing: OperationalError: attempt to write a readonly database"), checks
    said = [r.getMessage() for r in caplog.records if r.name.endswith("health")]
    assert said == [f"readiness: store is {checks['store']}"]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback


def test_a_read_only_postgresql_database_is_not_ready(
    postgres_database: str, redmine: RedmineInfo, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = bridge_settings(
        redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path, database_url=postgres_database
    )
    build_bridge(settings, None).store.engine.dispose()  # migrated while it could write
    name = postgres_database.rsplit("/", 1)[1]
    engine = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    engine.dispose()
    status, checks = readiness(settings, monkeypatch)
    assert status == 503
    assert "read-only transaction" in checks["store"] and "bridge-test-only" not in checks["store"], checks
