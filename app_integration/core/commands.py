"""The command registry: the one source for help text, Apps bindings and dialogs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .models import CommandContext, Reply
from .services import Services

SLASH_TRIGGER = "integration_with_redmine"
# The 2024 version's Apps command: `/redmine <cmd>`.
LEGACY_TRIGGER = "redmine"
Handler = Callable[[Services, CommandContext], Reply]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Handler
    submit: Handler | None = None
    aliases: tuple[str, ...] = ()
    usage: str = ""
    hidden: bool = False  # a step behind a button: runnable, but not listed in help, bindings or quick actions

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
