"""The demo's scene on a real company's Redmine (the demo instance carries the company seed's `acme`): the form
asks what a Bug asks there, and the ticket's card shows its custom fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from mattermost_server.demo_transcript import Transcript

Slash = Callable[[str, str], dict[str, Any]]
Click = Callable[[dict[str, Any], str, dict[str, Any]], dict[str, Any]]


def company_scene(
    log: Transcript, web: str, slash: Slash, click: Click, emulator: Any, people: dict[str, Any], channel: str
) -> None:
    log.step("11. A real company's Redmine: the form asks what a Bug asks there, and the card shows it")
    slash("alice", "create_ticket_by_form")
    first = emulator.dialogs[-1]["dialog"]
    submission = {"projects": "acme", "trackers": "1", "subject": "The scanner eats paper", "status": "1"}
    submission["priority"] = "2"
    log.says("@alice fills in the form", "Project: Acme Support · Tracker: Bug · Subject: The scanner eats paper")
    _submit(web, first, people["alice"], channel, submission)
    offer = emulator.ephemerals[-1]["post"]
    button = offer["props"]["attachments"][0]["actions"][0]
    log.says("Bot (only @alice sees this)", f"{offer['message']}  [{button['name']}]")
    click(people["alice"], channel, button)
    second = emulator.dialogs[-1]["dialog"]
    asked = [e["display_name"] + ("" if e.get("optional") else " *") for e in second["elements"]]
    log.says("@alice clicks it; Mattermost opens the next step (* required)", ", ".join(asked))
    names = {e["display_name"]: e["name"] for e in second["elements"]}
    values = {e["name"]: e["default"] for e in second["elements"] if e.get("default") not in (None, "")}
    values.update({names["Customer"]: "Initech", names["Severity"]: "S1", names["Components"]: "API, Web"})
    values.update({names["Target version"]: "1", names["Billable"]: "1"})
    log.says("@alice fills in", "Customer: Initech · Severity: S1 · Components: API, Web · Target version: 1.0")
    _submit(web, second, people["alice"], channel, values)
    created = emulator.ephemerals[-1]["post"]["message"]
    log.says("Bot (only @alice sees this)", created)
    number = created.split("/issues/", 1)[1].split(")", 1)[0]
    log.says("Bot (only @alice sees this)", slash("alice", f"ticket {number}")["text"])


def _submit(web: str, dialog: dict[str, Any], user: dict[str, Any], channel: str, values: dict[str, Any]) -> None:
    body = {
        "type": "dialog_submission",
        "callback_id": dialog["callback_id"],
        "state": dialog["state"],
        "user_id": user["id"],
        "channel_id": channel,
        "submission": values,
        "cancelled": False,
    }
    requests.post(f"{web}/dialog", json=body, timeout=60).raise_for_status()
