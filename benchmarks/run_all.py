"""`make bench`: runs the suite and writes docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import suite
from benchmarks.fake_redmine import FakeRedmine

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks.md"
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


def provision() -> dict[str, str]:
    done = subprocess.run(
        [str(ROOT / "redmine_server" / "provision_local.sh"), "start"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
        # The tests' instance: the benchmark's many tickets never reach the demo's Redmine.
        env={**os.environ, "REDMINE_LOCAL_INSTANCE": "bridge-tests"},
    )
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mattermost_server.emulator import MattermostEmulator

    quick = args.quick
    values = provision()
    redmine_url, admin_key = values["REDMINE_URL"], values["REDMINE_ADMIN_KEY"]
    tmp = suite.temp_dir()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run_all`). Figures from one run;",
        "these machines are noisy, so no timing is asserted in the tests.",
        "",
        *machine(),
        "",
    ]
    emulator = MattermostEmulator(validate=False).start()
    people = [emulator.add_user(name) for name in ("alice", "bob", "carol")]
    emulator.add_channel("town-square", [emulator.bot, *people])
    try:
        lines += section_round_trips(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_batch(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_load(emulator, tmp, quick)
        lines += section_listener(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_real(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_feed(redmine_url, admin_key, emulator, tmp, quick)
        lines += section_replicas(emulator, tmp, quick)
        lines += section_recovery(redmine_url, admin_key, emulator, tmp, quick)
    finally:
        emulator.stop()
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\nwrote {OUTPUT.relative_to(ROOT)}")
    return 0


def section_recovery(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, quick: bool) -> list[str]:
    from benchmarks import recovery_bench

    bridge = suite.bridge_factory(redmine_url, admin_key, emulator, tmp)()
    bridge.users.sync_map(bridge.chat)
    issue = 1  # the seeded public issue, as in the listener section
    rows = [
        "## 8. Recovery",
        "",
        "A websocket outage, a post made during it, and the time from the outage's end to that post linked, with",
        "the production backoff (3 s doubling, jittered). The emulator keeps connections as web_hub.go does; its",
        "reaper is shortened to 30 s so that the 35 s outage shows the fresh connection and the REST backfill.",
        "",
        "| Outage (s) | The reconnect got | Recovery (s) |",
        "|---:|---|---:|",
    ]
    for seconds in (6.0,) if quick else (6.0, 35.0):
        result = recovery_bench.outage_recovery(bridge, emulator, issue, seconds, stale_after=30.0)
        rows.append(f"| {result.outage_s:.0f} | {result.how} | {result.recovery_s:.1f} |")
    poll = 5.0 if quick else 50.0
    under = recovery_bench.delivery_during_long_poll(bridge, emulator, poll, 5 if quick else 40)
    rows += [
        "",
        f"Outbox delivery while one poll cycle runs for {under.poll_s:.0f} s (a 1,000-issue cycle at 50 ms per",
        "issue read), the poll on its own thread: enqueue to the DM in Mattermost.",
        "",
        "| Samples | p50 (ms) | p95 (ms) |",
        "|---:|---:|---:|",
        f"| {under.samples} | {under.p50_ms:.0f} | {under.p95_ms:.0f} |",
        "",
    ]
    return rows


def postgres_url() -> str | None:
    script = ROOT / "tests" / "postgres" / "provision_local.sh"
    done = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=600, check=False)
    found = [line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("DATABASE_URL=")]
    return found[0] if done.returncode == 0 and found else None


def section_replicas(emulator: Any, tmp: Path, quick: bool) -> list[str]:
    from benchmarks import replica_bench

    rows = [
        "## 7. Several replicas",
        "",
        "`app_info` at a constant rate against the fake Redmine (50 ms), sent round-robin to 1 replica, then",
        "to 2 (each the default gunicorn: 2 gthread workers x 8 threads), all on this one machine.",
        "",
        "| Replicas | Rate (req/s) | Achieved (req/s) | p50 (ms) | p99 (ms) |",
        "|---:|---:|---:|---:|---:|",
    ]
    with FakeRedmine(latency=0.05) as fake:
        env = suite.load_env(fake.url, emulator, tmp)
        rates = (100,) if quick else (100, 200, 300)
        for load in replica_bench.replica_load(env, [free_port(), free_port()], rates, 2 if quick else 8, emulator):
            rows.append(
                f"| {load.replicas} | {load.rate:.0f} | {load.achieved:.1f} | {load.p50:.1f} | {load.p99:.1f} |"
            )
        env_file = tmp / "replica.env"
        env_file.write_text(
            "".join(f"{k}={v}\n" for k, v in env.items()) + f"MATTERMOST_WEBSOCKET_URL={emulator.websocket_url}\n"
        )
        engines = [
            ("PostgreSQL (advisory lock)", postgres_url()),
            ("SQLite (lease)", f"sqlite:///{tmp / 'lease.sqlite3'}"),
        ]
        rows += [
            "",
            "Takeover: two `listen` processes, the leader killed with SIGKILL; seconds until the other leads.",
            "",
        ]
        rows += ["| Store | Takeover (s) | Bound by |", "|---|---:|---|"]
        bounds = {
            "PostgreSQL (advisory lock)": "the follower's retry, every 2 s",
            "SQLite (lease)": "the lease, 10 s, then the retry",
        }
        for name, url in engines:
            if url is None:
                rows.append(f"| {name} | not measured: no PostgreSQL here | |")
                continue
            result = replica_bench.takeover(env_file, url, tmp)
            rows.append(f"| {name} | {result.seconds:.1f} | {bounds[name]} |")
        commands = 1000 if quick else 10_000
        events = 10_000 if quick else 100_000
        serve = replica_bench.serve_memory(env, free_port(), emulator, commands)
        bridge = suite.bridge_factory(fake.url, "bench", emulator, tmp)()
        listen = replica_bench.listener_memory(bridge, emulator, events)
        heap = replica_bench.listener_heap(bridge, emulator, events)
    rows += ["", "Memory (RSS, MiB) as work goes on: it should stay flat.", "", "| Process | Done | RSS (MiB) |"]
    rows.append("|---|---:|---:|")
    for memory, unit in ((serve, "commands (`tickets_for_me`)"), (listen, "events"), (heap, "events")):
        rows += [f"| {memory.what} | {done:,} {unit} | {kib / 1024:.1f} |" for done, kib in memory.points]
    return [*rows, ""]


def section_feed(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, quick: bool) -> list[str]:
    from benchmarks import feed_bench

    def factory(**extra: Any) -> Any:
        return suite.bridge_factory(redmine_url, admin_key, emulator, tmp, **extra)()

    redmine = feed_bench.RedmineClient(redmine_url, admin_key)
    rows = [
        "## 6. Redmine's changes back into the chat (real Redmine)",
        "",
        "Redmine calls in one feed cycle. Feed only: no subscription and nobody linked, so only the feed's own",
        "reads (1 list query per 100 changed issues + 1 read per changed issue). Next cycle: the cycle after,",
        "which reads once more the issues updated in the cursor's last second (a later change in that second",
        "would hide behind the first read). With a subscription: one owner's visibility check per event, and the",
        "people the map links checked as themselves for their DMs; names of statuses and people are cached.",
        "",
        "| Changed issues | Feed only | Next cycle | With a subscription and linked people |",
        "|---:|---:|---:|---:|",
    ]
    for changed in (0, 1, 5) if quick else (0, 1, 50):
        calls = feed_bench.calls_per_cycle(factory, redmine, emulator, changed)
        rows.append(f"| {calls.changed} | {calls.feed_only} | {calls.next_cycle} | {calls.with_subscription} |")
    latency = feed_bench.change_to_post(factory, redmine, emulator, 5 if quick else 30)
    rows += [
        "",
        f"From a change in Redmine to its reply in the channel, with `REDMINE_POLL_SECONDS={latency.interval:g}` and",
        f"changes at random moments ({latency.samples} samples): p50 {latency.p50:.2f} s, p95 {latency.p95:.2f} s.",
        "Expected: about half the interval on average, at most the interval plus one cycle's work.",
        "",
    ]
    fan = feed_bench.many_subscriptions(factory, redmine, emulator, 3 if quick else 10, 20 if quick else 100)
    rows += [
        f"Fan-out: {fan.events} new issues to {fan.subscriptions} subscribed channels = {fan.deliveries} posts "
        f"(cards). Fan-out {fan.fan_out_s:.2f} s, delivery {fan.deliver_s:.2f} s: {fan.per_second:.0f} "
        "deliveries per second, into the emulator.",
        "",
    ]
    return rows


def section_round_trips(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, quick: bool) -> list[str]:
    counts = suite.round_trip_counts(
        suite.bridge_factory(redmine_url, admin_key, emulator, tmp), emulator, sizes=(1, 3) if quick else (1, 10, 50)
    )
    rows = [
        "## 1. Redmine round trips per command (real Redmine, counted at the HTTP layer)",
        "",
        "Cold: a fresh bridge. Warm: the same command again (site lists and user ids cached).",
        "",
        "| Command | Cold | Warm | Minimum possible | Goal (warm) | Naive per-line design |",
        "|---|---:|---:|---:|---|---:|",
    ]
    rows += [
        f"| {c.command} | {c.cold} | {c.warm} | {c.minimum} | {c.goal} | {c.naive if c.naive else '—'} |"
        for c in counts
    ]
    return [*rows, ""]


def section_batch(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, quick: bool) -> list[str]:
    factory = suite.bridge_factory(redmine_url, admin_key, emulator, tmp)
    size = 10 if quick else 50
    rows = [
        "## 1b. A batch at Redmine's speed (real Redmine)",
        "",
        f"A {size}-line `create_tickets` batch, in single-create round trips of wall time (one create: median of 5).",
        "Goal: 50 lines in at most 15.",
        "",
        "| REDMINE_CONCURRENCY | One create | Batch | Ratio |",
        "|---:|---:|---:|---:|",
    ]
    for concurrency in (1, 4):
        timing = suite.batch_timing(factory, emulator, size, concurrency)
        rows.append(
            f"| {concurrency} | {timing.one_create_s * 1000:.0f} ms | {timing.batch_s:.2f} s | {timing.ratio:.1f} |"
        )
    rows += [
        "",
        "The same batch against the fake Redmine, whose creates take 50 ms each and truly run in parallel: the",
        "bridge's own ceiling. The local Redmine (WEBrick on SQLite, one writer at a time) cannot overlap creates.",
        "",
        "| REDMINE_CONCURRENCY | One create | Batch | Ratio |",
        "|---:|---:|---:|---:|",
    ]
    with FakeRedmine(latency=0.05) as fake:
        fake_factory = suite.bridge_factory(fake.url, "bench", emulator, tmp)
        for concurrency in (1, 4):
            timing = suite.batch_timing(fake_factory, emulator, size, concurrency)
            rows.append(
                f"| {concurrency} | {timing.one_create_s * 1000:.0f} ms | {timing.batch_s:.2f} s | {timing.ratio:.1f} |"
            )
    return [*rows, ""]


def section_load(emulator: Any, tmp: Path, quick: bool) -> list[str]:
    rows = [
        "## 2. The bridge's own overhead, and 3. capacity",
        "",
        "The default gunicorn configuration (2 gthread workers x 8 threads) in front of a fake Redmine that",
        "answers after a fixed 50 ms with TCP_NODELAY set. Requests are sent at a constant rate (open loop) and",
        "each latency counts from when the request was due. Overhead = latency - 50 ms per Redmine round trip.",
        "`app_info` makes 1 Redmine call and no Mattermost call; `tickets_for_me` makes 1 Redmine call and",
        "posts the DM to the emulator (in the load generator's process), which counts as overhead here.",
        "",
        "| Command | Rate (req/s) | Sent | OK | Achieved (req/s) | p50 (ms) | p99 (ms) | Overhead p50 (ms) "
        "| Overhead p99 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with FakeRedmine(latency=0.05) as fake:
        env = suite.load_env(fake.url, emulator, tmp)
        with suite.gunicorn(env, free_port()) as url:
            warm = suite.slash_form(emulator, "tickets_for_me")
            suite.constant_rate(url, warm, 10, 1, 0.05)
            plan = [("app_info", 20, 3 if quick else 10), ("tickets_for_me", 20, 3 if quick else 10)]
            plan += [("app_info", rate, 2 if quick else 8) for rate in ((60,) if quick else (50, 100, 150, 200))]
            for text, rate, seconds in plan:
                result = suite.constant_rate(url, suite.slash_form(emulator, text), rate, seconds, 0.05)
                rows.append(
                    f"| {text} | {rate} | {result.sent} | {result.ok} | {result.achieved:.1f} | "
                    f"{result.p50:.1f} | {result.p99:.1f} | {result.overhead_p50:.1f} | "
                    f"{result.overhead_p99:.1f} |"
                )
    return [*rows, ""]


def section_listener(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, quick: bool) -> list[str]:
    rows = [
        "## 4. The listener",
        "",
        "Events handled by one worker thread, CPU time of that thread only (`time.thread_time`). Matching",
        "events look up 2 references in one call to the fake Redmine (50 ms) and patch the post in the emulator.",
        "",
        "| Events | Count | Events/s per core | CPU µs per event |",
        "|---|---:|---:|---:|",
    ]
    with FakeRedmine(latency=0.05) as fake:
        bridge = suite.bridge_factory(fake.url, "bench", emulator, tmp)()
        for matching, count in ((False, 2000 if quick else 50_000), (True, 20 if quick else 200)):
            result = suite.listener_events(bridge, emulator, count, matching)
            rows.append(
                f"| {result.kind} | {result.events} | {result.events_per_second_per_core:,.0f} | "
                f"{result.cpu_us_per_event:.1f} |"
            )
    from app_integration.adapters.listener.post_listener import PostListener

    bridge = suite.bridge_factory(redmine_url, admin_key, emulator, tmp)()
    listener = PostListener(bridge, emulator.websocket_url).start()
    try:
        deadline = time.monotonic() + 10
        while not emulator.connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies, raw = suite.post_to_link(emulator, listener, redmine_url, admin_key, 5 if quick else 40, 1)
    finally:
        listener.stop()
    one_trip = suite.percentile(raw, 50)
    p50, p95 = suite.percentile(latencies, 50), suite.percentile(latencies, 95)
    rows += [
        "",
        "Time from a post to its link, end to end: the emulator's websocket, the listener, the real",
        "Redmine lookup, and the emulator's get-post and patch.",
        "",
        "| Samples | p50 (ms) | p95 (ms) | One Redmine round trip, p50 (ms) | p95 / round trip |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(latencies)} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {one_trip * 1000:.1f} | {p95 / one_trip:.2f} |",
        "",
    ]
    return rows


def section_real(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, quick: bool) -> list[str]:
    bridge = suite.bridge_factory(redmine_url, admin_key, emulator, tmp)()
    ratios = suite.real_ratios(bridge, emulator, redmine_url, admin_key, 2 if quick else 7, 2 if quick else 10)
    rows = [
        "## 5. Against the real Redmine 5.0.4",
        "",
        "Median latency of each command (warm, called in-process) against the raw Redmine calls it cannot avoid,",
        "made directly with `requests`.",
        "",
        "| Command | Command (ms) | Raw unavoidable calls (ms) | Ratio |",
        "|---|---:|---:|---:|",
    ]
    rows += [f"| {r.command} | {r.command_ms:.1f} | {r.raw_ms:.1f} | {r.ratio:.2f} |" for r in ratios]
    return [*rows, ""]


if __name__ == "__main__":
    raise SystemExit(main())
