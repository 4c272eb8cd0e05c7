"""The report's sections on round trips, the feed, replicas and recovery."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from benchmarks import suite
from benchmarks.fake_redmine import FakeRedmine
from benchmarks.sandbox import ROOT, RedmineUnderTest, Tier, free_port


def section_recovery(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, tier: Tier) -> list[str]:
    from benchmarks import recovery_bench

    bridge = suite.bridge_factory(redmine_url, admin_key, emulator, tmp)()
    bridge.users.sync_map(bridge.chat)
    issue = 1  # the seeded public issue, as in the listener section
    rows = [
        "## 8. Recovery",
        "",
        "A websocket outage, a post made during it, and the time from the outage's end to that post linked, with",
        "the production backoff (3 s doubling to 8 s, jittered). The emulator keeps connections as web_hub.go",
        "does; its reaper is shortened to 30 s so that an outage past it (35 s, in `make bench-full`) shows the",
        "fresh connection and the REST backfill.",
        "",
        "| Outage (s) | The reconnect got | Recovery (s) |",
        "|---:|---|---:|",
    ]
    for seconds in tier.pick((6.0,), (6.0,), (6.0, 35.0)):
        result = recovery_bench.outage_recovery(bridge, emulator, issue, seconds, stale_after=30.0)
        rows.append(f"| {result.outage_s:.0f} | {result.how} | {result.recovery_s:.1f} |")
    poll = tier.pick(5.0, 20.0, 50.0)
    under = recovery_bench.delivery_during_long_poll(bridge, emulator, poll, tier.pick(5, 20, 40))
    rows += [
        "",
        f"Outbox delivery while one poll cycle runs for {under.poll_s:.0f} s (a {under.poll_s / 0.05:,.0f}-issue cycle"
        " at",
        "50 ms per issue read), the poll on its own thread: enqueue to the DM in Mattermost.",
        "",
        "| Samples | p50 (ms) | p95 (ms) |",
        "|---:|---:|---:|",
        f"| {under.samples} | {under.p50_ms:.0f} | {under.p95_ms:.0f} |",
        "",
    ]
    real = recovery_bench.delivery_during_real_poll(
        suite.bridge_factory(redmine_url, admin_key, emulator, tmp),
        redmine_url,
        admin_key,
        emulator,
        tier.pick(100, 200, 1000),
    )
    rows += [
        f"A real long poll: {real.issues} new issues in a subscribed project, read by one cycle against the",
        "production-shaped Redmine while the delivery thread posts each card as the cycle queues it (rows queued",
        "in the same process wake the delivery loop). Latency: the card's row entering the outbox to the card in",
        "Mattermost.",
        "",
        "| Issues | Cycle (s) | Redmine calls | Cards | Delivered during the cycle | p50 (ms) | p95 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {real.issues} | {real.poll_s:.1f} | {real.calls} | {real.delivered} | {real.during_poll} | "
        f"{real.p50_ms:.0f} | {real.p95_ms:.0f} |",
        "",
    ]
    return rows


def postgres_url() -> str | None:
    script = ROOT / "tests" / "postgres" / "provision_local.sh"
    done = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=600, check=False)
    found = [line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("DATABASE_URL=")]
    return found[0] if done.returncode == 0 and found else None


def section_replicas(emulator: Any, tmp: Path, tier: Tier) -> list[str]:
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
        rates = tier.pick((100,), (100, 300), (100, 200, 300))
        for load in replica_bench.replica_load(env, [free_port(), free_port()], rates, tier.pick(2, 5, 8), emulator):
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
        commands = tier.pick(500, 1000, 10_000)
        events = tier.pick(5_000, 10_000, 100_000)
        serve = replica_bench.serve_memory(env, free_port(), emulator, commands)
        bridge = suite.bridge_factory(fake.url, "bench", emulator, tmp)()
        listen = replica_bench.listener_memory(bridge, emulator, events)
        heap = replica_bench.listener_heap(bridge, emulator, events)
    rows += ["", "Memory (RSS, MiB) as work goes on: it should stay flat.", "", "| Process | Done | RSS (MiB) |"]
    rows.append("|---|---:|---:|")
    for memory, unit in ((serve, "commands (`tickets_for_me`)"), (listen, "events"), (heap, "events")):
        rows += [f"| {memory.what} | {done:,} {unit} | {kib / 1024:.1f} |" for done, kib in memory.points]
    return [*rows, ""]


def section_feed(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, tier: Tier) -> list[str]:
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
        "would hide behind the first read). With a subscription: one list query as its owner for all the cycle's",
        "issues, and one as each linked person who would get a DM; names of statuses and people are cached.",
        "",
        "| Changed issues | Feed only | Next cycle | With a subscription and linked people |",
        "|---:|---:|---:|---:|",
    ]
    for changed in tier.pick((0, 1, 5), (0, 1, 20), (0, 1, 50)):
        calls = feed_bench.calls_per_cycle(factory, redmine, emulator, changed)
        rows.append(f"| {calls.changed} | {calls.feed_only} | {calls.next_cycle} | {calls.with_subscription} |")
    rows += [
        "",
        "Subscription owners: one subscription per owner, each in its own channel, and changes by someone who is",
        "none of them. The limit is 1 list query + 1 read per changed issue + 1 visibility query per owner; with",
        "personal keys (`REDMINE_IMPERSONATION=false`) each owner's key is also confirmed, once per cycle.",
        "",
        "| Changed issues | Owners | Calls, impersonating | Limit | Calls, personal keys | Limit |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for changed in tier.pick((0, 1, 5), (0, 1, 20), (0, 1, 50)):
        for owners in tier.pick((1, 3), (1, 5), (1, 10)):
            found = feed_bench.calls_with_owners(factory, redmine, emulator, changed, owners)
            limit = 1 + changed + (owners if changed else 0)
            keyed = limit + (owners if changed else 0)
            rows.append(f"| {changed} | {owners} | {found.impersonated} | {limit} | {found.personal_keys} | {keyed} |")
    latency = feed_bench.change_to_post(factory, redmine, emulator, tier.pick(5, 10, 30))
    rows += [
        "",
        f"From a change in Redmine to its reply in the channel, with `REDMINE_POLL_SECONDS={latency.interval:g}` and",
        f"changes at random moments ({latency.samples} samples): p50 {latency.p50:.2f} s, p95 {latency.p95:.2f} s.",
        "Expected: about half the interval on average, at most the interval plus one cycle's work.",
        "",
    ]
    fan = feed_bench.many_subscriptions(factory, redmine, emulator, tier.pick(3, 5, 10), tier.pick(20, 50, 100))
    rows += [
        f"Fan-out: {fan.events} new issues to {fan.subscriptions} subscribed channels = {fan.deliveries} posts "
        f"(cards). Fan-out {fan.fan_out_s:.2f} s, delivery {fan.deliver_s:.2f} s: {fan.per_second:.0f} "
        "deliveries per second, into the emulator.",
        "",
    ]
    return rows


def section_company(company: RedmineUnderTest, emulator: Any, tmp: Path, tier: Tier) -> list[str]:
    from benchmarks.company_bench import company_counts

    factory = suite.bridge_factory(company.url, company.admin_key, emulator, tmp, redmine_concurrency=1)
    fields = company.seed["company"]["fields"]
    counts = company_counts(factory, emulator, fields, sizes=tier.pick((1, 3), (1, 10, 20), (1, 10, 50)))
    rows = [
        "## 1c. Round trips on a real company's Redmine (custom fields)",
        "",
        f"{company.label}, the company seed's `acme` (required custom fields, one per tracker, versions,",
        "categories, a group). Cold: a fresh bridge, which also reads what a ticket in the project asks (the",
        "site's custom fields and trackers, the project, its versions, its members, and an issue page for the",
        "groups Redmine offers), kept for minutes. Warm: the same command again.",
        "",
        "| Command | Cold | Warm | Minimum possible | Goal (warm) |",
        "|---|---:|---:|---:|---|",
    ]
    rows += [f"| {c.command} | {c.cold} | {c.warm} | {c.minimum} | {c.goal} |" for c in counts]
    return [*rows, ""]


def section_round_trips(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, tier: Tier) -> list[str]:
    counts = suite.round_trip_counts(
        suite.bridge_factory(redmine_url, admin_key, emulator, tmp),
        emulator,
        sizes=tier.pick((1, 3), (1, 10, 20), (1, 10, 50)),
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
