"""The Flask app factory: the classic surface, the Apps surface and health checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app_integration.adapters.mattermost.commands.apps_surface import apps_blueprint
from app_integration.adapters.mattermost.commands.classic_surface import classic_blueprint
from app_integration.adapters.mattermost.commands.request_verification import StateSigner
from app_integration.adapters.mattermost.commands.web_context import WebContext
from app_integration.adapters.mattermost.commands.work_queue import WorkQueue
from app_integration.adapters.redmine.webhooks import webhooks_blueprint
from app_integration.adapters.runtime.health import health_blueprint
from app_integration.adapters.runtime.metrics_endpoint import metrics_blueprint
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.core.settings import Settings, SettingsError, env_file_path, load_settings

STATIC = Path(__file__).resolve().parents[2] / "static"
DEFAULT_MANIFEST = Path("manifest.json")


def create_app(
    settings: Settings | None = None,
    bridge: Bridge | None = None,
    manifest: Path | None = None,
    env_file: Path | None = None,
) -> Flask:
    """Refuses to build an app that could not verify its callers (fail closed). Settings and the user map
    both come from `env_file`, the file the command was given. Builds; starts nothing."""
    env_file = env_file or env_file_path()
    settings = settings or load_settings(env_file, role="serve")
    problems = settings.problems("serve")
    if problems:
        raise SettingsError(tuple(problems))
    # Pure: no migration and no call to Redmine or Mattermost here, so every gunicorn worker starts alike;
    # `serve` migrates the store and links the operator's map once, before the workers fork.
    bridge = bridge or build_bridge(settings, env_file, migrate=False)
    assert settings.request_signing_key is not None
    web = WebContext(
        settings,
        bridge.services,
        bridge.chat,
        bridge.registry,
        StateSigner(settings.request_signing_key.get_secret_value(), settings.signed_state_max_age),
        WorkQueue(waiting=settings.work_queue_limit),
    )
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.extensions["bridge.web"] = web  # for the operator's tests and benchmarks: the queue it answers from
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.register_blueprint(
        health_blueprint(
            {
                "store": bridge.store.ping,
                "redmine": bridge.gateway.ping,
                "mattermost": bridge.chat.ping,
            }
        )
    )
    app.register_blueprint(
        metrics_blueprint(settings.metrics_token.get_secret_value() if settings.metrics_token else None)
    )
    app.register_blueprint(classic_blueprint(web))
    app.register_blueprint(apps_blueprint(web, manifest or _manifest_path()))
    hook_secret = settings.redmine_webhook_secret.get_secret_value() if settings.redmine_webhook_secret else None
    app.register_blueprint(webhooks_blueprint(bridge.services, hook_secret, web.submit))

    @app.before_request
    def cap_streamed_bodies() -> None:
        # A chunked body has no Content-Length to refuse in advance, and the cap alone truncates it
        # silently; reading it here (cached for the handlers) turns "at the cap" into a 413.
        streamed = request.content_length is None and request.method == "POST"
        if streamed and len(request.get_data(cache=True)) >= settings.max_body_bytes:
            raise RequestEntityTooLarge()

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Any:
        return jsonify({"type": "error", "text": "The request is too large."}), 413

    return app


def _manifest_path() -> Path:
    """The top-level manifest.json: beside the working directory, or the source checkout."""
    if DEFAULT_MANIFEST.is_file():
        return DEFAULT_MANIFEST
    return Path(__file__).resolve().parents[3] / "manifest.json"
