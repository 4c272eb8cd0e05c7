"""Runs a form submission at most once per idempotency key.

A double click or a Mattermost retry returns the first submission's reply and
creates nothing. A submission that failed before changing anything releases its key,
so the person can fix the form and send it again: errors are raised, not returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .errors import OutcomeUnknown
from .i18n import N_, _
from .models import Action, CommandContext, Reply
from .ports import IdempotencyStore

WAIT_STEPS = 100
WAIT_STEP_SECONDS = 0.1
STILL_RUNNING = N_("This form was already submitted and is still being processed. Check your direct messages.")


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
        try:
            reply = work()
        except OutcomeUnknown as error:
            # The ticket may exist: a resubmit must not create it again, so the key keeps this answer.
            store.complete(key, encode_reply(Reply(text=error.user_message)))
            raise
        except BaseException:
            store.release(key)
            raise
        store.complete(key, encode_reply(reply))
        return reply
    for _slot in range(WAIT_STEPS):
        stored = store.result(key, context.user.id)
        if stored is not None:
            return decode_reply(stored)
        time.sleep(WAIT_STEP_SECONDS)
    return Reply(text=_(STILL_RUNNING))
