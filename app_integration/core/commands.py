"""The command registry: the one source for help text, Apps bindings and dialogs, and for who may run
what. Each command declares its policy beside it; `dispatch` is the one door every surface goes through, and
enforces it, so no feature has to remember to."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from app_integration.core.errors import PermissionDenied
from app_integration.core.i18n import N_, _
from app_integration.core.models import CommandContext, Reply
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
