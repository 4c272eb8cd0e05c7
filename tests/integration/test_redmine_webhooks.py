"""Redmine 7's webhooks into the change feed: a signed push and a poll deliver a change once, and anything
unsigned is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.updates.outbox_delivery import deliver_due
from tests.integration.feed_support import Redmine, channel_named, cycle, demo_id, subscribe
from tests.waiting import wait_for

PAYLOADS = Path(__file__).resolve().parents[1] / "redmine7_payloads"
HOOK_SECRET = "hook-secret-" + "w" * 20


def signed(body: bytes, secret: str = HOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Redmine-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def pushed(kind: str, issue_id: int, journal_id: int = 0) -> bytes:
    payload = json.loads((PAYLOADS / f"{kind}.json").read_text())
    payload["data"]["issue"]["id"] = issue_id
    if journal_id:
        payload["data"]["journal"]["id"] = journal_id
    return json.dumps(payload).encode()


def hook_client(bridge: Bridge, secret: str | None = HOOK_SECRET) -> FlaskClient:
    from pydantic import SecretStr

    from app_integration.adapters.runtime.web_app import create_app

    settings = bridge.settings.model_copy(update={"redmine_webhook_secret": SecretStr(secret) if secret else None})
    return create_app(settings, bridge).test_client()


def test_a_webhook_and_a_poll_deliver_the_same_change_once(feed_bridge: Bridge, emulator: Any, rm: Redmine) -> None:
    channel = channel_named(emulator, "w-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    client = hook_client(feed_bridge)
    issue = rm.create("alice", "demo", f"Hooked {uuid.uuid4().hex[:8]}")
    body = pushed("issue.created", issue)
    assert client.post("/webhooks/redmine", data=body, headers=signed(body)).status_code == 202
    wait_for(lambda: feed_bridge.outbox.has_delivery(f"issue:{issue}:0", channel))
    deliver_due(feed_bridge.chat, feed_bridge.subscriptions, feed_bridge.outbox, dt.datetime.now(dt.UTC))
    assert len(emulator.posts_in(channel)) == 1  # delivered before any poll

    rm.update("bob", issue, status_id=2, notes="Started")
    journal = rm._call("admin", "GET", f"/issues/{issue}.json?include=journals")["issue"]["journals"][-1]["id"]
    body = pushed("issue.updated", issue, journal)
    assert client.post("/webhooks/redmine", data=body, headers=signed(body)).status_code == 202
    wait_for(lambda: feed_bridge.outbox.has_delivery(f"issue:{issue}:{journal}", channel))
    cycle(feed_bridge)  # the poll sees both changes too
    cycle(feed_bridge)
    posts = emulator.posts_in(channel)
    assert len(posts) == 2 and "moved it to **In Progress**" in posts[1]["message"]


def test_webhooks_without_a_valid_signature_are_refused(bridge: Bridge) -> None:
    body = pushed("issue.created", 1)
    assert (
        hook_client(bridge, secret=None).post("/webhooks/redmine", data=body, headers=signed(body)).status_code == 403
    )
    client = hook_client(bridge)
    assert client.post("/webhooks/redmine", data=body, headers={"Content-Type": "application/json"}).status_code == 401
    assert client.post("/webhooks/redmine", data=body, headers=signed(body, "another secret")).status_code == 401
    tampered = body.replace(b'"id": 1,', b'"id": 2,', 1)
    assert client.post("/webhooks/redmine", data=tampered, headers=signed(body)).status_code == 401
    junk = b"[1, 2"
    assert client.post("/webhooks/redmine", data=junk, headers=signed(junk)).status_code == 400
    user = json.dumps({"type": "user.created", "data": {"user": {"id": 1}}}).encode()
    answer = client.post("/webhooks/redmine", data=user, headers=signed(user))
    assert (answer.status_code, answer.get_json()) == (202, {"status": "ignored"})
    assert bridge.outbox.outbox_states() == {}


# Reliability and reminders -----------------------------------------------------------------------------------------
