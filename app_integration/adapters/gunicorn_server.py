"""`serve`: the web app under gunicorn, with gthread workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from ..core.settings import Settings
from . import metrics
from .store import BridgeStore


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
        from .web.app_factory import create_app

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
    # Once, in the master, before workers fork and each opens the store.
    BridgeStore(settings.database_url, settings.idempotency_ttl_hours).migrate()
    _Gunicorn(settings, env_file).run()
    return 0
