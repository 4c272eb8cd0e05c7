"""What Redmine itself can do in parallel on this machine (creates sent straight to it, no bridge), and a
`create_tickets` batch beside it at the same concurrency, in the same run.

Redmine is the ceiling here: a create costs tens of milliseconds of Redmine's CPU, so the bridge is judged
against Redmine's own parallel limit, not against one create times N.
"""

from __future__ import annotations

import re
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.commands.ticket_batch import create_batch
from app_integration.core.models import ChatUser, CommandContext


@dataclass(frozen=True)
class Limit:
    concurrency: int
    direct_s: float  # N creates straight to Redmine, `concurrency` at a time (median of the repeats)
    batch_s: float  # the bridge's N-line batch at REDMINE_CONCURRENCY=concurrency (median)
    errors: int  # direct creates Redmine refused or failed (a stalled SQLite answers 500)
    batch_missing: int  # lines the bridge's batches did not confirm (not created, or may have been)

    @property
    def ratio(self) -> float:
        return self.batch_s / self.direct_s


def direct_creates(url: str, admin_key: str, count: int, concurrency: int, tag: str) -> tuple[float, int]:
    """`count` creates as alice, each assigned to bob like a batch line `@bob`, on `concurrency` threads with a
    kept-alive session each: what a client without the bridge gets from this Redmine."""
    local = threading.local()
    bob = _user_id(url, admin_key, "bob")
    headers = {"X-Redmine-API-Key": admin_key, "X-Redmine-Switch-User": "alice"}

    def create(n: int) -> bool:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = {"issue": {"project_id": "demo", "subject": f"Direct {tag} {n}", "assigned_to_id": bob}}
        try:
            return session.post(f"{url}/issues.json", json=body, headers=headers, timeout=60).status_code == 201
        except requests.RequestException:
            return False

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        made = list(pool.map(create, range(count)))
    return time.perf_counter() - started, made.count(False)


def _user_id(url: str, admin_key: str, login: str) -> int:
    found = requests.get(
        f"{url}/users.json", params={"name": login}, headers={"X-Redmine-API-Key": admin_key}, timeout=30
    ).json()["users"]
    return int(next(u["id"] for u in found if u["login"] == login))


def bridge_batch(bridge: Bridge, emulator: Any, count: int, concurrency: int, tag: str) -> tuple[float, int]:
    """The batch's wall time, and how many of its lines it did not confirm as created."""
    bridge.services.concurrency = concurrency
    alice = emulator.user("alice")
    context = CommandContext(ChatUser(alice["id"], "alice"), "c", "slash")
    text = "\n".join(f"{n}. Batch {tag} line {n} @bob" for n in range(1, count + 1))
    started = time.perf_counter()
    reply = create_batch(bridge.services, context, "demo", text)
    elapsed = time.perf_counter() - started
    created = re.search(r"Created (\d+)", reply.text)
    return elapsed, count - (int(created.group(1)) if created else 0)


def limits(
    factory: Callable[..., Bridge],
    url: str,
    admin_key: str,
    emulator: Any,
    count: int,
    concurrencies: tuple[int, ...],
    repeats: int,
) -> list[Limit]:
    """Direct and bridged runs alternate, so a slow moment of the machine falls on both alike."""
    bridge = factory(redmine_max_calls=64)  # the per-process bound is not what is measured here
    warm = secrets.token_hex(3)
    bridge_batch(bridge, emulator, 2, 1, warm)  # caches: accounts, memberships; connections
    direct_creates(url, admin_key, 4, 4, warm)
    found = []
    for concurrency in concurrencies:
        direct, batch, errors, missing = [], [], 0, 0
        for _ in range(repeats):
            tag = secrets.token_hex(3)
            seconds, failed = direct_creates(url, admin_key, count, concurrency, tag)
            direct.append(seconds)
            errors += failed
            seconds, unconfirmed = bridge_batch(bridge, emulator, count, concurrency, tag)
            batch.append(seconds)
            missing += unconfirmed
        found.append(Limit(concurrency, statistics.median(direct), statistics.median(batch), errors, missing))
    return found


@dataclass(frozen=True)
class Burst:
    max_calls: int
    batches: int
    seconds: float
    most_in_flight: int
    missing: int  # lines not confirmed as created


def burst(factory: Callable[..., Bridge], emulator: Any, max_calls: int, batches: int, count: int) -> Burst:
    """`batches` batches at once, each at REDMINE_CONCURRENCY=4, in one process bound to `max_calls` Redmine
    requests in flight: how long they take, and the most requests Redmine saw at once from the bridge."""
    from app_integration.adapters import metrics

    bridge = factory(redmine_max_calls=max_calls)
    bridge_batch(bridge, emulator, 1, 1, secrets.token_hex(3))
    most = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.005):
            most[0] = max(most[0], int(metrics.REDMINE_IN_FLIGHT._value.get()))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(batches) as pool:
        missing = sum(
            pool.map(lambda n: bridge_batch(bridge, emulator, count, 4, secrets.token_hex(3))[1], range(batches))
        )
    elapsed = time.perf_counter() - started
    stop.set()
    watcher.join(timeout=5)
    return Burst(max_calls, batches, elapsed, most[0], missing)
