"""The listener's claims have a lifecycle, claim → act → done, against the real Redmine and the emulator: a post
made while Redmine refuses every call is linked once Redmine answers again, and a post a leader claimed and never
answered (it stopped between the claim and the effect) is answered by the next leader."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.store.leadership import Claim, Leadership
from tests.conftest import RedmineInfo
from tests.integration.listener_support import FAST, start, town
from tests.integration.test_listener_reconnects import link_count
from tests.waiting import wait_for

pytestmark = pytest.mark.usefixtures("bot_role")


class SwitchedRedmine:
    """Forwards to the real Redmine, or, while `down`, answers every call 503 (a Redmine behind a proxy that is
    restarting)."""

    def __init__(self, target: str) -> None:
        self.down = False
        switch = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if switch.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower().startswith(("x-redmine", "content-type"))}
                answer = requests.request(self.command, target + self.path, data=body, headers=headers, timeout=10)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def switched(redmine: RedmineInfo) -> Iterator[SwitchedRedmine]:
    proxy = SwitchedRedmine(redmine.url)
    yield proxy
    proxy.server.shutdown()


def test_a_post_made_while_redmine_refuses_is_linked_once_it_answers(
    switched: SwitchedRedmine, redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    via = RedmineInfo(switched.url, redmine.admin_key, redmine.version)
    listener, _bridge = start(via, emulator, tmp_path)
    try:
        warm = emulator.post_as("alice", town(emulator), f"warm #t{seeded['public']}")
        wait_for(lambda: link_count(emulator, warm["id"], seeded["public"]) == 1, timeout=30)
        switched.down = True
        post = emulator.post_as("alice", town(emulator), f"during the outage #t{seeded['public']}")
        wait_for(lambda: listener.settled() and listener._deferred, timeout=30)  # tried, and waiting
        assert link_count(emulator, post["id"], seeded["public"]) == 0
        told = [e for e in emulator.ephemerals if "unavailable" in e["post"]["message"]]
        assert told == []  # nobody is told to post again: it is not lost
        switched.down = False
        wait_for(lambda: link_count(emulator, post["id"], seeded["public"]) == 1, timeout=30)
        assert link_count(emulator, warm["id"], seeded["public"]) == 1
    finally:
        listener.stop()


def test_a_post_claimed_and_never_answered_is_answered_by_the_next_leader(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    """The first leader claims the post and stops before its effect (as a `kill -9` between the two would leave
    it); the next leader's term takes the claim again, and its backfill answers the post, once."""
    first, bridge = start(redmine, emulator, tmp_path)
    first.stop()  # no listener hears what comes next
    post = emulator.post_as("alice", town(emulator), f"claimed, then the leader died #t{seeded['public']}")
    old = Leadership(bridge.store.engine, "listener")
    assert old.try_acquire()
    assert old.fence().claim(f"post:{post['id']}", post_at=int(post["create_at"])) is Claim.MINE
    old.release()
    new = Leadership(bridge.store.engine, "listener", lease_seconds=0.2)
    wait_for(lambda: new.try_acquire(), timeout=30)
    assert new.epoch > old.epoch
    second = PostListener(bridge, emulator.websocket_url, backoff=FAST, fence=new.fence()).start()
    try:
        wait_for(lambda: link_count(emulator, post["id"], seeded["public"]) == 1, timeout=30)
        wait_for(second.settled, timeout=10)
        assert link_count(emulator, post["id"], seeded["public"]) == 1
        assert new.fence().claim(f"post:{post['id']}") is Claim.DONE
    finally:
        second.stop()


def test_a_dm_answer_retried_past_mattermosts_window_is_posted_once(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer was posted, but its try ended before the claim was done (Mattermost's answer lost); the retry
    comes after Mattermost's 30 s of pending_post_id dedup (app/post.go), so only the key in the post's props
    can tell the bridge that the answer is there."""
    from app_integration.adapters.mattermost.posts import post_listener
    from app_integration.adapters.mattermost.rest_files import ONCE_PROP, once_digest
    from app_integration.core.errors import ChatUnavailable
    from mattermost_server.emulator import routes

    monkeypatch.setattr(routes, "PENDING_POST_IDS_TTL", 0.0)  # the window is over by the retry
    monkeypatch.setattr(post_listener, "RETRY_SECONDS", 0.5)
    listener, bridge = start(redmine, emulator, tmp_path)
    chat_type = type(bridge.chat)
    real_post = chat_type.post
    lost: list[str] = []

    def answer_then_lose(self: Any, channel_id: str, message: Any, root_id: str = "", once: str = "") -> str:
        made = real_post(self, channel_id, message, root_id, once)
        if once.startswith("answer:") and not lost:
            lost.append(once)
            raise ChatUnavailable("Mattermost's answer was lost")
        return made

    monkeypatch.setattr(chat_type, "post", answer_then_lose)
    try:
        dm = emulator.direct_channel(emulator.bot["id"], emulator.user("bob")["id"])["id"]
        asked = emulator.post_as("bob", dm, "help")
        key = once_digest(f"answer:{asked['id']}")
        wait_for(lambda: lost and listener.fence.oldest_unfinished_post_at() == 0, timeout=30)
        answers = [p for p in emulator.posts_in(dm) if (p.get("props") or {}).get(ONCE_PROP) == key]
        assert len(answers) == 1
    finally:
        listener.stop()


def test_a_ticket_emoji_made_while_no_listener_heard_it_is_offered_by_the_next(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path
) -> None:
    """A change of lead leaves a gap; a reaction in it reaches no websocket. The backfill reads the posts
    changed since, and a reaction changes its post (store/sqlstore/reaction_store.go), so it is offered once."""
    first, _bridge = start(redmine, emulator, tmp_path)
    post = emulator.post_as("carol", town(emulator), "Order more paper for the printer")
    wait_for(first.settled)
    first.stop()
    before = len(emulator.dm_posts("bob"))
    emulator.react_as("bob", post["id"], "ticket")
    second, _ = start(redmine, emulator, tmp_path)
    try:
        offers = wait_for(lambda: emulator.dm_posts("bob")[before:], timeout=30)
        wait_for(second.settled)
        assert len(emulator.dm_posts("bob")) == before + 1
        assert offers[0]["props"]["attachments"][0]["actions"][0]["name"] == "Create a ticket from this post"
    finally:
        second.stop()
