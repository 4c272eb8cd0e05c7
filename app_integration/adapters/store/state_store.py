"""The bridge's own state in SQLAlchemy: SQLite by default, PostgreSQL by DATABASE_URL.

The schema is created and upgraded by Alembic migrations, so a shared PostgreSQL can
serve several replicas.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError

from app_integration.core.models import ChatUser, UserLink

_metadata = MetaData()
_keys = Table(
    "idempotency_keys",
    _metadata,
    Column("user_id", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("result", Text, nullable=True),
)
_state = Table(
    "listener_state",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
_links = Table(
    "user_links",
    _metadata,
    Column("chat_user_id", String(26), primary_key=True),
    Column("redmine_user_id", Integer, nullable=False, index=True),
    Column("redmine_login", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Column("map_username", String(64), nullable=True, unique=True),
    Column("sealed_key", Text, nullable=True),
)
_unlinked = Table(
    "unlinked_users",
    _metadata,
    Column("chat_user_id", String(26), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)
MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _owner_only(database: str | None) -> None:
    """The file holds reply texts with ticket subjects and the sealed API keys: readable by its owner only.
    SQLite gives its -wal and -shm files the database file's mode, so creating that one right covers them."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(descriptor)
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if existing.exists() and existing.stat().st_mode & 0o077:
            try:
                existing.chmod(0o600)  # a store made by an older version was 0644
            except OSError as error:  # not ours to change (read-only, immutable): readiness says what follows
                log.warning("store: could not make %s readable by its owner only: %s", existing, error.strerror)


def database_problem(database_url: str, timeout: float = 5.0) -> str | None:
    """What keeps the store from opening, in one line naming DATABASE_URL and what to do; None when it opens.
    Asked before anything else touches the database: a SQLite file in a folder that does not exist otherwise
    hangs gunicorn's workers for a minute, and a URL that is none, or a PostgreSQL that does not answer, ends
    in tracebacks."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return "DATABASE_URL is not a database URL: write sqlite:///path/to/bridge.sqlite3 or postgresql+psycopg://…"
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database or "").expanduser().parent if url.database not in (None, "", ":memory:") else None
        if folder is not None and not folder.is_dir():
            return (
                f"DATABASE_URL names a SQLite file in {folder}, a folder that does not exist: create it, or point "
                "DATABASE_URL elsewhere"
            )
        return None
    try:
        engine = create_engine(
            url, connect_args={"connect_timeout": int(timeout)} if url.get_backend_name() == "postgresql" else {}
        )
    except NoSuchModuleError:
        return (
            f"DATABASE_URL names {url.drivername!r}, a database the bridge does not know: use sqlite:/// or "
            "postgresql+psycopg://"
        )
    except ImportError as error:
        return f"DATABASE_URL needs the driver {error.name or url.drivername}, which is not installed"
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        return f"DATABASE_URL: the database at {where} does not answer ({reason}): start it, or correct DATABASE_URL"
    finally:
        engine.dispose()
    return None


class BridgeStore:
    """Implements the IdempotencyStore and LinkStore ports and keeps the listener's position."""

    def __init__(self, database_url: str, ttl_hours: int = 24) -> None:
        self._ttl = dt.timedelta(hours=ttl_hours)
        url = make_url(database_url)
        # On PostgreSQL, a connection whose peer vanished (a host gone, a network cut) is noticed within about 30 s
        # instead of TCP's hours: keepalives on an idle connection, and a bound on unacknowledged writes.
        alive = (
            {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
            | {"tcp_user_timeout": 30_000}
            if url.get_backend_name() == "postgresql"
            else {}
        )
        self.engine: Engine = create_engine(url, pool_pre_ping=True, future=True, connect_args=alive)
        if self.engine.dialect.name == "sqlite":
            _owner_only(self.engine.url.database)
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def __repr__(self) -> str:
        return f"BridgeStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def migrate(self, attempts: int = 6) -> None:
        """Brings the schema to head. Several processes may start at once (gunicorn workers, serve and
        listen): the loser of a race fails on a table the winner created, and its retry finds head."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        # Alembic narrates every step at INFO; one line of our own says what happened.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        for attempt in range(1, attempts + 1):
            try:
                with self.engine.begin() as connection:
                    current = MigrationContext.configure(connection).get_current_revision()
                    if current == head:
                        return
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                log.info("store: migrated the schema from %s to %s", current or "empty", head)
                return
            except DBAPIError:
                if attempt == attempts:
                    raise
                time.sleep(0.1 * attempt)

    def ping(self) -> None:
        """Ready means able to write, not only to answer: a full disk or a read-only file still answers reads."""
        self.save_state("store_probe", _now().isoformat())

    # Idempotency keys -------------------------------------------------------
    def claim(self, key: str, user_id: str) -> bool:
        now = _now()
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(_keys).where(_keys.c.created_at < now - self._ttl))
                connection.execute(_keys.insert().values(user_id=user_id, key=key, created_at=now))
        except IntegrityError:
            return False
        return True

    def result(self, key: str, user_id: str) -> str | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(_keys.c.result).where(_keys.c.key == key, _keys.c.user_id == user_id)
            ).first()
        return None if row is None else row.result

    def complete(self, key: str, result: str, user_id: str) -> None:
        """Keys are per user: two people who send the same key never see each other's answers."""
        with self.engine.begin() as connection:
            connection.execute(
                update(_keys).where(_keys.c.key == key, _keys.c.user_id == user_id).values(result=result)
            )

    def release(self, key: str, user_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(_keys).where(_keys.c.key == key, _keys.c.user_id == user_id, _keys.c.result.is_(None))
            )

    # Listener position ------------------------------------------------------
    def load_state(self, name: str) -> str | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(_state.c.value).where(_state.c.name == name)).first()
        return None if row is None else str(row.value)

    def save_state(self, name: str, value: str) -> None:
        self._upsert(_state, _state.c.name, name, {"value": value, "updated_at": _now()})

    # User links ---------------------------------------------------------------
    def link_for(self, chat_user_id: str) -> UserLink | None:
        return self._one(_links.c.chat_user_id == chat_user_id)

    def link_for_login(self, login: str, with_key: bool = False) -> UserLink | None:
        if with_key:
            return self._one(and_(_links.c.redmine_login == login, _links.c.sealed_key.is_not(None)))
        return self._one(_links.c.redmine_login == login)

    def map_claim(self, username: str) -> UserLink | None:
        return self._one(_links.c.map_username == username.lower())

    def chat_user_for(self, redmine_user_id: int) -> str | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(_links.c.chat_user_id).where(_links.c.redmine_user_id == redmine_user_id).limit(1)
            ).first()
        return None if row is None else str(row.chat_user_id)

    def save_link(self, link: UserLink) -> None:
        values = {
            "redmine_user_id": link.redmine_user_id,
            "redmine_login": link.redmine_login,
            "method": link.method,
            "linked_at": link.linked_at,
            "map_username": link.map_username.lower() if link.map_username else None,
            "sealed_key": link.sealed_key,
        }
        self._upsert(_links, _links.c.chat_user_id, link.chat_user_id, values)
        with self.engine.begin() as connection:
            connection.execute(delete(_unlinked).where(_unlinked.c.chat_user_id == link.chat_user_id))

    def remove_link(self, chat_user_id: str) -> bool:
        with self.engine.begin() as connection:
            return bool(connection.execute(delete(_links).where(_links.c.chat_user_id == chat_user_id)).rowcount)

    def all_links(self) -> list[UserLink]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(_links).order_by(_links.c.redmine_login)).all()
        return [_link(row) for row in rows]

    def note_unlinked(self, user: ChatUser) -> None:
        self._upsert(_unlinked, _unlinked.c.chat_user_id, user.id, {"username": user.username, "last_seen": _now()})

    def _upsert(self, table: Table, key: Column[Any], value: str, values: dict[str, Any]) -> None:
        upsert(self.engine, table, key, value, values)

    def unlinked_users(self) -> list[tuple[str, str, dt.datetime]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(_unlinked).order_by(_unlinked.c.username)).all()
        return [(str(r.chat_user_id), str(r.username), r.last_seen) for r in rows]

    def _one(self, condition: Any) -> UserLink | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(_links).where(condition)).first()
        return None if row is None else _link(row)


def _link(row: Any) -> UserLink:
    return UserLink(
        chat_user_id=str(row.chat_user_id),
        redmine_user_id=int(row.redmine_user_id),
        redmine_login=str(row.redmine_login),
        method=row.method,
        linked_at=row.linked_at,
        map_username=row.map_username,
        sealed_key=row.sealed_key,
    )


def upsert(engine: Engine, table: Table, key: Column[Any], value: str, values: dict[str, Any]) -> None:
    """Update, else insert; replicas racing on the same row end with one row, whoever came second updating."""
    for attempt in range(3):
        try:
            with engine.begin() as connection:
                if connection.execute(update(table).where(key == value).values(**values)).rowcount:
                    return
                connection.execute(table.insert().values({key.name: value, **values}))
                return
        except IntegrityError:
            if attempt == 2:
                raise  # not a race after all: a real conflict, such as a map entry claimed by someone else
