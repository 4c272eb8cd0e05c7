"""Several replicas: throughput and p99 of two web replicas against one, the time a follower takes the
lead after the leader is killed, and the memory of `serve` and the listener under a long run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from benchmarks import listener_bench, suite


def rss_kib(pid: int) -> int:
    """Resident memory of one process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tree(pid: int) -> list[int]:
    """The process and all its descendants (gunicorn's master and workers)."""
    found = [pid]
    for child_list in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in child_list.read_text().split():
            found += tree(int(child))
    return found


@dataclass(frozen=True)
class ReplicaLoad:
    replicas: int
    rate: float
    achieved: float
    p50: float
    p99: float


def replica_load(
    env: dict[str, str], ports: list[int], rates: tuple[int, ...], seconds: float, emulator: Any
) -> list[ReplicaLoad]:
    """`app_info` at a constant rate, spread round-robin over 1 replica, then 2 (as the proxy would)."""
    results = []
    for count in (1, 2):
        with ExitStack() as stack:
            urls = [stack.enter_context(suite.gunicorn(env, port)) for port in ports[:count]]
            form = suite.slash_form(emulator, "app_info")
            suite.constant_rate(urls, form, 20, 1, 0.05)  # warm every worker's caches
            for rate in rates:
                result = suite.constant_rate(urls, form, rate, seconds, 0.05)
                results.append(ReplicaLoad(count, rate, result.achieved, result.p50, result.p99))
    return results


@dataclass(frozen=True)
class Takeover:
    engine: str
    seconds: float


def takeover(env_file: Path, database_url: str, tmp: Path) -> Takeover:
    """Two `listen` processes; the leader is killed with SIGKILL (no goodbye); the time until the other logs
    that it leads."""
    logs = [tmp / f"lead-{n}.log" for n in range(2)]
    processes = []
    for log in logs:
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app_integration", "listen", "--env-file", str(env_file)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, "DATABASE_URL": database_url, "REDMINE_POLL_SECONDS": "0", "LOG_LEVEL": "INFO"},
                )
            )
    try:
        leader = _wait(lambda: next((n for n, log in enumerate(logs) if "this replica leads" in log.read_text()), None))
        follower = 1 - leader
        _wait(lambda: "another replica leads" in logs[follower].read_text() or None)
        os.killpg(processes[leader].pid, signal.SIGKILL)
        killed = time.monotonic()
        _wait(lambda: "this replica leads" in logs[follower].read_text() or None, timeout=60, step=0.02)
        return Takeover(database_url.split(":", 1)[0].split("+")[0], time.monotonic() - killed)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


def _wait(check: Any, timeout: float = 60.0, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(step)
    raise TimeoutError("condition not met")


@dataclass(frozen=True)
class Memory:
    what: str
    points: list[tuple[int, int]]  # (done, RSS KiB)


def serve_memory(env: dict[str, str], port: int, emulator: Any, total: int) -> Memory:
    """The RSS of gunicorn's master and workers after 0, 10 % and all of `total` commands."""
    with suite.gunicorn(env, port) as url:
        pid = suite.SERVER_PIDS[url]
        session = requests.Session()
        form = suite.slash_form(emulator, "tickets_for_me")
        points = []
        for done in range(total + 1):
            if done in (0, total // 10, total):
                points.append((done, sum(rss_kib(p) for p in tree(pid))))
            if done < total:
                session.post(f"{url}/slash", data=form, timeout=10)
        return Memory("serve (gunicorn, all processes)", points)


def listener_heap(bridge: Any, emulator: Any, total: int) -> Memory:
    """Python's own heap (tracemalloc) while one listener handles `total` events built one at a time: what
    RSS cannot tell apart from the allocator keeping freed pages."""
    import gc
    import json
    import tracemalloc

    from app_integration.adapters.mattermost.posts.post_listener import PostListener

    listener = PostListener(bridge, emulator.websocket_url)
    listener._bot_id = emulator.bot["id"]
    author = emulator.user("alice")["id"]
    channel = next(c for c in emulator.channels.values() if c["name"] == "town-square")["id"]
    tracemalloc.start()
    points = []
    try:
        for n in range(total):
            post = {"id": f"h{n:025d}", "user_id": author, "channel_id": channel, "message": f"note {n}", "props": {}}
            listener.handle({"event": "posted", "data": {"channel_type": "O", "post": json.dumps(post)}})
            if n + 1 in (total // 10, total):
                gc.collect()
                points.append((n + 1, tracemalloc.get_traced_memory()[0] // 1024))
    finally:
        tracemalloc.stop()
    return Memory("listener heap (tracemalloc)", points)


def listener_memory(bridge: Any, emulator: Any, total: int) -> Memory:
    """The RSS of this process while the listener handles `total` events (in batches, built on the fly)."""
    points = [(0, rss_kib(os.getpid()))]
    batch = total // 10
    for done in range(batch, total + 1, batch):
        listener_bench.listener_events(bridge, emulator, batch, matching=False)
        if done in (total // 10, total):
            points.append((done, rss_kib(os.getpid())))
    return Memory("listen (this process: listener and emulator)", points)
