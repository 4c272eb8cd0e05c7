"""Subscriptions, thread roots, skipped accounts and personal toggles, in the bridge's own database. The
outbox is beside it, in `outbox_store`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
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
    and_,
    delete,
    false,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app_integration.adapters.store.state_store import upsert
from app_integration.core.events import (
    PERSONAL_KINDS,
    SUBSCRIBABLE,
    ChannelDefaults,
    DigestState,
    NotificationPrefs,
    Subscription,
)

_metadata = MetaData()
_subscriptions = Table(
    "subscriptions",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", String(26), nullable=False, index=True),
    Column("owner_id", String(26), nullable=False),
    Column("project_id", Integer, nullable=False),
    Column("project_name", String(255), nullable=False),
    Column("events", String(255), nullable=False),
    Column("with_subprojects", Boolean, nullable=False),
    Column("tracker_id", Integer, nullable=True),
    Column("priority_id", Integer, nullable=True),
    Column("assignee_id", Integer, nullable=True),
    Column("open_only", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sync_replies", Boolean, nullable=False, server_default=false()),
    Column("locale", String(8), nullable=False, server_default=""),
    Column("query_id", Integer, nullable=True),
)
_threads = Table(
    "issue_threads",
    _metadata,
    Column("channel_id", String(26), primary_key=True),
    Column("issue_id", Integer, primary_key=True),
    Column("root_post_id", String(26), nullable=False),
)
_skipped = Table(
    "skipped_accounts",
    _metadata,
    Column("login", String(255), primary_key=True),
    Column("reason", String(255), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
)
_echoes = Table(
    "thread_echoes",
    _metadata,
    Column("channel_id", String(26), primary_key=True),
    Column("issue_id", Integer, primary_key=True),
    Column("post_id", String(26), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
_muted = Table(
    "muted_tickets",
    _metadata,
    Column("chat_user_id", String(26), primary_key=True),
    Column("issue_id", Integer, primary_key=True),
    Column("muted_at", DateTime(timezone=True), nullable=False),
)
_prefs = Table(
    "notification_prefs",
    _metadata,
    Column("chat_user_id", String(26), primary_key=True),
    Column("off", String(255), nullable=False),
    Column("reminder_time", String(5), nullable=False),
    Column("weekends", Boolean, nullable=False, default=False),
)
_digests = Table(
    "digest_state",
    _metadata,
    Column("chat_user_id", String(26), primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("assigned", Text, nullable=False),
    Column("due", Text, nullable=False),
)
_channel_defaults = Table(
    "channel_defaults",
    _metadata,
    Column("channel_id", String(26), primary_key=True),
    Column("project", String(100), nullable=True),
    Column("link_mode", String(10), nullable=True),
    Column("updated_by", String(26), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
KEEP_DONE = dt.timedelta(days=14)  # longer than any cursor can lag, so a late duplicate still finds its row


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite keeps no zone


class SubscriptionTables:
    """Implements the SubscriptionStore port on the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # Subscriptions -------------------------------------------------------------
    def add_subscription(self, subscription: Subscription) -> Subscription:
        with self._engine.begin() as connection:
            result = connection.execute(_subscriptions.insert().values(**_row(subscription), created_at=utc_now()))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return replace(subscription, id=new_id)

    def replace_subscription(self, subscription: Subscription) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(_subscriptions)
                .where(_subscriptions.c.id == subscription.id, _subscriptions.c.channel_id == subscription.channel_id)
                .values(**_row(subscription))
            )

    def remove_subscription(self, subscription_id: int, channel_id: str) -> bool:
        condition = and_(_subscriptions.c.id == subscription_id, _subscriptions.c.channel_id == channel_id)
        with self._engine.begin() as connection:
            return bool(connection.execute(delete(_subscriptions).where(condition)).rowcount)

    def list_subscriptions(self, channel_id: str | None = None) -> list[Subscription]:
        query = select(_subscriptions).order_by(_subscriptions.c.id)
        if channel_id is not None:
            query = query.where(_subscriptions.c.channel_id == channel_id)
        with self._engine.connect() as connection:
            return [_subscription(row) for row in connection.execute(query)]

    # Thread roots ----------------------------------------------------------------
    def thread_root(self, channel_id: str, issue_id: int) -> str | None:
        found = self._thread_value(_threads.c.root_post_id, channel_id, _threads.c.issue_id == issue_id)
        return None if found is None else str(found)

    def issue_of_thread(self, channel_id: str, root_post_id: str) -> int | None:
        found = self._thread_value(_threads.c.issue_id, channel_id, _threads.c.root_post_id == root_post_id)
        return None if found is None else int(found)

    def _thread_value(self, column: Any, channel_id: str, condition: Any) -> Any:
        with self._engine.connect() as connection:
            return connection.execute(select(column).where(_threads.c.channel_id == channel_id, condition)).scalar()

    def save_thread_root(self, channel_id: str, issue_id: int, post_id: str) -> None:
        self.forget_thread_root(channel_id, issue_id)
        with self._engine.begin() as connection:
            connection.execute(_threads.insert().values(channel_id=channel_id, issue_id=issue_id, root_post_id=post_id))

    def forget_thread_root(self, channel_id: str, issue_id: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(_threads).where(_threads.c.channel_id == channel_id, _threads.c.issue_id == issue_id)
            )

    # Accounts the feed skips ----------------------------------------------------
    def note_skipped(self, skipped: dict[str, str], fine: set[str]) -> list[str]:
        """Records the logins a cycle had to skip and clears those that worked; the logins newly skipped."""
        with self._engine.begin() as connection:
            known = {str(r.login) for r in connection.execute(select(_skipped.c.login)).all()}
            if fine - set(skipped):
                connection.execute(delete(_skipped).where(_skipped.c.login.in_(fine - set(skipped))))
            for login in set(skipped) - known:
                connection.execute(_skipped.insert().values(login=login, reason=skipped[login][:255], since=utc_now()))
        return sorted(set(skipped) - known)

    def skipped_accounts(self) -> dict[str, str]:
        with self._engine.connect() as connection:
            return {str(r.login): str(r.reason) for r in connection.execute(select(_skipped)).all()}

    # Replies written as notes --------------------------------------------------
    def expect_echo(self, channel_id: str, issue_id: int, post_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(_echoes).where(_echoes.c.created_at < utc_now() - KEEP_DONE))
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    _echoes.insert().values(
                        channel_id=channel_id, issue_id=issue_id, post_id=post_id, created_at=utc_now()
                    )
                )
        except IntegrityError:
            pass  # recorded already: the same reply again

    def is_echo(self, channel_id: str, issue_id: int, post_ids: Sequence[str]) -> bool:
        if not post_ids:
            return False
        with self._engine.connect() as connection:
            row = connection.execute(
                select(_echoes.c.post_id).where(
                    _echoes.c.channel_id == channel_id, _echoes.c.issue_id == issue_id, _echoes.c.post_id.in_(post_ids)
                )
            ).first()
        return row is not None

    # Personal toggles -----------------------------------------------------------
    def prefs(self, chat_user_id: str) -> NotificationPrefs:
        with self._engine.connect() as connection:
            row = connection.execute(select(_prefs).where(_prefs.c.chat_user_id == chat_user_id)).first()
        if row is None:
            return NotificationPrefs()
        off = frozenset(k for k in str(row.off).split(",") if k in PERSONAL_KINDS)
        at = dt.time.fromisoformat(str(row.reminder_time))
        return NotificationPrefs(off, at, bool(row.weekends))  # type: ignore[arg-type]

    def save_prefs(self, chat_user_id: str, prefs: NotificationPrefs) -> None:
        values = {
            "off": ",".join(sorted(prefs.off)),
            "reminder_time": prefs.digest_time.strftime("%H:%M"),  # the column keeps its name from migration 0004
            "weekends": prefs.weekends,
        }
        upsert(self._engine, _prefs, _prefs.c.chat_user_id, chat_user_id, values)

    def digest_state(self, chat_user_id: str) -> DigestState | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(_digests).where(_digests.c.chat_user_id == chat_user_id)).first()
        if row is None:
            return None
        return DigestState(as_utc(row.sent_at), _ids(row.assigned), _ids(row.due))

    def save_digest_state(self, chat_user_id: str, state: DigestState) -> None:
        values = {
            "sent_at": state.sent_at,
            "assigned": ",".join(map(str, sorted(state.assigned))),
            "due": ",".join(map(str, sorted(state.due))),
        }
        upsert(self._engine, _digests, _digests.c.chat_user_id, chat_user_id, values)

    # Channel defaults ------------------------------------------------------------
    def channel_defaults(self, channel_id: str) -> ChannelDefaults:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(_channel_defaults).where(_channel_defaults.c.channel_id == channel_id)
            ).first()
        return ChannelDefaults(row.project, row.link_mode) if row is not None else ChannelDefaults()

    def save_channel_defaults(self, channel_id: str, defaults: ChannelDefaults, by_user_id: str) -> None:
        values = {
            "project": defaults.project,
            "link_mode": defaults.link_mode,
            "updated_by": by_user_id,
            "updated_at": utc_now(),
        }
        upsert(self._engine, _channel_defaults, _channel_defaults.c.channel_id, channel_id, values)

    def set_muted(self, chat_user_id: str, issue_id: int, muted: bool) -> bool:
        """Mutes or unmutes one ticket for one person; whether that changed anything."""
        key = (_muted.c.chat_user_id == chat_user_id, _muted.c.issue_id == issue_id)
        with self._engine.begin() as connection:
            if not muted:
                return bool(connection.execute(delete(_muted).where(*key)).rowcount)
            if connection.execute(select(_muted.c.issue_id).where(*key)).first() is not None:
                return False
            try:
                row = {"chat_user_id": chat_user_id, "issue_id": issue_id, "muted_at": dt.datetime.now(dt.UTC)}
                connection.execute(insert(_muted).values(**row))
            except IntegrityError:  # the same click twice at once
                return False
        return True

    def muted_tickets(self, chat_user_id: str) -> frozenset[int]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(_muted.c.issue_id).where(_muted.c.chat_user_id == chat_user_id))
            return frozenset(int(row.issue_id) for row in rows)


def _ids(text: str) -> frozenset[int]:
    return frozenset(int(part) for part in str(text).split(",") if part.isdigit())


def _row(s: Subscription) -> dict[str, Any]:
    return {
        "channel_id": s.channel_id,
        "owner_id": s.owner_id,
        "project_id": s.project_id,
        "project_name": s.project_name,
        "events": ",".join(k for k in SUBSCRIBABLE if k in s.events),
        "with_subprojects": s.with_subprojects,
        "tracker_id": s.tracker_id,
        "priority_id": s.priority_id,
        "assignee_id": s.assignee_id,
        "open_only": s.open_only,
        "sync_replies": s.sync_replies,
        "locale": s.locale,
        "query_id": s.query_id,
    }


def _subscription(row: Any) -> Subscription:
    return Subscription(
        channel_id=str(row.channel_id),
        owner_id=str(row.owner_id),
        project_id=int(row.project_id),
        project_name=str(row.project_name),
        events=frozenset(k for k in SUBSCRIBABLE if k in str(row.events).split(",")),
        with_subprojects=bool(row.with_subprojects),
        tracker_id=row.tracker_id,
        priority_id=row.priority_id,
        assignee_id=row.assignee_id,
        open_only=bool(row.open_only),
        sync_replies=bool(row.sync_replies),
        locale=str(row.locale or ""),
        query_id=row.query_id,
        id=int(row.id),
    )
