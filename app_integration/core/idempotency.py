"""Runs a form submission at most once per idempotency key.

A double click or a Mattermost retry returns the first submission's reply and
creates nothing. A submission that failed before changing anything releases its key,
so the person can fix the form and send it again: errors are raised, not returned.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Callable

from app_integration.core.errors import OutcomeUnknown
from app_integration.core.i18n import N_, _
from app_integration.core.models import Action, CommandContext, Reply
from app_integration.core.ports import IdempotencyStore

WAIT_STEPS = 100
WAIT_STEP_SECONDS = 0.1
STILL_RUNNING = N_("This form was already submitted and is still being processed. Check your direct messages.")
WROTE_THEN_FAILED = N_(
    "This form was submitted before, and Redmine took at least part of it; its answer was lost. "
    "Check your direct messages and Redmine before you send it again."
)
# Whether the work under way has written to Redmine: a list shared by the threads it runs in (each a copy of
# the context), appended to by the Redmine adapter after every write Redmine accepted.
_writes: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar("redmine_writes", default=None)


def note_write() -> None:
    """Called by the Redmine adapter when Redmine accepted a write."""
    writes = _writes.get()
    if writes is not None:
        writes.append(True)


def nothing_written() -> None:
    """Called once what this submission wrote was undone in Redmine (a ticket made and withdrawn: its create and
    its deletion were both counted): the form may be sent again."""
    writes = _writes.get()
    if writes is not None:
        writes.clear()


def encode_reply(reply: Reply) -> str:
    actions = [[a.label, a.command, a.argument, a.style] for a in reply.actions]
    return json.dumps({"text": reply.text, "sent_as_dm": reply.sent_as_dm, "actions": actions})


def decode_reply(raw: str) -> Reply:
    data = json.loads(raw)
    actions = tuple(Action(*map(str, a)) for a in data.get("actions", []))
    return Reply(text=str(data.get("text", "")), sent_as_dm=bool(data.get("sent_as_dm")), actions=actions)


def run_once(store: IdempotencyStore, context: CommandContext, work: Callable[[], Reply]) -> Reply:
    key = context.idempotency_key
    if not key:
        return work()
    if store.claim(key, context.user.id):
        writes: list[bool] = []
        token = _writes.set(writes)
        try:
            reply = work()
        except OutcomeUnknown as error:
            # The ticket may exist: a resubmit must not create it again, so the key keeps this answer.
            store.complete(key, encode_reply(Reply(text=error.user_message)), context.user.id)
            raise
        except BaseException:
            if writes:  # Redmine has something of it: a resubmit would make it twice
                store.complete(key, encode_reply(Reply(text=_(WROTE_THEN_FAILED))), context.user.id)
            else:
                store.release(key, context.user.id)
            raise
        finally:
            _writes.reset(token)
        store.complete(key, encode_reply(reply), context.user.id)
        return reply
    for _slot in range(WAIT_STEPS):
        stored = store.result(key, context.user.id)
        if stored is not None:
            return decode_reply(stored)
        time.sleep(WAIT_STEP_SECONDS)
    return Reply(text=_(STILL_RUNNING))
