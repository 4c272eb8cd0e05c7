"""`run`: `serve` and `listen` as two child processes, each restarted when it dies."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from app_integration.adapters import metrics
from app_integration.core.settings import Settings

log = logging.getLogger(__name__)
RESTART_FIRST, RESTART_MOST = 1.0, 30.0


class Child:
    def __init__(self, role: str, env_file: Path | None) -> None:
        self.role = role
        self._argv = [sys.executable, "-m", "app_integration"]
        if env_file is not None:
            self._argv += ["--env-file", str(env_file)]
        self._argv.append(role)
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._delay = RESTART_FIRST
        self._started = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(self._argv)
        self._started = time.monotonic()

    def poll(self, stopping: threading.Event) -> None:
        if self.process is None or self.process.poll() is None:
            return
        code = self.process.returncode
        # Its live gauges (bridge_leader above all) stop counting: a dead listener does not lead, and an alert
        # on "no leader" must be able to fire while it is down.
        metrics.process_exited(self.process.pid)
        if code == 2:  # settings problems: restarting would only repeat them
            log.error("%s exited with its settings problems; not restarting", self.role)
            stopping.set()
            return
        if time.monotonic() - self._started > 60:
            self._delay = RESTART_FIRST
        log.warning("%s exited with %s; restarting in %.0f s", self.role, code, self._delay)
        if not stopping.wait(self._delay):
            self._delay = min(self._delay * 2, RESTART_MOST)
            self.restarts += 1
            self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def run_all(settings: Settings, env_file: Path | None) -> int:
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    # The listener runs even with LINK_MODE=off: it also answers DMs to the bot.
    children = [Child(role, env_file) for role in ("serve", "listen")]
    for child in children:
        child.start()
    while not stopping.wait(1.0):
        for child in children:
            child.poll(stopping)
    for child in children:
        child.stop()
    return 0
