"""`python -m app_integration listen`: runs the listener until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from ...core.settings import Settings
from ..wiring import build_bridge
from .post_listener import PostListener


def listen(settings: Settings, env_file: Path | None) -> int:
    bridge = build_bridge(settings, env_file)
    listener = PostListener(bridge, settings.websocket_url).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    listener.stop()
    return 0
