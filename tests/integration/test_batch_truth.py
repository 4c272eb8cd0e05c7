"""Under load every answer matches what Redmine holds: 2 x 50 `create_tickets` at once, against the real Redmine.

A line the answer calls created exists once; a line it calls not created does not exist; a line it says may
have been created exists at most once. No line is ever created twice."""

from __future__ import annotations

import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from app_integration.adapters.runtime.wiring import build_bridge
from app_integration.core.commands.ticket_batch import create_batch
from app_integration.core.errors import BridgeError
from app_integration.core.models import CommandContext
from tests.conftest import RedmineInfo, both_redmines, bridge_settings, issues_matching


@pytest.fixture(params=["webrick-sqlite", "puma-postgresql"])
def redmine(request: pytest.FixtureRequest) -> RedmineInfo:
    """Concurrency decides these tests' truth: they run on SQLite under WEBrick, one write at a time, and on
    PostgreSQL under Puma, where creates truly overlap."""
    return both_redmines(request)


LINES = 50


def settled(redmine: RedmineInfo, text: str) -> list[dict[str, Any]]:
    """What Redmine holds, once it answers again: a SQLite Redmine under this load may stall for a while."""
    deadline = time.monotonic() + 90
    while True:
        try:
            return issues_matching(redmine, text)
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_two_parallel_batches_answer_exactly_what_redmine_holds(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path
) -> None:
    bridge = build_bridge(
        bridge_settings(
            redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path, redmine_read_timeout=5.0
        ),
        None,
    )
    bridge.users.sync_map(bridge.chat)
    tags = [uuid.uuid4().hex[:8] for _ in range(2)]
    answers: dict[str, str] = {}

    def run(who: str, tag: str) -> None:
        user = bridge.chat.user(emulator.user(who)["id"])
        assert user is not None
        lines = "\n".join(f"{n}. Load {tag} {n:02d} @bob" for n in range(1, LINES + 1))
        try:
            answers[tag] = create_batch(bridge.services, CommandContext(user, "", "slash"), "demo", lines).text
        except BridgeError as error:
            answers[tag] = error.user_message

    threads = [threading.Thread(target=run, args=(who, tag)) for who, tag in zip(("alice", "carol"), tags, strict=True)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=110)
    assert sorted(answers) == sorted(tags), f"a batch gave no answer within {time.monotonic() - started:.0f} s"
    firsts = [answer.splitlines()[0][:80] for answer in answers.values()]
    print(f"two batches of {LINES} answered in {time.monotonic() - started:.1f} s: {firsts}")
    time.sleep(2)  # a create that went unanswered lands by now, if it ever will
    for tag in tags:
        held: dict[str, int] = {}
        for issue in settled(redmine, f"Load {tag}"):
            held[issue["subject"]] = held.get(issue["subject"], 0) + 1
        assert all(count == 1 for count in held.values()), f"created twice: {held}"
        answer = answers[tag]
        said_created = set(re.findall(rf"(Load {tag} \d\d)", answer.split("Not created")[0]))
        unknown = set(re.findall(rf"\((Load {tag} \d\d)\) may have been created", answer))
        said_created -= unknown
        assert said_created <= set(held), f"said created, but missing: {sorted(said_created - set(held))}"
        not_created = set(re.findall(rf": (Load {tag} \d\d) \(@bob\)", answer.split("Not created")[-1]))
        if "Not created" in answer:
            assert not (not_created & set(held)), f"said not created, but there: {sorted(not_created & set(held))}"
        assert set(held) <= said_created | unknown, f"there, but the answer does not say so: {answer[:300]}"
    recovered(redmine)


def recovered(redmine: RedmineInfo) -> None:
    """Leaves the shared Redmine as it found it: answering at once again, for the tests that follow."""
    deadline = time.monotonic() + 120
    quick = 0
    while quick < 3 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            settled(redmine, "no such subject")
            quick = quick + 1 if time.monotonic() - started < 1.0 else 0
        except requests.RequestException:
            quick = 0
        time.sleep(0.5)
