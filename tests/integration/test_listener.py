"""The listener end to end: the emulator's websocket and REST, and the real Redmine.

Every test runs twice: with a bot that is a system admin (LINK_MODE=rewrite edits posts), and with a
plain `system_user` bot (LINK_MODE=reply), which may not edit others' posts or post ephemeral notices."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.mattermost.posts.websocket_client import Backoff
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from mattermost_server.emulator import wait_for
from tests.conftest import RedmineInfo, bridge_settings, issues_matching
from tests.metric_samples import sample

FAST = Backoff(first=0.05, most=0.2)
ROLES = {"admin": ("system_user system_admin", "rewrite"), "plain": ("system_user", "reply")}


@pytest.fixture(params=sorted(ROLES), autouse=True)
def bot_role(request: pytest.FixtureRequest, emulator: Any) -> Iterator[str]:
    role: str = request.param
    emulator.bot["roles"] = ROLES[role][0]
    yield role
    refused = [(r.method, r.path) for r in emulator.requests if r.status == 403]
    assert len(refused) == len(set(refused)) and len([p for _, p in refused if p.endswith("/ephemeral")]) <= 1, (
        f"a request was refused more than once: {refused}"
    )


def start(redmine: RedmineInfo, emulator: Any, tmp_path: Path, **overrides: Any) -> tuple[PostListener, Bridge]:
    role = next(name for name, (roles, _) in ROLES.items() if roles == emulator.bot["roles"])
    overrides.setdefault("link_mode", ROLES[role][1])
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


def replies_to(emulator: Any, post_id: str) -> list[str]:
    post = emulator.posts[post_id]
    thread = post["root_id"] or post_id
    return [
        p["message"]
        for p in emulator.posts_in(post["channel_id"])
        if p["user_id"] == emulator.bot["id"] and p["root_id"] == thread
    ]


def linked(emulator: Any, post_id: str, issue_id: int) -> bool:
    """The reference became a link: in the post itself (rewrite), or in the bot's reply in its thread."""
    link = f"[#t{issue_id}]("
    return link in message_of(emulator, post_id) or any(link in text for text in replies_to(emulator, post_id))


def rewrites(emulator: Any) -> bool:
    return "system_admin" in emulator.bot["roles"]


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
    wait_for(lambda: any("| `tickets_for_me` |" in p["message"] for p in bot_posts()))
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


OVERFLOW = 260  # web_conn.go sendQueueSize is 256: one more event while away, and the connection is removed


def link_count(emulator: Any, post_id: str, issue_id: int) -> int:
    """How often the bot linked the reference: in the post itself, plus each reply of its in the thread."""
    link = f"[#t{issue_id}]("
    return message_of(emulator, post_id).count(link) + sum(link in text for text in replies_to(emulator, post_id))


def test_a_lost_connection_is_backfilled_over_rest(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    """More events while away than the server's active queue holds: the connection is removed, the resume gets
    a new connection id and a hello (web_hub.go, web_conn.go writePump), and the gap comes over REST."""
    warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
    wait_for(lambda: linked(emulator, warm["id"], seeded["public"]))
    connection = listener.stream.position.connection_id
    fresh, backfilled = (
        sample("bridge_listener_resumes_total", how="fresh"),
        sample("bridge_listener_backfilled_posts_total"),
    )
    with emulator.outage():
        noise = [emulator.post_as("bob", town(emulator), f"noise {n}") for n in range(OVERFLOW)]
        missed = emulator.post_as("alice", town(emulator), f"after the queue #t{seeded['public']}")
    wait_for(lambda: linked(emulator, missed["id"], seeded["public"]))
    assert listener.stream.position.connection_id != connection
    assert emulator.hub.registrations[-1] == "fresh"
    assert len(noise) > 256 and link_count(emulator, missed["id"], seeded["public"]) == 1
    assert sample("bridge_listener_resumes_total", how="fresh") == fresh + 1
    assert sample("bridge_listener_backfilled_posts_total") >= backfilled + len(noise) + 1


def test_a_restart_starts_a_fresh_connection_and_backfills(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    """A new process never resumes the old one's connection: it connects afresh and backfills from the last
    post handled, which the store keeps. Posts made while it was stopped are linked, once."""
    listener, _ = start(redmine, emulator, tmp_path)
    warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
    wait_for(lambda: linked(emulator, warm["id"], seeded["public"]))
    listener.stop()
    before = listener.stream.position.connection_id
    while_down = [
        emulator.post_as("alice", town(emulator), f"while stopped {n} #t{seeded['public']}") for n in range(3)
    ]
    again, _ = start(redmine, emulator, tmp_path)
    try:
        for post in while_down:
            wait_for(lambda post=post: linked(emulator, post["id"], seeded["public"]))
        wait_for(lambda: again.backfilled >= 4 and again.events.empty())
        assert again.stream.position.connection_id != before
        assert emulator.hub.registrations[-1] == "fresh"
        for post in [warm, *while_down]:
            assert link_count(emulator, post["id"], seeded["public"]) == 1
    finally:
        again.stop()


def test_a_subject_with_mentions_and_links_reaches_the_channel_inert(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path
) -> None:
    import requests

    subject = f"@channel @all see [here](http://evil.example) {time.time_ns()}"
    created = requests.post(
        f"{redmine.url}/issues.json",
        json={"issue": {"project_id": "demo", "subject": subject}},
        headers={"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": "alice"},
        timeout=10,
    ).json()["issue"]
    listener, _ = start(redmine, emulator, tmp_path, link_mode="reply", link_show_subject=True)
    try:
        post = emulator.post_as("alice", town(emulator), f"#t{created['id']}")
        [reply] = wait_for(lambda: replies_to(emulator, post["id"]))
        assert f"[#t{created['id']} " in reply
        assert "@channel" not in reply and "@all" not in reply
        assert "\\[here\\](http:\u200b//evil" in reply  # shown as text, not a live link
        assert "://" not in reply.replace(redmine.url, "")  # no bare URL of Redmine's text comes alive
    finally:
        listener.stop()


def test_a_reconnect_resumes_because_the_upgrade_carries_the_token(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    """The server resumes only a connection authenticated at the upgrade (api4/websocket.go), and a resume gets
    no hello: the missed events come first (web_hub.go: hello only when reuseCount is 0)."""
    warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
    wait_for(lambda: linked(emulator, warm["id"], seeded["public"]))
    connection = listener.stream.position.connection_id
    reconnects, resumed = (
        sample("bridge_listener_reconnects_total"),
        sample("bridge_listener_resumes_total", how="resumed"),
    )
    with emulator.outage():
        missed = emulator.post_as("alice", town(emulator), f"in the gap #t{seeded['public']}")
    wait_for(lambda: linked(emulator, missed["id"], seeded["public"]))
    assert listener.stream.position.connection_id == connection  # resumed, not backfilled
    assert emulator.hub.registrations[-1] in ("replayed", "lossless") and listener.stream.resumes >= 1
    assert emulator.upgrade_auth and all(emulator.upgrade_auth)
    assert link_count(emulator, missed["id"], seeded["public"]) == 1
    assert sample("bridge_listener_reconnects_total") == reconnects + 1
    assert sample("bridge_listener_resumes_total", how="resumed") == resumed + 1


def test_a_quiet_resume_gets_nothing_and_keeps_listening(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    """Nothing missed: the server sends nothing at all on the resume (writePump's lossless case). The bridge
    must not take the silence for a closed socket."""
    warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
    wait_for(lambda: linked(emulator, warm["id"], seeded["public"]))
    connection, connects = listener.stream.position.connection_id, listener.stream.connects
    listening = listener.stream.listening
    emulator.disconnect_all()
    wait_for(lambda: listener.stream.connects > connects and emulator.connected())
    # The marker: the new socket got past its first moment (a silent one gets the challenge, which the server
    # leaves unanswered on an authenticated socket); a client that took the silence for a closed socket would
    # have left instead.
    wait_for(lambda: listener.stream.listening > listening, timeout=10)
    assert emulator.hub.registrations[-1] == "lossless"
    after = emulator.post_as("alice", town(emulator), f"after #t{seeded['public']}")
    wait_for(lambda: linked(emulator, after["id"], seeded["public"]))
    assert listener.stream.connects == connects + 1  # one reconnect, not a loop
    assert listener.stream.position.connection_id == connection


@pytest.mark.parametrize("seconds", [6, 35])
def test_an_outage_loses_no_post_and_links_none_twice(
    listener: PostListener, emulator: Any, seeded: dict[str, int], seconds: int
) -> None:
    """A 6 s outage resumes from the dead queue; in a 35 s one the server reaps the inactive connection (here
    after 30 s; web_hub.go's reaper), so the bridge gets a fresh one and backfills over REST."""
    emulator.hub.stale_after = 30.0
    warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
    wait_for(lambda: linked(emulator, warm["id"], seeded["public"]))
    posts = []
    with emulator.outage():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(posts) < 200:
            posts.append(emulator.post_as("alice", town(emulator), f"down {len(posts)} #t{seeded['public']}"))
            time.sleep(1.0)
    posts += [emulator.post_as("alice", town(emulator), f"up {n} #t{seeded['public']}") for n in range(3)]
    for post in posts:
        wait_for(lambda post=post: linked(emulator, post["id"], seeded["public"]), timeout=30)
    # A short outage is resumed with no hello: events made while away wait in the active queue ("lossless"), or
    # were written to the dying socket and come again from the dead queue ("replayed"). A long one was reaped.
    assert emulator.hub.registrations[-1] in (("fresh",) if seconds > 30 else ("lossless", "replayed"))
    assert [link_count(emulator, p["id"], seeded["public"]) for p in posts] == [1] * len(posts)


def test_many_drops_lose_nothing(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    """100 posts with four drops among them, as seen in production: every post linked, once."""
    posts = []
    for n in range(100):
        if n % 25 == 12:
            emulator.disconnect_all()
        posts.append(emulator.post_as("alice", town(emulator), f"burst {n} #t{seeded['public']}"))
    for post in posts:
        wait_for(lambda post=post: linked(emulator, post["id"], seeded["public"]), timeout=30)
    assert [link_count(emulator, p["id"], seeded["public"]) for p in posts] == [1] * 100


def test_a_proxy_that_drops_the_header_still_gets_the_challenge(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    emulator.strip_upgrade_auth = True
    listener, _ = start(redmine, emulator, tmp_path)
    try:
        post = emulator.post_as("alice", town(emulator), f"via challenge #t{seeded['public']}")
        wait_for(lambda: linked(emulator, post["id"], seeded["public"]))
        assert emulator.upgrade_auth[-1] is False
    finally:
        listener.stop()


def test_a_token_revoked_while_running_stops_the_stream(listener: PostListener, emulator: Any) -> None:
    token = emulator.bot_token
    with emulator.lock:
        emulator.tokens.pop(token)
    emulator.disconnect_all()
    wait_for(lambda: listener.refused, timeout=20)
    connects = listener.stream.connects
    stream = next(t for t in listener._threads if t.name == "ws")
    wait_for(lambda: not stream.is_alive(), timeout=10)  # the stream gave up: nothing is left to reconnect
    assert listener.stream.connects == connects  # no silent retry for ever


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


def test_deleted_posts_are_not_backfilled(listener: PostListener, emulator: Any, seeded: dict[str, int]) -> None:
    warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
    wait_for(lambda: linked(emulator, warm["id"], seeded["public"]))
    connection = listener.stream.position.connection_id
    with emulator.outage():
        [emulator.post_as("bob", town(emulator), f"noise {n}") for n in range(OVERFLOW)]
        gone = emulator.post_as("alice", town(emulator), f"deleted #t{seeded['public']}")
        emulator.delete_post(gone["id"])
        kept = emulator.post_as("alice", town(emulator), f"kept #t{seeded['public']}")
    wait_for(lambda: linked(emulator, kept["id"], seeded["public"]))
    assert listener.stream.position.connection_id != connection
    assert replies_to(emulator, gone["id"]) == [] and message_of(emulator, gone["id"]).startswith("deleted #t")


def test_a_takeover_answers_each_post_once_and_the_old_term_nothing(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    """The old leader froze past its lease and woke with events still queued; the new one started a fresh
    connection and backfilled. Every post is answered once: the old term's claims are fenced out."""
    from app_integration.adapters.store.leadership import Leadership

    old_listener, bridge = start(redmine, emulator, tmp_path)
    old_listener.stop()  # frozen: it hears nothing for now
    old_lead = Leadership(bridge.store.engine, "listener", lease_seconds=0.3)
    assert old_lead.try_acquire()
    settings = bridge.settings
    old = PostListener(bridge, emulator.websocket_url, backoff=FAST, fence=old_lead.fence()).start()
    wait_for(lambda: old.stream.position.connection_id)
    handled = emulator.post_as("alice", town(emulator), f"before the freeze #t{seeded['public']}")
    wait_for(lambda: linked(emulator, handled["id"], seeded["public"]))
    time.sleep(0.4)  # the lease runs out while it is frozen
    new_lead = Leadership(build_bridge(settings, None).store.engine, "listener", lease_seconds=0.3)
    assert new_lead.try_acquire() and new_lead.epoch == old_lead.epoch + 1
    late = emulator.post_as("alice", town(emulator), f"heard by both #t{seeded['public']}")
    wait_for(lambda: old.fenced)  # the old term heard it, and its claim was refused
    new = PostListener(bridge, emulator.websocket_url, backoff=FAST, fence=new_lead.fence()).start()
    try:
        wait_for(lambda: linked(emulator, late["id"], seeded["public"]))
        wait_for(lambda: new.backfilled >= 2 and new.events.empty())
        assert link_count(emulator, late["id"], seeded["public"]) == 1
        assert link_count(emulator, handled["id"], seeded["public"]) == 1
    finally:
        new.stop()
        old.stop()


def test_a_listener_that_never_handled_a_post_loses_none_to_a_fresh_connection(
    listener: PostListener, emulator: Any, seeded: dict[str, int]
) -> None:
    """Nothing handled yet, and the server restarts (or had not yet seen the old socket go): the reconnect gets a
    new connection and a hello, and the posts made meanwhile come over REST, from when this process connected."""
    wait_for(lambda: listener.stream.position.connection_id)  # connected: posts before that are history
    with emulator.outage():
        emulator.restart_websockets()
        missed = emulator.post_as("alice", town(emulator), f"while restarting #t{seeded['public']}")
    wait_for(lambda: linked(emulator, missed["id"], seeded["public"]))
    assert emulator.hub.registrations[-1] == "fresh" and link_count(emulator, missed["id"], seeded["public"]) == 1
