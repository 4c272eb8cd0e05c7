"""Time from the chat against the real Redmine (issue 31, point 4): `log` writes a time entry as the person,
with the activity by name and the day in words or digits, once; `spent` lists their own entries with a total."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import requests
from flask.testing import FlaskClient

from tests.conftest import RedmineInfo
from tests.integration.surface_support import slash


def entries(redmine: RedmineInfo, issue: int, words: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = requests.get(
        f"{redmine.url}/time_entries.json",
        params={"issue_id": str(issue), "limit": "100"},
        headers={"X-Redmine-API-Key": redmine.admin_key},
        timeout=30,
    ).json()["time_entries"]
    return [entry for entry in found if entry["comments"] == words]


def test_log_writes_the_entry_as_the_person_once(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo, seeded: dict[str, int]
) -> None:
    words = f"wrote the spec {uuid.uuid4().hex[:6]}"
    issue = seeded["public"]
    answer = slash(client, emulator, "alice", f"log 1h30m #{issue} design yesterday {words}", channel)["text"]
    assert answer.startswith(f"Logged 1.5 h on [#{issue}]("), answer
    [entry] = entries(redmine, issue, words)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    assert entry["hours"] == 1.5 and entry["activity"]["name"] == "Design" and entry["user"]["name"] == "Alice Anders"
    assert entry["spent_on"] == yesterday.isoformat()
    again = slash(client, emulator, "alice", f"log 1h30m #{issue} design yesterday {words}", channel)["text"]
    assert again.startswith(f"That is logged on #{issue} already.") and len(entries(redmine, issue, words)) == 1


def test_log_is_refused_where_redmine_refuses_and_explains_bad_input(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo, seeded: dict[str, int]
) -> None:
    words = f"not mine {uuid.uuid4().hex[:6]}"
    refused = slash(client, emulator, "carol", f"log 2h #{seeded['secret']} development {words}", channel)["text"]
    assert refused == f"Ticket #{seeded['secret']} is not found, or you cannot see it.", refused
    assert entries(redmine, seeded["secret"], words) == []
    assert "Give the hours and the ticket" in slash(client, emulator, "alice", "log #1 words", channel)["text"]
    assert "is not a real date" in slash(client, emulator, "alice", "log 2h #1 31.02. words", channel)["text"]
    assert "not a positive number of hours" in slash(client, emulator, "alice", "log 0h #1 words", channel)["text"]
    unnamed = slash(client, emulator, "alice", f"log 1h #{seeded['public']} words", channel)["text"]
    assert unnamed.startswith("Name the activity, one of: Design, Development.")  # the bare Redmine has no default


def test_spent_lists_the_persons_own_time_with_a_total(
    client: FlaskClient, emulator: Any, channel: str, seeded: dict[str, int]
) -> None:
    words = f"reviewed {uuid.uuid4().hex[:6]}"
    slash(client, emulator, "bob", f"log 0.25 #{seeded['public']} development {words}", channel)
    mine = slash(client, emulator, "bob", "spent today", channel)["text"]
    assert "Time you logged from" in mine and words in mine and "| Development |" in mine
    assert words not in slash(client, emulator, "alice", "spent today", channel)["text"]  # bob's alone
    assert "Say which time" in slash(client, emulator, "bob", "spent yesterday", channel)["text"]
