"""What the benchmarks run on: the tests' Redmine instances, a free loopback port, the machine's description."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = (
    "flask",
    "gunicorn",
    "python-redmine",
    "requests",
    "mattermostautodriver",
    "websockets",
    "SQLAlchemy",
    "pydantic",
    "pydantic-settings",
    "PyJWT",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def machine() -> list[str]:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else "?"
    )
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in LIBRARIES)
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- Run on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
    ]


@dataclass(frozen=True)
class RedmineUnderTest:
    label: str  # how the README and the tables name it
    url: str
    admin_key: str
    seed: dict[str, Any] = field(default_factory=dict)  # what the seed printed (ids of its records)


def provision(instance: str) -> RedmineUnderTest:
    """The tests' own instances: the benchmark's many tickets never reach the demo's Redmine."""
    done = subprocess.run(
        [str(ROOT / "redmine_server" / "provision_local.sh"), "start"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
        env={**os.environ, "REDMINE_LOCAL_INSTANCE": instance},
    )
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    label = f"Redmine {values['REDMINE_VERSION'].split('.stable')[0]} on {values.get('REDMINE_SERVER', '?')}"
    seed = json.loads(values.get("SEED_JSON", "{}"))
    return RedmineUnderTest(label, values["REDMINE_URL"], values["REDMINE_ADMIN_KEY"], seed)


def open_loop(total: int, rate: float, one: Callable[[int, float], None], workers: int = 128) -> float:
    """Calls `one(i, due)` for request i at t0 + i/rate on a pool, whether or not the earlier ones have
    answered; the seconds it took, from t0 to the last answer."""
    start = time.perf_counter() + 0.1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i in range(total):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, i, due)
    return time.perf_counter() - start


@dataclass(frozen=True)
class Tier:
    """How big a run is. `default` is what `make bench` runs (every section's headline figure, under ten
    minutes on two cores); `full` is `make bench-full` (the long sizes: the 1,000-issue cycle, the 35 s outage,
    the 10,000-entry map); `quick` is a smoke run."""

    name: str

    def pick(self, quick: Any, default: Any, full: Any) -> Any:
        return {"quick": quick, "default": default, "full": full}[self.name]


@dataclass
class Count:
    """Redmine round trips of one command: the first time (cold), again at once (warm), and the least it can
    cost (what the report's goal column says)."""

    command: str
    cold: int
    warm: int
    minimum: int
    goal: str
    naive: int | None = None
