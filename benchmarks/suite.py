"""What `make bench` measures. Each function takes its size, so the test suite can run it tiny.

No timing here is asserted by the tests: these machines are noisy. Round-trip counts are
deterministic, and those are asserted.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

from app_integration.adapters.redmine.call_scope import counting
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.core.dispatch import dispatch
from app_integration.core.models import ChatMessage, ChatUser, CommandContext, Reply
from app_integration.core.settings import Settings
from benchmarks.daily_bench import daily_counts
from benchmarks.sandbox import Count, open_loop
from mattermost_server.emulator.sample_files import png

ROOT = Path(__file__).resolve().parents[1]
USER_MAP = "alice=alice,bob=bob,carol=carol"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# Seals the personal keys of the feed benchmark's owners; a new one each run.
BENCH_LINK_KEY = Fernet.generate_key().decode()


def make_settings(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "redmine_url": redmine_url,
        "admin_redmine_key_api": admin_key,
        "mattermost_url": emulator.url,
        "mattermost_websocket_url": emulator.websocket_url,
        "redmine_mattermost_bridge_app_token": emulator.bot_token,
        "mattermost_slash_tokens": "bench-token",
        "request_signing_key": secrets.token_hex(32),
        "user_map": USER_MAP,
        "app_root_url": "http://127.0.0.1:1",
        "database_url": f"sqlite:///{tmp / f'bench-{secrets.token_hex(4)}.sqlite3'}",
        "log_level": "WARNING",
        "link_encryption_keys": BENCH_LINK_KEY,
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# 1. Redmine round trips per command ------------------------------------------------------------


def counted(work: Callable[[], Reply]) -> int:
    with counting() as tally:
        work()
    return tally.round_trips


def round_trip_counts(
    bridge_factory: Callable[[], Bridge], emulator: Any, sizes: tuple[int, ...] = (1, 10, 50), project: str = "demo"
) -> list[Count]:
    alice = emulator.user("alice")
    caller = ChatUser(alice["id"], "alice")

    def run(
        bridge: Bridge, name: str, argument: str = "", values: dict[str, str] | None = None, submit: bool = False
    ) -> Reply:
        command = bridge.registry.find(name)
        assert command is not None
        context = CommandContext(
            caller,
            "c",
            "slash",
            argument=argument,
            values=values or {},
            idempotency_key=secrets.token_hex(8) if submit else None,
            signed=True,  # as from the bridge's own buttons and forms
        )
        return dispatch(bridge.services, command, context, submitting=submit)

    def both(name: str, **kwargs: Any) -> tuple[int, int]:
        bridge = bridge_factory()
        cold = counted(lambda: run(bridge, name, **kwargs))
        return cold, counted(lambda: run(bridge, name, **kwargs))

    counts = [
        Count("app_info", *both("app_info"), minimum=1, goal="1 (the link status)"),
        Count("tickets_for_me", *both("tickets_for_me"), minimum=1, goal="1"),
        Count("my_tickets", *both("my_tickets"), minimum=1, goal="1"),
        Count("create_ticket_by_form (open)", *both("create_ticket_by_form"), minimum=1, goal="1 warm (projects)"),
    ]
    bob = emulator.user("bob")["id"]
    form = {
        "projects": project,
        "subject": "bench form",
        "trackers": "1",
        "status": "1",
        "priority": "2",
        "mattermost_user": bob,
    }
    counts.append(
        Count(
            "create_ticket_by_form (submit)",
            *both("create_ticket_by_form", values=form, submit=True),
            minimum=1,
            goal="1 create + 1 membership",
        )
    )
    counts += daily_counts(both, bridge_factory)
    counts += file_counts(both, emulator, sizes)
    for n in sizes:
        names = ["bob", "carol"][: min(n, 2)]
        lines = "\n".join(f"{i}. bench line {i} @{names[i % len(names)]}" for i in range(1, n + 1))
        cold, warm = both("create_tickets", argument=f"{project}\n{lines}")
        counts.append(
            Count(
                f"create_tickets N={n}, k={len(names)}",
                cold,
                warm,
                minimum=n,
                goal=f"N + at most 2 = {n + 2}",
                naive=3 * n,
            )
        )
    return counts


def file_counts(both: Callable[..., tuple[int, int]], emulator: Any, sizes: tuple[int, ...]) -> list[Count]:
    """A ticket from a post with N files: N uploads and the create (the limit), plus the form's one membership
    check, which says a wrong project against its field; nothing per file besides. Cold adds the read of
    Redmine's size limit, once an hour (2 calls)."""
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    counts = []
    for n in sizes:
        infos = tuple(emulator.upload_as("alice", channel, f"shot{i}.png", png(8, 8)) for i in range(n))
        post = emulator.post_as("alice", channel, f"bench post with {n} files", files=infos)
        form = {"projects": "demo", "subject": f"bench files {n}", "trackers": "1", "status": "1", "priority": "2"}
        cold, warm = both("create_ticket_by_form", argument=post["id"], values=form, submit=True)
        counts.append(
            Count(
                f"ticket from a post with N={n} files", cold, warm, minimum=n + 1, goal=f"N + 1 + membership = {n + 2}"
            )
        )
    return counts


# 2 and 3. Overhead and capacity, at a constant request rate ---------------------------------------
@dataclass
class LoadResult:
    command: str
    rate: float
    sent: int
    ok: int
    achieved: float
    p50: float
    p99: float
    overhead_p50: float
    overhead_p99: float


SERVER_PIDS: dict[str, int] = {}  # url -> the `serve` process behind it, for memory readings


@contextmanager
def gunicorn(settings_env: dict[str, str], port: int) -> Iterator[str]:
    env = {**os.environ, **settings_env, "PYTHON_BOT_APP_PORT": str(port), "BIND_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app_integration", "--env-file", os.devnull, "serve"],  # the environment alone
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    SERVER_PIDS[url] = process.pid
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError(
                "gunicorn did not start: " + (process.stderr.read(2000).decode() if process.stderr else "")
            )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def constant_rate(
    url: str | list[str], form: dict[str, str], rate: float, seconds: float, redmine_floor: float
) -> LoadResult:
    """Open loop: request i is due at t0 + i/rate; its latency counts from when it was due, so a
    slow server cannot hide its slowness by delaying the next request (no coordinated omission).
    Several URLs (replicas) take the requests in turn, as a round-robin proxy would give them."""
    urls = [url] if isinstance(url, str) else url
    total = max(1, int(rate * seconds))
    local = threading.local()
    results: list[tuple[float, bool]] = []
    lock = threading.Lock()

    def one(due: float, target: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        try:
            ok = session.post(f"{target}/slash", data=form, timeout=10).status_code == 200
        except requests.RequestException:
            ok = False
        with lock:
            results.append((time.perf_counter() - due, ok))

    elapsed = open_loop(total, rate, lambda i, due: one(due, urls[i % len(urls)]))
    latencies = [latency for latency, ok in results if ok]
    overheads = [max(0.0, latency - redmine_floor) for latency in latencies]
    return LoadResult(
        form["text"],
        rate,
        total,
        len(latencies),
        len(latencies) / elapsed,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        percentile(overheads, 50) * 1000,
        percentile(overheads, 99) * 1000,
    )


def load_env(redmine_url: str, emulator: Any, tmp: Path) -> dict[str, str]:
    return {
        "REDMINE_URL": redmine_url,
        "ADMIN_REDMINE_KEY_API": "bench",
        "MATTERMOST_URL": emulator.url,
        "REDMINE_MATTERMOST_BRIDGE_APP_TOKEN": emulator.bot_token,
        "MATTERMOST_SLASH_TOKENS": "bench-token",
        "REQUEST_SIGNING_KEY": secrets.token_hex(32),
        "USER_MAP": USER_MAP,
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench-web.sqlite3'}",
    }


def slash_form(emulator: Any, text: str) -> dict[str, str]:
    alice = emulator.user("alice")
    channel = next(iter(emulator.channels))
    return {
        "token": "bench-token",
        "user_id": alice["id"],
        "user_name": "alice",
        "channel_id": channel,
        "text": text,
        "command": "/integration_with_redmine",
    }


# 5. Against the real Redmine: each command against the raw calls it cannot avoid -----------------------
@dataclass
class Ratio:
    command: str
    command_ms: float
    raw_ms: float

    @property
    def ratio(self) -> float:
        return self.command_ms / self.raw_ms if self.raw_ms else float("nan")


def real_ratios(
    bridge: Bridge, emulator: Any, redmine_url: str, admin_key: str, repeats: int, batch: int
) -> list[Ratio]:
    alice = ChatUser(emulator.user("alice")["id"], "alice")
    session = requests.Session()
    headers = {"X-Redmine-API-Key": admin_key, "X-Redmine-Switch-User": "alice"}

    def timed(work: Callable[[], Any]) -> float:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            work()
            samples.append(time.perf_counter() - started)
        return statistics.median(samples) * 1000

    def command(name: str, argument: str = "") -> Callable[[], Any]:
        found = bridge.registry.find(name)
        assert found is not None
        return lambda: found.run(bridge.services, CommandContext(alice, "c", "slash", argument=argument))

    def raw_get(path: str, **params: str) -> Callable[[], Any]:
        return lambda: session.get(f"{redmine_url}{path}", params=params, headers=headers, timeout=10)

    command("tickets_for_me")()  # warm caches and connections
    lines = "\n".join(f"{i}. ratio line {i} @bob" for i in range(1, batch + 1))

    def raw_creates() -> None:
        for i in range(batch):
            session.post(
                f"{redmine_url}/issues.json",
                json={"issue": {"project_id": "demo", "subject": f"raw {i}", "assigned_to_id": 6}},
                headers=headers,
                timeout=10,
            )

    issues = {"status_id": "open", "sort": "updated_on:desc", "limit": "50"}
    return [
        Ratio("app_info", timed(command("app_info")), timed(raw_get("/users/current.json"))),
        Ratio(
            "tickets_for_me",
            timed(command("tickets_for_me")),
            timed(raw_get("/issues.json", assigned_to_id="me", **issues)),
        ),
        Ratio("my_tickets", timed(command("my_tickets")), timed(raw_get("/issues.json", author_id="me", **issues))),
        Ratio(f"create_tickets N={batch}", timed(command("create_tickets", f"demo\n{lines}")), timed(raw_creates)),
    ]


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bridge-bench-"))


def bridge_factory(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, **extra: Any) -> Callable[[], Bridge]:
    return lambda: build_bridge(make_settings(redmine_url, admin_key, emulator, tmp, **extra), None)


@dataclass(frozen=True)
class ListShare:
    command_ms: float  # tickets_for_me, in-process, warm (median)
    raw_ms: float  # the one GET it cannot avoid, made directly (median)
    dm_ms: float  # posting the DM into the emulator alone (median)

    @property
    def share_ms(self) -> float:
        """What the bridge adds to Redmine's answer: the DM, the person's lookup, rendering."""
        return self.command_ms - self.raw_ms


def list_share(bridge: Bridge, emulator: Any, redmine_url: str, admin_key: str, repeats: int) -> ListShare:
    """Command, raw GET and DM alone, interleaved, so a slow moment of the machine falls on all three."""
    alice = ChatUser(emulator.user("alice")["id"], "alice")
    found = bridge.registry.find("tickets_for_me")
    assert found is not None
    session = requests.Session()
    headers = {"X-Redmine-API-Key": admin_key, "X-Redmine-Switch-User": "alice"}
    params = {"assigned_to_id": "me", "status_id": "open", "sort": "updated_on:desc", "limit": "50"}
    message = ChatMessage(text="Open tickets assigned to you, @alice: 3", title="Open tickets", body="| a | b |")
    samples: dict[str, list[float]] = {"command": [], "raw": [], "dm": []}
    steps: dict[str, Callable[[], Any]] = {
        "command": lambda: found.run(bridge.services, CommandContext(alice, "c", "slash")),
        "raw": lambda: session.get(f"{redmine_url}/issues.json", params=params, headers=headers, timeout=10),
        "dm": lambda: bridge.chat.send_direct(alice.id, message),
    }
    for step in steps.values():
        step()  # warm: caches, connections, the DM channel
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            samples[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    return ListShare(medians["command"], medians["raw"], medians["dm"])
