"""The demo's scene of the daily work: finding tickets, logging time, and the morning digest."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mattermost_server.demo_transcript import Transcript

Slash = Callable[[str, str], dict[str, Any]]
DIGEST = re.compile(r"morning digest|утренняя сводка", re.IGNORECASE)  # DEMO_LOCALE=ru speaks Russian


def daily_scene(log: Transcript, slash: Slash, emulator: Any, ticket: int, digest: Callable[[], None]) -> None:
    from tests.waiting import wait_for

    log.step("12. The daily work: find a ticket, log time on it, and the morning digest")
    log.says("Bot (only @bob sees this)", slash("bob", "find quarterly report")["text"])
    log.says("Bot (only @bob sees this)", slash("bob", f"log 1h30m #{ticket} development wrote the outline")["text"])
    log.says("Bot (only @bob sees this)", slash("bob", "spent today")["text"])
    log.says("Bot (only @alice sees this)", slash("alice", "create_tickets demo\n1. Check the projector @bob")["text"])
    before = len(emulator.dm_posts("bob"))
    digest()
    post = wait_for(lambda: [p for p in emulator.dm_posts("bob")[before:] if DIGEST.search(p["message"])])[-1]
    log.says("The next morning's digest (the demo moves the clock on), in a DM to @bob", post["message"])
