"""Who leads: with several replicas, exactly one runs the listener (and later the poller and the clock).

PostgreSQL: a session advisory lock on a connection held for as long as this process leads.
When the process dies, its connection goes and the lock with it, so a follower takes over
at its next try. SQLite (one machine, several processes): a lease row that the leader
renews; a follower takes it once it has expired. Either way a follower retries every
`retry` seconds, which bounds the time to take over.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import zlib
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)
_leases = Table(
    "leases",
    MetaData(),
    Column("name", String(64), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Leadership:
    def __init__(self, engine: Engine, name: str, lease_seconds: float = 15.0) -> None:
        self._engine = engine
        self._name = name
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._connection: Any = None
        self._lock = threading.Lock()
        self._key = zlib.crc32(name.encode())

    def try_acquire(self) -> bool:
        """True when this process leads now (already, or from this call on)."""
        with self._lock:
            if self._engine.dialect.name == "postgresql":
                return self._advisory()
            return self._lease_row()

    def still_leading(self) -> bool:
        """Renews the lease (SQLite) or checks the lock's connection (PostgreSQL); False once lost."""
        return self.try_acquire()

    def release(self) -> None:
        with self._lock:
            if self._connection is not None:
                # Closing only returns the connection to the pool, where the session (and its lock) would live on.
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                self._connection.commit()
                self._connection.close()
                self._connection = None
            elif self._engine.dialect.name != "postgresql":
                with self._engine.begin() as connection:
                    connection.execute(
                        delete(_leases).where(_leases.c.name == self._name, _leases.c.holder == self._holder)
                    )

    def _advisory(self) -> bool:
        key = self._key
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("leadership: lost the database connection that held the lead")
                self._connection = None
        connection = self._engine.connect()
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        connection.commit()
        if got:
            self._connection = connection
        else:
            connection.close()
        return got

    def _lease_row(self) -> bool:
        try:
            return self._take_lease()
        except IntegrityError:
            return False  # another process inserted the first lease row at the same moment: it leads

    def _take_lease(self) -> bool:
        now = _now()
        values = {"holder": self._holder, "expires_at": now + self._lease}
        with self._engine.begin() as connection:
            row = connection.execute(select(_leases).where(_leases.c.name == self._name)).first()
            if row is None:
                connection.execute(_leases.insert().values(name=self._name, **values))
                return True
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
            if row.holder != self._holder and expires > now:
                return False
            connection.execute(update(_leases).where(_leases.c.name == self._name).values(**values))
            return True
