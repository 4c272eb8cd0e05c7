"""The listener's door, its pure steps: an event from the websocket (or a backfill, or a retry) decoded into
one `Incoming`, and the filter that drops what acts for no one, before anything is claimed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from app_integration.core.models import is_chat_id

Kind = Literal["post", "edit", "reaction", "channel"]


@dataclass(frozen=True)
class Incoming:
    kind: Kind
    data: dict[str, Any]
    raw: dict[str, Any]  # the post, for a post or an edit
    key: str = ""  # the claim's key, for a post or an edit
    post_at: int = 0  # the post's create_at (ms), where a backfill starts again


def decode(message: dict[str, Any], on_edit: bool) -> Incoming | None:
    """What the event is, or None for one the bridge does not act on (an edit, unless LINK_ON_EDIT)."""
    event, data = message.get("event"), message.get("data") or {}
    if event in ("channel_converted", "channel_updated"):
        return Incoming("channel", data, {})
    if event == "reaction_added":
        return Incoming("reaction", data, {})
    if event == "posted" or (event == "post_edited" and on_edit):
        raw = json.loads(data.get("post") or "{}")
        if event == "posted":
            return Incoming("post", data, raw, f"post:{raw.get('id', '')}", int(raw.get("create_at", 0)))
        return Incoming("edit", data, raw, f"edit:{raw.get('id', '')}:{raw.get('edit_at', 0)}")
    return None


def acts_for_someone(raw: dict[str, Any], bot_id: str) -> bool:
    """A post of a person: not the bot's own, not a system message, not another bot's, and not a webhook's (its
    sender_name is whatever the hook's creator chose, so it names no one)."""
    user_id = str(raw.get("user_id", ""))
    props = raw.get("props") or {}
    if user_id == bot_id or str(raw.get("type", "")).startswith("system_") or props.get("from_bot"):
        return False
    return str(props.get("from_webhook", "")).lower() != "true" and is_chat_id(user_id)
