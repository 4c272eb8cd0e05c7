"""The listener end to end: the emulator's websocket and REST, and the real Redmine.

Every test runs twice, with a bot in either role (see listener_support)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from tests.conftest import RedmineInfo, issues_matching
from tests.integration.listener_support import (
    linked,
    message_of,
    replies_to,
    rewrites,
    start,
    town,
)
from tests.metric_samples import sample
from tests.waiting import wait_for

pytestmark = pytest.mark.usefixtures("bot_role")


def test_a_channel_post_gets_links_for_what_its_author_can_see(
    listener: PostListener, emulator: Any, redmine: RedmineInfo, seeded: dict[str, int]
) -> None:
    text = f"look at #t{seeded['public']} and #t{seeded['secret']} and #t{seeded['private']} and #t999999"
    post = emulator.post_as("bob", town(emulator), text)
    wait_for(lambda: linked(emulator, post["id"], seeded["public"]))
    shown = message_of(emulator, post["id"]) + "\n".join(replies_to(emulator, post["id"]))
    assert f"[#t{seeded['public']}]({redmine.url}/issues/{seeded['public']})" in shown
    for hidden in (seeded["secret"], seeded["private"], 999999):
        assert f"[#t{hidden}]" not in shown
    patches = [r for r in emulator.requests if r.method == "PUT" and post["id"] in r.path]
    if rewrites(emulator):
        notice = wait_for(lambda: [e for e in emulator.ephemerals if e["user_id"] == emulator.user("bob")["id"]])
        assert notice[-1]["post"]["message"].startswith(f"#t{seeded['secret']}, #t{seeded['private']}, #t999999:")
        assert len(patches) == 1
    else:  # the notice is refused: the author hears nothing, and nothing of it reaches the channel
        assert emulator.ephemerals == [] and patches == []
        assert not any("cannot see" in p["message"] for p in emulator.posts_in(town(emulator)))


def test_code_links_and_urls_are_left_alone(
    listener: PostListener, emulator: Any, seeded: dict[str, int], redmine: RedmineInfo
) -> None:
    n = seeded["public"]
    text = f"`#t{n}` and\n```\n#t{n}\n```\nhttp://example.org/#t{n} [#t{n}](http://x/issues/{n}) plain #t{n}"
    post = emulator.post_as("alice", town(emulator), text)
    # The text already holds a link to n, so wait for the change itself.
    wait_for(lambda: message_of(emulator, post["id"]).endswith(")") or replies_to(emulator, post["id"]))
    if not rewrites(emulator):
        assert replies_to(emulator, post["id"]) == [f"[#t{n}]({redmine.url}/issues/{n})"]
        return
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
    assert replies_to(emulator, own["id"]) == []
    assert message_of(emulator, elsewhere["id"]).startswith("#t")


def test_an_unmapped_author_hears_once(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    erin = emulator.user("erin")
    for _ in range(3):
        emulator.post_as("erin", town(emulator), f"#t{seeded['public']}")
    marker = emulator.post_as("alice", town(emulator), f"#t{seeded['public']}")
    wait_for(lambda: linked(emulator, marker["id"], seeded["public"]))
    wait_for(lambda: listener.events.empty() and listener.handled >= 4)
    notices = [e for e in emulator.ephemerals if e["user_id"] == erin["id"]]
    if rewrites(emulator):
        assert len(notices) == 1 and "linked to Redmine" in notices[0]["post"]["message"]
    else:
        assert notices == []
    assert not any("linked to Redmine" in p["message"] for p in emulator.posts_in(town(emulator)))


def test_a_dm_with_refs_gets_links_in_the_dm(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    dm = emulator.direct_channel(emulator.bot["id"], emulator.user("bob")["id"])
    post = emulator.post_as("bob", dm["id"], f"what is #t{seeded['public']}?")
    wait_for(lambda: linked(emulator, post["id"], seeded["public"]))
    # As the original bridge did, the DM itself is edited where the bot may; a plain bot answers instead.
    assert (f"[#t{seeded['public']}](" in message_of(emulator, post["id"])) == rewrites(emulator)


def test_dm_commands_are_answered_in_the_dm(listener: PostListener, emulator: Any, bridge_tag: str) -> None:
    dm = emulator.direct_channel(emulator.bot["id"], emulator.user("carol")["id"])

    def bot_posts() -> list[dict[str, Any]]:
        return [p for p in emulator.posts_in(dm["id"]) if p["user_id"] == emulator.bot["id"]]

    created = {"command": "create_tickets", "surface": "dm", "outcome": "ok"}
    before = sample("bridge_commands_total", **created)
    emulator.post_as("carol", dm["id"], "help")
    wait_for(lambda: any("| `tickets_for_me [saved query]` |" in p["message"] for p in bot_posts()))
    emulator.post_as("carol", dm["id"], f"create_tickets ops\n1. From a DM {bridge_tag} @carol 01.03.27")
    table = wait_for(lambda: [p for p in bot_posts() if "created a ticket for @carol" in p["message"]])
    assert "/issues/" in table[-1]["props"]["attachments"][0]["text"]
    wait_for(lambda: sample("bridge_commands_total", **created) == before + 1)  # counted once the reply is out
    emulator.post_as("carol", dm["id"], "tickets_for_me")
    wait_for(lambda: any("Open tickets assigned to you" in p["message"] for p in bot_posts()))
    emulator.post_as("carol", dm["id"], "what is this")
    wait_for(lambda: any("I did not understand" in p["message"] for p in bot_posts()))


@pytest.fixture
def bridge_tag() -> str:
    return f"t{int(time.time() * 1000) % 10**8}"


def test_rewrite_falls_back_to_a_thread_reply_without_permission(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    emulator.bot["roles"] = "system_user"
    listener, _ = start(redmine, emulator, tmp_path, link_mode="rewrite")
    try:
        posts = [emulator.post_as("alice", town(emulator), f"see {n} #t{seeded['public']}") for n in range(3)]
        for post in posts:
            wait_for(lambda post=post: replies_to(emulator, post["id"]))
            assert f"[#t{seeded['public']}](" in replies_to(emulator, post["id"])[0]
            assert message_of(emulator, post["id"]).startswith("see ")
        refused = [r for r in emulator.requests if r.method == "PUT" and r.status == 403]
        assert len(refused) == 1  # the channel is remembered: one refusal, not one per post
    finally:
        listener.stop()


def test_a_webhook_post_acts_for_no_one(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    """A webhook's sender_name is its override_username: bob's hook posting as "alice" must not act as alice,
    who can see the private project. Nor may any event's sender_name name the author."""
    secret = f"#t{seeded['secret']}"
    hook = emulator.post_as("bob", town(emulator), secret, props={"from_webhook": "true", "override_username": "alice"})
    forged = emulator.post_as("bob", town(emulator), secret, sender_name="alice")
    marker = emulator.post_as("alice", town(emulator), f"marker #t{seeded['public']}")
    wait_for(lambda: linked(emulator, marker["id"], seeded["public"]))
    wait_for(lambda: listener.events.empty() and listener.handled >= 3)
    for post in (hook, forged):
        assert not linked(emulator, post["id"], seeded["secret"])
        assert "Seeded: issue in the private project" not in str(emulator.posts_in(town(emulator)))


def test_a_webhook_in_the_bots_dm_creates_nothing(
    listener: PostListener, emulator: Any, bridge_tag: str, redmine: RedmineInfo
) -> None:

    dm = emulator.direct_channel(emulator.bot["id"], emulator.user("bob")["id"])
    handled = listener.handled
    text = f"create_tickets secret\n1. Webhook {bridge_tag} @alice"
    emulator.post_as("bob", dm["id"], text, props={"from_webhook": "true", "override_username": "alice"})
    emulator.post_as("bob", dm["id"], text, sender_name="alice")  # a forged sender_name on a plain post
    wait_for(lambda: listener.events.empty() and listener.handled >= handled + 2)
    assert issues_matching(redmine, bridge_tag) == []


def test_reply_mode_and_subjects_never_leak_private_issues(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    listener, _ = start(redmine, emulator, tmp_path, link_mode="reply", link_show_subject=True)
    try:
        refs = f"#t{seeded['public']} #t{seeded['private']} #t{seeded['secret']}"
        post = emulator.post_as("alice", town(emulator), refs)
        reply = wait_for(lambda: replies_to(emulator, post["id"]))
        text = reply[0]["message"] if isinstance(reply[0], dict) else reply[0]
        assert "Seeded: public issue in demo" in text
        assert f"[#t{seeded['private']}](" in text and "Seeded: private issue" not in text
        # Not private, but in a private project: a channel never gets its subject either.
        assert f"[#t{seeded['secret']}](" in text and "Seeded: issue in the private project" not in text
        assert message_of(emulator, post["id"]) == refs
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


def test_a_post_past_the_edit_time_limit_gets_a_reply_and_the_channel_stays_editable(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    emulator.post_edit_time_limit = 0  # every post is already too old to edit
    late = emulator.post_as("alice", town(emulator), f"late #t{seeded['public']}")
    wait_for(lambda: replies_to(emulator, late["id"]))
    emulator.post_edit_time_limit = -1
    fresh = emulator.post_as("alice", town(emulator), f"fresh #t{seeded['public']}")
    wait_for(lambda: linked(emulator, fresh["id"], seeded["public"]))
    assert (f"[#t{seeded['public']}](" in message_of(emulator, fresh["id"])) == rewrites(emulator)


def test_a_post_the_links_would_make_too_long_gets_a_reply(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    text = f"#t{seeded['public']} " + "x" * 16_370  # fits; with its link, it would not
    post = emulator.post_as("alice", town(emulator), text)
    wait_for(lambda: replies_to(emulator, post["id"]))
    assert message_of(emulator, post["id"]) == text
    assert not [r for r in emulator.requests if r.method == "PUT" and r.status == 400]
