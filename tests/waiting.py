"""Waiting for something to happen, bounded in time: the one way the tests, the benchmarks and the demo wait
(every loop bounded in count and time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(check: Callable[[], Any], timeout: float = 15.0, step: float = 0.05) -> Any:
    """Polls `check` until it gives something true, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError(f"condition not met within {timeout} s")
