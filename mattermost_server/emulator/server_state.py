"""What the emulator's routes read and change of the server: a protocol, so that the routes need not import
the server that imports them (no import circle, even for type checking)."""

from __future__ import annotations

import threading
from typing import Any, Protocol


class ServerState(Protocol):
    lock: threading.RLock
    users: dict[str, dict[str, Any]]
    channels: dict[str, dict[str, Any]]
    posts: dict[str, dict[str, Any]]
    files: dict[str, tuple[dict[str, Any], bytes]]
    dialogs: list[dict[str, Any]]
    ephemerals: list[dict[str, Any]]
    hook_replies: list[dict[str, Any]]
    hook_status: int
    spec_errors: list[str]
    expired_triggers: list[str]
    pending_post_ids: dict[str, tuple[str, float]]
    team_id: str
    team_admins: set[str]
    version: str
    site_url: str
    show_email_address: bool
    require_email_verification: bool
    post_edit_time_limit: int

    @property
    def url(self) -> str: ...

    def caller(self) -> dict[str, Any]: ...

    def may(self, user_id: str, permission: str, channel_id: str | None = None) -> bool: ...

    def role_permissions(self, role: str) -> set[str]: ...

    def trigger_lifetime(self) -> float: ...

    def posts_in(self, channel_id: str) -> list[dict[str, Any]]: ...

    def direct_channel(self, a: str, b: str) -> dict[str, Any]: ...

    def _create_post(
        self,
        user_id: str,
        channel_id: str,
        message: str,
        root_id: str,
        props: dict[str, Any],
        sender_name: str | None = None,
        files: tuple[dict[str, Any], ...] = (),
    ) -> dict[str, Any]: ...

    def _broadcast(self, event: str, data: dict[str, Any], channel_id: str) -> None: ...
