"""The dispatch: the one door every surface sends a command through. A `Command` declares its name, its words
for help, Apps bindings and dialogs, and its policy (who may run it); the registry (core/commands/registry.py)
lists them, and `dispatch` enforces each one's policy, so no feature has to remember to.

And a form's submission, run at most once per idempotency key (`run_once`): a double click or a Mattermost
retry returns the first submission's reply and creates nothing. A submission that failed before changing
anything releases its key, so the person can fix the form and send it again: errors are raised, not returned.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from app_integration.core.errors import OutcomeUnknown, PermissionDenied
from app_integration.core.i18n import N_, _
from app_integration.core.models import Action, CommandContext, Reply
from app_integration.core.ports import IdempotencyStore
from app_integration.core.services import Services

SLASH_TRIGGER = "integration_with_redmine"
# The 2024 version's Apps command: `/redmine <cmd>`.
LEGACY_TRIGGER = "redmine"
Handler = Callable[[Services, CommandContext], Reply]
# anyone: typed or clicked by anyone (the feature still acts as the caller, in Redmine's rights).
# signed: only from a button or form the bridge signed for this person and channel; never typed by name.
# manager: only for a member of the channel who is a channel, team or system admin.
Policy = Literal["anyone", "signed", "manager"]
SIGNED_ONLY = N_("That step runs from its button or form, not by name.")
NOT_A_MANAGER = N_(
    "Only a member of this channel who is a channel admin, a team admin or a system admin may change its subscriptions."
)
NOT_A_CHANNEL = N_("Subscriptions are for channels; in a DM, use `/integration_with_redmine notifications`.")


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Handler
    submit: Handler | None = None
    aliases: tuple[str, ...] = ()
    usage: str = ""
    hidden: bool = False  # a step behind a button: runnable, but not listed in help, bindings or quick actions
    label: str = ""  # the command as a button says it (N_): a reader's words, where its name stays English
    policy: Policy = "anyone"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class CommandRegistry:
    def __init__(self, commands: list[Command]) -> None:
        self._commands = list(commands)
        self._by_name = {name.lower(): command for command in commands for name in command.names}

    def __iter__(self) -> Iterator[Command]:
        """The listed commands; hidden steps are found by name only."""
        return iter(c for c in self._commands if not c.hidden)

    def find(self, name: str) -> Command | None:
        return self._by_name.get(name.strip().lower())

    def split(self, text: str) -> tuple[Command | None, str]:
        """The command named by the first word of `text`, and the rest of the text."""
        parts = text.strip().split(None, 1)
        if not parts:
            return None, ""
        return self.find(parts[0]), parts[1].strip() if len(parts) > 1 else ""


def dispatch(services: Services, command: Command, context: CommandContext, submitting: bool = False) -> Reply:
    """Runs a command, or submits its form, once its policy allows it for this context."""
    if command.policy == "signed" and not context.signed:
        raise PermissionDenied(_(SIGNED_ONLY))
    if command.policy == "manager":
        require_channel_manager(services, context)
    handler = command.submit if submitting and command.submit is not None else command.run
    return handler(services, context)


def require_channel_manager(services: Services, context: CommandContext) -> None:
    """Asked of Mattermost for the verified user id, now."""
    if services.chat.channel_kind(context.channel_id) not in ("O", "P"):
        raise PermissionDenied(_(NOT_A_CHANNEL))
    if not services.chat.may_manage_channel(context.user.id, context.channel_id):
        raise PermissionDenied(_(NOT_A_MANAGER))


# A submission run once ---------------------------------------------------------------------------
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
