"""A DM to the bot: the commands as plain text, or `#t` links, answered in the DM."""

from __future__ import annotations

from app_integration.core.dispatch import CommandRegistry, dispatch
from app_integration.core.i18n import N_, _
from app_integration.core.models import ChatMessage, ChatPost, CommandContext, Reply
from app_integration.core.posts.ticket_links import TicketLinker
from app_integration.core.posts.ticket_refs import find_refs
from app_integration.core.services import Services

NOT_UNDERSTOOD = N_("I did not understand that. Send `help` to see what I can do, or write `#t10` to get a link.")
FORMS_ELSEWHERE = N_("Forms open from the slash command: `/integration_with_redmine {name}`.")


def answer_direct_message(services: Services, registry: CommandRegistry, linker: TicketLinker, post: ChatPost) -> None:
    command, argument = registry.split(post.message)
    if command is None:
        if find_refs(post.message):
            linker.link(post)
        else:
            services.chat.post(post.channel_id, ChatMessage(text=_(NOT_UNDERSTOOD)), once=f"answer:{post.id}")
        return
    context = CommandContext(user=post.user, channel_id=post.channel_id, surface="dm", argument=argument)
    reply: Reply = dispatch(services, command, context)
    if reply.form is not None:
        services.chat.post(
            post.channel_id, ChatMessage(text=_(FORMS_ELSEWHERE, name=command.name)), once=f"answer:{post.id}"
        )
    elif reply.text and not reply.sent_as_dm:  # a DM sent by the command already landed here
        text = reply.text_without_buttons(command.name)
        # Keyed by the post it answers: a retry after a lost answer is one post.
        services.chat.post(post.channel_id, ChatMessage(text=text), once=f"answer:{post.id}")
