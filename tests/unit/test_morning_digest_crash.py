"""The morning digest across a crash between remembering it and queuing it: the next round still sends it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest

from app_integration.adapters.store.outbox_store import OutboxTable
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.adapters.store.subscription_store import SubscriptionTables
from app_integration.core.models import IssuePage, UserLink
from app_integration.core.updates.morning_digest import send_morning_digests
from app_integration.core.updates.outbox_delivery import Delivery
from tests.unit.fakes import FakeTracker, make_issue, services

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


class DiesOnce(OutboxTable):
    """The process dies the first time the digest is queued (an exception escapes where a kill would stop)."""

    died = False

    def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        if not self.died:
            self.died = True
            raise RuntimeError("killed between the two steps")
        return super().enqueue(deliveries)


def test_a_digest_cut_off_before_it_was_queued_is_sent_by_the_next_round(tmp_path: Path) -> None:
    store = BridgeStore(f"sqlite:///{tmp_path / 'bridge.sqlite3'}")
    store.migrate()
    store.save_link(UserLink("b" * 26, 3, "bob", "map", NOW - dt.timedelta(days=9)))
    due = dataclasses.replace(make_issue(7, "Pay the invoice", assigned=3), due_date=NOW.date())
    outbox = DiesOnce(store.engine)
    digest = dataclasses.replace(
        services(FakeTracker(page=IssuePage((due,), 1))),
        store=store,
        subscriptions=SubscriptionTables(store.engine),
        outbox=outbox,
    )
    with pytest.raises(RuntimeError):
        send_morning_digests(digest, NOW)
    assert send_morning_digests(digest, NOW + dt.timedelta(minutes=1)) == 1
    sent = outbox.pending_deliveries(10, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert [d.target for d in sent] == ["dm:" + "b" * 26] and "Pay the invoice" in sent[0].text
