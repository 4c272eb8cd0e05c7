"""The change feed against the real Redmine: Redmine calls per cycle, the time from a change to its post,
and how fast a fan-out to many subscribed channels is delivered."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import requests

from app_integration.adapters.redmine.call_scope import counting
from app_integration.adapters.runtime.update_runner import UpdateRunner
from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.events import Subscription
from app_integration.core.models import ChatUser
from app_integration.core.updates.change_feed import poll_once
from app_integration.core.updates.outbox_delivery import deliver_due


class RedmineClient:
    def __init__(self, url: str, admin_key: str) -> None:
        self.url, self.key = url, admin_key

    def create(self, login: str, subject: str) -> int:
        body = {"issue": {"project_id": "demo", "subject": subject}}
        answer = requests.post(f"{self.url}/issues.json", json=body, headers=self._as(login), timeout=30)
        answer.raise_for_status()
        return int(answer.json()["issue"]["id"])

    def note(self, login: str, issue_id: int, text: str) -> None:
        body = {"issue": {"notes": text}}
        requests.put(
            f"{self.url}/issues/{issue_id}.json", json=body, headers=self._as(login), timeout=30
        ).raise_for_status()

    def _as(self, login: str) -> dict[str, str]:
        return {"X-Redmine-API-Key": self.key, "X-Redmine-Switch-User": login}


def started(bridge: Bridge) -> Bridge:
    bridge.users.sync_map(bridge.chat)
    poll_once(bridge.services, bridge.store)
    time.sleep(1.1)  # Redmine's clock has whole seconds
    return bridge


@dataclass(frozen=True)
class CycleCalls:
    changed: int
    feed_only: int  # no subscriptions, nobody linked: the feed's own calls
    next_cycle: int  # the cycle after: issues at the cursor's second are read once more
    with_subscription: int  # one subscription, the map's people linked: visibility checks added


def calls_per_cycle(factory: Callable[..., Bridge], redmine: RedmineClient, emulator: Any, changed: int) -> CycleCalls:
    tag = secrets.token_hex(3)
    issues = [redmine.create("alice", f"Feed bench {tag} {n}") for n in range(changed)]
    time.sleep(1.1)
    bare = started(factory(user_map=""))
    observed = started(factory())
    channel = emulator.add_channel(f"bench-{tag}", [emulator.bot, emulator.user("alice")], kind="P")["id"]
    demo = observed.gateway.project("alice", "demo").id
    observed.subscriptions.add_subscription(Subscription(channel, emulator.user("alice")["id"], demo, "Demo"))
    for round_ in ("warm-up", "measured"):  # the first round fills the caches of names, statuses, projects
        for issue in issues:
            redmine.note("bob", issue, f"a note for the benchmark ({round_})")
        counts = []
        for bridge in (bare, bare, observed, observed):
            with counting() as tally:
                poll_once(bridge.services, bridge.store)
            counts.append(tally.round_trips)
        time.sleep(1.1)
    return CycleCalls(changed, counts[0], counts[1], counts[2])


@dataclass(frozen=True)
class Latency:
    interval: float
    samples: int
    p50: float
    p95: float


def change_to_post(factory: Callable[..., Bridge], redmine: RedmineClient, emulator: Any, samples: int) -> Latency:
    """Changes made at random moments while the runner polls every `interval` seconds; each latency runs
    from Redmine's answer to the PUT until the reply is in the emulator's channel."""
    from tests.waiting import wait_for

    interval = 2.0
    bridge = started(factory(redmine_poll_seconds=interval))
    tag = secrets.token_hex(3)
    channel = emulator.add_channel(f"lat-{tag}", [emulator.bot, emulator.user("alice")], kind="P")["id"]
    demo = bridge.gateway.project("alice", "demo").id
    bridge.subscriptions.add_subscription(Subscription(channel, emulator.user("alice")["id"], demo, "Demo"))
    issue = redmine.create("alice", f"Latency bench {tag}")
    runner = UpdateRunner(bridge, interval).start()
    latencies = []
    rng = secrets.SystemRandom()
    try:
        wait_for(lambda: emulator.posts_in(channel), timeout=30)
        for n in range(samples):
            time.sleep(rng.uniform(0.0, interval))
            before = len(emulator.posts_in(channel))
            redmine.note("bob", issue, f"sample {n}")
            made = time.monotonic()
            wait_for(partial(grew, emulator, channel, before), timeout=30, step=0.01)
            latencies.append(time.monotonic() - made)
    finally:
        runner.stop()
    latencies.sort()
    return Latency(interval, samples, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95) - 1])


def grew(emulator: Any, channel: str, before: int) -> bool:
    return len(emulator.posts_in(channel)) > before


@dataclass(frozen=True)
class FanOut:
    events: int
    subscriptions: int
    deliveries: int
    fan_out_s: float
    deliver_s: float

    @property
    def per_second(self) -> float:
        return self.deliveries / (self.fan_out_s + self.deliver_s)


def many_subscriptions(
    factory: Callable[..., Bridge], redmine: RedmineClient, emulator: Any, events: int, subscriptions: int
) -> FanOut:
    """`events` changes, each to `subscriptions` channels owned by one person: one visibility check per
    event (cached per owner and issue), then one post per channel and event."""
    bridge = started(factory(user_map="alice=alice"))
    tag = secrets.token_hex(3)
    demo = bridge.gateway.project("alice", "demo").id
    owner = emulator.user("alice")
    for n in range(subscriptions):
        channel = emulator.add_channel(f"fan-{tag}-{n}", [emulator.bot, owner], kind="P")["id"]
        bridge.subscriptions.add_subscription(Subscription(channel, owner["id"], demo, "Demo"))
    for n in range(events):
        redmine.create("carol", f"Fan-out bench {tag} {n}")
    begun = time.perf_counter()
    report = poll_once(bridge.services, bridge.store)
    fanned = time.perf_counter() - begun
    begun = time.perf_counter()
    sent = 0
    for _ in range(10_000):  # bounded: each round delivers up to 100
        done = deliver_due(bridge.chat, bridge.subscriptions, bridge.outbox, dt.datetime.now(dt.UTC)).sent
        sent += done
        if not done:
            break
    delivered = time.perf_counter() - begun
    assert sent == report.enqueued == events * subscriptions, (sent, report)
    return FanOut(events, subscriptions, sent, fanned, delivered)


def bench_people(redmine: RedmineClient, emulator: Any, count: int) -> list[tuple[str, int, str]]:
    """`count` Redmine users who are Developers in `demo`, each with a Mattermost user of the same name:
    (login, Redmine id, API key). Made once per Redmine; found again on later runs."""
    admin = {"X-Redmine-API-Key": redmine.key}
    role = next(
        r["id"]
        for r in requests.get(f"{redmine.url}/roles.json", headers=admin, timeout=30).json()["roles"]
        if r["name"] == "Developer"
    )
    people = []
    for n in range(1, count + 1):
        login = f"benchowner{n:02d}"
        found = requests.get(
            f"{redmine.url}/users.json", params={"name": login, "status": ""}, headers=admin, timeout=30
        ).json()["users"]
        user_id = next((u["id"] for u in found if u["login"] == login), None)
        if user_id is None:
            body = {
                "user": {
                    "login": login,
                    "firstname": "Bench",
                    "lastname": f"Owner {n}",
                    "mail": f"{login}@example.org",
                    "password": f"{login}-password-1",
                }
            }
            made = requests.post(f"{redmine.url}/users.json", json=body, headers=admin, timeout=30)
            made.raise_for_status()
            user_id = made.json()["user"]["id"]
            requests.post(
                f"{redmine.url}/projects/demo/memberships.json",
                json={"membership": {"user_id": user_id, "role_ids": [role]}},
                headers=admin,
                timeout=30,
            ).raise_for_status()
        # An administrator sees (and Redmine makes, on first read) a user's API key.
        shown = requests.get(f"{redmine.url}/users/{user_id}.json", headers=admin, timeout=30).json()["user"]
        if not any(u["username"] == login for u in emulator.users.values()):
            emulator.add_user(login)
        people.append((login, int(user_id), str(shown["api_key"])))
    return people


@dataclass(frozen=True)
class OwnerCalls:
    changed: int
    owners: int
    impersonated: int  # REDMINE_IMPERSONATION=true: the admin key acts as each owner
    personal_keys: int  # REDMINE_IMPERSONATION=false: each owner's own key, confirmed once per cycle


def calls_with_owners(
    factory: Callable[..., Bridge], redmine: RedmineClient, emulator: Any, changed: int, owners: int
) -> OwnerCalls:
    """One subscription per owner, each in a channel of its own; `changed` issues noted on by someone none
    of them is. The limit is 1 list query + 1 read per changed issue + 1 visibility query per owner (with
    personal keys, + 1 key confirmation per owner)."""
    people = bench_people(redmine, emulator, owners)
    tag = secrets.token_hex(3)
    issues = [redmine.create("alice", f"Owners bench {tag} {n}") for n in range(changed)]
    time.sleep(1.1)
    user_map = ",".join(f"{login}={login}" for login, _id, _key in people)
    demo = int(
        requests.get(
            f"{redmine.url}/projects/demo.json", headers={"X-Redmine-API-Key": redmine.key}, timeout=30
        ).json()["project"]["id"]
    )
    bridges = []
    for impersonation in (True, False):
        bridge = factory(user_map=user_map, redmine_impersonation=impersonation)
        bridge.users.sync_map(bridge.chat)
        for login, redmine_id, key in people:
            chat_user = emulator.user(login)
            if not impersonation:
                sealed = bridge.services.sealer.seal(key) if bridge.services.sealer else None
                bridge.users.link(ChatUser(chat_user["id"], login), redmine_id, login, "key", sealed_key=sealed)
            channel = emulator.add_channel(f"own-{tag}-{login}-{impersonation}", [emulator.bot, chat_user], kind="P")
            bridge.subscriptions.add_subscription(Subscription(channel["id"], chat_user["id"], demo, "Demo"))
        poll_once(bridge.services, bridge.store)
        bridges.append(bridge)
    time.sleep(1.1)
    counts = [0, 0]
    for round_ in ("warm-up", "measured"):
        for issue in issues:
            redmine.note("bob", issue, f"a note for the owners benchmark ({round_})")
        for n, bridge in enumerate(bridges):
            with counting() as tally:
                poll_once(bridge.services, bridge.store)
            counts[n] = tally.round_trips
        time.sleep(1.1)
    return OwnerCalls(changed, owners, counts[0], counts[1])
