"""Who may do what: the default roles' permissions, as the server grants them, and its two checks."""

from __future__ import annotations

import threading
from typing import Any

# Default role permissions, as server/public/model/role.go (MakeDefaultRoles) grants them: only the ones
# the endpoints below check. system_admin holds every permission. A test may grant more to a role.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    "system_user": {"create_direct_channel", "create_group_channel", "view_members", "list_public_teams"},
    "team_user": {"list_team_channels", "join_public_channels", "read_public_channel", "view_team"},
    "team_admin": {"delete_others_posts", "manage_team", "manage_channel_roles"},
    "channel_user": {"read_channel", "read_channel_content", "create_post", "edit_post", "delete_post", "upload_file"},
    "channel_admin": {"manage_channel_roles", "use_group_mentions"},
}
# Channel-scoped permissions: the server checks them with SessionHasPermissionToChannel, so the member's
# channel and team roles count. Everything else is checked against the system roles alone.
CHANNEL_SCOPED = {
    "read_channel",
    "read_channel_content",
    "create_post",
    "edit_post",
    "edit_others_posts",
    "upload_file",
}


class Permissions:
    """SessionHasPermissionTo and SessionHasPermissionToChannel over the emulator's users and channels."""

    lock: threading.RLock
    users: dict[str, dict[str, Any]]
    channels: dict[str, dict[str, Any]]
    granted: dict[str, set[str]]

    def role_permissions(self, role: str) -> set[str]:
        if role == "system_admin":
            return {"*"}
        return ROLE_PERMISSIONS.get(role, set()) | self.granted.get(role, set())

    def may(self, user_id: str, permission: str, channel_id: str | None = None) -> bool:
        """SessionHasPermissionTo / SessionHasPermissionToChannel, for the roles this emulator knows."""
        with self.lock:
            user = self.users.get(user_id)
            channel = self.channels.get(channel_id or "")
        if user is None:
            return False
        roles = str(user.get("roles", "")).split()
        if permission in CHANNEL_SCOPED and channel is not None and user_id in channel["members"]:
            roles += ["channel_user"] + (["team_user"] if channel["type"] in "OP" else [])
            roles += channel.get("admins", {}).get(user_id, "").split()
        granted: set[str] = set().union(*(self.role_permissions(r) for r in roles)) if roles else set()
        return "*" in granted or permission in granted
