"""The Redmine gateway: python-redmine, acting as the mapped user through impersonation or their own key.

Each call builds its own client with its own headers, sent over a per-thread pooled session. python-redmine's
`session()` swaps the engine on a shared object instead, and under threads that runs requests as the wrong
user. Redmine's answers become the core's errors in `http_engine`, once.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from cachetools import TTLCache
from redminelib import Redmine
from redminelib.exceptions import BaseRedmineError

from app_integration.adapters.redmine.call_scope import current_scope
from app_integration.adapters.redmine.create_lookup import (
    CREATE_ATTEMPTS,
    CREATE_RETRY_PAUSE,
    find_created,
    may_exist,
)
from app_integration.adapters.redmine.http_engine import UNAVAILABLE, CallEngine
from app_integration.adapters.redmine.issue_mapping import draft_fields, full_name, issue_from, project_from
from app_integration.core.errors import (
    BridgeError,
    NotFound,
    NotMapped,
    OperatorError,
    PersonalKeyRefused,
    RedmineNoAnswer,
    RedmineUnavailable,
)
from app_integration.core.i18n import _
from app_integration.core.models import Account, Choice, Issue, IssueDraft, IssuePage, Project

log = logging.getLogger(__name__)
T = TypeVar("T")

# After a create went unanswered, it is looked for again after each of these pauses before the reply says it
# may have been created: Redmine may commit it late.
CREATE_SETTLE = (1.0, 3.0, 6.0)


USER_PAGES_MOST = 1000  # 100,000 users: a bound on the loop, far past any company


def _users_page(client: Redmine, params: dict[str, Any]) -> Any:
    return client.engine.request("get", f"{client.url}/users.json", params=params)


def _account(raw: dict[str, Any], active: bool) -> Account:
    return Account(int(raw["id"]), str(raw["login"]), full_name(raw), active, bool(raw.get("admin")))


class RedmineGateway:
    """Implements the core's IssueTracker port."""

    def __init__(
        self,
        base_url: str,
        admin_key: str,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        cache_ttl: float = 300.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._key = admin_key
        self._timeout = (connect_timeout, read_timeout)
        self._lock = threading.Lock()
        # Site-wide lists only; nothing one user can see is ever served to another.
        self._lists: TTLCache[str, list[Choice]] = TTLCache(maxsize=16, ttl=cache_ttl)
        # Login -> id and state, as the admin sees it. Short, so a lock takes effect soon.
        # A company map holds 10,000 people and more: every one of them fits.
        self._accounts: TTLCache[str, Account | None] = TTLCache(maxsize=50_000, ttl=min(cache_ttl, 60.0))
        self._personal_key: Callable[[str], str | None] = lambda login: None
        self._on_refused: Callable[[str], None] = lambda login: None
        self._impersonation = True
        # Project id -> is_public. Short for the same reason: a project made private stops leaking soon.
        self._publicity: TTLCache[int, bool] = TTLCache(maxsize=1024, ttl=min(cache_ttl, 60.0))

    @property
    def base_url(self) -> str:
        return self._base_url

    def __repr__(self) -> str:
        return f"RedmineGateway({self._base_url!r})"

    def use_credentials(
        self,
        personal_key: Callable[[str], str | None],
        on_refused: Callable[[str], None],
        impersonation: bool = True,
    ) -> None:
        """How a login acts: with its own key where it linked one, else by impersonation through the admin key,
        unless impersonation is off. `on_refused` hears of a personal key Redmine no longer accepts."""
        self._personal_key = personal_key
        self._on_refused = on_refused
        self._impersonation = impersonation

    def _client(self, login: str | None) -> Redmine:
        own = self._key_of(login) if login else None
        if own:
            client = Redmine(
                self._base_url, key=own, engine=CallEngine, requests={"timeout": self._timeout, "personal": login}
            )
            self._check_key(login or "", own, client)
            return client
        if login and not self._impersonation:
            raise NotMapped(
                _("This bridge acts only with personal API keys. Link yours: `/integration_with_redmine connect`.")
            )
        return Redmine(
            self._base_url, key=self._key, impersonate=login, engine=CallEngine, requests={"timeout": self._timeout}
        )

    def _key_of(self, login: str) -> str | None:
        """The person's own key, read from the store once per scope (a command, a post, a feed cycle)."""
        scope = current_scope()
        return scope.key_of(login, self._personal_key) if scope is not None else self._personal_key(login)

    def _check_key(self, login: str, key: str, client: Redmine) -> None:
        """Redmine answers a revoked key, or a locked account's, as Anonymous (200, public data only), not 401.
        /users/current.json is the one call that refuses Anonymous, so a key is confirmed there, once per
        scope, or on every call outside one."""
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        scope = current_scope()
        if scope is not None and scope.confirmed(fingerprint):
            return
        if client.user.get("current").raw().get("login") != login:
            raise PersonalKeyRefused(login)
        if scope is not None:
            scope.confirm(fingerprint)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except BridgeError:
            raise
        except BaseRedmineError as error:
            log.warning("redmine: unexpected answer (%s)", type(error).__name__)
            raise RedmineUnavailable(_("Redmine gave an answer the bridge did not expect.")) from None

    def as_user(self, login: str | None, call: Callable[[Redmine], T]) -> T:
        """Runs `call` with a client acting as `login` (the admin for None), errors translated."""
        try:
            with self._translated():
                return call(self._client(login))
        except PersonalKeyRefused as refused:
            self._on_refused(refused.login)
            raise

    def get(self, login: str | None, path: str, **params: Any) -> dict[str, Any]:
        """One GET of the REST API as `login` (the admin for None), as Redmine answered it (an object, or {}):
        for what python-redmine has no resource for, or would page past what is asked."""
        answer = self.as_user(login, lambda r: r.engine.request("get", f"{r.url}{path}", params=params))
        return answer if isinstance(answer, dict) else {}

    def get_anonymously(self, path: str, **params: Any) -> dict[str, Any]:
        """One GET with no key at all: what anyone may see (a public channel's reader, whether Redmine answers
        someone not logged in). A refusal is raised as the error table translates it."""
        anyone = Redmine(self._base_url, engine=CallEngine, requests={"timeout": self._timeout})
        answer = anyone.engine.request("get", f"{self._base_url}{path}", params=params)
        return answer if isinstance(answer, dict) else {}

    def ping(self) -> None:
        """Redmine answers with REST enabled and accepts the admin key."""
        self.admin_identity()

    def admin_identity(self) -> tuple[str, bool]:
        """The admin key's own login, and whether it is a Redmine administrator."""
        raw = self.as_user(None, lambda r: r.user.get("current").raw())
        return str(raw.get("login", "")), bool(raw.get("admin", False))

    def account_for_key(self, key: str) -> Account:
        """Whose key this is, as Redmine says with that key alone; OperatorError-free: a refused key is NotFound."""
        try:
            with self._translated():
                raw = (
                    Redmine(self._base_url, key=key, engine=CallEngine, requests={"timeout": self._timeout})
                    .user.get("current")
                    .raw()
                )
        except OperatorError:
            raise NotFound(_("Redmine does not accept that key.")) from None
        return Account(raw["id"], raw["login"], full_name(raw), active=True)

    def accounts_by_email(self, email: str) -> list[Account]:
        """Every account, active or locked, whose address is this one, compared case-insensitively (the admin's
        view). Redmine 5's user list does not say who is locked, so the active ones are asked for apart."""

        def matching(**status: str) -> list[dict[str, Any]]:
            raws = self.as_user(None, lambda r: [u.raw() for u in r.user.filter(name=email, limit=25, **status)])
            return [u for u in raws if str(u.get("mail", "")).lower() == email.lower()]

        active = {u["id"] for u in matching()}
        return [
            Account(u["id"], u["login"], full_name(u), u["id"] in active, bool(u.get("admin")))
            for u in matching(status="")
        ]

    def current_user(self, login: str) -> Account:
        raw = self.as_user(login, lambda r: r.user.get("current").raw())
        return Account(raw["id"], raw["login"], full_name(raw), active=True)

    def project(self, login: str, identifier: str) -> Project:
        return project_from(self.as_user(login, lambda r: r.project.get(identifier).raw()))

    def project_is_public(self, project_id: int) -> bool:
        with self._lock:
            if project_id in self._publicity:
                return self._publicity[project_id]
        raw = self.as_user(None, lambda r: r.project.get(project_id).raw())
        public = bool(raw.get("is_public", False))
        with self._lock:
            self._publicity[project_id] = public
        return public

    def member_ids(self, login: str, identifier: str) -> frozenset[int]:
        raws = self.as_user(login, lambda r: [m.raw() for m in r.project_membership.filter(project_id=identifier)])
        return frozenset(m["user"]["id"] for m in raws if "user" in m)

    def visible_projects(self, login: str) -> list[Project]:
        raws = self.as_user(login, lambda r: [p.raw() for p in r.project.all()])
        return sorted((project_from(p) for p in raws if p.get("status", 1) == 1), key=lambda p: p.name.lower())

    def trackers(self) -> list[Choice]:
        return self.cached_list("trackers", lambda r: [Choice(str(t.id), t.name) for t in r.tracker.all()])

    def open_statuses(self) -> list[Choice]:
        return self.cached_list(
            "statuses",
            lambda r: [Choice(str(s.id), s.name) for s in r.issue_status.all() if not s.raw().get("is_closed")],
        )

    def priorities(self) -> list[Choice]:
        return self.cached_list(
            "priorities",
            lambda r: [
                Choice(str(p.id), p.name, bool(p.raw().get("is_default")))
                for p in r.enumeration.filter(resource="issue_priorities")
                if p.raw().get("active", True)
            ],
        )

    def cached_list(self, name: str, load: Callable[[Redmine], list[Choice]]) -> list[Choice]:
        """A site-wide list (trackers, statuses …), the same for everyone, kept for REDMINE_CACHE_TTL."""
        with self._lock:
            if name in self._lists:
                return self._lists[name]
        value = self.as_user(None, load)
        with self._lock:
            self._lists[name] = value
        return value

    def account(self, login: str) -> Account | None:
        key = login.lower()
        with self._lock:
            if key in self._accounts:
                return self._accounts[key]
        found = self._find_account(login, active=True) or self._find_account(login, active=False)
        with self._lock:
            self._accounts[key] = found
        return found

    def accounts(self, logins: Iterable[str]) -> dict[str, Account]:
        """Every account among many logins, active or locked, by lower-cased login, from paged passes over
        Redmine's users (100 a page): the active ones first, and all of them only when some login is not among
        those (Redmine 5's user list does not say who is locked). A login in neither is missing. All of it goes
        into the short account cache, so a 10,000-person map costs about 2 x 100 calls, not 2 per person."""
        wanted = {login.lower() for login in logins}
        if not wanted:
            return {}
        active = self._every_user("1")
        found = {login: _account(active[login], True) for login in wanted & active.keys()}
        if wanted - found.keys():
            every = self._every_user("")
            found.update({login: _account(every[login], False) for login in (wanted - found.keys()) & every.keys()})
        with self._lock:
            self._accounts.update(found)
            self._accounts.update(dict.fromkeys(wanted - found.keys()))
        return found

    def _every_user(self, status: str) -> dict[str, dict[str, Any]]:
        users: dict[str, dict[str, Any]] = {}
        for page in range(USER_PAGES_MOST):
            params = {"status": status, "limit": 100, "offset": page * 100}
            raw = self.as_user(None, functools.partial(_users_page, params=params))
            batch = raw.get("users", []) if isinstance(raw, dict) else []
            users.update({str(u.get("login", "")).lower(): u for u in batch})
            if len(batch) < 100 or (page + 1) * 100 >= int(raw.get("total_count") or 0):
                break
        return users

    def _find_account(self, login: str, active: bool) -> Account | None:
        status = {} if active else {"status": ""}
        raws = self.as_user(None, lambda r: [u.raw() for u in r.user.filter(name=login, limit=25, **status)])
        match = next((u for u in raws if str(u.get("login", "")).lower() == login.lower()), None)
        return Account(match["id"], match["login"], full_name(match), active) if match else None

    def create_issue(self, login: str, draft: IssueDraft, taken: Callable[[], Collection[int]] = frozenset) -> Issue:
        """`taken`: the ids already answered to the same caller's other creates (a batch's lines): a ticket found
        after a lost answer is never one of them."""
        fields = draft_fields(draft)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            sent_at = dt.datetime.now(dt.UTC)
            try:
                return issue_from(self.as_user(login, lambda r: r.issue.create(**fields).raw()))
            except RedmineNoAnswer:
                # Sent, and no answer: Redmine may still be creating it. Never sent again; looked for a while.
                found = find_created(self, login, draft, sent_at, taken, settle=CREATE_SETTLE)
                if found is not None:
                    return found
                raise may_exist(self._base_url) from None
            except RedmineUnavailable:
                # Redmine answered 5xx, so its work on it is over: the lookup says whether it made the ticket.
                found = find_created(self, login, draft, sent_at, taken)
                if found is not None:
                    return found
            if attempt < CREATE_ATTEMPTS:
                # Redmine shows it made nothing (a busy SQLite answers 500 at once): trying again is safe.
                time.sleep(CREATE_RETRY_PAUSE * attempt * (1 + random.random()))  # noqa: S311 - jitter only
        raise RedmineUnavailable(_(UNAVAILABLE))

    def assigned_issues(self, login: str, limit: int) -> IssuePage:
        return self._open_issues(login, limit, assigned_to_id="me")

    def authored_issues(self, login: str, limit: int) -> IssuePage:
        return self._open_issues(login, limit, author_id="me")

    def _open_issues(self, login: str, limit: int, **who: str) -> IssuePage:
        def load(r: Redmine) -> IssuePage:
            found = r.issue.filter(status_id="open", sort="updated_on:desc", limit=limit, **who)
            issues = tuple(issue_from(i.raw()) for i in found)
            return IssuePage(issues, int(found.total_count))

        return self.as_user(login, load)

    def issues_by_ids(self, login: str, ids: Iterable[int]) -> list[Issue]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        joined = ",".join(map(str, wanted))
        return self.as_user(
            login,
            lambda r: [issue_from(i.raw()) for i in r.issue.filter(issue_id=joined, status_id="*", limit=len(wanted))],
        )
