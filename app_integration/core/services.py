"""What the use cases are given: the ports, and a few choices from the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app_integration.core.errors import BridgeError, NotMapped
from app_integration.core.i18n import _
from app_integration.core.models import ChatUser
from app_integration.core.ports import (
    AccountLinks,
    Attachments,
    ChangeFeed,
    Chat,
    FieldCatalog,
    Finder,
    IssueTracker,
    Outbox,
    Outsiders,
    ProjectActivity,
    Sealer,
    SubscriptionStore,
    TicketDesk,
)
from app_integration.core.ports.store import BridgeState


@dataclass
class Services:
    """Every port is required: the wiring always sets them, and a use case never asks whether one is there."""

    tracker: IssueTracker
    chat: Chat
    users: AccountLinks  # who is who: the operator's map and the links people made themselves
    store: BridgeState  # form submissions kept once, and who is who by Mattermost user id
    sealer: Sealer  # personal API keys, encrypted at rest (`available` is False without LINK_ENCRYPTION_KEYS)
    feed: ChangeFeed  # reads Redmine's changes since its cursor (flow 3, updates)
    subscriptions: SubscriptionStore  # who hears what: channels' subscriptions, people's toggles, ticket threads
    outbox: Outbox  # what is to be posted into Mattermost, each row once
    desk: TicketDesk  # one ticket's card and its actions
    attachments: Attachments  # files into Redmine
    outsiders: Outsiders  # what people outside a project may see of it (core/privacy.py decides with it)
    fields: FieldCatalog  # what a ticket in a project asks: custom fields, trackers' fields, versions
    finder: Finder  # Redmine's search and saved queries, as the person
    activity: ProjectActivity  # a project's news, wiki, versions and time, for subscriptions
    list_limit: int = 50
    today: Callable[[], dt.date] = field(default=dt.date.today)
    connect_by_email: bool = True
    connect_by_key: bool = True
    concurrency: int = 4  # Redmine creates in flight at once in a batch
    default_locale: str = "en"  # for what a whole channel reads

    def login_for(self, user: ChatUser) -> str:
        """The caller's Redmine login, or NotMapped with how to get mapped."""
        login = self.users.redmine_login(user)
        if login is None:
            raise NotMapped(
                _(
                    "@{user} is not linked to a Redmine account. Link it yourself with "
                    "`/integration_with_redmine connect`, or ask the bridge's operator to add "
                    "`{user}=<your Redmine login>` to the user map.",
                    user=user.username,
                )
            )
        return login

    def today_for(self, user: ChatUser) -> dt.date:
        """Today where the person is (their Mattermost time zone), for dates they write or are shown."""
        try:
            zone = self.chat.time_zone(user.id)
        except BridgeError:
            zone = ""
        if not zone:
            return self.today()
        try:
            return dt.datetime.now(ZoneInfo(zone)).date()
        except (ZoneInfoNotFoundError, ValueError):
            return self.today()

    def locale_of_user(self, chat_user_id: str) -> str:
        """A person's language, as Mattermost keeps it; the default where Mattermost cannot say."""
        try:
            user = self.chat.user(chat_user_id)
        except BridgeError:
            user = None
        return user.locale if user is not None else self.default_locale
