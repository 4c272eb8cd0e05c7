"""The core's view of the outside world. Adapters implement these protocols (the store's are in ports/store.py):

| Port | Adapter | File |
|---|---|---|
| IssueTracker | RedmineGateway | adapters/redmine/gateway.py |
| TicketDesk | RedmineTickets | adapters/redmine/ticket_desk.py |
| ChangeFeed | RedmineChangeFeed | adapters/redmine/change_feed.py |
| FieldCatalog | RedmineFieldCatalog | adapters/redmine/ticket_fields.py |
| Outsiders | RedmineOutsiders | adapters/redmine/outsiders.py |
| Attachments | RedmineAttachments | adapters/redmine/uploads.py |
| Finder | RedmineFinder | adapters/redmine/finder.py |
| ProjectActivity | RedmineProjectActivity | adapters/redmine/project_activity.py |
| Chat, WebChat | MattermostChat (with FilesAndThreads) | adapters/mattermost/rest.py, rest_files.py |
| UserDirectory, AccountLinks | Directory (the map and the links, in the core) | core/identity.py |
| IdempotencyStore, LinkStore, StateStore (BridgeState) | BridgeStore | adapters/store/state_store.py |
| SubscriptionStore | SubscriptionTables | adapters/store/subscription_store.py |
| Outbox | OutboxTable | adapters/store/outbox_store.py |
| LeadFence | Fence | adapters/store/leadership.py |
| Sealer | KeyVault | adapters/store/key_vault.py |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, BinaryIO, Protocol

from app_integration.core.events import IssueHistory
from app_integration.core.models import (
    Account,
    ChatFile,
    ChatMessage,
    ChatPost,
    ChatUser,
    Choice,
    FoundPage,
    Issue,
    IssueDraft,
    IssuePage,
    LinkMethod,
    OutsiderView,
    Project,
    ProjectItem,
    SavedQuery,
    Upload,
    UserLink,
)
from app_integration.core.ports.store import IdempotencyStore as IdempotencyStore
from app_integration.core.ports.store import LeadFence as LeadFence
from app_integration.core.ports.store import LinkStore as LinkStore
from app_integration.core.ports.store import Outbox as Outbox
from app_integration.core.ports.store import Sealer as Sealer
from app_integration.core.ports.store import StateStore as StateStore
from app_integration.core.ports.store import SubscriptionStore as SubscriptionStore
from app_integration.core.tickets import (
    CustomField,
    TicketChange,
    TicketFields,
    TicketView,
    TimeEntry,
    TimeEntryDraft,
)


class IssueTracker(Protocol):
    """Redmine, acting as the given login (impersonation) unless a call says otherwise."""

    @property
    def base_url(self) -> str: ...

    def current_user(self, login: str) -> Account: ...

    def account_for_key(self, key: str) -> Account:
        """Whose API key this is, asked with the key alone; NotFound when Redmine refuses it."""
        ...

    def accounts_by_email(self, email: str) -> list[Account]: ...

    def project(self, login: str, identifier: str) -> Project: ...

    def member_ids(self, login: str, identifier: str) -> frozenset[int]:
        """Ids of the project's user members, as seen by `login`."""
        ...

    def visible_projects(self, login: str) -> list[Project]: ...

    def trackers(self) -> list[Choice]: ...

    def open_statuses(self) -> list[Choice]: ...

    def priorities(self) -> list[Choice]: ...

    def account(self, login: str) -> Account | None:
        """The admin's view of a login, or None when there is no such user."""
        ...

    def accounts(self, logins: Iterable[str]) -> dict[str, Account]:
        """The admin's view of many logins at once, by lower-cased login."""
        ...

    def create_issue(self, login: str, draft: IssueDraft, taken: Callable[[], Collection[int]] = frozenset) -> Issue:
        """`taken`: ids already answered to the caller's other creates; a ticket found after a lost answer is
        never one of them."""
        ...

    def assigned_issues(self, login: str, limit: int) -> IssuePage: ...

    def authored_issues(self, login: str, limit: int) -> IssuePage: ...

    def issues_by_ids(self, login: str, ids: Iterable[int]) -> list[Issue]: ...


class Finder(Protocol):
    """Tickets as the person finds them in Redmine: its search, and the issue queries saved there."""

    def search_issues(self, login: str, words: str, limit: int, offset: int) -> FoundPage: ...

    def saved_queries(self, login: str) -> list[SavedQuery]:
        """The issue queries the person may use: their own and the public ones, kept for minutes."""
        ...

    def query_issues(self, login: str, query: SavedQuery, limit: int) -> IssuePage:
        """The query's tickets, in its own order and with its own filters."""
        ...

    def recently_in_query(self, login: str, query: SavedQuery, since: dt.datetime) -> frozenset[int]:
        """The query's tickets updated since then, as the person sees them (a few pages at most)."""
        ...


class ProjectActivity(Protocol):
    """A project's news, wiki pages, versions and time entries, as a login sees them (None: as anyone, with no
    login at all)."""

    def items_since(
        self, login: str | None, project_id: int, kinds: frozenset[str], since: dt.datetime
    ) -> list[ProjectItem]: ...


class FieldCatalog(Protocol):
    """What a ticket in a project asks (trackers, their standard fields, custom fields, versions, categories),
    read with the admin key and kept for minutes."""

    def fields(self, project: str) -> TicketFields:
        """By identifier or id; NotFound where Redmine has no such project."""
        ...

    def forget(self, project: str) -> None:
        """Read the project's fields anew next time: Redmine named one the bridge did not know."""
        ...

    def custom_fields(self) -> tuple[CustomField, ...]:
        """Every issue custom field of the site (none where the admin key may not read them)."""
        ...


class Outsiders(Protocol):
    """What Redmine lets people outside a project see of it, read from the roles it gives them (the admin's view;
    kept briefly, so a change of roles or a project made private takes effect soon)."""

    def view(self, project_id: int) -> OutsiderView: ...


class Chat(Protocol):
    """Mattermost, acting as the bot."""

    def user(self, user_id: str) -> ChatUser | None: ...

    def user_by_username(self, username: str) -> ChatUser | None: ...

    def users_by_usernames(self, usernames: list[str]) -> dict[str, ChatUser]:
        """Many at once, by lower-cased username; a name with no user is left out."""
        ...

    def email(self, user_id: str) -> str | None:
        """The user's address, where Mattermost shows it to the bot (ShowEmailAddress, or an admin bot)."""
        ...

    def send_direct(self, user_id: str, message: ChatMessage) -> None: ...

    def direct_channel(self, user_id: str) -> str:
        """The id of the bot's DM channel with this user, made if needed."""
        ...

    def post(self, channel_id: str, message: ChatMessage, root_id: str = "", once: str = "") -> str:
        """The new post's id. With `once`, the same call again (a retry, a takeover) within Mattermost's
        30 s window gives the post already made instead of a second one; the post carries the key, for
        `posted_once` to find it later."""
        ...

    def posted_once(self, channel_id: str, once: str, since: dt.datetime) -> bool:
        """Whether a post made with this `once` key since then is in the channel."""
        ...

    def channel_kind(self, channel_id: str, fresh: bool = False) -> str | None:
        """O (public), P (private), D or G; None when the channel is gone or the bot cannot see it. `fresh`
        asks Mattermost now instead of a recent answer."""
        ...

    def may_manage_channel(self, user_id: str, channel_id: str) -> bool:
        """A member of the channel who is its admin, a team admin or a system admin."""
        ...

    def time_zone(self, user_id: str) -> str:
        """The user's IANA time zone as Mattermost keeps it, or "" when unset."""
        ...

    def post_ephemeral(self, user_id: str, channel_id: str, text: str) -> None: ...

    def patch_post(self, post_id: str, message: str) -> None: ...

    def read_post(self, post_id: str) -> ChatPost | None:
        """A post as the bot reads it, or None when it is gone or out of the bot's sight."""
        ...

    def may_read_channel(self, user_id: str, channel_id: str) -> bool:
        """Whether Mattermost lets this user read the channel: a member, or a public channel of the team."""
        ...

    def permalink(self, post_id: str) -> str: ...

    def file_info(self, file_id: str) -> ChatFile | None:
        """The file's name, size and type, or None when it is gone or the bot may not read it."""
        ...

    def file_stream(self, file_id: str, limit: int | None) -> AbstractContextManager[BinaryIO]:
        """The file's bytes, to read once: spooled to disk past a small size, never whole in memory. FileRefused
        past `limit` bytes."""
        ...

    def thread(self, post_id: str) -> list[ChatPost]:
        """Every post of the post's thread, oldest first."""
        ...

    def post_message(self, post_id: str) -> str | None:
        """The post's current text, or None when it is gone."""
        ...


class TicketDesk(Protocol):
    """One ticket, read and changed as a person, so Redmine's permissions and workflow decide."""

    def ticket(self, login: str, issue_id: int) -> TicketView:
        """NotFound when the person may not see it."""
        ...

    def change_ticket(self, login: str, issue_id: int, change: TicketChange) -> None:
        """RedmineRejected with Redmine's reasons when it refuses."""
        ...

    def withdraw_ticket(self, login: str, issue_id: int) -> None:
        """Deletes a ticket the bridge has just made for this person that holds nothing of theirs yet."""
        ...

    def log_time(self, login: str, issue_id: int, entry: TimeEntryDraft) -> None: ...

    def time_entries(self, login: str, since: dt.date, until: dt.date, issue_id: int | None = None) -> list[TimeEntry]:
        """The person's own time entries in those days (both included), newest first; on one ticket if given."""
        ...

    def activities(self) -> list[Choice]: ...

    def may_write_private_notes(self, login: str, project_id: int) -> bool: ...

    def may_make_private(self, login: str, project_id: int) -> bool:
        """Whether Redmine would keep a ticket this person creates private (set_issues_private or
        set_own_issues_private in the project)."""
        ...

    def set_watching(self, login: str, issue_id: int, user_id: int, watching: bool) -> None: ...


class Attachments(Protocol):
    """Files into Redmine: its size limit, and one upload per file as the person."""

    def limit(self) -> int | None:
        """attachment_max_size in bytes, as Redmine shows it; None where it does not, and Redmine decides."""
        ...

    def upload(self, login: str, name: str, content_type: str, data: BinaryIO) -> Upload:
        """FileRefused, naming why, when Redmine will not take it."""
        ...


class ChangeFeed(Protocol):
    """Redmine's issue changes, read by the admin; what a person may see is asked as that person."""

    def changed_since(self, since: dt.datetime, pages: int) -> list[tuple[int, dt.datetime]]:
        """(issue id, updated_on) of every issue updated at or after `since`, oldest first."""
        ...

    def newest_change(self) -> dt.datetime | None: ...

    def history(self, issue_id: int) -> IssueHistory | None:
        """The issue and all its journals, or None when it is gone."""
        ...

    def visible_journals(self, login: str, issue_id: int) -> frozenset[int] | None:
        """The journal ids `login` may see on the issue, or None when it may not see the issue at all."""
        ...

    def visible_issues(self, login: str, issue_ids: Sequence[int]) -> frozenset[int]:
        """Which of these issues `login` may see: one list query as that person per 100 issues."""
        ...

    def ancestors(self, project_id: int) -> tuple[int, ...]:
        """The project's parents, nearest first."""
        ...

    def due_soon(self, login: str, until: dt.date) -> list[Issue]:
        """The open issues assigned to `login` that are due on or before `until`, as `login` sees them."""
        ...


class WebChat(Protocol):
    """The parts of the Mattermost client that only the web surfaces use."""

    def open_dialog(self, trigger_id: str, url: str, dialog: dict[str, Any]) -> None: ...

    def user(self, user_id: str) -> ChatUser | None: ...

    def server_version(self) -> tuple[int, int] | None: ...

    def is_own_hook(self, url: str) -> bool: ...

    def post_ephemeral(self, user_id: str, channel_id: str, text: str, props: dict[str, Any] | None = None) -> None: ...

    def send_direct(self, user_id: str, message: ChatMessage) -> None: ...

    def direct_channel(self, user_id: str) -> str: ...

    def post_props(self, channel_id: str, text: str, props: dict[str, Any]) -> str: ...


class UserDirectory(Protocol):
    """Which Redmine login acts for a Mattermost user."""

    def redmine_login(self, user: ChatUser) -> str | None: ...

    def entries(self) -> Sequence[tuple[str, str]]: ...


class AccountLinks(UserDirectory, Protocol):
    """The directory's self-service side: a person's own link, made, read or removed only for themselves."""

    def link_of(self, user: ChatUser) -> UserLink | None: ...

    def link(
        self, user: ChatUser, redmine_user_id: int, login: str, method: LinkMethod, sealed_key: str | None = None
    ) -> UserLink: ...

    def unlink(self, user: ChatUser) -> bool: ...
