"""A subscription whose owner's Redmine account is locked costs only its own posts: the others of the cycle are
read and queued, and the cycle is not failed (it would then be read again, and fail again, for everyone)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from app_integration.core.errors import AccountUnavailable
from app_integration.core.events import Delivery, Subscription
from app_integration.core.models import ProjectItem
from app_integration.core.updates.project_activity import CURSOR, STARTED, poll_project_activity
from tests.unit.fakes import FakeChat, services

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


class Channels(FakeChat):
    def channel_kind(self, channel_id: str, fresh: bool = False) -> str | None:
        return "P"


class Activity:
    def items_since(self, login: str | None, project_id: int, kinds: frozenset[str], since: dt.datetime) -> Any:
        if login == "dave":
            raise AccountUnavailable("The Redmine account `dave` is missing or locked.")
        return [ProjectItem(f"news:{project_id}", "news", "Office move", "http://r/news/1", NOW)]


class Subscriptions:
    def __init__(self) -> None:
        self.skipped: list[dict[str, str]] = []

    def list_subscriptions(self) -> list[Subscription]:
        news = frozenset({"news"})
        return [
            Subscription("c" * 26, "id-dave", 1, "Demo", events=news),
            Subscription("d" * 26, "id-alice", 2, "Ops", events=news),
        ]

    def note_skipped(self, skipped: dict[str, str], fine: set[str]) -> list[str]:
        self.skipped.append(skipped)
        return list(skipped)


class Outbox:
    def __init__(self) -> None:
        self.rows: list[Delivery] = []

    def enqueue(self, deliveries: list[Delivery]) -> int:
        self.rows += deliveries
        return len(deliveries)


class State:
    def __init__(self) -> None:
        self.values = {CURSOR: (NOW - dt.timedelta(minutes=1)).isoformat(), STARTED: "2026-12-01T00:00:00+00:00"}

    def load_state(self, name: str) -> str | None:
        return self.values.get(name)

    def save_state(self, name: str, value: str) -> None:
        self.values[name] = value


def test_a_locked_owner_stops_only_their_own_subscription() -> None:
    subs, outbox, state = Subscriptions(), Outbox(), State()
    bridge = dataclasses.replace(
        services(chat=Channels(), mapping=(("alice", "alice"), ("dave", "dave"))),
        subscriptions=subs,
        outbox=outbox,
        activity=Activity(),
    )
    assert poll_project_activity(bridge, state, NOW) == 1  # type: ignore[arg-type]
    assert [row.target for row in outbox.rows] == ["d" * 26]  # alice's subscription still hears its news
    assert subs.skipped == [{"dave": "The Redmine account `dave` is missing or locked."}]
    assert state.values[CURSOR] == NOW.isoformat()  # the cycle completed: nobody's items are read forever again
