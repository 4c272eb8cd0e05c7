"""Mattermost ids, checked before any of them reaches an API path.

A person can post their own dialog submission or button click through Mattermost's
API, so any id in a request may be anything: `me`, `../teams`. Only a well-formed id
(26 lower-case letters and digits) is ever put into a path.
"""

from __future__ import annotations

import re

_ID = re.compile(r"^[a-z0-9]{26}$")


def is_chat_id(value: object) -> bool:
    return isinstance(value, str) and _ID.match(value) is not None
