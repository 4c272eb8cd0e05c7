"""Redmine's changes back into the chat on a real company's Redmine: a custom field's change reaches the
channel's thread and the DMs by its name, and a field only some roles see is left out; a watcher hears of
notes and status changes. Against the real Redmine 5.0.4 (the company seed) and the emulator."""

from __future__ import annotations

import time
import uuid
from typing import Any

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.updates.change_feed import poll_once
from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine, channel_named, cycle, subscribe, texts


def started(bridge: Bridge) -> Bridge:
    bridge.users.sync_map(bridge.chat)
    poll_once(bridge.services, bridge.store)
    time.sleep(1.05)  # Redmine's clock has whole seconds: the changes below come after the feed's cursor
    return bridge


def test_a_custom_fields_change_reaches_the_thread_and_the_dm_by_name(
    company_bridge: Bridge, emulator: Any, company_redmine: RedmineInfo
) -> None:
    seed = company_redmine.seed
    fields = seed["company"]["fields"]
    rm = Redmine(company_redmine)
    subject = f"Scanner smokes {uuid.uuid4().hex[:6]}"
    bug = rm.create(
        "alice",
        "acme",
        subject,
        tracker_id=1,
        assigned_to_id=seed["users"]["bob"],
        custom_fields=[{"id": fields["customer"], "value": "Initech"}, {"id": fields["severity"], "value": "S2"}],
    )
    room = channel_named(emulator, "acme-feed-" + uuid.uuid4().hex[:6], kind="P")
    subscribe(company_bridge, emulator, room, "alice", seed["company"]["projects"]["acme"])
    started(company_bridge)
    rm.update(
        "alice",
        bug,
        custom_fields=[{"id": fields["severity"], "value": "S1"}, {"id": fields["cost"], "value": "99.5"}],
    )
    cycle(company_bridge)
    heard = "\n".join(texts(emulator, room))
    assert "changed **Severity**: S2 → S1" in heard, heard
    assert "Internal cost" not in heard and "99.5" not in heard
    dm = "\n".join(p["message"] for p in emulator.dm_posts("bob"))
    assert f"#{bug}" in dm and "Severity**: S2 → S1" in dm and "Internal cost" not in dm


def test_a_watcher_hears_of_notes_until_they_mute_the_ticket(
    company_client: Any, company_bridge: Bridge, emulator: Any, company_redmine: RedmineInfo
) -> None:
    from tests.integration.surface_support import slash

    seed = company_redmine.seed
    rm = Redmine(company_redmine)
    subject = f"Fax returns {uuid.uuid4().hex[:6]}"
    bug = rm.create(
        "alice",
        "handbook",
        subject,
        assigned_to_id=seed["users"]["alice"],
    )
    rm._call("alice", "POST", f"/issues/{bug}/watchers.json", {"user_id": seed["users"]["carol"]})
    room = channel_named(emulator, "watch-" + uuid.uuid4().hex[:6])
    toggles = slash(company_client, emulator, "carol", "notifications", room)
    assert "Tickets I watch: **on**" in toggles["text"]
    started(company_bridge)
    rm.update("bob", bug, notes="First look: the fax is haunted")
    cycle(company_bridge)
    heard = [p["message"] for p in emulator.dm_posts("carol") if f"#{bug}" in p["message"]]
    assert len(heard) == 1 and "(you watch it)" in heard[0] and "haunted" in heard[0], heard
    muted = slash(company_client, emulator, "carol", f"mute #{bug}", room)["text"]
    assert f"no more DMs about #{bug}" in muted
    assert f"Muted tickets: #{bug}" in slash(company_client, emulator, "carol", "notifications", room)["text"]
    time.sleep(1.05)
    rm.update("bob", bug, notes="Second look: exorcism scheduled")
    cycle(company_bridge)
    assert not [p for p in emulator.dm_posts("carol") if "exorcism" in p["message"]]
    assert [p for p in emulator.dm_posts("alice") if "exorcism" in p["message"]]  # the assignee still hears
