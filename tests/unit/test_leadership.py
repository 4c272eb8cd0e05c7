"""Exactly one replica leads, on SQLite and on a real PostgreSQL; another takes over when it goes."""

from __future__ import annotations

import time

from app_integration.adapters.leadership import Leadership
from app_integration.adapters.store import BridgeStore


def test_one_leads_and_another_takes_over_when_it_goes(database_url: str) -> None:
    store = BridgeStore(database_url)
    store.migrate()
    first = Leadership(store.engine, "listener", lease_seconds=0.5)
    second = Leadership(BridgeStore(database_url).engine, "listener", lease_seconds=0.5)
    assert first.try_acquire() and not second.try_acquire()
    assert first.still_leading() and not second.try_acquire()  # renewing keeps it
    other_role = Leadership(store.engine, "poller", lease_seconds=0.5)
    assert other_role.try_acquire()  # each role has its own lead
    first.release()
    assert second.try_acquire() and not first.try_acquire()


def test_a_leader_that_stops_renewing_loses_the_lead(database_url: str) -> None:
    """A killed leader renews nothing: on PostgreSQL its session (and lock) goes; on SQLite its lease expires."""
    store = BridgeStore(database_url)
    store.migrate()
    dead = Leadership(BridgeStore(database_url).engine, "listener", lease_seconds=0.3)
    assert dead.try_acquire()
    if store.engine.dialect.name == "postgresql":
        dead._connection.invalidate()  # what the server sees when the process is killed
    follower = Leadership(store.engine, "listener", lease_seconds=0.3)
    deadline = time.monotonic() + 5
    while not follower.try_acquire():
        assert time.monotonic() < deadline, "no takeover within 5 s"
        time.sleep(0.1)


def test_replicas_starting_together_agree_on_one_leader(database_url: str) -> None:
    """On a fresh store every replica finds no lease row and inserts one; the losers of that insert must
    simply follow (a replica once crashed on the unique key here)."""
    import threading

    BridgeStore(database_url).migrate()
    contenders = [Leadership(BridgeStore(database_url).engine, "listener", lease_seconds=5) for _ in range(6)]
    start = threading.Barrier(len(contenders))
    outcomes: list[object] = []

    def contend(lead: Leadership) -> None:
        start.wait(timeout=10)
        try:
            outcomes.append(lead.try_acquire())
        except Exception as error:  # the defect: the loser's insert raised
            outcomes.append(error)

    threads = [threading.Thread(target=contend, args=(lead,)) for lead in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, outcomes)) == ["False"] * 5 + ["True"]
