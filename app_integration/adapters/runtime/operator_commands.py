"""The operator's `users` and `rotate-keys` commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from app_integration.adapters.runtime.wiring import build_bridge
from app_integration.core.errors import BridgeError
from app_integration.core.settings import Settings


def list_users(settings: Settings, env_file: Path | None, out: TextIO = sys.stdout) -> int:
    """Links (never a key), unlinked people who used the bridge, and map entries that resolve to nobody."""
    bridge = build_bridge(settings, env_file)
    links = bridge.store.all_links()
    holders: dict[str, int] = {}
    for link in links:
        holders[link.redmine_login] = holders.get(link.redmine_login, 0) + 1
    print(f"Links ({len(links)}):", file=out)
    for link in links:
        source = f"map entry {link.map_username}" if link.method == "map" else link.method
        shared = f"  SHARED by {holders[link.redmine_login]} accounts" if holders[link.redmine_login] > 1 else ""
        line = f"  {link.chat_user_id}  {link.redmine_login:<20} by {source}, since {link.linked_at:%Y-%m-%d}"
        print(line + shared, file=out)
    if any(count > 1 for count in holders.values()):
        print("  A Redmine account linked by several people is left from before one account, one person:", file=out)
        print("  keep the right one and have the others `disconnect`.", file=out)
    unlinked = bridge.store.unlinked_users()
    print(f"Used the bridge without a link ({len(unlinked)}):", file=out)
    for user_id, username, seen in unlinked:
        print(f"  {user_id}  @{username:<20} last seen {seen:%Y-%m-%d %H:%M}", file=out)
    dangling = []
    for username, login in bridge.users.entries():
        claimed = bridge.store.map_claim(username)
        try:
            holder = bridge.chat.user_by_username(username)
        except BridgeError as error:
            print(f"Mattermost did not answer ({error.user_message}); map entries not checked.", file=out)
            return 1
        if holder is None and claimed is None:
            dangling.append(f"  {username}={login}: no Mattermost user has this name")
        elif holder is not None and claimed is not None and claimed.chat_user_id != holder.id:
            dangling.append(
                f"  {username}={login}: linked to {claimed.chat_user_id}, who renamed; @{username} is now someone else"
            )
    print(f"Map entries that resolve to nobody new ({len(dangling)}):", file=out)
    for line in dangling:
        print(line, file=out)
    return 0


def rotate_keys(settings: Settings, env_file: Path | None, out: TextIO = sys.stdout) -> int:
    bridge = build_bridge(settings, env_file)
    rotated = 0
    for link in bridge.store.all_links():
        if link.sealed_key:
            bridge.store.save_link(
                link.__class__(**{**link.__dict__, "sealed_key": bridge.vault.rotate(link.sealed_key)})
            )
            rotated += 1
    print(f"Re-encrypted {rotated} stored key(s) with the newest key. Older keys may now be removed.", file=out)
    return 0
