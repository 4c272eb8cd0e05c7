"""The report's sections on the bound, load, the listener and the real Redmines."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from benchmarks import listener_bench, suite
from benchmarks.fake_redmine import FakeRedmine
from benchmarks.sandbox import RedmineUnderTest, Tier, free_port


def _bridge(redmine: RedmineUnderTest, emulator: Any, tmp: Path, **extra: Any) -> Any:
    return suite.bridge_factory(redmine.url, redmine.admin_key, emulator, tmp, **extra)()


def section_limits(redmines: tuple[RedmineUnderTest, ...], emulator: Any, tmp: Path, tier: Tier) -> list[str]:
    from benchmarks import limits_bench

    size, repeats = tier.pick((10, 1), (30, 1), (50, 3))
    concurrencies = tier.pick((1, 4), (1, 4, 8), (1, 4, 8, 16))
    rows = [
        "## 1b. Batches against Redmine's own parallel limit",
        "",
        f"The limit: {size} creates sent straight to Redmine (as alice, each assigned to bob, a kept-alive",
        "connection per thread), at each concurrency, with no bridge. Beside it, the bridge's "
        f"{size}-line `create_tickets`",
        "at `REDMINE_CONCURRENCY` = that concurrency. Direct and bridged runs alternate; medians of "
        f"{repeats}. Goal: the batch",
        "within 1.25 x the direct limit at the same concurrency, on both Redmines.",
        "",
    ]
    for redmine in redmines:
        factory = functools.partial(_bridge, redmine, emulator, tmp)
        found = limits_bench.limits(factory, redmine.url, redmine.admin_key, emulator, size, concurrencies, repeats)
        best = min(found, key=lambda limit: limit.direct_s)
        knee = next(limit for limit in found if limit.direct_s <= best.direct_s * 1.1)
        rows += [
            f"**{redmine.label}** (knee: concurrency {knee.concurrency}, the lowest within 10 % of the best)",
            "",
            "| Concurrency | Direct (s) | Direct creates/s | Direct errors | Batch (s) | Batch / direct "
            "| Batch lines unconfirmed |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rows += [
            f"| {limit.concurrency} | {limit.direct_s:.2f} | {size / limit.direct_s:.1f} | {limit.errors} | "
            f"{limit.batch_s:.2f} | {limit.ratio:.2f} | {limit.batch_missing} |"
            for limit in found
        ]
        rows.append("")
    production = redmines[0]
    production_factory = functools.partial(_bridge, production, emulator, tmp)
    batches = tier.pick(2, 3, 4)
    rows += [
        f"A burst: {batches} batches of {size} lines at once in one process (each at `REDMINE_CONCURRENCY=4`),",
        f"against {production.label}, with the per-process bound `REDMINE_MAX_CALLS` and without it.",
        "",
        "| REDMINE_MAX_CALLS | Batches | Wall time (s) | Most requests in flight | Lines unconfirmed |",
        "|---:|---:|---:|---:|---:|",
    ]
    for max_calls in (8, 64):
        burst = limits_bench.burst(production_factory, emulator, max_calls, batches, size)
        rows.append(
            f"| {burst.max_calls} | {burst.batches} | {burst.seconds:.2f} | {burst.most_in_flight} | {burst.missing} |"
        )
    return [*rows, ""]


def section_load(emulator: Any, tmp: Path, tier: Tier) -> list[str]:
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
            plan = [("app_info", 20, tier.pick(3, 5, 10)), ("tickets_for_me", 20, tier.pick(3, 5, 10))]
            rates = tier.pick((60,), (50, 100, 200), (50, 100, 150, 200))
            plan += [("app_info", rate, tier.pick(2, 5, 8)) for rate in rates]
            for text, rate, seconds in plan:
                result = suite.constant_rate(url, suite.slash_form(emulator, text), rate, seconds, 0.05)
                rows.append(
                    f"| {text} | {rate} | {result.sent} | {result.ok} | {result.achieved:.1f} | "
                    f"{result.p50:.1f} | {result.p99:.1f} | {result.overhead_p50:.1f} | "
                    f"{result.overhead_p99:.1f} |"
                )
    return [*rows, ""]


def section_listener(redmine_url: str, admin_key: str, emulator: Any, tmp: Path, tier: Tier) -> list[str]:
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
        for matching, count in ((False, tier.pick(2000, 20_000, 50_000)), (True, tier.pick(20, 100, 200))):
            result = listener_bench.listener_events(bridge, emulator, count, matching)
            rows.append(
                f"| {result.kind} | {result.events} | {result.events_per_second_per_core:,.0f} | "
                f"{result.cpu_us_per_event:.1f} |"
            )
    from app_integration.adapters.mattermost.posts.post_listener import PostListener

    bridge = suite.bridge_factory(redmine_url, admin_key, emulator, tmp)()
    listener = PostListener(bridge, emulator.websocket_url).start()
    try:
        deadline = time.monotonic() + 10
        while not emulator.connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        posts = tier.pick(5, 20, 40)
        latencies, raw = listener_bench.post_to_link(emulator, listener, redmine_url, admin_key, posts, 1)
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


def section_real(redmines: tuple[RedmineUnderTest, ...], emulator: Any, tmp: Path, tier: Tier) -> list[str]:
    rows = [
        "## 5. Commands against the real Redmine",
        "",
        "Median latency of each command (warm, called in-process) against the raw Redmine calls it cannot avoid,",
        "made directly with `requests`.",
        "",
    ]
    shares = []
    for redmine in redmines:
        bridge = suite.bridge_factory(redmine.url, redmine.admin_key, emulator, tmp)()
        bridge.users.sync_map(bridge.chat)
        ratios = suite.real_ratios(
            bridge, emulator, redmine.url, redmine.admin_key, tier.pick(2, 5, 7), tier.pick(2, 5, 10)
        )
        rows += [
            f"**{redmine.label}**",
            "",
            "| Command | Command (ms) | Raw unavoidable calls (ms) | Ratio |",
            "|---|---:|---:|---:|",
        ]
        rows += [f"| {r.command} | {r.command_ms:.1f} | {r.raw_ms:.1f} | {r.ratio:.2f} |" for r in ratios]
        rows.append("")
        samples = tier.pick(5, 20, 40)
        shares.append((redmine, suite.list_share(bridge, emulator, redmine.url, redmine.admin_key, samples)))
    rows += [
        "`tickets_for_me`: the bridge's share is the command's median minus the direct GET's, measured",
        "interleaved; the DM alone (posting into the emulator, in this process) is part of it. Goal: under 20 ms.",
        "",
        "| Redmine | Command p50 (ms) | Direct GET p50 (ms) | Bridge's share (ms) | of which the DM (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {redmine.label} | {share.command_ms:.1f} | {share.raw_ms:.1f} | {share.share_ms:.1f} | {share.dm_ms:.1f} |"
        for redmine, share in shares
    ]
    return [*rows, ""]


def section_files(tier: Tier) -> list[str]:
    from benchmarks.attach_memory_bench import attach_memory

    count, size_mb = tier.pick((2, 10), (3, 50), (5, 50))
    found = attach_memory(count, size_mb)
    return [
        "## 9. Files into Redmine: the bridge's memory",
        "",
        f"{count} attaches of {size_mb} MB at once, each file from Mattermost's `GET /api/v4/files/{{id}}` into",
        "Redmine's `POST /uploads.json` (both ends a loopback server that makes up and checks the bytes chunk by",
        "chunk), in a child process of its own: the growth of its peak RSS. Streamed is what the bridge does;",
        "read whole is how it was done before (each file in memory, then uploaded).",
        "",
        "| Path | Peak RSS before (MB) | Peak RSS after (MB) | Growth (MB) |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {found[key][0]:.1f} | {found[key][1]:.1f} | {found[key][1] - found[key][0]:.1f} |"
            for name, key in (("streamed, spooled to disk past 256 KB", "streamed"), ("read whole", "read whole"))
        ),
        "",
        f"Every upload's bytes arrived intact: {'yes' if found['uploads intact'][0] else 'no'}.",
        "",
    ]


def section_user_map(small: Any, emulator: Any, tmp: Path, tier: Tier) -> list[str]:
    from benchmarks.suite import make_settings
    from benchmarks.user_map_bench import company_map, map_figures

    rows = [
        "## 10. A company-sized user map",
        "",
        "`check` (its user map part, with every other check) and linking the map (what `serve` and `listen` do in",
        f"the background at start), on a fresh bridge each, against the emulator and {small.label}, whose few",
        "users leave most entries without a Redmine account (the worst case for lookups).",
        "",
        "| Entries | check (s) | check: Mattermost / Redmine calls | Linking (s) "
        "| Linking: Mattermost / Redmine calls |",
        "|---:|---:|---:|---:|---:|",
    ]
    made = 0
    for size in tier.pick((100, 1000), (100, 1000, 10_000), (100, 1000, 10_000)):
        folder = tmp / f"map-{size}"
        folder.mkdir(exist_ok=True)
        path = company_map(emulator, size, folder, existing=made)
        made = size
        settings = make_settings(small.url, small.admin_key, emulator, folder, user_map="", user_map_file=path)
        f = map_figures(settings, emulator)
        rows.append(
            f"| {size:,} | {f['check_s']:.2f} | {f['check_mattermost_calls']:.0f} / {f['check_redmine_calls']:.0f} "
            f"| {f['link_s']:.2f} | {f['link_mattermost_calls']:.0f} / {f['link_redmine_calls']:.0f} |"
        )
    return [*rows, ""]


def section_slow_redmine(production: Any, emulator: Any, tmp: Path, tier: Tier) -> list[str]:
    from benchmarks.sandbox import free_port
    from benchmarks.slow_redmine_bench import slow_answers

    delay, rate, seconds = 1.5, 40.0, tier.pick(5.0, 10.0, 10.0)
    f = slow_answers(production.url, production.admin_key, emulator, tmp, free_port(), delay, rate, seconds)
    return [
        "## 11. A slow Redmine: answers within seconds",
        "",
        f"`serve` (2 workers x 8 threads, WORK_QUEUE_LIMIT 32) in front of {production.label}, behind a proxy that",
        f"delays every Redmine call by {delay} s; `tickets_for_me` at {rate:.0f} a second for {seconds:.0f} s (open",
        "loop: each answer timed from when its request was due), from three people. Before this change the",
        "answers waited for Redmine: 15.8 s at the median and 30.8 s at the 99th percentile, past Mattermost's 30 s.",
        "",
        "| Sent | Answer p50 (s) | p99 (s) | Longest (s) | Result at once | Working on it | Redmine is slow | Other "
        "| Late results delivered | Last result after (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {f.sent} | {f.p50_s:.2f} | {f.p99_s:.2f} | {f.longest_s:.2f} | {f.inline} | {f.working} | {f.refused} "
        f"| {f.other} | {f.delivered_late} of {f.working} | {f.last_result_s:.1f} |",
        "",
    ]
