"""What the feed's tests do over and over: change things in Redmine as people, run a cycle, make a channel,
subscribe it, read it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.events import Subscription
from app_integration.core.updates.change_feed import poll_once
from app_integration.core.updates.outbox_delivery import deliver_due
from tests.conftest import RedmineInfo


class Redmine:
    """Changes made by people over Redmine's REST API, as they would make them in its web UI."""

    def __init__(self, info: RedmineInfo) -> None:
        self.info = info

    def _call(self, login: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"X-Redmine-API-Key": self.info.admin_key, "X-Redmine-Switch-User": login}
        response = requests.request(method, f"{self.info.url}{path}", json=body, headers=headers, timeout=15)
        assert response.status_code in (200, 201, 204), response.text
        return response.json() if response.content.strip() else None

    def create(self, login: str, project: str, subject: str, **fields: Any) -> int:
        body = {"issue": {"project_id": project, "subject": subject, **fields}}
        return int(self._call(login, "POST", "/issues.json", body)["issue"]["id"])

    def update(self, login: str, issue_id: int, **fields: Any) -> None:
        self._call(login, "PUT", f"/issues/{issue_id}.json", {"issue": fields})

    def search(self, subject: str) -> list[int]:
        """The issues with exactly this subject, as the admin sees them."""
        found = self._call("admin", "GET", f"/issues.json?status_id=*&subject={subject}")["issues"]
        return [int(issue["id"]) for issue in found]

    def find(self, subject: str) -> int:
        """The one issue with this subject."""
        [found] = self.search(subject)
        return found

    def user_id(self, login: str) -> int:
        found = self._call("admin", "GET", f"/users.json?name={login}")["users"]
        return int(next(u["id"] for u in found if u["login"] == login))


def cycle(bridge: Bridge) -> None:
    poll_once(bridge.services, bridge.store)
    deliver_due(bridge.chat, bridge.subscriptions, bridge.outbox, dt.datetime.now(dt.UTC))


def channel_named(emulator: Any, name: str, kind: str = "O", members: tuple[str, ...] = ()) -> str:
    people = [emulator.bot, *(emulator.user(m) for m in members or ("alice", "bob", "carol"))]
    return str(emulator.add_channel(name, people, kind=kind)["id"])


def subscribe(bridge: Bridge, emulator: Any, channel: str, owner: str, project_id: int, **extra: Any) -> Subscription:
    subscription = Subscription(channel, emulator.user(owner)["id"], project_id, "Demo", **extra)
    return bridge.subscriptions.add_subscription(subscription)


def texts(emulator: Any, channel: str) -> list[str]:
    return [p["message"] for p in emulator.posts_in(channel)]


def demo_id(bridge: Bridge) -> int:
    return bridge.gateway.project("alice", "demo").id
