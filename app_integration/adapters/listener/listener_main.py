"""`python -m app_integration listen`: runs the listener until SIGTERM or Ctrl-C.

Mattermost may be down when the listener starts: it waits with backoff, a log line per
attempt, and never crashes. A refused bot token is different: retrying cannot fix it, so
the process ends with one line naming the setting.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

from ...core.errors import ChatTokenRefused, ChatUnavailable
from ...core.settings import Settings
from ..mattermost_rest import BOT_TOKEN_REFUSED
from ..wiring import Bridge, build_bridge
from .post_listener import PostListener
from .websocket_client import Backoff

log = logging.getLogger(__name__)
TOKEN_REFUSED_EXIT = 2  # like a settings problem: the supervisor does not restart it


def listen(settings: Settings, env_file: Path | None, backoff: Backoff | None = None) -> int:
    bridge = build_bridge(settings, env_file)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    try:
        if not wait_for_mattermost(bridge, stopped, backoff or Backoff()):
            return 0
    except ChatTokenRefused as error:
        print(f"The listener cannot start: {error.user_message}", file=sys.stderr)
        return TOKEN_REFUSED_EXIT
    bridge.users.sync_map(bridge.chat)
    listener = PostListener(bridge, settings.websocket_url).start()
    while not stopped.wait(1.0):
        if listener.refused:  # the token was revoked while running
            listener.stop()
            print(f"The listener stops: {BOT_TOKEN_REFUSED}", file=sys.stderr)
            return TOKEN_REFUSED_EXIT
    listener.stop()
    return 0


def wait_for_mattermost(bridge: Bridge, stopped: threading.Event, backoff: Backoff, attempts: int = 10**6) -> bool:
    """True once the bot's identity is known; False when stopped first. ChatTokenRefused ends the wait."""
    for attempt in range(attempts):
        try:
            bridge.chat.bot()
            return True
        except ChatTokenRefused:
            raise
        except ChatUnavailable as error:
            delay = backoff.delay(attempt)
            log.warning(
                "listener: Mattermost is not answering (%s); attempt %d, next in %.0f s",
                error.user_message,
                attempt + 1,
                delay,
            )
            if stopped.wait(delay):
                return False
    return False
