"""Exactly one replica leads, on SQLite and on a real PostgreSQL; another takes over when it goes."""

from __future__ import annotations

import time
from typing import Any

from app_integration.adapters.store.leadership import Leadership
from app_integration.adapters.store.state_store import BridgeStore


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


def test_a_frozen_leader_that_wakes_is_fenced_out(database_url: str) -> None:
    """Each takeover raises the epoch. A leader frozen past its lease (SQLite), or whose database connection was
    cut (PostgreSQL: the server ends the session that held the lock), wakes with an old epoch: its claims are
    refused, and the new leader's backfill does not redo what the old one had already claimed."""
    from sqlalchemy import text

    from app_integration.adapters.store.leadership import Claim

    store = BridgeStore(database_url)
    store.migrate()
    old = Leadership(BridgeStore(database_url).engine, "listener", lease_seconds=0.3)
    assert old.try_acquire() and old.epoch == 1
    old_fence = old.fence()
    assert old_fence.claim("post:before-the-freeze") is Claim.MINE
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as admin:  # the leader's connection is cut, not its process killed
            pid = old._connection.execute(text("SELECT pg_backend_pid()")).scalar()
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    new = Leadership(store.engine, "listener", lease_seconds=0.3)
    deadline = time.monotonic() + 5
    while not new.try_acquire():
        assert time.monotonic() < deadline, "no takeover within 5 s"
        time.sleep(0.1)
    assert new.epoch == 2 and new.fence().still_current() and not old_fence.still_current()
    assert old_fence.claim("post:buffered-while-frozen") is Claim.FENCED
    new_fence = new.fence()
    # Claimed by the old term and never done (it froze between the claim and the effect): the new term takes it
    # again, and acts idempotently; what the old term finished stays done.
    assert new_fence.claim("post:before-the-freeze") is Claim.AGAIN
    assert new_fence.claim("post:buffered-while-frozen") is Claim.MINE
    new_fence.done("post:buffered-while-frozen")
    assert new_fence.claim("post:buffered-while-frozen") is Claim.DONE
    assert not old.still_leading()


def test_the_outbox_takes_over_a_row_the_dead_term_claimed() -> None:
    """A row the old term admitted is admitted once more to no one as a first try: a later term, or the same one
    again, is told it was tried before (and asks Mattermost whether the post is there)."""
    import tempfile
    from pathlib import Path

    from app_integration.core.errors import LeadLost

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'store.sqlite3'}"
        store = BridgeStore(url)
        store.migrate()
        old = Leadership(store.engine, "listener", lease_seconds=0.2)
        assert old.try_acquire()
        assert old.fence().admit("outbox:row") and not old.fence().admit("outbox:row")
        time.sleep(0.3)
        new = Leadership(store.engine, "listener", lease_seconds=0.2)
        assert new.try_acquire()
        assert not new.fence().admit("outbox:row") and new.fence().admit("outbox:new-row")
        try:
            old.fence().admit("outbox:other")
            raise AssertionError("a term that lost the lead was admitted")
        except LeadLost:
            pass


def test_a_claim_never_done_is_taken_again_by_a_retry_or_once_stale(tmp_path: Any) -> None:
    """claim → act → done. A claim whose effect failed for now is the same term's to retry; another hearing of the
    same post at once is not; a claim whose process died is taken once stale."""
    from app_integration.adapters.store import leadership
    from app_integration.adapters.store.leadership import Claim

    store = BridgeStore(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    store.migrate()
    lead = Leadership(store.engine, "listener")
    assert lead.try_acquire()
    fence = lead.fence()
    assert fence.claim("post:a", post_at=1000) is Claim.MINE
    assert fence.claim("post:a") is Claim.DONE  # heard twice at once: under way
    assert fence.oldest_unfinished_post_at() == 1000
    assert fence.claim("post:a", retry=True) is Claim.AGAIN  # its own try failed for now
    fence.done("post:a")
    assert fence.claim("post:a", retry=True) is Claim.DONE and fence.oldest_unfinished_post_at() == 0
    assert fence.claim("post:b") is Claim.MINE
    original = leadership.STALE_CLAIM
    leadership.STALE_CLAIM = leadership.dt.timedelta(seconds=-1)  # as if a minute had passed
    try:
        assert fence.claim("post:b") is Claim.AGAIN  # its process died between the claim and the effect
    finally:
        leadership.STALE_CLAIM = original


def test_a_silent_leader_on_postgresql_is_ended_once_its_lease_expires(postgres_database: str) -> None:
    """Issue 28: a leader whose host dies or whose traffic is black-holed keeps its backend, and the advisory lock,
    until TCP gives up (hours). Here the leader's connection stays open and says nothing (what the server sees of a
    black-holed peer); the follower finds the lease expired, ends that backend, takes over, and fences it out."""
    from app_integration.adapters.store.leadership import Claim

    store = BridgeStore(postgres_database)
    store.migrate()
    silent = Leadership(BridgeStore(postgres_database).engine, "listener", lease_seconds=1.0)
    assert silent.try_acquire() and silent.epoch == 1
    silent_fence = silent.fence()
    follower = Leadership(store.engine, "listener", lease_seconds=1.0)
    assert not follower.try_acquire()  # the lease is fresh: the lock holds
    deadline = time.monotonic() + 30
    while not follower.try_acquire():  # the silent leader renews nothing from here on
        assert time.monotonic() < deadline, "no takeover within 30 s"
        time.sleep(0.2)
    assert follower.epoch == 2 and time.monotonic() < deadline
    assert silent_fence.claim("post:while-silent") is Claim.FENCED
    assert not silent.still_leading()  # its session was ended: it leads no more, and knows it
