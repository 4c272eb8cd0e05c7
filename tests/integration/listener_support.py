"""What the listener's tests share: a bot in either role, a started listener, and how to read what it did.

Every listener test runs twice (the `bot_role` fixture, used by both modules): with a bot that is a system admin
(LINK_MODE=rewrite edits posts), and with a plain `system_user` bot (LINK_MODE=reply), which may not edit
others' posts or post ephemeral notices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.mattermost.posts.websocket_client import Backoff
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from tests.conftest import RedmineInfo, bridge_settings
from tests.waiting import wait_for

FAST = Backoff(first=0.05, most=0.2)
ROLES = {"admin": ("system_user system_admin", "rewrite"), "plain": ("system_user", "reply")}


def start(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, connected: bool = True, **overrides: Any
) -> tuple[PostListener, Bridge]:
    """A listener for the bot's role; `connected=False` returns without waiting for its connection."""
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
    if connected:
        wait_for(emulator.connected)
    return listener, bridge


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
