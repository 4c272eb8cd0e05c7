"""What the admin's reads of Redmine keep for a while: one small thread-safe memo, shared by the adapters that
read site-wide facts (the outsiders' roles, the ticket fields). A value is loaded outside the lock: two callers
at once may both load it, and the later write wins, which is harmless for facts that are the same for all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cachetools import TTLCache

T = TypeVar("T")


class Memo:
    def __init__(self, maxsize: int, ttl: float) -> None:
        self._lock = threading.Lock()
        self._values: TTLCache[str, Any] = TTLCache(maxsize=maxsize, ttl=ttl)

    def get(self, name: str, load: Callable[[], T]) -> T:
        with self._lock:
            if name in self._values:
                return self._values[name]  # type: ignore[no-any-return]
        value = load()
        with self._lock:
            self._values[name] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
