"""`connect`, `whoami`, `disconnect`: a person links their own Mattermost account to Redmine.

Two ways in, each allowed by a setting: an email match (the same address on both sides,
shared by no other Redmine account, confirmed with a button), or a personal API key typed
into a dialog, never into a command's text, checked with Redmine and stored encrypted.
Every step acts for the verified caller only: nothing here can touch another person's link.
"""

from __future__ import annotations

import uuid

from ..errors import BridgeError, InputError, NotFound
from ..formatting import plain
from ..i18n import _
from ..models import Account, Action, CommandContext, Form, FormField, Reply, UserLink
from ..ports import AccountLinks
from ..services import Services

HOW = {"map": "the operator's user map", "email": "your matching email", "key": "your personal API key"}
KEY_FIELD = "api_key"


def _links(services: Services) -> AccountLinks:
    if services.links is None:
        raise BridgeError("Linking is not available on this bridge.")
    return services.links


def connect(services: Services, context: CommandContext) -> Reply:
    link = _links(services).link_of(context.user)
    if link is not None and link.redmine_user_id:
        return Reply(text=f"You are already linked: {describe(link)} Use `disconnect` first to change it.")
    actions = []
    if services.connect_by_email:
        actions.append(Action("Link by my email", "connect_email", style="primary"))
    if services.connect_by_key:
        actions.append(Action("Enter my Redmine API key", "connect_key"))
    if not actions:
        return Reply(text="Self-service linking is off on this bridge. Ask its operator to add you to the user map.")
    return Reply(text="Link your Mattermost account to Redmine:", actions=tuple(actions))


def connect_email(services: Services, context: CommandContext) -> Reply:
    account = _email_match(services, context)
    return Reply(
        text=f"Link to Redmine user {plain(account.name)} ({plain(account.login)})?",
        actions=(
            Action("Confirm", "connect_email_confirm", str(account.id), style="primary"),
            Action("Cancel", "connect_cancel"),
        ),
    )


def connect_email_confirm(services: Services, context: CommandContext) -> Reply:
    # The button names the account it showed; the match is made again, so a stale or altered one links nobody.
    account = _email_match(services, context)
    if str(account.id) != context.argument.strip():
        raise BridgeError("Your email now matches another Redmine account. Run `connect` again.")
    link = _links(services).link(context.user, account.id, account.login, "email")
    return Reply(text=f"Linked: {describe(link)}")


def connect_cancel(services: Services, context: CommandContext) -> Reply:
    return Reply(text="Nothing was linked.")


def connect_key(services: Services, context: CommandContext) -> Reply:
    if not services.connect_by_key:
        raise BridgeError("Linking by API key is off on this bridge.")
    return Reply(
        form=Form(
            command="connect_key",
            title=_("Link by API key"),
            idempotency_key=uuid.uuid4().hex,
            submit_label=_("Link"),
            introduction=(
                "In Redmine: My account, then API access key, then Show. The key is checked, then stored encrypted."
            ),
            fields=(
                FormField(
                    KEY_FIELD,
                    "API access key",
                    "text",
                    required=True,
                    max_length=64,
                    secret=True,
                    help=_("Only you and the bridge see it; it acts as you in Redmine"),
                ),
            ),
        )
    )


def submit_key(services: Services, context: CommandContext) -> Reply:
    key = (context.values.get(KEY_FIELD) or "").strip()
    if not key.isalnum() or len(key) > 64:
        raise InputError("That is not a Redmine API key.", {KEY_FIELD: "Paste the key exactly as Redmine shows it"})
    try:
        account = services.tracker.account_for_key(key)
    except NotFound:
        raise InputError("Redmine does not accept that key.", {KEY_FIELD: "Redmine does not accept this key"}) from None
    if services.sealer is None or not services.sealer.available:
        raise BridgeError("Linking by API key is off on this bridge.")
    link = _links(services).link(context.user, account.id, account.login, "key", services.sealer.seal(key))
    return Reply(text=f"Linked: {describe(link)}")


def disconnect(services: Services, context: CommandContext) -> Reply:
    links = _links(services)
    link = links.link_of(context.user)
    if link is None or not link.redmine_user_id:
        return Reply(text="You are not linked to Redmine.")
    if link.method == "map":
        return Reply(
            text=f"Your link comes from the operator's user map; ask them to remove `{link.map_username}` from it."
        )
    links.unlink(context.user)
    return Reply(text=f"Unlinked from Redmine user `{link.redmine_login}`. Your stored key, if any, is deleted.")


def whoami(services: Services, context: CommandContext) -> Reply:
    return Reply(text=link_status(services, context))


def link_status(services: Services, context: CommandContext) -> str:
    """The caller's link, how it was made, and whether Redmine accepts it now."""
    links = services.links
    link = links.link_of(context.user) if links is not None else None
    login = link.redmine_login if link is not None else services.users.redmine_login(context.user)
    if login is None:
        return (
            f"**You:** @{context.user.username} is not linked to Redmine yet. Link yourself with "
            f"`/integration_with_redmine connect`, or ask the bridge's operator to add "
            f"`{context.user.username}=<your Redmine login>` to the user map."
        )
    how = f" by {HOW[link.method]}" if link is not None and link.redmine_user_id else ""
    try:
        account = services.tracker.current_user(login)
    except BridgeError as error:
        return f"**You:** linked to Redmine login `{login}`{how}, but Redmine says: {error.user_message}"
    return f"**You:** linked to Redmine login `{login}` ({plain(account.name)}){how}; Redmine accepts it."


def describe(link: UserLink) -> str:
    return f"Redmine login `{link.redmine_login}`, by {HOW[link.method]}."


def _email_match(services: Services, context: CommandContext) -> Account:
    if not services.connect_by_email:
        raise BridgeError("Linking by email is off on this bridge.")
    email = services.chat.email(context.user.id)
    if not email:
        raise BridgeError("Mattermost does not show the bridge your email address. Link with your API key instead.")
    accounts = services.tracker.accounts_by_email(email)
    if len(accounts) > 1:
        raise BridgeError("Several Redmine accounts share your email address, so it cannot tell which is yours.")
    if not accounts or not accounts[0].active:
        raise BridgeError("No active Redmine account has your email address. Link with your API key instead.")
    return accounts[0]
