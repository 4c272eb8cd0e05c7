"""`app_info`: help generated from the command registry, plus the caller's link status."""

from __future__ import annotations

from collections.abc import Callable

from app_integration.core.commands.account_links import link_status
from app_integration.core.dispatch import SLASH_TRIGGER, CommandRegistry, Handler
from app_integration.core.i18n import _
from app_integration.core.models import CommandContext, Reply
from app_integration.core.services import Services


def help_text(registry: CommandRegistry, surface: str) -> str:
    prefix = "" if surface == "dm" else f"/{SLASH_TRIGGER} "
    rows = [
        f"| `{prefix}{c.name}{' ' + _(c.usage) if c.usage else ''}` | {', '.join(f'`{a}`' for a in c.aliases) or '—'} "
        f"| {_(c.summary)} |"
        for c in registry
    ]
    return "\n".join(
        [
            _("### Redmine bridge"),
            _("| Command | Also | What it does |"),
            "|---|---|---|",
            *rows,
            "",
            _("Type `#t10` in any message and it becomes a link to Redmine issue 10."),
            _("Command names stay in English in every language."),
        ]
    )


def make_app_info(registry: Callable[[], CommandRegistry]) -> Handler:
    def app_info(services: Services, context: CommandContext) -> Reply:
        return Reply(text=help_text(registry(), context.surface) + "\n\n" + link_status(services, context))

    return app_info
