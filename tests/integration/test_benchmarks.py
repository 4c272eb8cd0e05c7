"""The benchmark suite runs at a tiny size, and its round-trip counts hold.

Counts are deterministic, so they are asserted; timings are not (these machines are noisy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import listener_bench, suite
from benchmarks.fake_redmine import FakeRedmine
from tests.conftest import RedmineInfo

CATALOG = 5  # reads of a project's ticket fields, once per project for minutes (adapters/redmine/ticket_fields.py)


def test_round_trip_counts_meet_their_goals(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    # One create at a time: the counts do not depend on concurrency, and the local Redmine (SQLite, one writer)
    # may refuse an overlapping create with a 500, which the gateway then looks up and tries again: more requests.
    factory = suite.bridge_factory(redmine.url, redmine.admin_key, emulator, tmp_path, redmine_concurrency=1)
    counts = {c.command: c for c in suite.round_trip_counts(factory, emulator, sizes=(1, 4))}
    # Cold, the caller's map entry is claimed for their user id once, ever: one admin account lookup.
    assert counts["tickets_for_me"].warm == 1 and counts["tickets_for_me"].cold == 2
    assert counts["my_tickets"].warm == 1
    assert counts["app_info"].warm == 1
    assert counts["create_ticket_by_form (open)"].warm == 1
    # projects, trackers, statuses, priorities, and the one-time claim of the caller's map entry
    assert counts["create_ticket_by_form (open)"].cold == 5
    assert counts["create_ticket_by_form (submit)"].warm == 2  # membership, create
    one, four = counts["create_tickets N=1, k=1"], counts["create_tickets N=4, k=2"]
    assert (one.warm, four.warm) == (2, 5)  # N creates + 1 membership lookup
    # + the caller and 2 assignees looked up once each, and what a ticket in the project asks, read once for
    # minutes: the site's custom fields and trackers, the project, its versions and its members (no group here).
    assert four.cold == 4 + 1 + 3 + CATALOG
    assert counts["create_ticket_by_form (submit)"].cold == 2 + CATALOG + 2  # + the caller and the assignee, once
    assert four.warm <= 4 + 2 < four.naive  # type: ignore[operator]
    # A post with N files: N uploads + 1 create + the form's membership check, warm; cold also reads Redmine's
    # size limit (2) and the caller's projects' lists.
    for n in (1, 4):
        files = counts[f"ticket from a post with N={n} files"]
        assert files.warm == n + 2 and n + 2 < files.cold <= n + 2 + 2 + 2 + CATALOG


def test_the_limits_benchmark_creates_every_line_directly_and_bridged(
    production_redmine: RedmineInfo, emulator: Any, tmp_path: Path
) -> None:
    from benchmarks import limits_bench

    redmine = production_redmine

    def factory(**extra: Any) -> Any:
        return suite.bridge_factory(redmine.url, redmine.admin_key, emulator, tmp_path, **extra)()

    found = limits_bench.limits(factory, redmine.url, redmine.admin_key, emulator, 4, (1, 4), 1)
    assert [limit.concurrency for limit in found] == [1, 4]
    assert all(limit.errors == 0 and limit.batch_missing == 0 for limit in found)  # figures only; none asserted
    burst = limits_bench.burst(factory, emulator, 2, 2, 4)
    assert burst.missing == 0 and 1 <= burst.most_in_flight <= 2  # the bound held


def test_the_load_and_listener_benchmarks_run(emulator: Any, tmp_path: Path) -> None:
    with FakeRedmine(latency=0.0) as fake:
        env = suite.load_env(fake.url, emulator, tmp_path)
        with suite.gunicorn(env, _free_port()) as url:
            result = suite.constant_rate(url, suite.slash_form(emulator, "app_info"), 20, 0.5, 0.0)
        assert result.sent == 10 and result.ok == 10
        assert fake.requests >= 10  # every request reached Redmine: nothing was answered from nowhere
        bridge = suite.bridge_factory(fake.url, "k", emulator, tmp_path)()
        quiet = listener_bench.listener_events(bridge, emulator, 200, matching=False)
        loud = listener_bench.listener_events(bridge, emulator, 3, matching=True)
    assert quiet.events == 200 and quiet.cpu_us_per_event > 0
    channel = next(c for c in emulator.channels.values() if c["name"] == "town-square")
    patched = [p for p in emulator.posts_in(channel["id"]) if "[#t1](" in p["message"]]
    assert loud.events == 3 and len(patched) == 3


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_round_trips_on_a_company_redmine_meet_their_goals(
    company_redmine: RedmineInfo, emulator: Any, tmp_path: Path
) -> None:
    """Custom fields cost no call per line once the project's fields are read: a batch of N lines with them is
    N creates + 1 membership, warm; the form's second step is its create and its membership check."""
    from benchmarks.company_bench import company_counts

    url, key = company_redmine.url, company_redmine.admin_key
    factory = suite.bridge_factory(url, key, emulator, tmp_path, redmine_concurrency=1)
    counts = company_counts(factory, emulator, company_redmine.seed["company"]["fields"], sizes=(1, 4))
    by_name = {c.command: c for c in counts}
    assert by_name["form, first step (answers with the second)"].warm == 2  # membership, the projects listed
    assert by_name["form, second step (custom fields, version)"].warm == 2  # membership, create
    for n in (1, 4):
        batch = by_name[f"create_tickets N={n} with custom fields"]
        assert batch.warm == n + 1 <= n + 2, batch
        assert batch.cold > batch.warm  # the catalog and the people, read once
