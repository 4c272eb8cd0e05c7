"""Who leads: with several replicas, exactly one runs the listener (and later the poller and the clock).

PostgreSQL: a session advisory lock on a connection held for as long as this process leads.
When the process dies, its connection goes and the lock with it, so a follower takes over
at its next try. SQLite (one machine, several processes): a lease row that the leader
renews; a follower takes it once it has expired. Either way a follower retries every
`retry` seconds, which bounds the time to take over.

Every new lead raises the lead's epoch (a fencing token) in `lead_terms`. What the leader must do once
(answer a post, deliver an outbox row) is first claimed through its `Fence`: the claim is written only
while the claimant's epoch is still the lead's, so a leader that was frozen past its lease and woke up, or
a new leader backfilling what the old one already handled, cannot act twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import zlib
from enum import Enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from app_integration.core.errors import LeadLost, OperatorError

log = logging.getLogger(__name__)
_metadata = MetaData()
_leases = Table(
    "leases",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
_terms = Table(
    "lead_terms",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("epoch", Integer, nullable=False),
    Column("holder", String(255), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)
_handled = Table(
    "handled_posts",
    _metadata,
    Column("key", String(96), primary_key=True),
    Column("epoch", Integer, nullable=False),
    Column("handled_at", DateTime(timezone=True), nullable=False),
    Column("post_at", BigInteger, nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=True),  # None: claimed, its effect not yet done
)
KEEP_HANDLED = dt.timedelta(days=7)
# A claim not done after this long is taken again (by a retry, a backfill or the next leader): its process died
# between the claim and the effect, or the effect failed for now. Longer than any one effect takes.
STALE_CLAIM = dt.timedelta(seconds=60)
PRUNE_SECONDS = 300.0
_prune_lock = threading.Lock()
_pruned_at = -PRUNE_SECONDS


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# The claims and fences below read what they wrote with RETURNING, which SQLAlchemy uses on SQLite only from 3.35.
SQLITE_FLOOR = (3, 35, 0)


def returning_problem(engine: Engine) -> str | None:
    """Why this database cannot hold the lead and its claims, or None. Some long-term-support distributions ship
    SQLite 3.34, where SQLAlchemy turns RETURNING off and the first claim fails with an error naming nothing."""
    if engine.dialect.name != "sqlite":
        return None
    version = tuple(engine.dialect.dbapi.sqlite_version_info)  # type: ignore[union-attr]
    if version >= SQLITE_FLOOR and engine.dialect.insert_returning and engine.dialect.update_returning:
        return None
    shown = ".".join(map(str, version))
    return (
        f"SQLite {shown} is older than 3.35, which the bridge needs (its claims use RETURNING): run it on a Python "
        "built with SQLite 3.35 or later, or point DATABASE_URL at PostgreSQL."
    )


class Leadership:
    def __init__(self, engine: Engine, name: str, lease_seconds: float = 15.0) -> None:
        problem = returning_problem(engine)
        if problem is not None:
            raise OperatorError(problem)
        self._engine = engine
        self._name = name
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._connection: Any = None
        self._lock = threading.Lock()
        self._key = zlib.crc32(name.encode())
        self.epoch = 0  # this process's term; 0 until it first leads
        self.takeovers = 0

    def fence(self) -> Fence:
        return Fence(self._engine, self._name, self.epoch)

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
        """The lock on a connection of the leader's own: another replica leads about 2 s after the leader's process
        dies (its kernel closes the connection). A leader whose host dies or is cut off keeps its backend, and the
        lock, until TCP gives up (hours): so the leader also renews a lease row, and a follower that finds the
        lease expired ends the silent holder's backend (pg_terminate_backend) and takes over, fencing it out."""
        key = self._key
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._renew_lease()
                return True
            except Exception:
                log.warning("leadership: lost the database connection that held the lead")
                self._connection = None
        connection = self._engine.connect()
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        connection.commit()
        if not got and self._lease_expired():
            holder = connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = 0 "
                    "AND objid = :key AND objsubid = 1 AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database())"
                ),
                {"key": key},
            ).scalar()
            if holder is not None:
                log.warning("leadership: the leader stopped renewing its lease; ending its silent session %s", holder)
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
                connection.commit()
                got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
                connection.commit()
        if got:
            self._connection = connection
            with self._engine.begin() as terms:
                self._new_term(terms)
            self._renew_lease()
        else:
            connection.close()
        return got

    def _renew_lease(self) -> None:
        values = {"holder": self._holder, "expires_at": _now() + self._lease}
        with self._engine.begin() as connection:
            if connection.execute(update(_leases).where(_leases.c.name == self._name).values(**values)).rowcount == 0:
                connection.execute(_leases.insert().values(name=self._name, **values))

    def _lease_expired(self) -> bool:
        with self._engine.connect() as connection:
            row = connection.execute(select(_leases.c.expires_at).where(_leases.c.name == self._name)).first()
        if row is None:
            return False
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
        return bool(expires < _now())

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
                self._new_term(connection)
                return True
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
            if row.holder != self._holder and expires > now:
                return False
            connection.execute(update(_leases).where(_leases.c.name == self._name).values(**values))
            if row.holder != self._holder or not self.epoch:
                self._new_term(connection)
            return True

    def _new_term(self, connection: Connection) -> None:
        """Raises the lead's epoch: whatever an earlier term still tries to claim is refused from now on."""
        now = _now()
        raised = connection.execute(
            update(_terms)
            .where(_terms.c.name == self._name)
            .values(epoch=_terms.c.epoch + 1, holder=self._holder, started_at=now)
            .returning(_terms.c.epoch)
        ).scalar()
        if raised is None:
            connection.execute(_terms.insert().values(name=self._name, epoch=1, holder=self._holder, started_at=now))
            raised = 1
        if self.epoch:
            self.takeovers += 1
        self.epoch = int(raised)
        log.info("leadership: %s leads in term %d", self._name, self.epoch)


class Claim(Enum):
    MINE = "mine"  # recorded now, the first time: act on it
    AGAIN = "again"  # an earlier try never finished (its process died, or it failed for now): act again, idempotently
    DONE = "done"  # done before, or under way in this term right now: do nothing
    FENCED = "fenced"  # this term no longer leads: do nothing, and stop


class Fence:
    """Claims for the lead's term `epoch`, each with its lifecycle: claimed, then done. Epoch 0 means no lead is
    kept (a single process, or a test): claims are then only made unique."""

    def __init__(self, engine: Engine, name: str, epoch: int) -> None:
        self._engine, self._name, self.epoch = engine, name, epoch

    def claim(self, key: str, post_at: int = 0, retry: bool = False) -> Claim:
        """Records `key` for this term. A claim that was never done is taken again when an earlier term made it
        (its process died or was cut off), when it is older than STALE_CLAIM, or, with `retry`, when this term's
        own try failed for now; a claim under way in this term is not (the same post heard twice at once).
        Raises the database's error when the store cannot write (a full disk): the caller tries again later."""
        now = _now()
        row = select(literal(key), literal(self.epoch), literal(now, DateTime(timezone=True)), literal(post_at))
        if self.epoch:
            row = row.where(self._current() == self.epoch)
        self._prune(now)
        try:
            with self._engine.begin() as connection:
                # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... SELECT that wrote nothing.
                insert = _handled.insert().from_select(["key", "epoch", "handled_at", "post_at"], row)
                written = connection.execute(insert.returning(_handled.c.key)).first()
        except IntegrityError:
            if self._take_unfinished(key, now, retry):
                return Claim.AGAIN
            return Claim.DONE if self.still_current() else Claim.FENCED
        return Claim.MINE if written is not None else Claim.FENCED

    def done(self, key: str) -> None:
        """The claim's effect took place (or never will, for a reason retrying cannot change)."""
        with self._engine.begin() as connection:
            connection.execute(update(_handled).where(_handled.c.key == key).values(done_at=_now()))

    def _take_unfinished(self, key: str, now: dt.datetime, retry: bool) -> bool:
        taken_over = or_(_handled.c.epoch < self.epoch, _handled.c.handled_at < now - STALE_CLAIM)
        if retry:
            taken_over = or_(taken_over, _handled.c.epoch == self.epoch)
        condition = [_handled.c.key == key, _handled.c.done_at.is_(None), taken_over]
        if self.epoch:
            condition.append(self._current() == self.epoch)
        with self._engine.begin() as connection:
            taken = connection.execute(
                update(_handled).where(*condition).values(epoch=self.epoch, handled_at=now).returning(_handled.c.key)
            ).first()
        return taken is not None

    def _prune(self, now: dt.datetime) -> None:
        """Forgets claims older than KEEP_HANDLED, at most every PRUNE_SECONDS per process: not a write on
        every post's path."""
        global _pruned_at
        with _prune_lock:
            if time.monotonic() - _pruned_at < PRUNE_SECONDS:
                return
            _pruned_at = time.monotonic()
        with self._engine.begin() as connection:
            connection.execute(delete(_handled).where(_handled.c.handled_at < now - KEEP_HANDLED))

    def admit(self, key: str) -> bool:
        """The core's LeadFence: is this the first try at `key`? False when any term tried before (the caller
        then asks whether the effect took place). Raises LeadLost once another term leads."""
        claim = self.claim(key)
        if claim is Claim.FENCED:
            raise LeadLost(f"lead {self._name}: term {self.epoch} is over")
        return claim is Claim.MINE

    def _current(self) -> Any:
        # FOR SHARE: a takeover raising the epoch waits until this claim is written, and then wins.
        return select(_terms.c.epoch).where(_terms.c.name == self._name).with_for_update(read=True).scalar_subquery()

    def oldest_unfinished_post_at(self) -> int:
        """The oldest post (its create_at, in ms) claimed and never done, or 0: a backfill reads from there."""
        with self._engine.connect() as connection:
            query = select(func.min(_handled.c.post_at)).where(_handled.c.done_at.is_(None), _handled.c.post_at > 0)
            return int(connection.execute(query).scalar() or 0)

    def last_post_at(self) -> int:
        """The newest post (its create_at, in ms) that any term handled: where a backfill starts."""
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.max(_handled.c.post_at))).scalar() or 0)

    def still_current(self) -> bool:
        if not self.epoch:
            return True
        with self._engine.connect() as connection:
            current = connection.execute(select(_terms.c.epoch).where(_terms.c.name == self._name)).scalar()
        return current == self.epoch
