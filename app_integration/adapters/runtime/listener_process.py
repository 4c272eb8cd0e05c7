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

from app_integration.adapters import metrics
from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.mattermost.posts.websocket_client import Backoff
from app_integration.adapters.mattermost.rest_driver import BOT_TOKEN_REFUSED
from app_integration.adapters.metrics_dir import shared_by_parent
from app_integration.adapters.runtime.update_runner import UpdateRunner
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.adapters.store.leadership import Leadership
from app_integration.core.errors import ChatTokenRefused, ChatUnavailable
from app_integration.core.settings import Settings

log = logging.getLogger(__name__)
TOKEN_REFUSED_EXIT = 2  # like a settings problem: the supervisor does not restart it
# A follower asks for the lead this often, which bounds a takeover on PostgreSQL; on SQLite the leader's
# lease (renewed at the same pace) must also run out first.
LEAD_RETRY_SECONDS = 2.0
LEASE_SECONDS = 10.0


def listen(settings: Settings, env_file: Path | None, backoff: Backoff | None = None) -> int:
    bridge = build_bridge(settings, env_file)
    if settings.metrics_port and not shared_by_parent():
        metrics.serve_on_loopback(settings.metrics_port)  # under `run`, serve shows the listener's too
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    try:
        if not wait_for_mattermost(bridge, stopped, backoff or Backoff()):
            return 0
    except ChatTokenRefused as error:
        print(f"The listener cannot start: {error.user_message}", file=sys.stderr)
        return TOKEN_REFUSED_EXIT
    # In the background: a company's map must not hold back the lead (an entry is claimed at first use anyway).
    threading.Thread(target=bridge.users.sync_map, args=(bridge.chat,), daemon=True, name="user-map").start()
    lead = Leadership(bridge.store.engine, "listener", lease_seconds=LEASE_SECONDS)
    try:
        while not stopped.is_set():
            if not _wait_for_the_lead(lead, stopped):
                return 0
            code = _listen_while_leading(bridge, settings, lead, stopped)
            if code is not None:
                return code
        return 0
    finally:
        lead.release()


def _wait_for_the_lead(lead: Leadership, stopped: threading.Event) -> bool:
    """With several replicas one listens; the others wait here, and take over when the leader goes."""
    told = False
    while not lead.try_acquire():
        if not told:
            log.info("listener: another replica leads; this one takes over if it stops")
            told = True
        if stopped.wait(LEAD_RETRY_SECONDS):
            return False
    log.info("listener: this replica leads")
    metrics.TAKEOVERS.inc()
    metrics.LEADER.set(1)
    metrics.LEADER_EPOCH.set(lead.epoch)
    return True


def _listen_while_leading(bridge: Bridge, settings: Settings, lead: Leadership, stopped: threading.Event) -> int | None:
    """Listens until stopped (0), the token is refused (exit code), or the lead is lost (None: wait again)."""
    fence = lead.fence()
    listener = PostListener(bridge, settings.websocket_url, fence=fence).start()
    updates = UpdateRunner(bridge, settings.redmine_poll_seconds, fence).start()
    try:
        ticks = 0
        while not stopped.wait(1.0):
            if listener.refused:  # the token was revoked while running
                print(f"The listener stops: {BOT_TOKEN_REFUSED}", file=sys.stderr)
                return TOKEN_REFUSED_EXIT
            ticks += 1
            lost = listener.fenced or (ticks % int(LEAD_RETRY_SECONDS) == 0 and not lead.still_leading())
            if lost or lead.epoch != fence.epoch:
                log.warning("listener: lost the lead; stopping until it is ours again")
                return None
        return 0
    finally:
        metrics.LEADER.set(0)
        updates.stop()
        listener.stop()


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
