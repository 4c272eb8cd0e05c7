"""`serve`: the web app under gunicorn, with gthread workers."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from app_integration.adapters import metrics
from app_integration.adapters.runtime.wiring import build_bridge
from app_integration.core.errors import BridgeError
from app_integration.core.settings import Settings

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, env_file: Path | None) -> None:
        self._settings = settings
        self._env_file = env_file
        super().__init__()

    def load_config(self) -> None:
        s = self._settings
        for key, value in gunicorn_options(s).items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from app_integration.adapters.runtime.web_app import create_app

        return create_app(self._settings, env_file=self._env_file)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "bind": f"{settings.bind_host}:{settings.python_bot_app_port}",
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": settings.web_threads,
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": None,
        "limit_request_line": 8190,
        "when_ready": lambda server: _serve_metrics_port(settings),
        "child_exit": lambda server, worker: metrics.process_exited(worker.pid),
    }


def _serve_metrics_port(settings: Settings) -> None:
    if settings.metrics_port:
        metrics.serve_on_loopback(settings.metrics_port)


def serve(settings: Settings, env_file: Path | None) -> int:
    # Once, in the master, before workers fork: the store's migrations, and the operator's map as links by
    # user id (so a rename before first use loses nothing). A server that is down now is linked lazily later.
    bridge = build_bridge(settings, env_file)

    def link_the_map() -> None:
        try:
            bridge.users.sync_map(bridge.chat)
        except BridgeError as error:
            log.warning("serve: the user map is linked on first use instead: %s", error.user_message)

    # In the background: a company's map (10,000 people) must not keep `serve` from answering; an entry not yet
    # linked when its person first comes is claimed then, as always.
    threading.Thread(target=link_the_map, daemon=True, name="user-map").start()
    _Gunicorn(settings, env_file).run()
    return 0
