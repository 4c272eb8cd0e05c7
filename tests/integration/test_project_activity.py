"""What else of a project a subscription hears (issue 31, point 5), against the real Redmine: a wiki page's new
version, a released version and time logged, each posted once into the channels that chose it, and into a
public channel only what Redmine shows with no login (core/privacy.py, rule 5)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.events import Subscription
from app_integration.core.updates.outbox_delivery import deliver_due
from app_integration.core.updates.project_activity import poll_project_activity
from tests.integration.feed_support import Redmine, channel_named, texts
from tests.waiting import wait_for


def poll(bridge: Bridge) -> int:
    queued = poll_project_activity(bridge.services, bridge.store, dt.datetime.now(dt.UTC))
    deliver_due(bridge.chat, bridge.subscriptions, bridge.outbox, dt.datetime.now(dt.UTC))
    return queued


def test_wiki_versions_and_time_reach_the_channels_that_chose_them(
    feed_bridge: Bridge, emulator: Any, rm: Redmine, seeded: dict[str, int]
) -> None:
    tag = uuid.uuid4().hex[:8]
    alice = emulator.user("alice")["id"]
    demo = feed_bridge.gateway.project("alice", "demo").id
    secret = feed_bridge.gateway.project("alice", "secret").id
    private = channel_named(emulator, f"team-{tag}", kind="P")
    public = channel_named(emulator, f"town-{tag}", kind="O")
    subs = feed_bridge.subscriptions
    everything = frozenset({"created", "news", "wiki", "versions", "time"})
    subs.add_subscription(Subscription(private, alice, demo, "Demo", events=everything))
    subs.add_subscription(Subscription(private, alice, secret, "Secret", events=frozenset({"wiki"})))
    subs.add_subscription(Subscription(public, alice, secret, "Secret", events=frozenset({"wiki"})))
    subs.add_subscription(Subscription(public, alice, demo, "Demo", events=frozenset({"wiki"})))
    assert poll(feed_bridge) == 0  # the first cycle marks where it starts
    time.sleep(1.05)  # Redmine's clock has whole seconds

    page, hidden = f"Plan{tag}", f"Hidden{tag}"
    rm._call("alice", "PUT", f"/projects/demo/wiki/{page}.json", {"wiki_page": {"text": "h1. The plan"}})
    rm._call("alice", "PUT", f"/projects/secret/wiki/{hidden}.json", {"wiki_page": {"text": "h1. Not for all"}})
    version = rm._call("alice", "POST", "/projects/demo/versions.json", {"version": {"name": f"v-{tag}"}})["version"]
    rm._call("alice", "PUT", f"/versions/{version['id']}.json", {"version": {"status": "closed"}})
    entry = {"time_entry": {"issue_id": seeded["public"], "hours": 0.5, "activity_id": 9, "comments": f"call {tag}"}}
    rm._call("alice", "POST", "/time_entries.json", entry)
    rm._call(
        "alice",
        "POST",
        "/projects/demo/news.json",
        {"news": {"title": f"News {tag}", "summary": "Read it", "description": "All of it"}},
    )

    assert poll(feed_bridge) >= 5
    assert poll(feed_bridge) == 0  # read again (the cycles overlap): nothing twice
    team, town = "\n".join(texts(emulator, private)), "\n".join(texts(emulator, public))
    for said in (f"[{page}](", f"[{hidden}](", f"v-{tag}", f"call {tag}", f"[News {tag}]("):
        assert team.count(said) == 1, (said, team)
    assert f"[{page}](" in town and hidden not in town  # the secret project's page is not for everyone
    assert "Soakpage" not in team  # what was there before the bridge began listening is not replayed


def test_a_redmine_7_webhook_brings_a_wiki_change_before_any_poll(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    from tests.integration.test_redmine_webhooks import PAYLOADS, hook_client, signed

    tag = uuid.uuid4().hex[:8]
    alice = emulator.user("alice")["id"]
    demo = feed_bridge.gateway.project("alice", "demo").id
    channel = channel_named(emulator, f"wiki-{tag}", kind="P")
    feed_bridge.subscriptions.add_subscription(Subscription(channel, alice, demo, "Demo", events=frozenset({"wiki"})))
    page = f"Hooked{tag}"
    rm._call("alice", "PUT", f"/projects/demo/wiki/{page}.json", {"wiki_page": {"text": "h1. Pushed"}})
    payload = json.loads((PAYLOADS / "wiki_page.updated.json").read_text())
    payload["data"]["wiki_page"].update(title=page, project={"id": demo, "name": "Demo"})
    body = json.dumps(payload).encode()
    assert hook_client(feed_bridge).post("/webhooks/redmine", data=body, headers=signed(body)).status_code == 202
    key = f"wiki:{demo}:{page}:1"
    wait_for(lambda: feed_bridge.outbox.has_delivery(key, channel))
    deliver_due(feed_bridge.chat, feed_bridge.subscriptions, feed_bridge.outbox, dt.datetime.now(dt.UTC))
    assert sum(f"[{page}](" in text for text in texts(emulator, channel)) == 1
