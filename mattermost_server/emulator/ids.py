"""Ids and trigger ids in the server's layouts."""

from __future__ import annotations

import base64
import secrets
import time


def new_id() -> str:
    """A 26-character id like Mattermost's."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def now_ms() -> int:
    return int(time.time() * 1000)


def trigger_id(user_id: str, issued_ms: int | None = None) -> str:
    """A trigger id in the server's layout (model/integration_action.go GenerateTriggerId): base64 of
    `client id:user id:millis:signature`. The signature here is a stand-in; the age is what counts."""
    raw = f"{new_id()}:{user_id}:{issued_ms if issued_ms is not None else now_ms()}:c2ln"
    return base64.b64encode(raw.encode()).decode()
