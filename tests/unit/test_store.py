"""The bridge's store: idempotency keys, the listener's position, and migrations under a race."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect, update

from app_integration.adapters import store as store_module
from app_integration.adapters.store import BridgeStore


def fresh(tmp_path: Path) -> BridgeStore:
    store = BridgeStore(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    store.migrate()
    return store


def test_a_key_is_claimed_once_and_keeps_its_result(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    assert store.claim("k", "u1") is True
    assert store.claim("k", "u1") is False
    assert store.result("k", "u1") is None
    store.complete("k", '{"text": "done"}')
    assert store.result("k", "u1") == '{"text": "done"}'
    assert store.result("k", "u2") is None  # keys belong to the user who claimed them
    assert store.claim("k", "u2") is True


def test_release_forgets_only_an_unfinished_claim(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    store.claim("a", "u")
    store.release("a")
    assert store.claim("a", "u") is True
    store.complete("a", "{}")
    store.release("a")
    assert store.claim("a", "u") is False


def test_keys_expire_after_the_ttl(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    store.claim("old", "u")
    with store.engine.begin() as connection:
        connection.execute(
            update(store_module._keys).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
        )
    assert store.claim("new", "u") is True  # each claim purges what is older than the TTL
    assert store.claim("old", "u") is True


def test_listener_state_round_trip(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    assert store.load_state("listener") is None
    store.save_state("listener", '{"seq": 1}')
    store.save_state("listener", '{"seq": 2}')
    assert store.load_state("listener") == '{"seq": 2}'


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    store = fresh(tmp_path)
    store.migrate()
    assert {"idempotency_keys", "listener_state", "alembic_version"} <= set(inspect(store.engine).get_table_names())


def test_processes_migrating_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    code = f"from app_integration.adapters.store import BridgeStore; BridgeStore({url!r}).migrate(); print('ok')"
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    outcomes = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err.decode()[-300:] for _, err in outcomes]
    assert all(out.strip() == b"ok" for out, _ in outcomes)
