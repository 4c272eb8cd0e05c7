"""The bridge's store: idempotency keys, the listener's position, and migrations under a race."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import inspect, update

from app_integration.adapters.store import state_store as store_module
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.core.models import ChatUser, UserLink


def fresh(database_url: str) -> BridgeStore:
    store = BridgeStore(database_url)
    store.migrate()
    return store


def test_a_key_is_claimed_once_and_keeps_its_result(database_url: str) -> None:
    store = fresh(database_url)
    assert store.claim("k", "u1") is True
    assert store.claim("k", "u1") is False
    assert store.result("k", "u1") is None
    store.complete("k", '{"text": "done"}', "u1")
    assert store.result("k", "u1") == '{"text": "done"}'
    assert store.result("k", "u2") is None  # keys belong to the user who claimed them
    assert store.claim("k", "u2") is True


def test_one_persons_answer_never_answers_anothers_replay(database_url: str) -> None:
    """alice and bob send the same key: each replay gets its own sender's answer, and a release of one
    person's claim leaves the other's."""
    store = fresh(database_url)
    assert store.claim("same", "alice") and store.claim("same", "bob")
    store.complete("same", "bob's tickets", "bob")
    assert store.result("same", "alice") is None and store.result("same", "bob") == "bob's tickets"
    store.complete("same", "alice's tickets", "alice")
    store.release("same", "bob")  # finished: nothing to forget
    assert store.result("same", "alice") == "alice's tickets" and store.result("same", "bob") == "bob's tickets"


def test_release_forgets_only_an_unfinished_claim(database_url: str) -> None:
    store = fresh(database_url)
    store.claim("a", "u")
    store.release("a", "u")
    assert store.claim("a", "u") is True
    store.complete("a", "{}", "u")
    store.release("a", "u")
    assert store.claim("a", "u") is False


def test_keys_expire_after_the_ttl(database_url: str) -> None:
    store = fresh(database_url)
    store.claim("old", "u")
    with store.engine.begin() as connection:
        connection.execute(
            update(store_module._keys).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
        )
    assert store.claim("new", "u") is True  # each claim purges what is older than the TTL
    assert store.claim("old", "u") is True


def test_listener_state_round_trip(database_url: str) -> None:
    store = fresh(database_url)
    assert store.load_state("listener") is None
    store.save_state("listener", '{"seq": 1}')
    store.save_state("listener", '{"seq": 2}')
    assert store.load_state("listener") == '{"seq": 2}'


def test_migrating_twice_is_a_no_op(database_url: str) -> None:
    store = fresh(database_url)
    store.migrate()
    expected = {"idempotency_keys", "listener_state", "user_links", "unlinked_users", "alembic_version"}
    assert expected <= set(inspect(store.engine).get_table_names())


def test_links_round_trip_with_the_reverse_lookup(database_url: str) -> None:
    store = fresh(database_url)
    now = dt.datetime.now(dt.UTC)
    store.save_link(UserLink("u" * 26, 7, "alice", "map", now, map_username="Alice"))
    store.save_link(UserLink("v" * 26, 8, "bob", "key", now, sealed_key="sealed"))
    assert store.chat_user_for(7) == "u" * 26 and store.chat_user_for(9) is None
    assert store.map_claim("alice") is not None and store.link_for_login("bob").sealed_key == "sealed"  # type: ignore[union-attr]
    store.save_link(UserLink("u" * 26, 7, "alice", "email", now))  # re-linking replaces, never duplicates
    assert [(link.redmine_login, link.method) for link in store.all_links()] == [("alice", "email"), ("bob", "key")]
    assert store.remove_link("v" * 26) and not store.remove_link("v" * 26)
    store.note_unlinked(ChatUser("w" * 26, "erin"))
    store.note_unlinked(ChatUser("w" * 26, "erin2"))
    assert [(u, n) for u, n, _ in store.unlinked_users()] == [("w" * 26, "erin2")]


def test_replicas_saving_the_same_link_at_once_end_with_one_row(database_url: str) -> None:
    """Two processes claiming one map entry at start raced update-then-insert into a duplicate key."""
    import threading

    fresh(database_url)
    stores = [BridgeStore(database_url) for _ in range(4)]
    link = UserLink("x" * 26, 7, "alice", "map", dt.datetime.now(dt.UTC), map_username="alice")
    errors: list[Exception] = []

    def save(store: BridgeStore) -> None:
        try:
            for _ in range(10):
                store.save_link(link)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=save, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(stores[0].all_links()) == 1


def test_both_engines_get_the_same_schema(tmp_path: Path, postgres_admin_url: str) -> None:
    """The migrations, run on SQLite and on PostgreSQL, give the same tables, columns, keys and indexes."""
    from sqlalchemy import create_engine, text

    sqlite = fresh(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    name = "bridge_schema_" + uuid.uuid4().hex[:8]
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        postgres = fresh(postgres_admin_url.rsplit("/", 1)[0] + "/" + name)
        assert schema(sqlite) == schema(postgres)
        postgres.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def schema(store: BridgeStore) -> dict[str, object]:
    """Tables with their columns (name, generic type, nullable), primary keys, unique and plain indexes."""
    inspector = inspect(store.engine)
    found: dict[str, object] = {}
    for table in sorted(inspector.get_table_names()):
        columns = [(c["name"], c["type"].python_type.__name__, c["nullable"]) for c in inspector.get_columns(table)]
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        # PostgreSQL also lists the index behind a unique constraint; SQLite does not. Same schema either way.
        indexes = sorted(
            (tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(table)
            if not (i["unique"] and tuple(i["column_names"]) in uniques)
        )
        found[table] = (columns, inspector.get_pk_constraint(table)["constrained_columns"], indexes, uniques)
    return found


def test_processes_migrating_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    code = (
        "from app_integration.adapters.store.state_store import BridgeStore; "
        f"BridgeStore({url!r}).migrate(); print('ok')"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    outcomes = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err.decode()[-300:] for _, err in outcomes]
    assert all(out.strip() == b"ok" for out, _ in outcomes)


def test_the_sqlite_file_and_its_journal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """It holds reply texts with ticket subjects and the sealed keys; it was created 0644."""
    path = tmp_path / "state" / "bridge.sqlite3"
    store = BridgeStore(f"sqlite:///{path}")
    store.migrate()
    store.save_state("probe", "x")
    with store.engine.connect() as connection:  # keep the WAL and its index open while looking
        connection.exec_driver_sql("SELECT 1")
        for made in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            assert made.exists() and made.stat().st_mode & 0o777 == 0o600, made
    old = tmp_path / "old.sqlite3"
    old.touch(mode=0o644)
    old.chmod(0o644)
    BridgeStore(f"sqlite:///{old}")
    assert old.stat().st_mode & 0o777 == 0o600
