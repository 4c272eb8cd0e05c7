"""A company-sized user map: `check` and the map's linking (what `serve` and `listen` do in the background) with
100, 1,000 and 10,000 entries, against the emulator (that many Mattermost users) and a real Redmine (whose few
users leave most entries without an account, the worst case for lookups). Times, and the calls each made."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app_integration.adapters.redmine.call_scope import counting
from app_integration.adapters.runtime.doctor import diagnose
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.core.settings import Settings


def company_map(emulator: Any, size: int, folder: Path, existing: int = 0) -> Path:
    """`size` Mattermost users (the first `existing` made already), each mapped to a Redmine login of the same
    number, and the seed's three people."""
    lines = ["alice=alice", "bob=bob", "carol=carol"]
    for n in range(size):
        name = f"staff{n:05d}"
        if n >= existing:
            emulator.add_user(name)
        lines.append(f"{name}=login{n:05d}")
    path = folder / f"users-{size}.map"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def map_figures(settings: Settings, emulator: Any) -> dict[str, float]:
    """Seconds and calls for `check`'s user map and for linking the map, on a fresh bridge each."""
    figures: dict[str, float] = {}
    bridge: Bridge = build_bridge(settings, None)
    asked = len(emulator.requests)
    started = time.perf_counter()
    with counting() as tally:
        found = diagnose(bridge)
    figures["check_s"] = time.perf_counter() - started
    figures["check_redmine_calls"] = tally.round_trips
    figures["check_mattermost_calls"] = len(emulator.requests) - asked
    figures["check_lines"] = len(found)
    bridge = build_bridge(settings, None)
    asked = len(emulator.requests)
    started = time.perf_counter()
    with counting() as tally:
        bridge.users.sync_map(bridge.chat)
    figures["link_s"] = time.perf_counter() - started
    figures["link_redmine_calls"] = tally.round_trips
    figures["link_mattermost_calls"] = len(emulator.requests) - asked
    return figures
