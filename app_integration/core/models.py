"""Domain models shared by the core and the adapters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from app_integration.core.i18n import _

Surface = Literal["slash", "apps", "dm"]
LinkMethod = Literal["map", "email", "key"]
FieldKind = Literal["text", "textarea", "select", "user", "bool"]


@dataclass(frozen=True)
class ChatUser:
    id: str
    username: str
    locale: str = "en"  # as Mattermost keeps it for the user; the bridge answers them in it


@dataclass(frozen=True)
class Ref:
    """A named Redmine record (project, tracker, status, user) as issues embed it."""

    id: int
    name: str


@dataclass(frozen=True)
class Project:
    id: int
    identifier: str
    name: str


IssuesVisibility = Literal["all", "default", "own", ""]


@dataclass(frozen=True)
class OutsiderView:
    """What Redmine lets people outside a project see of its issues: the widest issues visibility among the
    roles it gives them there that may view issues ("all", "default": every issue but private ones, "own",
    or "" when none may)."""

    project_public: bool
    non_members: IssuesVisibility  # logged-in people who are not members
    anonymous: IssuesVisibility  # people who are not logged in
    anonymous_allowed: bool  # Redmine answers people who are not logged in at all


@dataclass(frozen=True)
class Account:
    """A Redmine user as the admin sees it."""

    id: int
    login: str
    name: str
    active: bool
    admin: bool = False


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    is_default: bool = False


@dataclass(frozen=True)
class Issue:
    id: int
    subject: str
    project: Ref
    tracker: Ref
    status: Ref
    priority: Ref
    author: Ref
    assigned_to: Ref | None = None
    start_date: dt.date | None = None
    due_date: dt.date | None = None
    updated_on: dt.datetime | None = None
    is_private: bool = False
    created_on: dt.datetime | None = None


@dataclass(frozen=True)
class Upload:
    """A file Redmine holds after its upload API, until a create or a note names its token."""

    token: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class ChatFile:
    """A file on a Mattermost post, as its FileInfo describes it."""

    id: str
    name: str
    size: int
    mime_type: str


@dataclass(frozen=True)
class IssueDraft:
    project: str
    subject: str
    description: str = ""
    tracker_id: int | None = None
    status_id: int | None = None
    priority_id: int | None = None
    assigned_to_id: int | None = None
    start_date: dt.date | None = None
    due_date: dt.date | None = None
    estimated_hours: Decimal | None = None
    done_ratio: int | None = None
    is_private: bool = False
    uploads: tuple[Upload, ...] = ()  # files uploaded to Redmine first, attached by the create
    category_id: int | None = None
    fixed_version_id: int | None = None
    # Custom field id -> its value; a field with several values takes a tuple.
    custom_values: tuple[tuple[int, str | tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class IssuePage:
    issues: tuple[Issue, ...]
    total: int


@dataclass(frozen=True)
class Found:
    """One ticket Redmine's search found, as it titles it ("Bug #12 (New): Printer jams")."""

    id: int
    title: str


@dataclass(frozen=True)
class FoundPage:
    found: tuple[Found, ...]
    total: int


@dataclass(frozen=True)
class ProjectItem:
    """Something of a project other than a ticket, as Redmine shows it: a news item, a wiki page's new version,
    a released version or a time entry. `key` names it once and for all (the outbox's key)."""

    key: str
    kind: str  # news, wiki, versions or time
    title: str
    url: str
    when: dt.datetime
    author: str = ""
    text: str = ""


@dataclass(frozen=True)
class SavedQuery:
    """An issue query saved in Redmine that the person may use; a project's own is run within its project."""

    id: int
    name: str
    project_id: int | None = None


@dataclass(frozen=True)
class ChatMessage:
    """A post: plain text plus an optional Slack-style attachment (a table, usually)."""

    text: str
    pretext: str = ""
    title: str = ""
    title_link: str = ""
    body: str = ""


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind
    required: bool = False
    options: tuple[Choice, ...] = ()
    default: str | None = None
    hint: str = ""
    max_length: int | None = None
    help: str = ""  # shown under the field, on every surface
    secret: bool = False  # typed characters are hidden


@dataclass(frozen=True)
class Form:
    command: str
    title: str
    fields: tuple[FormField, ...]
    idempotency_key: str
    introduction: str = ""
    submit_label: str = ""  # empty: the surface's own "Submit", in the reader's language
    argument: str = ""  # handed back to the submit as its argument (which record a form edits), signed


@dataclass(frozen=True)
class ChatPost:
    """A message as the listener hears it."""

    id: str
    user: ChatUser
    channel_id: str
    channel_type: str
    message: str
    root_id: str = ""
    is_system: bool = False
    created_at: int = 0  # Mattermost's create_at, ms
    file_ids: tuple[str, ...] = ()

    @property
    def is_direct(self) -> bool:
        return self.channel_type == "D"


@dataclass(frozen=True)
class CommandContext:
    """Everything a command needs, whichever surface it came from."""

    user: ChatUser
    channel_id: str
    surface: Surface
    argument: str = ""
    values: Mapping[str, str | None] = field(default_factory=dict)
    idempotency_key: str | None = None
    signed: bool = False  # came from a button or form the bridge signed for this person and channel


@dataclass(frozen=True)
class Action:
    """A button: when its person clicks it, `command` runs for them with `argument`."""

    label: str
    command: str
    argument: str = ""
    style: str = "default"


@dataclass(frozen=True)
class Reply:
    """What a command answers; each adapter renders it in its own format."""

    text: str = ""
    form: Form | None = None
    sent_as_dm: bool = False
    actions: tuple[Action, ...] = ()

    def text_without_buttons(self, command: str) -> str:
        """For surfaces that show no buttons (the Apps framework, a DM to the bot): where the buttons are."""
        if not self.actions:
            return self.text
        where = f"`/integration_with_redmine {command}`"
        return f"{self.text}\n\n" + _("The buttons for this step come with the slash command: {where}.", where=where)


@dataclass(frozen=True)
class UserLink:
    """Which Redmine user a Mattermost user (by immutable id) acts as, and how that was settled."""

    chat_user_id: str
    redmine_user_id: int
    redmine_login: str
    method: LinkMethod
    linked_at: dt.datetime
    map_username: str | None = None  # for the operator's map: the username the entry was resolved from
    sealed_key: str | None = None  # a personal API key, encrypted; only the key vault can open it


# Mattermost ids, checked before any of them reaches an API path. A person can post their own dialog submission
# or button click through Mattermost's API, so any id in a request may be anything (`me`, `../teams`): only a
# well-formed id (26 lower-case letters and digits) is ever put into a path.
_CHAT_ID = re.compile(r"^[a-z0-9]{26}$")


def is_chat_id(value: object) -> bool:
    return isinstance(value, str) and _CHAT_ID.match(value) is not None
