"""`/healthz` says the process is up; `/readyz` that its store can write, and Redmine and Mattermost answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify

READY_CACHE_SECONDS = 5.0
log = logging.getLogger(__name__)


def health_blueprint(checks: dict[str, Callable[[], None]]) -> Blueprint:
    blueprint = Blueprint("health", __name__)
    lock = threading.Lock()
    cached: dict[str, Any] = {"at": 0.0, "result": None}

    @blueprint.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    @blueprint.get("/readyz")
    def readyz() -> Any:
        with lock:
            if cached["result"] is None or time.monotonic() - cached["at"] > READY_CACHE_SECONDS:
                was = cached["result"] or {}
                cached["result"] = {name: _probe(check) for name, check in checks.items()}
                cached["at"] = time.monotonic()
                for name, outcome in cached["result"].items():
                    if outcome != was.get(name) and (outcome != "ok" or name in was):
                        # One line when a check changes, not one per probe: the reason is in /readyz too.
                        log.warning("readiness: %s is %s", name, outcome)
            result = dict(cached["result"])
        ready = all(v == "ok" for v in result.values())
        return jsonify({"status": "ready" if ready else "not ready", "checks": result}), 200 if ready else 503

    return blueprint


def _probe(check: Callable[[], None]) -> str:
    try:
        check()
    except Exception as error:
        return f"failing: {type(error).__name__}: {_reason(error)}"
    return "ok"


def _reason(error: BaseException) -> str:
    """The first line of what the driver said (SQLAlchemy wraps it and appends the statement), kept short. A
    driver's message names the server and the user, never a password."""
    cause = getattr(error, "orig", None) or error
    user_message = getattr(cause, "user_message", None)
    text = str(user_message or cause).strip().splitlines()
    return (text[0] if text else type(cause).__name__)[:160]
