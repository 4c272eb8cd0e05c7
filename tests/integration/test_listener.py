"""The listener end to end: the emulator's websocket and REST, and the real Redmine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.listener.post_listener import PostListener
from app_integration.adapters.listener.websocket_client import Backoff
from app_integration.adapters.wiring import Bridge, build_bridge
from mattermost_server.emulator import wait_for
from tests.conftest import RedmineInfo, bridge_settings

FAST = Backoff(first=0.05, most=0.2)


def start(redmine: RedmineInfo, emulator: Any, tmp_path: Path, **overrides: Any) -> tuple[PostListener, Bridge]:
    settings = bridge_settings(
        redmine.url,
        redmine.admin_key,
        emulator.url,
        emulator.bot_token,
        tmp_path,
        mattermost_websocket_url=emulator.websocket_url,
        **overrides,
    )
    bridge = build_bridge(settings, None)
    listener = PostListener(bridge, emulator.websocket_url, backoff=FAST).start()
    wait_for(emulator.connected)
    return listener, bridge


@pytest.fixture
def listener(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> Iterator[PostListener]:
    running, _ = start(redmine, emulator, tmp_path)
    yield running
    running.stop()


def town(emulator: Any) -> str:
    return next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")


def message_of(emulator: Any, post_id: str) -> str:
    return str(emulator.posts[post_id]["message"])


def linked(emulator: Any, post_id: str, issue_id: int) -> bool:
    return f"[#t{issue_id}](" in message_of(emulator, post_id)


def test_a_channel_post_gets_links_for_what_its_author_can_see(
    listener: PostListener, emulator: Any, redmine: RedmineInfo, seeded: dict[str, int]
) -> None:
    text = f"look at #t{seeded['public']} and #t{seeded['secret']} and #t{seeded['private']} and #t999999"
    post = emulator.post_as("bob", town(emulator), text)
    wait_for(lambda: linked(emulator, post["id"], seeded["public"]))
    message = message_of(emulator, post["id"])
    assert f"[#t{seeded['public']}]({redmine.url}/issues/{seeded['public']})" in message
    for hidden in (seeded["secret"], seeded["private"], 999999):
        assert f"#t{hidden}" in message and f"[#t{hidden}]" not in message
    notice = wait_for(lambda: [e for e in emulator.ephemerals if e["user_id"] == emulator.user("bob")["id"]])
    assert notice[-1]["post"]["message"].startswith(f"#t{seeded['secret']}, #t{seeded['private']}, #t999999:")
    patches = [r for r in emulator.requests if r.method == "PUT" and post["id"] in r.path]
    assert len(patches) == 1


def test_code_links_and_urls_are_left_alone(
    listener: PostListener, emulator: Any, seeded: dict[str, int], redmine: RedmineInfo
) -> None:
    n = seeded["public"]
    text = f"`#t{n}` and\n```\n#t{n}\n```\nhttp://example.org/#t{n} [#t{n}](http://x/issues/{n}) plain #t{n}"
    post = emulator.post_as("alice", town(emulator), text)
    wait_for(lambda: message_of(emulator, post["id"]).endswith(")"))
    message = message_of(emulator, post["id"])
    assert message.startswith(f"`#t{n}` and\n```\n#t{n}\n```\nhttp://example.org/#t{n} [#t{n}](http://x/issues/{n}) ")
    assert message.endswith(f"plain [#t{n}]({redmine.url}/issues/{n})")


def test_a_thread_reply_is_linked(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    root = emulator.post_as("alice", town(emulator), "a thread")
    reply = emulator.post_as("bob", town(emulator), f"fixed in #t{seeded['public']}", root_id=root["id"])
    wait_for(lambda: linked(emulator, reply["id"], seeded["public"]))


def test_the_bots_own_posts_and_other_channels_are_ignored(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    channel = town(emulator)
    own = emulator._create_post(emulator.bot["id"], channel, f"#t{seeded['public']} by the bot", "", {})
    off = next(c["id"] for c in emulator.channels.values() if c["name"] == "off-topic")
    elsewhere = emulator.post_as("alice", off, f"#t{seeded['public']} where the bot is not")
    marker = emulator.post_as("alice", channel, f"marker #t{seeded['public']}")
    wait_for(lambda: linked(emulator, marker["id"], seeded["public"]))
    assert message_of(emulator, own["id"]) == f"#t{seeded['public']} by the bot"
    assert message_of(emulator, elsewhere["id"]).startswith("#t")


def test_an_unmapped_author_hears_once(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    erin = emulator.user("erin")
    for _ in range(3):
        emulator.post_as("erin", town(emulator), f"#t{seeded['public']}")
    marker = emulator.post_as("alice", town(emulator), f"#t{seeded['public']}")
    wait_for(lambda: linked(emulator, marker["id"], seeded["public"]))
    wait_for(lambda: listener.events.empty() and listener.handled >= 4)
    notices = [e for e in emulator.ephemerals if e["user_id"] == erin["id"]]
    assert len(notices) == 1 and "linked to Redmine" in notices[0]["post"]["message"]


def test_a_dm_with_refs_gets_links_in_the_dm(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    dm = emulator.direct_channel(emulator.bot["id"], emulator.user("bob")["id"])
    emulator.post_as("bob", dm["id"], f"what is #t{seeded['public']}?")
    reply = wait_for(lambda: [p for p in emulator.posts_in(dm["id"]) if p["user_id"] == emulator.bot["id"]])
    assert f"[#t{seeded['public']}](" in reply[-1]["message"]


def test_dm_commands_are_answered_in_the_dm(listener: PostListener, emulator: Any, bridge_tag: str) -> None:
    dm = emulator.direct_channel(emulator.bot["id"], emulator.user("carol")["id"])

    def bot_posts() -> list[dict[str, Any]]:
        return [p for p in emulator.posts_in(dm["id"]) if p["user_id"] == emulator.bot["id"]]

    emulator.post_as("carol", dm["id"], "help")
    wait_for(lambda: any("| `tickets_for_me` |" in p["message"] for p in bot_posts()))
    emulator.post_as("carol", dm["id"], f"create_tickets ops\n1. From a DM {bridge_tag} @carol 01.03.27")
    table = wait_for(lambda: [p for p in bot_posts() if "created ticket(s) for @carol" in p["message"]])
    assert "/issues/" in table[-1]["props"]["attachments"][0]["text"]
    emulator.post_as("carol", dm["id"], "tickets_for_me")
    wait_for(lambda: any("Open tickets assigned to you" in p["message"] for p in bot_posts()))
    emulator.post_as("carol", dm["id"], "what is this")
    wait_for(lambda: any("I did not understand" in p["message"] for p in bot_posts()))


@pytest.fixture
def bridge_tag() -> str:
    return f"t{int(time.time() * 1000) % 10**8}"


def test_rewrite_falls_back_to_a_thread_reply_without_permission(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    emulator.bot_may_edit_others = False
    post = emulator.post_as("alice", town(emulator), f"see #t{seeded['public']}")
    reply = wait_for(lambda: [p for p in emulator.posts_in(town(emulator)) if p["root_id"] == post["id"]])
    assert f"[#t{seeded['public']}](" in reply[0]["message"]
    assert message_of(emulator, post["id"]) == f"see #t{seeded['public']}"


def test_reply_mode_and_subjects_never_leak_private_issues(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    listener, _ = start(redmine, emulator, tmp_path, link_mode="reply", link_show_subject=True)
    try:
        post = emulator.post_as("alice", town(emulator), f"#t{seeded['public']} #t{seeded['private']}")
        reply = wait_for(lambda: [p for p in emulator.posts_in(town(emulator)) if p["root_id"] == post["id"]])
        text = reply[0]["message"]
        assert "Seeded: public issue in demo" in text
        assert f"[#t{seeded['private']}](" in text and "Seeded: private issue" not in text
        assert message_of(emulator, post["id"]) == f"#t{seeded['public']} #t{seeded['private']}"
    finally:
        listener.stop()


def test_edits_are_linked_when_the_setting_allows(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    listener, _ = start(redmine, emulator, tmp_path, link_on_edit=True)
    try:
        post = emulator.post_as("alice", town(emulator), "no refs yet")
        emulator.edit_as(post["id"], f"now #t{seeded['public']}")
        wait_for(lambda: linked(emulator, post["id"], seeded["public"]))
    finally:
        listener.stop()


def test_no_post_is_missed_across_an_outage(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    first = listener.stream.connects
    with emulator.outage():
        during = [
            emulator.post_as("alice", town(emulator), f"during outage {n} #t{seeded['public']}") for n in range(5)
        ]
        time.sleep(0.3)
    for post in during:
        wait_for(lambda post=post: linked(emulator, post["id"], seeded["public"]))
    assert listener.stream.connects > first


def test_a_lost_replay_buffer_is_backfilled_over_rest(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    connection = listener.stream.position.connection_id
    with emulator.outage():
        noise = [emulator.post_as("bob", town(emulator), f"noise {n}") for n in range(140)]
        missed = emulator.post_as("alice", town(emulator), f"after the buffer #t{seeded['public']}")
    wait_for(lambda: linked(emulator, missed["id"], seeded["public"]))
    assert listener.stream.position.connection_id != connection
    assert len(noise) > 128


def test_a_restart_resumes_from_the_store(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    listener, _ = start(redmine, emulator, tmp_path)
    warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
    wait_for(lambda: linked(emulator, warm["id"], seeded["public"]))
    listener.stop()
    saved = listener.stream.position
    emulator.disconnect_all()
    while_down = emulator.post_as("alice", town(emulator), f"while stopped #t{seeded['public']}")
    again, _ = start(redmine, emulator, tmp_path)
    try:
        wait_for(lambda: linked(emulator, while_down["id"], seeded["public"]))
        assert again.stream.position.connection_id == saved.connection_id  # resumed, not a new connection
    finally:
        again.stop()
