"""In-memory implementations of the core's ports, for tests of the use cases alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app_integration.adapters.runtime.user_map import StaticUserMap
from app_integration.core.errors import BridgeError
from app_integration.core.events import ChannelDefaults
from app_integration.core.models import (
    Account,
    ChatMessage,
    ChatUser,
    Choice,
    Issue,
    IssueDraft,
    IssuePage,
    OutsiderView,
    Project,
    Ref,
)
from app_integration.core.services import Services
from app_integration.core.tickets import CustomField, TicketFields

ACCOUNTS = {
    "alice": Account(5, "alice", "Alice", True),
    "bob": Account(6, "bob", "Bob", True),
    "carol": Account(7, "carol", "Carol", True),
}


def make_issue(issue_id: int, subject: str = "S", assigned: int | None = None) -> Issue:
    return Issue(
        issue_id,
        subject,
        Ref(1, "Demo"),
        Ref(1, "Bug"),
        Ref(1, "New"),
        Ref(2, "Normal"),
        Ref(5, "Alice"),
        Ref(assigned, "X") if assigned else None,
        None,
        None,
        dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    )


@dataclass
class FakeTracker:
    base_url: str = "http://redmine.test"
    created: list[IssueDraft] = field(default_factory=list)
    fail_on_create: int | None = None  # 1-based index of the create that fails
    fail_with: type[BridgeError] = BridgeError
    page: IssuePage = field(default_factory=lambda: IssuePage((), 0))
    calls: list[str] = field(default_factory=list)
    private_projects: set[int] = field(default_factory=set)

    def current_user(self, login: str) -> Account:
        return ACCOUNTS[login]

    def project(self, login: str, identifier: str) -> Project:
        return Project(1, identifier, identifier.title())

    def project_is_public(self, project_id: int) -> bool:
        return project_id not in self.private_projects

    def member_ids(self, login: str, identifier: str) -> frozenset[int]:
        self.calls.append("member_ids")
        return frozenset(a.id for a in ACCOUNTS.values())

    def visible_projects(self, login: str) -> list[Project]:
        return [Project(1, "demo", "Demo")]

    def trackers(self) -> list[Choice]:
        return [Choice("1", "Bug")]

    def open_statuses(self) -> list[Choice]:
        return [Choice("1", "New")]

    def priorities(self) -> list[Choice]:
        return [Choice("2", "Normal", True)]

    def account(self, login: str) -> Account | None:
        self.calls.append("account")
        return ACCOUNTS.get(login)

    def accounts(self, logins: Iterable[str]) -> dict[str, Account]:
        return {login: ACCOUNTS[login] for login in logins if login in ACCOUNTS}

    def create_issue(self, login: str, draft: IssueDraft, taken: Any = frozenset) -> Issue:
        if self.fail_on_create == len(self.created) + 1:
            raise self.fail_with("Redmine is unavailable right now. Try again in a minute.")
        self.created.append(draft)
        return make_issue(100 + len(self.created), draft.subject, draft.assigned_to_id)

    def assigned_issues(self, login: str, limit: int) -> IssuePage:
        return IssuePage(self.page.issues[:limit], self.page.total)

    def authored_issues(self, login: str, limit: int) -> IssuePage:
        return self.assigned_issues(login, limit)

    def issues_by_ids(self, login: str, ids: Iterable[int]) -> list[Issue]:
        return []


@dataclass
class FakeChat:
    dms: list[tuple[str, ChatMessage]] = field(default_factory=list)

    def user(self, user_id: str) -> ChatUser | None:
        return ChatUser(user_id, user_id.removeprefix("id-"))

    def user_by_username(self, username: str) -> ChatUser | None:
        return ChatUser("id-" + username, username)

    def users_by_usernames(self, usernames: list[str]) -> dict[str, ChatUser]:
        return {name.lower(): ChatUser("id-" + name, name) for name in usernames}

    def send_direct(self, user_id: str, message: ChatMessage) -> None:
        self.dms.append((user_id, message))

    def post(self, channel_id: str, message: ChatMessage, root_id: str = "", once: str = "") -> None:
        pass

    def post_ephemeral(self, user_id: str, channel_id: str, text: str) -> None:
        pass

    def time_zone(self, user_id: str) -> str:
        return ""  # unset: the bridge's own today

    def patch_post(self, post_id: str, message: str) -> None:
        pass


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str | None] = {}

    def claim(self, key: str, user_id: str) -> bool:
        if (user_id, key) in self.rows:
            return False
        self.rows[(user_id, key)] = None
        return True

    def result(self, key: str, user_id: str) -> str | None:
        return self.rows.get((user_id, key))

    def complete(self, key: str, result: str, user_id: str) -> None:
        self.rows[(user_id, key)] = result

    def release(self, key: str, user_id: str) -> None:
        if self.rows.get((user_id, key)) is None:
            self.rows.pop((user_id, key), None)


def services(
    tracker: FakeTracker | None = None,
    chat: FakeChat | None = None,
    mapping: Sequence[tuple[str, str]] = (("alice", "alice"), ("bob", "bob"), ("carol", "carol")),
    concurrency: int = 1,
) -> Services:
    return Services(
        concurrency=concurrency,
        tracker=tracker or FakeTracker(),
        chat=chat or FakeChat(),
        users=StaticUserMap(dict(mapping)),
        store=MemoryStore(),
        sealer=Unused("sealer"),  # type: ignore[arg-type]
        feed=Unused("feed"),  # type: ignore[arg-type]
        subscriptions=NoChannelDefaults("subscriptions"),  # type: ignore[arg-type]
        outbox=Unused("outbox"),  # type: ignore[arg-type]
        desk=Unused("desk"),  # type: ignore[arg-type]
        attachments=Unused("attachments"),  # type: ignore[arg-type]
        outsiders=FakeOutsiders(),
        fields=BareFields(),
        finder=Unused("finder"),  # type: ignore[arg-type]
        activity=Unused("activity"),  # type: ignore[arg-type]
        list_limit=50,
        today=lambda: dt.date(2026, 11, 22),
    )


@dataclass
class FakeOutsiders:
    """Redmine's defaults for outsiders (Non member and Anonymous may view issues), but for the projects given."""

    views: dict[int, OutsiderView] = field(default_factory=dict)

    def view(self, project_id: int) -> OutsiderView:
        return self.views.get(project_id, OutsiderView(True, "default", "default", anonymous_allowed=True))


class BareFields:
    """A bare Redmine's projects: trackers 1 to 3 with every standard field, and no custom field."""

    def fields(self, project: str) -> TicketFields:
        trackers = tuple(Choice(str(n), name) for n, name in ((1, "Bug"), (2, "Feature"), (3, "Support")))
        return TicketFields(1, project, trackers, {}, ())

    def forget(self, project: str) -> None:
        pass

    def custom_fields(self) -> tuple[CustomField, ...]:
        return ()


class Unused:
    """A port these unit tests never reach: touching it fails the test, naming the port."""

    def __init__(self, port: str) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the unit test's services have no {self._port} (asked for {name})")


class NoChannelDefaults(Unused):
    """The subscriptions port where a form only asks whether its channel chose a default project: none did."""

    def channel_defaults(self, channel_id: str) -> ChannelDefaults:
        return ChannelDefaults()
