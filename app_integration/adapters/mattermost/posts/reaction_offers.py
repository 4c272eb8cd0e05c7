"""A ticket from any post: whoever reacts with the ticket emoji gets a DM with a button that opens the
create form, prefilled from the post. The button is signed for that person, like every other button."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from app_integration.adapters.mattermost.commands.form_rendering import signed_buttons
from app_integration.adapters.mattermost.commands.request_verification import StateSigner
from app_integration.adapters.mattermost.rest import MattermostChat
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.core.dispatch import CommandRegistry
from app_integration.core.errors import BridgeError, ChatUnavailable, NotFound
from app_integration.core.i18n import _, speaking
from app_integration.core.models import Action, is_chat_id
from app_integration.core.services import Services
from app_integration.core.settings import Settings

log = logging.getLogger("app_integration.adapters.mattermost.posts.post_listener")


class ListenerParts(Protocol):
    """What the listener takes of the assembled bridge (the runtime's `Bridge` has it all): the posts flow
    stays below the runtime that starts it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def services(self) -> Services: ...
    @property
    def chat(self) -> MattermostChat: ...
    @property
    def store(self) -> BridgeStore: ...
    @property
    def registry(self) -> CommandRegistry: ...


def offer_ticket_from_post(bridge: ListenerParts, user_id: str, post_id: str) -> None:
    chat = bridge.chat
    post = chat.read_post(post_id)
    if post is None or not chat.may_read_channel(user_id, post.channel_id):
        raise NotFound("the post is gone, or its reactor may not read its channel")
    reactor = chat.user(user_id)
    if reactor is None:
        raise NotFound("no such user")
    with speaking(reactor.locale):
        _offer(bridge, user_id, post_id)


def _offer(bridge: ListenerParts, user_id: str, post_id: str) -> None:
    chat, settings = bridge.chat, bridge.settings
    link = chat.permalink(post_id)
    text = _("Make a Redmine ticket from [this post]({link})?", link=link)
    if settings.request_signing_key is None:  # no way to sign a button: the command does the same
        text += "\n" + _("Type `/integration_with_redmine create_ticket_by_form {link}`.", link=link)
        text += "\n" + _("Or add it to a ticket: `/integration_with_redmine attach {link} <ticket>`.", link=link)
        chat.post_props(chat.direct_channel(user_id), text, {})
        return
    signer = StateSigner(settings.request_signing_key.get_secret_value(), settings.signed_state_max_age)
    actions = [
        Action(_("Create a ticket from this post"), "create_ticket_by_form", post_id, "primary"),
        Action(_("Add to a ticket"), "attach_form", post_id),
    ]
    channel = chat.direct_channel(user_id)
    buttons = signed_buttons(signer, settings.root_url, user_id, channel, actions, "")
    chat.post_props(channel, text, {"attachments": [buttons]})


Claimed = Callable[[str, dict[str, Any]], object]  # truthy when this process is to act (a Claim), else None
Done = Callable[[str, dict[str, Any]], None]


def offer_for_reaction(bridge: ListenerParts, bot_id: str, data: dict[str, Any], claimed: Claimed, done: Done) -> None:
    """The ticket emoji on a post: its reactor gets a DM with a button to make a ticket from the post (a reaction
    brings no trigger_id to open a dialog with). Who reacted is the reaction's user_id. Claimed once per post,
    person and emoji, and done once offered (or once it never can be)."""
    reaction = json.loads(data.get("reaction") or "{}")
    user_id, post_id = str(reaction.get("user_id", "")), str(reaction.get("post_id", ""))
    wanted = bridge.settings.create_from_reaction_emoji
    if reaction.get("emoji_name") != wanted or user_id == bot_id or not is_chat_id(post_id):
        return
    key, message = f"reaction:{post_id}:{user_id}:{wanted}", {"event": "reaction_added", "data": data}
    if not claimed(key, message):
        return
    try:
        offer_ticket_from_post(bridge, user_id, post_id)
    except ChatUnavailable as error:  # left claimed and not done: taken again once stale
        log.info("listener: the ticket offer waits: %s", error.user_message)
        return
    except BridgeError as error:
        log.info("listener: no ticket offer for a reaction: %s", error.user_message)
    done(key, message)


def reactions_since(raw: dict[str, Any], since: int) -> list[dict[str, Any]]:
    """A backfilled post's reactions made since then, as the websocket would have brought them: a reaction gives
    its post a new update_at (store/sqlstore/reaction_store.go), so `posts?since=` returns the post with them."""
    reactions = (raw.get("metadata") or {}).get("reactions") or []
    return [
        {"event": "reaction_added", "data": {"reaction": json.dumps(reaction)}}
        for reaction in reactions
        if reaction.get("create_at", 0) >= since and not reaction.get("delete_at")
    ]
