"""The outbox, in the bridge's own database: what is to be posted into Mattermost, until it is.

Its key is (event, target): whoever enqueues an event twice, through a poll and a webhook or after a restart,
adds it once, so nothing is posted twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    false,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app_integration.adapters.store.subscription_store import KEEP_DONE, as_utc, utc_now
from app_integration.core.events import Delivery

_metadata = MetaData()
_outbox = Table(
    "outbox",
    _metadata,
    Column("event_key", String(64), primary_key=True),
    Column("target", String(32), primary_key=True),
    Column("issue_id", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("card", Text, nullable=False),
    Column("state", String(8), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(255), nullable=True),
    Column("sensitive", Boolean, nullable=False, server_default=false()),
)


class OutboxTable:
    """Implements the Outbox port on the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # The delivery loop in this process hears of new rows at once; other processes' rows (a webhook in a
        # web worker) it finds on its next look.
        self.on_enqueue: Callable[[], None] = lambda: None

    def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        added = 0
        for item in deliveries:
            now = utc_now()  # one moment per row, so a batch is delivered in the order it was made
            values = {
                "event_key": item.event_key,
                "target": item.target,
                "issue_id": item.issue_id,
                "text": item.text,
                "card": item.card,
                "state": "pending",
                "sensitive": item.sensitive,
                "attempts": 0,
                "next_at": now,
                "created_at": now,
            }
            try:
                with self._engine.begin() as connection:
                    connection.execute(_outbox.insert().values(**values))
                added += 1
            except IntegrityError:
                continue  # already there: enqueued by another path, or before a restart
        if added:
            self.on_enqueue()
        return added

    def has_delivery(self, event_key: str, target: str) -> bool:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(_outbox.c.state).where(_outbox.c.event_key == event_key, _outbox.c.target == target)
            ).first()
        return row is not None

    def pending_deliveries(self, limit: int, now: dt.datetime, per_target: int = 10) -> list[Delivery]:
        """Due rows only, and fairly: one target's backlog cannot fill the batch and starve the others."""
        order = (_outbox.c.created_at, _outbox.c.issue_id, _outbox.c.event_key)
        place = func.row_number().over(partition_by=_outbox.c.target, order_by=order).label("place")
        ranked = select(_outbox, place).where(_outbox.c.state == "pending").subquery()
        waiting = select(_outbox.c.target).where(_outbox.c.state == "pending", _outbox.c.next_at > now)
        with self._engine.begin() as connection:
            old = utc_now() - KEEP_DONE
            connection.execute(delete(_outbox).where(_outbox.c.state != "pending", _outbox.c.created_at < old))
            rows = connection.execute(
                select(ranked)
                .where(ranked.c.place <= per_target, ranked.c.target.not_in(waiting))
                .order_by(ranked.c.created_at, ranked.c.issue_id, ranked.c.event_key)
                .limit(limit)
            ).all()
        return [
            Delivery(
                r.event_key,
                r.target,
                int(r.issue_id),
                str(r.text),
                str(r.card),
                int(r.attempts),
                as_utc(r.next_at),
                bool(r.sensitive),
            )
            for r in rows
        ]

    def delivered(self, delivery: Delivery) -> None:
        self._set(delivery, state="sent")

    def retry_later(self, delivery: Delivery, at: dt.datetime) -> None:
        self._set(delivery, attempts=delivery.attempts + 1, next_at=at)

    def drop(self, delivery: Delivery, reason: str) -> None:
        self._set(delivery, state="dropped", reason=reason[:255])

    def outbox_backlog(self) -> tuple[int, dt.datetime | None]:
        """Rows waiting to be sent, and when the oldest of them was queued."""
        query = select(func.count(), func.min(_outbox.c.created_at)).where(_outbox.c.state == "pending")
        with self._engine.connect() as connection:
            count, oldest = connection.execute(query).one()
        return int(count), as_utc(oldest) if oldest is not None else None

    def outbox_states(self) -> dict[str, int]:
        """How many rows are in each state: for the operator and the tests."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(_outbox.c.state, func.count()).group_by(_outbox.c.state)).all()
        return {str(state): int(count) for state, count in rows}

    def _set(self, delivery: Delivery, **values: Any) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(_outbox)
                .where(_outbox.c.event_key == delivery.event_key, _outbox.c.target == delivery.target)
                .values(**values)
            )
