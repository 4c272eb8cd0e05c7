"""`/healthz` says the process is up; `/readyz` that its store can write, and Redmine and Mattermost answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify

READY_CACHE_SECONDS = 5.0


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
                cached["result"] = {name: _probe(check) for name, check in checks.items()}
                cached["at"] = time.monotonic()
            result = dict(cached["result"])
        ready = all(v == "ok" for v in result.values())
        return jsonify({"status": "ready" if ready else "not ready", "checks": result}), 200 if ready else 503

    return blueprint


def _probe(check: Callable[[], None]) -> str:
    try:
        check()
    except Exception as error:
        return f"failing: {type(error).__name__}"
    return "ok"
