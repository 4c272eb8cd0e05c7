"""Requests shaped like Mattermost's, built from the captured fixtures in ../shared/."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import jwt

from mattermost_server.emulator import trigger_id
from tests.conftest import FIXTURES, JWT_SECRET, SLASH_TOKEN


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    data.pop("_comment", None)
    return data


def slash_form(user: dict[str, Any], text: str, channel_id: str, response_url: str = "") -> dict[str, str]:
    form = dict(fixture("slash_command_request.json")["form"])
    form.update(
        user_id=user["id"],
        user_name=user["username"],
        text=text,
        channel_id=channel_id,
        token=SLASH_TOKEN,
        trigger_id=trigger_id(user["id"]),  # fresh: the captured one expired long ago
    )
    if response_url:
        form["response_url"] = response_url
    return form


def slash_headers(token: str = SLASH_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def app_jwt(
    acting_user_id: str, secret: str = JWT_SECRET, expires_in: int = 900, algorithm: str = "HS256", **extra: Any
) -> str:
    claims = {"acting_user_id": acting_user_id, "exp": int(time.time()) + expires_in, **extra}
    return jwt.encode(claims, secret, algorithm=algorithm)


def apps_call(
    name: str,
    user: dict[str, Any],
    channel_id: str,
    path: str | None = None,
    values: dict[str, Any] | None = None,
    state: Any = None,
) -> dict[str, Any]:
    call = copy.deepcopy(fixture(name))
    call["context"]["acting_user"].update(id=user["id"], username=user["username"])
    call["context"]["channel"]["id"] = channel_id
    if path:
        call["path"] = path
    if values is not None:
        call["values"] = values
    if state is not None:
        call["state"] = state
    return call


def apps_headers(user_id: str, **kwargs: Any) -> dict[str, str]:
    return {"Mattermost-App-Authorization": f"Bearer {app_jwt(user_id, **kwargs)}"}


def anonymous_apps_headers(expires_in: int = 900) -> dict[str, str]:
    """The JWT of a call the apps plugin makes for no user (/ping, /install, /bindings without expand)."""
    token = jwt.encode({"exp": int(time.time()) + expires_in}, JWT_SECRET, algorithm="HS256")
    return {"Mattermost-App-Authorization": f"Bearer {token}"}


def bindings_call(channel_id: str) -> dict[str, Any]:
    """/bindings as the apps plugin sends it. The shared fixture shows an acting user, but the plugin calls
    /bindings without expand, so the body carries none: this drops it."""
    call = copy.deepcopy(fixture("apps_bindings_call.json"))
    call.get("context", {}).pop("acting_user", None)
    call.setdefault("context", {}).setdefault("channel", {})["id"] = channel_id
    return call


def dialog_submission(
    opened: dict[str, Any], user: dict[str, Any], channel_id: str, submission: dict[str, Any]
) -> dict[str, Any]:
    body = fixture("dialog_submission.json")
    body.update(
        callback_id=opened["dialog"]["callback_id"],
        state=opened["dialog"]["state"],
        user_id=user["id"],
        channel_id=channel_id,
        submission=submission,
    )
    return body


def root() -> Path:
    return FIXTURES


def refused_click(response: Any) -> bool:
    """A click the bridge refused: Mattermost shows a button's answer only on HTTP 200, so the refusal is a 200
    with text (api4/integration_action.go reads the body of a 200 only)."""
    body = response.get_json() or {}
    return bool(response.status_code == 200 and "could not be verified" in str(body.get("ephemeral_text", "")))
