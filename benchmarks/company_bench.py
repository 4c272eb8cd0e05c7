"""Redmine round trips on a real company's Redmine (the company seed's `acme`: required custom fields, one per
tracker, versions, categories, a group): the form's two steps and batches whose lines carry the fields.
Counted at the HTTP layer, cold (a fresh bridge) and warm (the same command again)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.dispatch import dispatch
from app_integration.core.models import ChatUser, CommandContext, Reply
from benchmarks.sandbox import Count
from benchmarks.suite import counted


def company_counts(
    bridge_factory: Callable[[], Bridge], emulator: Any, fields: dict[str, int], sizes: tuple[int, ...]
) -> list[Count]:
    alice = emulator.user("alice")
    caller = ChatUser(alice["id"], "alice")

    def run(bridge: Bridge, name: str, argument: str = "", values: dict[str, str] | None = None) -> Reply:
        command = bridge.registry.find(name)
        assert command is not None
        context = CommandContext(
            caller,
            "c",
            "slash",
            argument=argument,
            values=values or {},
            idempotency_key=secrets.token_hex(8) if values else None,
            signed=True,
        )
        return dispatch(bridge.services, command, context, submitting=bool(values))

    def both(name: str, **kwargs: Any) -> tuple[int, int]:
        bridge = bridge_factory()
        cold = counted(lambda: run(bridge, name, **kwargs))
        return cold, counted(lambda: run(bridge, name, **kwargs))

    first = {"projects": "acme", "subject": "bench company form", "trackers": "1", "status": "1", "priority": "2"}
    step = '{"post": "", "shown": "acme:1", "values": {}}'
    second = {**first, f"cf_{fields['customer']}": "Initech", f"cf_{fields['severity']}": "S2", "version": "1"}
    counts = [
        Count("form, first step (answers with the second)", *both("create_ticket_by_form", values=first), 2, "2"),
        Count(
            "form, second step (custom fields, version)",
            *both("create_ticket_by_form", argument=step, values=second),
            1,
            "1 create + 1 membership",
        ),
    ]
    for n in sizes:
        lines = "\n".join(f"{i}. bench company line {i} @bob Customer=Initech Severity=S2" for i in range(1, n + 1))
        cold, warm = both("create_tickets", argument=f"acme\n{lines}")
        counts.append(Count(f"create_tickets N={n} with custom fields", cold, warm, n, f"N + at most 2 = {n + 2}"))
    return counts
