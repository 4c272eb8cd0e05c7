"""The SQLite floor: the claims and the lead use RETURNING, which SQLAlchemy turns off below SQLite 3.35 (as some
long-term-support distributions ship). The listener then says so in one line instead of failing on its first
claim with an error that names nothing, and `check` reports the version."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine

from app_integration.adapters.runtime.doctor import _database
from app_integration.adapters.store.leadership import Leadership, returning_problem
from app_integration.core.errors import OperatorError


def test_an_old_sqlite_is_named_by_the_listener_and_by_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sqlite3.dbapi2, "sqlite_version_info", (3, 34, 1))  # what SQLAlchemy reads
    monkeypatch.setattr(sqlite3.dbapi2, "sqlite_version", "3.34.1")
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    assert engine.dialect.update_returning is False  # what SQLAlchemy does on such a SQLite
    problem = returning_problem(engine)
    assert problem is not None and "SQLite 3.34.1" in problem and "3.35" in problem
    with pytest.raises(OperatorError, match=r"SQLite 3\.34\.1 is older than 3\.35"):
        Leadership(engine, "listener")
    [finding] = _database(SimpleNamespace(store=SimpleNamespace(engine=engine)))  # type: ignore[arg-type]
    assert not finding.ok and "3.34.1" in finding.detail and "PostgreSQL" in finding.fix


def test_this_machines_sqlite_is_reported_as_fine(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert returning_problem(engine) is None
    [finding] = _database(SimpleNamespace(store=SimpleNamespace(engine=engine)))  # type: ignore[arg-type]
    assert finding.ok and finding.detail.startswith(f"SQLite {sqlite3.sqlite_version}")
