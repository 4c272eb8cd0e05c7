"""The leader's clockwork: the change feed every REDMINE_POLL_SECONDS, the outbox every two seconds, and
the morning digest's check every minute. It runs in the process that holds the lead, beside the listener, so with
several replicas exactly one polls and sends; what it sends passes the lead's fence first.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from app_integration.adapters import metrics
from app_integration.adapters.redmine.call_scope import call_scope, counting
from app_integration.adapters.runtime.wiring import Bridge
from app_integration.adapters.store.leadership import Fence
from app_integration.core.errors import BridgeError
from app_integration.core.updates.change_feed import poll_once
from app_integration.core.updates.morning_digest import send_morning_digests
from app_integration.core.updates.outbox_delivery import deliver_due
from app_integration.core.updates.project_activity import poll_project_activity

log = logging.getLogger(__name__)
T = TypeVar("T")
# How often an idle delivery loop looks at the outbox for rows other processes queued; rows queued in this
# process wake it at once, and a round that sent something is followed by the next straight away.
DELIVER_SECONDS = 1.0
DIGEST_CHECK_SECONDS = 60.0


class UpdateRunner:
    """Two threads: the poll, which may read up to 1,000 changed issues, runs on its own, so that delivery
    and the morning digest never wait for it."""

    def __init__(self, bridge: Bridge, poll_seconds: float, fence: Fence | None = None) -> None:
        self._bridge = bridge
        self._poll_seconds = poll_seconds
        self._fence = fence or Fence(bridge.store.engine, "listener", 0)
        self._stopped = threading.Event()
        self._wake = threading.Event()
        bridge.outbox.on_enqueue = self._wake.set
        self._threads = [
            threading.Thread(target=self._run_polls, name="feed", daemon=True),
            threading.Thread(target=self._run_deliveries, name="outbox", daemon=True),
        ]
        self.cycles = 0

    def start(self) -> UpdateRunner:
        # With polling off (0), webhooks still fill the outbox and the morning digest still comes: the clock runs.
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=30)

    def _run_polls(self) -> None:
        if self._poll_seconds <= 0:
            return
        while not self._stopped.is_set():
            started = time.monotonic()
            if self._fence.still_current():
                self.poll()
            self.cycles += 1
            self._stopped.wait(max(0.05, self._poll_seconds - (time.monotonic() - started)))

    def _run_deliveries(self) -> None:
        next_digest_check = time.monotonic()
        while not self._stopped.is_set():
            if time.monotonic() >= next_digest_check:
                next_digest_check = time.monotonic() + DIGEST_CHECK_SECONDS
                with call_scope():  # each person's key is confirmed once per round
                    self._guarded(
                        "morning digest", lambda: send_morning_digests(self._bridge.services, dt.datetime.now(dt.UTC))
                    )
            self._wake.clear()
            if not self.deliver() and not self._stopped.is_set():
                self._wake.wait(DELIVER_SECONDS)

    def poll(self) -> None:
        started = time.perf_counter()
        with counting() as tally:
            report = self._guarded("feed", lambda: poll_once(self._bridge.services, self._bridge.store))
        metrics.FEED_SECONDS.observe(time.perf_counter() - started)
        services, state, now = self._bridge.services, self._bridge.store, dt.datetime.now(dt.UTC)
        self._guarded("project activity", lambda: poll_project_activity(services, state, now))
        metrics.FEED_CALLS.observe(tally.round_trips)
        if report is None:
            return
        metrics.FEED_EVENTS.observe(report.events)
        if report.cursor_at is not None:
            metrics.FEED_LAG.set(max(0.0, (dt.datetime.now(dt.UTC) - report.cursor_at).total_seconds()))
        if report.changed:
            log.info(
                "feed: %d changed issues, %d events, %d posts queued, %d Redmine calls",
                report.changed,
                report.events,
                report.enqueued,
                tally.round_trips,
            )

    def deliver(self) -> bool:
        """One round; whether it sent anything (then more may be waiting)."""
        chat, subs, outbox = self._bridge.chat, self._bridge.subscriptions, self._bridge.outbox
        now = dt.datetime.now(dt.UTC)
        report = self._guarded("outbox", lambda: deliver_due(chat, subs, outbox, now, fence=self._fence))
        if report is not None:
            metrics.OUTBOX_DELIVERED.inc(report.sent)
            metrics.OUTBOX_RETRIES.inc(report.retried)
            for kind in report.drop_kinds:
                metrics.OUTBOX_DROPS.labels(kind).inc()
        backlog = self._guarded("outbox", outbox.outbox_backlog)
        if backlog is not None:
            depth, oldest = backlog
            metrics.OUTBOX_DEPTH.set(depth)
            metrics.OUTBOX_OLDEST.set((dt.datetime.now(dt.UTC) - oldest).total_seconds() if oldest else 0.0)
        return bool(report and (report.sent or report.dropped))

    def _guarded(self, what: str, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except BridgeError as error:
            # Redmine or Mattermost is away: the cursor and the outbox keep everything for the next round.
            log.warning("%s paused: %s", what, error.user_message)
        except Exception:
            log.exception("%s failed; trying again next round", what)
        return None
