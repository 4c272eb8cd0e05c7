"""`run`'s supervisor marks a dead child's live gauges dead: a listener killed while it led no longer shows
`bridge_leader 1` (multiprocess mode livemax counts live processes only), so an alert on "no leader" can fire."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CHILD = """
import os, signal
from app_integration.adapters import metrics
metrics.LEADER.set(1)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_leader_leads_no_more_in_the_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app_integration.adapters.metrics_dir import MULTIPROC_ENV

    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    from app_integration.adapters import metrics
    from app_integration.adapters.runtime.supervisor import Child

    child = Child("listen", None)
    child.process = subprocess.Popen([sys.executable, "-c", CHILD], env={**os.environ})
    child.process.wait(timeout=60)

    def leader() -> float:
        """The scraped value; no sample at all (no live process leads) reads as 0, as an alert sees it."""
        lines = [li for li in metrics.exposition().decode().splitlines() if li.startswith("bridge_leader ")]
        return float(lines[0].split()[-1]) if lines else 0.0

    assert leader() == 1.0  # the dead pid's sample is still in the directory
    stopping = threading.Event()
    stopping.set()  # no restart in this test
    child.poll(stopping)
    assert leader() == 0.0
