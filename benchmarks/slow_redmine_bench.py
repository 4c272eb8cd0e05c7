"""A slow Redmine under load: `serve` (gunicorn, the default workers and threads) in front of the real Redmine
behind a proxy that delays every call, and `tickets_for_me` at a constant rate from the three seeded people.
Each answer is timed from when its request was due (open loop), sorted by what it said (the result, "working
on it", or "Redmine is slow right now"), and each "working on it" is followed to its late result through
response_url."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from app_integration.adapters.mattermost.commands import classic_surface, work_queue
from benchmarks import suite
from benchmarks.sandbox import open_loop
from tests.fault_proxy import FaultProxy


@dataclass(frozen=True)
class SlowAnswers:
    delay_s: float
    rate: float
    sent: int
    p50_s: float
    p99_s: float
    longest_s: float
    inline: int  # the result in the answer itself
    working: int  # "working on it"
    refused: int  # "Redmine is slow right now"
    other: int  # anything else (an error), or no answer
    delivered_late: int  # results that came through response_url after "working on it"
    last_result_s: float  # from the first request to the last late result


def slow_answers(
    redmine_url: str, admin_key: str, emulator: Any, tmp: Path, port: int, delay: float, rate: float, seconds: float
) -> SlowAnswers:
    where = urlsplit(redmine_url)
    people = [emulator.user(name) for name in ("alice", "bob", "carol")]
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    env = {**suite.load_env(redmine_url, emulator, tmp), "ADMIN_REDMINE_KEY_API": admin_key}
    with FaultProxy(where.hostname or "127.0.0.1", where.port or 80, delay=delay) as proxy:
        env["REDMINE_URL"] = proxy.url
        with suite.gunicorn(env, port) as url:
            warm = suite.slash_form(emulator, "app_info")
            requests.post(f"{url}/slash", data=warm, timeout=10)
            proxy.mode = "delay"
            answers, started = _load(url, emulator, people, channel, rate, seconds)
            working = {hook for hook, (_, kind) in answers.items() if kind == "working"}
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and len(_late(emulator, working)) < len(working):
                time.sleep(0.5)
            late = _late(emulator, working)
    latencies = sorted(latency for latency, _ in answers.values())
    kinds = [kind for _, kind in answers.values()]
    return SlowAnswers(
        delay,
        rate,
        len(answers),
        statistics.median(latencies),
        suite.percentile(latencies, 99),
        latencies[-1],
        kinds.count("result"),
        kinds.count("working"),
        kinds.count("refused"),
        kinds.count("other"),
        sum(1 for text, _ in late.values() if "Open tickets assigned to you" in text),
        max((at for _, at in late.values()), default=started) - started,
    )


def _load(
    url: str, emulator: Any, people: list[dict[str, Any]], channel: str, rate: float, seconds: float
) -> tuple[dict[str, tuple[float, str]], float]:
    """Open loop: request i is due at t0 + i/rate, and its answer time counts from then."""
    answers: dict[str, tuple[float, str]] = {}
    lock = threading.Lock()
    local = threading.local()

    def one(n: int, due: float) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        person = people[n % len(people)]
        hook = uuid.uuid4().hex[:26]
        form = {
            **suite.slash_form(emulator, "tickets_for_me"),
            "user_id": person["id"],
            "user_name": person["username"],
            "channel_id": channel,
            "response_url": f"{emulator.url}/hooks/commands/{hook}",
        }
        try:
            text = str(session.post(f"{url}/slash", data=form, timeout=60).json().get("text", ""))
        except (requests.RequestException, ValueError):
            text = ""
        kind = (
            "working"
            if text == classic_surface.WORKING
            else "refused"
            if text == work_queue.SLOW_NOW
            else "result"
            if "Open tickets assigned to you" in text
            else "other"
        )
        with lock:
            answers[hook] = (time.perf_counter() - due, kind)

    begun = time.time()
    open_loop(int(rate * seconds), rate, one, workers=256)
    return answers, begun


def _late(emulator: Any, hooks: set[str]) -> dict[str, tuple[str, float]]:
    """Hook id -> (the late answer's text, when it came), for the hooks asked about."""
    found: dict[str, tuple[str, float]] = {}
    with emulator.lock:
        replies = list(emulator.hook_replies)
    for reply in replies:
        if reply["hook"] in hooks:
            found.setdefault(reply["hook"], (str(reply.get("text", "")), float(reply["received_at"])))
    return found
