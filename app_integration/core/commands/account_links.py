"""`connect`, `whoami`, `disconnect`: a person links their own Mattermost account to Redmine.

Two ways in, each allowed by a setting: an email match (the same address on both sides,
shared by no other Redmine account, confirmed with a button), or a personal API key typed
into a dialog, never into a command's text, checked with Redmine and stored encrypted.
Every step acts for the verified caller only: nothing here can touch another person's link.
"""

from __future__ import annotations

import uuid

from app_integration.core.errors import BridgeError, InputError, NotFound
from app_integration.core.formatting import plain
from app_integration.core.i18n import N_, _
from app_integration.core.models import Account, Action, CommandContext, Form, FormField, Reply, UserLink
from app_integration.core.services import Services

HOW = {"map": N_("the operator's user map"), "email": N_("your matching email"), "key": N_("your personal API key")}
KEY_FIELD = "api_key"


def connect(services: Services, context: CommandContext) -> Reply:
    link = services.users.link_of(context.user)
    if link is not None and link.redmine_user_id:
        return Reply(
            text=_("You are already linked: {describe} Use `disconnect` first to change it.", describe=describe(link))
        )
    actions = []
    if services.connect_by_email:
        actions.append(Action(_("Link by my email"), "connect_email", style="primary"))
    if services.connect_by_key:
        actions.append(Action(_("Enter my Redmine API key"), "connect_key"))
    if not actions:
        return Reply(text=_("Self-service linking is off on this bridge. Ask its operator to add you to the user map."))
    return Reply(text=_("Link your Mattermost account to Redmine:"), actions=tuple(actions))


def connect_email(services: Services, context: CommandContext) -> Reply:
    account = _email_match(services, context)
    return Reply(
        text=_("Link to Redmine user {name} ({login})?", name=plain(account.name), login=plain(account.login)),
        actions=(
            Action(_("Confirm"), "connect_email_confirm", str(account.id), style="primary"),
            Action(_("Cancel"), "connect_cancel"),
        ),
    )


def connect_email_confirm(services: Services, context: CommandContext) -> Reply:
    # The button names the account it showed; the match is made again, so a stale or altered one links nobody.
    account = _email_match(services, context)
    if str(account.id) != context.argument.strip():
        raise BridgeError(_("Your email now matches another Redmine account. Run `connect` again."))
    link = services.users.link(context.user, account.id, account.login, "email")
    return Reply(text=_("Linked: {link}", link=describe(link)))


def connect_cancel(services: Services, context: CommandContext) -> Reply:
    return Reply(text=_("Nothing was linked."))


def connect_key(services: Services, context: CommandContext) -> Reply:
    if not services.connect_by_key:
        raise BridgeError(_("Linking by API key is off on this bridge."))
    return Reply(
        form=Form(
            command="connect_key",
            title=_("Link by API key"),
            idempotency_key=uuid.uuid4().hex,
            submit_label=_("Link"),
            introduction=(
                _("In Redmine: My account, then API access key, then Show. The key is checked, then stored encrypted.")
            ),
            fields=(
                FormField(
                    KEY_FIELD,
                    _("API access key"),
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
        raise InputError(
            _("That is not a Redmine API key."), {KEY_FIELD: _("Paste the key exactly as Redmine shows it")}
        )
    try:
        account = services.tracker.account_for_key(key)
    except NotFound:
        raise InputError(
            _("Redmine does not accept that key."), {KEY_FIELD: _("Redmine does not accept this key")}
        ) from None
    if not services.sealer.available:
        raise BridgeError(_("Linking by API key is off on this bridge."))
    link = services.users.link(context.user, account.id, account.login, "key", services.sealer.seal(key))
    return Reply(text=_("Linked: {link}", link=describe(link)))


def disconnect(services: Services, context: CommandContext) -> Reply:
    links = services.users
    link = links.link_of(context.user)
    if link is None or not link.redmine_user_id:
        return Reply(text=_("You are not linked to Redmine."))
    if link.method == "map":
        return Reply(
            text=_(
                "Your link comes from the operator's user map; ask them to remove `{map_username}` from it.",
                map_username=link.map_username,
            )
        )
    links.unlink(context.user)
    return Reply(
        text=_(
            "Unlinked from Redmine user `{redmine_login}`. Your stored key, if any, is deleted.",
            redmine_login=link.redmine_login,
        )
    )


def whoami(services: Services, context: CommandContext) -> Reply:
    return Reply(text=link_status(services, context))


def link_status(services: Services, context: CommandContext) -> str:
    """The caller's link, how it was made, and whether Redmine accepts it now."""
    link = services.users.link_of(context.user)
    login = link.redmine_login if link is not None else services.users.redmine_login(context.user)
    if login is None:
        return _(
            "**You:** @{username} is not linked to Redmine yet. Link yourself with "
            "`/integration_with_redmine connect`, or ask the bridge's operator to add "
            "`{username}=<your Redmine login>` to the user map.",
            username=context.user.username,
        )
    how = " " + _("by {method}", method=_(HOW[link.method])) if link is not None and link.redmine_user_id else ""
    try:
        account = services.tracker.current_user(login)
    except BridgeError as error:
        return _(
            "**You:** linked to Redmine login `{login}`{how}, but Redmine says: {user_message}",
            login=login,
            how=how,
            user_message=error.user_message,
        )
    return _(
        "**You:** linked to Redmine login `{login}` ({name}){how}; Redmine accepts it.",
        login=login,
        name=plain(account.name),
        how=how,
    )


def describe(link: UserLink) -> str:
    return _(
        "Redmine login `{redmine_login}`, by {method}.", redmine_login=link.redmine_login, method=_(HOW[link.method])
    )


def _email_match(services: Services, context: CommandContext) -> Account:
    if not services.connect_by_email:
        raise BridgeError(_("Linking by email is off on this bridge."))
    email = services.chat.email(context.user.id)
    if not email:
        raise BridgeError(_("Mattermost does not show the bridge your email address. Link with your API key instead."))
    accounts = services.tracker.accounts_by_email(email)
    if len(accounts) > 1:
        raise BridgeError(_("Several Redmine accounts share your email address, so it cannot tell which is yours."))
    if not accounts or not accounts[0].active:
        raise BridgeError(_("No active Redmine account has your email address. Link with your API key instead."))
    if accounts[0].admin:
        raise BridgeError(_("A Redmine administrator is never linked by email. Link with your API key instead."))
    return accounts[0]
