"""What one unit of work (a command, a post, a feed cycle) shares across its Redmine calls: a tally of the
round trips, and each person's personal key, looked up and confirmed once.

A mutable cell in a context variable, so the threads a batch creates in (each in a copy of the context)
count into the same one. Outside a scope, nothing is shared and every use of a personal key is confirmed.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Tally:
    """Redmine requests made in one scope, counted in the scopes around it too (a benchmark's count around a
    command that opens its own scope)."""

    def __init__(self, outer: Tally | None = None) -> None:
        self._lock = threading.Lock()
        self._outer = outer
        self.round_trips = 0

    def add(self) -> None:
        with self._lock:
            self.round_trips += 1
        if self._outer is not None:
            self._outer.add()


class CallScope:
    """Personal keys by login, read from the store once, and the keys Redmine confirmed in this scope."""

    def __init__(self, outer: CallScope | None = None) -> None:
        self.tally: Tally = Tally(outer.tally if outer else None)
        self._lock = threading.Lock()
        self._keys: dict[str, str | None] = {}
        self._confirmed: set[str] = set()

    def key_of(self, login: str, lookup: Callable[[str], str | None]) -> str | None:
        with self._lock:
            if login in self._keys:
                return self._keys[login]
        key = lookup(login)
        with self._lock:
            self._keys[login] = key
        return key

    def confirmed(self, fingerprint: str) -> bool:
        with self._lock:
            return fingerprint in self._confirmed

    def confirm(self, fingerprint: str) -> None:
        with self._lock:
            self._confirmed.add(fingerprint)


_scope: contextvars.ContextVar[CallScope | None] = contextvars.ContextVar("redmine_call_scope", default=None)


def current_scope() -> CallScope | None:
    return _scope.get()


@contextmanager
def call_scope() -> Iterator[CallScope]:
    """One command, one post or one feed cycle: its keys are confirmed once, its round trips counted."""
    scope = CallScope(_scope.get())
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@contextmanager
def counting() -> Iterator[Tally]:
    """Counts the Redmine requests made inside the block; logs and benchmarks read it."""
    with call_scope() as scope:
        yield scope.tally
