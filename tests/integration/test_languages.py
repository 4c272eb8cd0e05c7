"""The bridge in its readers' languages, end to end: a Russian speaker's slash command, form and button;
a channel subscribed in Russian; a DM in the recipient's own language."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import requests
from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.events import Subscription
from app_integration.core.updates.change_feed import poll_once
from app_integration.core.updates.outbox_delivery import deliver_due
from tests.conftest import RedmineInfo
from tests.integration.surface_support import slash
from tests.mattermost_payloads import dialog_submission


def test_a_russian_speaker_gets_help_forms_errors_and_buttons_in_russian(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    emulator.user("bob")["locale"] = "ru"
    help_reply = slash(client, emulator, "bob", "app_info", channel)
    assert "Мост в Redmine" in help_reply["text"] and "create_tickets" in help_reply["text"]
    assert "Быстрые действия" in help_reply["attachments"][0]["text"]
    slash(client, emulator, "bob", "create_tickets", channel)
    opened = emulator.dialogs[-1]
    assert opened["dialog"]["title"] == "Новые задачи"
    assert [e["display_name"] for e in opened["dialog"]["elements"]] == ["Проект", "Задачи"]
    bad = dialog_submission(opened, emulator.user("bob"), channel, {"option": "demo", "message": "1. Отчёт 31.02.27"})
    errors = client.post("/dialog", json=bad).get_json()["errors"]
    assert "строка 1: нет исполнителя" in errors["message"]
    english = slash(client, emulator, "alice", "ticket 999999", channel)  # alice keeps English
    assert english["text"] == "Ticket #999999 is not found, or you cannot see it."
    assert slash(client, emulator, "bob", "ticket 999999", channel)["text"] == (
        "Задача №999999 не найдена, или у вас нет к ней доступа."
    )


def test_channel_posts_follow_the_subscription_and_dms_follow_their_reader(
    bridge: Bridge, emulator: Any, redmine: RedmineInfo
) -> None:
    emulator.user("bob")["locale"] = "ru"
    bridge.users.sync_map(bridge.chat)
    channel = emulator.add_channel("ru-" + uuid.uuid4().hex[:6], [emulator.bot, emulator.user("alice")], kind="P")["id"]
    demo = bridge.gateway.project("alice", "demo").id
    bridge.subscriptions.add_subscription(
        Subscription(channel, emulator.user("alice")["id"], demo, "Demo", locale="ru")
    )
    poll_once(bridge.services, bridge.store)
    time.sleep(1.05)
    headers = {"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": "alice"}
    bob_id = requests.get(
        f"{redmine.url}/users.json?name=bob", headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=15
    ).json()["users"][0]["id"]
    body = {"issue": {"project_id": "demo", "subject": f"Язык {uuid.uuid4().hex[:6]}", "assigned_to_id": bob_id}}
    issue = requests.post(f"{redmine.url}/issues.json", json=body, headers=headers, timeout=15).json()["issue"]["id"]
    before = len(emulator.dm_posts("bob"))
    poll_once(bridge.services, bridge.store)
    deliver_due(bridge.chat, bridge.subscriptions, bridge.outbox, dt.datetime.now(dt.UTC))
    [card] = emulator.posts_in(channel)
    assert f"#{issue}" in card["message"] and "Статус: **New**" in card["message"]
    [dm] = emulator.dm_posts("bob")[before:]
    assert "назначена вам" in dm["message"] and "создаёт" in dm["message"]
