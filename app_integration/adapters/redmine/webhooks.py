"""`POST /webhooks/redmine`: Redmine 7's webhooks, as one more way into the change feed.

The signature is GitHub's scheme, as Redmine computes it: `X-Redmine-Signature-256: sha256=<hex HMAC-SHA256
of the body>` with the webhook's secret. Without REDMINE_WEBHOOK_SECRET the endpoint refuses everything:
a push nobody can verify is no push. Only the issue and journal ids are taken from a verified body; the
change itself is read from Redmine, so a push and a poll make the same event, delivered once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from flask import Blueprint, jsonify, request

from app_integration.adapters.request_parsing import MalformedRequest, json_object
from app_integration.core.errors import BridgeError
from app_integration.core.redmine_updates.change_feed import enqueue_pushed
from app_integration.core.services import Services

log = logging.getLogger(__name__)
SIGNATURE = "X-Redmine-Signature-256"
ISSUE_EVENTS = {"issue.created", "issue.updated"}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def pushed_ids(payload: dict[str, Any]) -> tuple[int, int] | None:
    """(issue id, journal id; 0 for a creation) of an issue event, or None for anything else."""
    kind = payload.get("type")
    data = payload.get("data")
    if kind not in ISSUE_EVENTS or not isinstance(data, dict) or not isinstance(data.get("issue"), dict):
        return None
    issue_id = data["issue"].get("id")
    journal = data.get("journal") if kind == "issue.updated" else None
    journal_id = journal.get("id") if isinstance(journal, dict) else 0
    if not isinstance(issue_id, int) or not isinstance(journal_id, int) or (kind == "issue.updated" and not journal_id):
        return None
    return issue_id, journal_id


def webhooks_blueprint(services: Services, secret: str | None, submit: Any) -> Blueprint:
    blueprint = Blueprint("redmine_webhooks", __name__)

    @blueprint.post("/webhooks/redmine")
    def receive() -> Any:
        if not secret:
            log.warning("refused a Redmine webhook: REDMINE_WEBHOOK_SECRET is not set")
            return jsonify({"error": "webhooks are not configured"}), 403
        body = request.get_data(cache=True)
        if not signature_ok(secret, body, request.headers.get(SIGNATURE)):
            log.warning("refused a Redmine webhook with a missing or wrong signature")
            return jsonify({"error": "bad signature"}), 401
        try:
            ids = pushed_ids(json_object(body))
        except MalformedRequest:
            return jsonify({"error": "malformed body"}), 400
        if ids is None:
            return jsonify({"status": "ignored"}), 202
        try:
            submit(lambda: _enqueue(services, *ids))
        except BridgeError:  # the work queue is full: the poll finds the change (Redmine pushes once)
            log.warning("the work queue is full; Redmine's webhook for #%d is left to the next poll", ids[0])
            return jsonify({"status": "busy; the poll will read it"}), 202
        return jsonify({"status": "accepted"}), 202

    return blueprint


def _enqueue(services: Services, issue_id: int, journal_id: int) -> None:
    try:
        enqueue_pushed(services, issue_id, journal_id)
    except Exception:  # the poll will find it: Redmine pushes once, the feed reconciles
        log.exception("could not take in a Redmine webhook for #%d; the next poll will", issue_id)
