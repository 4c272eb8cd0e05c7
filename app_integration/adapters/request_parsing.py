"""Request bodies as the surfaces need them, or a 400: nothing malformed reaches a handler."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import BadRequest


class MalformedRequest(BadRequest):
    """A body that is not the JSON object Mattermost sends. Answered with 400, and never logged with a traceback."""


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise MalformedRequest("not JSON") from None
    if not isinstance(body, dict):
        raise MalformedRequest("not a JSON object")
    return body


def member(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested object that may be absent, but is never anything but an object."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedRequest(f"{name} is not an object")
    return value


def text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedRequest(f"{name} is not a string")
    return value
