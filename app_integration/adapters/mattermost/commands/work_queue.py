"""The web adapters' background work: a few threads, and a bounded queue in front of them.

A slash command or a button is answered within seconds whatever Redmine does (see classic_surface): what
is not done by then goes on here and answers later. The queue is bounded because a slow Redmine drains it
slowly: past the bound a person is told at once that Redmine is slow, instead of waiting minutes for an
answer that Mattermost would no longer show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

from app_integration.adapters import metrics
from app_integration.core.errors import RedmineUnavailable
from app_integration.core.i18n import N_, _

SLOW_NOW = N_("Redmine is slow right now, and the bridge already has many requests waiting. Try again in a minute.")


class WorkQueue:
    """`threads` commands at work at once, at most `waiting` more queued behind them."""

    def __init__(self, threads: int = 8, waiting: int = 32) -> None:
        self.threads, self.waiting = threads, waiting
        self._pool = ThreadPoolExecutor(threads, "bridge-work")
        self._lock = threading.Lock()
        self._admitted = 0  # at work or waiting

    def submit(self, work: Callable[[], Any]) -> Future[Any]:
        """Runs `work` in the caller's context; raises RedmineUnavailable (said to the person) when full."""
        with self._lock:
            if self._admitted >= self.threads + self.waiting:
                metrics.WORK_REFUSED.inc()
                raise RedmineUnavailable(_(SLOW_NOW))
            self._admitted += 1
            metrics.WORK_WAITING.set(max(0, self._admitted - self.threads))
        try:
            future = self._pool.submit(copy_context().run, work)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _done: object) -> None:
        with self._lock:
            self._admitted -= 1
            metrics.WORK_WAITING.set(max(0, self._admitted - self.threads))

    @property
    def admitted(self) -> int:
        return self._admitted
