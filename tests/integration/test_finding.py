"""Finding tickets from the chat against the real Redmine (issue 31, point 1): `find` through Redmine's search
as the person, page after page with *More*; `queries` lists the saved queries the person may use; and
`tickets_for_me`/`my_tickets` run one by name or number. Redmine's permissions decide every answer."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from tests.conftest import RedmineInfo
from tests.integration.surface_support import click, slash
from tests.mattermost_payloads import refused_click


def create(redmine: RedmineInfo, login: str, subject: str, **fields: Any) -> int:
    headers = {"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": login}
    body = {"issue": {"project_id": "demo", "subject": subject, **fields}}
    answer = requests.post(f"{redmine.url}/issues.json", json=body, headers=headers, timeout=30)
    answer.raise_for_status()
    return int(answer.json()["issue"]["id"])


def test_find_shows_what_the_person_may_see(
    client: FlaskClient, emulator: Any, channel: str, seeded: dict[str, int]
) -> None:
    mine = slash(client, emulator, "alice", "find Seeded", channel)["text"]
    theirs = slash(client, emulator, "carol", "find Seeded", channel)["text"]
    for issue in seeded.values():
        assert f"/issues/{issue})" in mine
    assert f"/issues/{seeded['public']})" in theirs
    assert f"/issues/{seeded['secret']})" not in theirs and f"/issues/{seeded['private']})" not in theirs
    assert theirs.startswith("1 ticket matches") and mine.startswith("3 tickets match")


def test_find_pages_with_more_and_finds_words_in_descriptions(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    word = "zq" + uuid.uuid4().hex[:8]
    made = [create(redmine, "alice", f"Printer {word} {n}") for n in range(11)]
    made.append(create(redmine, "alice", "A plain subject", description=f"The {word} is in the description"))
    first = slash(client, emulator, "bob", f"find {word}", channel)
    assert first["text"].startswith(f"12 tickets match “{word}”; 1 to 10:")
    [more] = [a for a in first["attachments"][0]["actions"] if a["name"] == "More"]
    # The next page takes the place of the first, in the same post (a step behind a button replaces its post).
    second = click(client, emulator, "bob", channel, more).get_json()["update"]["message"]
    assert second.startswith(f"12 tickets match “{word}”; 11 to 12:")
    shown = {int(part.split(")")[0]) for part in (first["text"] + second).split("/issues/")[1:]}
    assert shown == set(made)
    assert refused_click(click(client, emulator, "carol", channel, more))  # signed for bob alone


def test_find_with_nothing_to_look_for_says_how(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert "Give words to look for" in slash(client, emulator, "alice", "find", channel)["text"]
    assert "No ticket you may see matches" in slash(client, emulator, "alice", "find qqnothingqq", channel)["text"]


def test_queries_and_a_query_by_name_or_number(
    client: FlaskClient, emulator: Any, channel: str, bridge: Bridge
) -> None:
    hers = slash(client, emulator, "alice", "queries", channel)["text"]
    assert "Open bugs in demo" in hers and "Mine, any status" in hers
    theirs = slash(client, emulator, "carol", "queries", channel)["text"]
    assert "Open bugs in demo" in theirs and "Mine, any status" not in theirs  # alice's own stays hers

    answer = slash(client, emulator, "alice", "tickets_for_me mine, ANY", channel)["text"]
    assert "Your query “Mine, any status”" in answer and "direct message" in answer
    dm = emulator.dm_posts("alice")[-1]
    table = dm["props"]["attachments"][0]["text"]
    assert "Seeded: private issue in demo" in table and "Seeded: issue in the private project" in table

    number = next(q.id for q in bridge.services.finder.saved_queries("alice") if q.name == "Open bugs in demo")
    by_number = slash(client, emulator, "carol", f"my_tickets {number}", channel)["text"]
    assert "Open bugs in demo" in by_number
    refused = slash(client, emulator, "carol", "tickets_for_me Mine, any status", channel)["text"]
    assert "No saved query of yours is “Mine, any status”" in refused and "Open bugs in demo" in refused
