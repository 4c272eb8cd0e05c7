"""`POST /webhooks/redmine`: Redmine 7's webhooks, as one more way into the change feed.

The signature is GitHub's scheme, as Redmine computes it: `X-Redmine-Signature-256: sha256=<hex HMAC-SHA256
of the body>` with the webhook's secret. Without REDMINE_WEBHOOK_SECRET the endpoint refuses everything:
a push nobody can verify is no push. Only the issue and journal ids (or, for a project's news, wiki page,
version or time entry, its project and kind) are taken from a verified body; the change itself is read from
Redmine, so a push and a poll make the same event, delivered once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from typing import Any

from flask import Blueprint, jsonify, request

from app_integration.adapters.request_parsing import MalformedRequest, json_object
from app_integration.core.errors import BridgeError
from app_integration.core.services import Services
from app_integration.core.updates.change_feed import enqueue_pushed
from app_integration.core.updates.project_activity import enqueue_pushed_activity

log = logging.getLogger(__name__)
SIGNATURE = "X-Redmine-Signature-256"
ISSUE_EVENTS = {"issue.created", "issue.updated"}
# Redmine's model names (lib/redmine/acts/webhookable.rb event_name) for what else of a project a subscription
# may take, and the kind it is there.
ACTIVITY_MODELS = {"news": "news", "wiki_page": "wiki", "version": "versions", "time_entry": "time"}


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


def pushed_activity(payload: dict[str, Any]) -> tuple[int, str] | None:
    """(project id, kind) of a news, wiki page, version or time entry event, or None for anything else."""
    model = str(payload.get("type") or "").partition(".")[0]
    data = payload.get("data")
    item = data.get(model) if isinstance(data, dict) else None
    project = item.get("project") if isinstance(item, dict) else None
    project_id = project.get("id") if isinstance(project, dict) else None
    if model not in ACTIVITY_MODELS or not isinstance(project_id, int):
        return None
    return project_id, ACTIVITY_MODELS[model]


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
            payload = json_object(body)
        except MalformedRequest:
            return jsonify({"error": "malformed body"}), 400
        ids, activity = pushed_ids(payload), pushed_activity(payload)
        if activity is not None:
            return _take(submit, lambda: _activity(services, *activity), f"project {activity[0]}'s {activity[1]}")
        if ids is None:
            return jsonify({"status": "ignored"}), 202
        return _take(submit, lambda: _enqueue(services, *ids), f"#{ids[0]}")

    return blueprint


def _take(submit: Any, work: Any, what: str) -> Any:
    try:
        submit(work)
    except BridgeError:  # the work queue is full: the poll finds the change (Redmine pushes once)
        log.warning("the work queue is full; Redmine's webhook for %s is left to the next poll", what)
        return jsonify({"status": "busy; the poll will read it"}), 202
    return jsonify({"status": "accepted"}), 202


def _activity(services: Services, project_id: int, kind: str) -> None:
    try:
        enqueue_pushed_activity(services, project_id, kind, dt.datetime.now(dt.UTC))
    except Exception:  # the poll will find it
        log.exception("could not take in a Redmine webhook for project %d's %s; the next poll will", project_id, kind)


def _enqueue(services: Services, issue_id: int, journal_id: int) -> None:
    try:
        enqueue_pushed(services, issue_id, journal_id)
    except Exception:  # the poll will find it: Redmine pushes once, the feed reconciles
        log.exception("could not take in a Redmine webhook for #%d; the next poll will", issue_id)
