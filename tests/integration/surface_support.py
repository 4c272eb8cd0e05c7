"""Driving the classic surface as people do: a slash command, a dialog it opens, and what Redmine holds after."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from mattermost_server.emulator import trigger_id
from tests.mattermost_payloads import slash_form, slash_headers


def slash(client: FlaskClient, emulator: Any, username: str, text: str, channel: str) -> Any:
    response = client.post("/slash", data=slash_form(emulator.user(username), text, channel), headers=slash_headers())
    assert response.status_code == 200
    return response.get_json()


def issues_with(bridge: Bridge, login: str, subject: str) -> list[Any]:
    return [i for i in bridge.gateway.authored_issues(login, 100).issues if i.subject == subject]


def open_dialog(client: FlaskClient, emulator: Any, username: str, text: str, channel: str) -> dict[str, Any]:
    count = len(emulator.dialogs)
    assert slash(client, emulator, username, text, channel) == {}
    assert len(emulator.dialogs) == count + 1
    opened: dict[str, Any] = emulator.dialogs[-1]
    assert opened["url"] == "http://bridge.test:8090/dialog"
    return opened


def batch_lines(tag: str) -> str:
    return f"1. Write the report {tag} @bob 31.12.27\n2. Book the room {tag} @carol 2027-01-15\nBuy coffee {tag} @bob"


def click(client: FlaskClient, emulator: Any, username: str, channel: str, button: dict[str, Any]) -> Any:
    """`username` clicks a message button, as Mattermost posts it to the button's URL."""
    body = {
        "user_id": emulator.user(username)["id"],
        "channel_id": channel,
        "context": button["integration"]["context"],
        "trigger_id": trigger_id(emulator.user(username)["id"]),
    }
    return client.post("/actions", json=body)
