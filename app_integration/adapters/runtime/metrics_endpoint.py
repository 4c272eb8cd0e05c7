"""`/metrics` on the bind address: Prometheus' text, for a scraper holding METRICS_TOKEN only.

Without a token it does not exist here (404), so a bridge exposed to the internet never shows its traffic;
METRICS_PORT serves the same text on loopback instead.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, request

from app_integration.adapters import metrics


def metrics_blueprint(token: str | None) -> Blueprint:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def scrape() -> Any:
        if not token:
            return Response("Not found\n", status=404, mimetype="text/plain")
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            return Response("Unauthorized\n", status=401, mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})
        return Response(metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})

    return blueprint
