"""The demo's scene of the daily work: finding tickets, logging time, and the morning digest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mattermost_server.demo_transcript import Transcript

Slash = Callable[[str, str], dict[str, Any]]


def daily_scene(log: Transcript, slash: Slash, emulator: Any, ticket: int, digest: Callable[[], None]) -> None:
    from tests.waiting import wait_for

    log.step("12. The daily work: find a ticket, log time on it, and the morning digest")
    log.says("Bot (only @bob sees this)", slash("bob", "find quarterly report")["text"])
    log.says("Bot (only @bob sees this)", slash("bob", f"log 1h30m #{ticket} development wrote the outline")["text"])
    log.says("Bot (only @bob sees this)", slash("bob", "spent today")["text"])
    before = len(emulator.dm_posts("bob"))
    digest()
    post = wait_for(lambda: emulator.dm_posts("bob")[before:], timeout=30)[-1]
    log.says("The morning digest (the demo moves its time to now), in a DM to @bob", post["message"])
