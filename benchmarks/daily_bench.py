"""Round trips of the daily work's commands (find, saved queries, time) and of a round of morning digests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from app_integration.adapters.redmine.call_scope import counting
from app_integration.core.updates.morning_digest import send_morning_digests
from benchmarks.sandbox import Count

if TYPE_CHECKING:
    from app_integration.adapters.runtime.wiring import Bridge


def daily_counts(both: Callable[..., tuple[int, int]], bridge_factory: Callable[[], Bridge]) -> list[Count]:
    return [
        Count("find <words>", *both("find", argument="Seeded"), minimum=1, goal="1"),
        Count("queries", *both("queries"), minimum=1, goal="1 cold, 0 while cached"),
        Count(
            "tickets_for_me <saved query>",
            *both("tickets_for_me", argument="Open bugs in demo"),
            minimum=1,
            goal="2 cold, 1 while cached",
        ),
        Count("spent today", *both("spent", argument="today"), minimum=1, goal="1"),
        Count("morning digest, per person", *digest_calls(bridge_factory), minimum=1, goal="1"),
    ]


def digest_calls(bridge_factory: Callable[[], Bridge]) -> tuple[int, int]:
    """Redmine calls per person of one round of morning digests, for everyone in the map, cold and warm."""
    figures = []
    for _round in range(2):
        bridge = bridge_factory()
        bridge.users.sync_map(bridge.chat)
        links = bridge.services.store.all_links()
        for link in links:  # everyone's digest due now, whatever the day and hour the benchmark runs at
            prefs = bridge.subscriptions.prefs(link.chat_user_id)
            bridge.subscriptions.save_prefs(
                link.chat_user_id, dataclasses.replace(prefs, digest_time=dt.time(0, 0), weekends=True)
            )
        with counting() as tally:
            send_morning_digests(bridge.services, dt.datetime.now(dt.UTC) + dt.timedelta(days=_round))
        figures.append(round(tally.round_trips / max(1, len(links))))
    return figures[0], figures[1]
