"""Redmine's issue changes, read through the gateway: the admin reads the feed, a person's view decides.

Implements the core's ChangeFeed port. One cycle costs one query for the changed issues (per 100), one
read of each changed issue with its journals, and the visibility checks the fan-out asks for. The names
of statuses, priorities, people and the project tree are cached for a few minutes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cachetools import TTLCache

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.issue_mapping import issue_from, timestamp
from app_integration.adapters.redmine.ticket_fields import RedmineFieldCatalog
from app_integration.core.errors import NotFound, PermissionDenied
from app_integration.core.events import Change, IssueHistory, Journal
from app_integration.core.models import Issue, Ref
from app_integration.core.tickets import CustomField

PAGE = 100
K = TypeVar("K")
V = TypeVar("V")
# Journal details whose values are record ids, and how to name them.
_NAMED = {"status_id": "status", "priority_id": "priority", "assigned_to_id": "user"}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RedmineChangeFeed:
    def __init__(
        self, gateway: RedmineGateway, cache_ttl: float = 300.0, catalog: RedmineFieldCatalog | None = None
    ) -> None:
        self._gateway = gateway
        self._catalog = catalog
        self._lock = threading.Lock()
        self._names: TTLCache[tuple[str, int], str] = TTLCache(maxsize=4096, ttl=cache_ttl)
        self._site_lists: TTLCache[str, list[dict[str, Any]]] = TTLCache(maxsize=4, ttl=cache_ttl)
        self._parents: TTLCache[str, dict[int, int | None]] = TTLCache(maxsize=1, ttl=cache_ttl)

    def changed_since(self, since: dt.datetime, pages: int) -> list[tuple[int, dt.datetime]]:
        """Redmine's own order, read page after page, each page starting on the last row of the one before,
        which must come back first. Two facts of Redmine 5.0 shape it: it sorts by its stored time, which has
        microseconds, while it shows whole seconds, so within a second the order is not the ids' order and no
        row may be judged by its id; and `updated_on>=T` means "after T minus one second" (Query#date_clause),
        so a list starts inside the second before T. An issue that changes while the pages are read moves to
        the end of the list and the rows after its old place move up one: then the last row read does not come
        back first, and the list is read again from that row's second (rows read twice count once). So no row
        is ever stepped over, and a busy second costs one row a page: ten pages read 991 issues."""
        found: dict[int, dt.datetime] = {}
        start, offset = since, 0
        last: tuple[dt.datetime, int] | None = None  # the last row read, (updated_on, id)
        for _page in range(pages):
            params = {
                "status_id": "*",
                "updated_on": f">={iso(start)}",
                "sort": "updated_on,id",
                "limit": PAGE,
                "offset": offset,
            }
            issues = self._issues(params).get("issues", [])
            rows = [(timestamp(i["updated_on"]) or start, int(i["id"])) for i in issues]
            if last is not None and offset and (not rows or rows[0] != last):
                start, offset = last[0], 0  # the list moved under the read: again from the last row's second
                continue
            found.update((issue_id, when) for when, issue_id in rows)  # a row read twice: its latest change
            if len(issues) < PAGE:
                break
            last, offset = rows[-1], offset + len(rows) - 1
        return sorted(found.items(), key=lambda row: (row[1], row[0]))

    def newest_change(self) -> dt.datetime | None:
        raws = self._issues({"status_id": "*", "sort": "updated_on:desc", "limit": 1})
        issues = raws.get("issues", [])
        return timestamp(issues[0]["updated_on"]) if issues else None

    def _issues(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of the admin's issue list, as Redmine sends it."""
        found: dict[str, Any] = self._gateway.as_user(
            None, lambda r: r.engine.request("get", f"{r.url}/issues.json", params=params)
        )
        return found

    def history(self, issue_id: int) -> IssueHistory | None:
        try:
            raw = self._gateway.as_user(
                None, lambda r: r.issue.get(issue_id, include=["journals", "attachments", "watchers"]).raw()
            )
        except NotFound:
            return None
        issue = issue_from(raw)
        journals = tuple(self._journal(j) for j in raw.get("journals", []))
        later = {f.id for j in journals for f in j.files}
        files = tuple(
            Ref(int(a["id"]), str(a.get("filename", "")))
            for a in raw.get("attachments", [])
            if int(a["id"]) not in later
        )
        watchers = frozenset(int(w["id"]) for w in raw.get("watchers", []))
        return IssueHistory(issue, issue.status.id in self.closed_ids(), journals, files, watchers)

    def visible_journals(self, login: str, issue_id: int) -> frozenset[int] | None:
        try:
            raw = self._gateway.as_user(login, lambda r: r.issue.get(issue_id, include=["journals"]).raw())
        except (NotFound, PermissionDenied):
            return None
        return frozenset(int(j["id"]) for j in raw.get("journals", []))

    def visible_issues(self, login: str, issue_ids: Sequence[int]) -> frozenset[int]:
        wanted = sorted(set(issue_ids))
        seen: set[int] = set()
        for start in range(0, len(wanted), PAGE):
            try:
                seen.update(i.id for i in self._gateway.issues_by_ids(login, wanted[start : start + PAGE]))
            except (NotFound, PermissionDenied):
                continue
        return frozenset(seen)

    def ancestors(self, project_id: int) -> tuple[int, ...]:
        parents = self._cached(self._parents, "tree", self._project_tree)
        chain: list[int] = []
        current = parents.get(project_id)
        while current is not None and current not in chain and len(chain) < 50:
            chain.append(current)
            current = parents.get(current)
        return tuple(chain)

    def due_soon(self, login: str, until: dt.date) -> list[Issue]:
        raws = self._gateway.as_user(
            login,
            lambda r: [
                i.raw()
                for i in r.issue.filter(
                    assigned_to_id="me", status_id="open", due_date=f"<={until.isoformat()}", sort="due_date", limit=50
                )
            ],
        )
        return [issue_from(raw) for raw in raws]

    # Names ---------------------------------------------------------------------
    def _journal(self, raw: dict[str, Any]) -> Journal:
        details = tuple(self._change(d) for d in raw.get("details", []) if d.get("property") == "attr")
        details += self._custom_changes(raw.get("details", []))
        user = raw.get("user") or {}
        return Journal(
            id=int(raw["id"]),
            author=Ref(int(user.get("id", 0)), str(user.get("name", ""))),
            created_on=timestamp(raw["created_on"]) or dt.datetime.now(dt.UTC),
            notes=str(raw.get("notes") or ""),
            private_notes=bool(raw.get("private_notes", False)),
            details=details,
            files=tuple(
                Ref(int(d["name"]), str(d["new_value"]))
                for d in raw.get("details", [])
                if d.get("property") == "attachment" and d.get("new_value") and str(d.get("name", "")).isdigit()
            ),
        )

    def _custom_changes(self, details: list[dict[str, Any]]) -> tuple[Change, ...]:
        """Custom fields' changes by name, their values by label. Only fields every role sees (`visible`): one
        that some roles may not see is left out for everyone, since a channel and a DM may hold any of them."""
        wanted = [d for d in details if d.get("property") == "cf" and str(d.get("name", "")).isdigit()]
        if not wanted or self._catalog is None:
            return ()
        fields = {f.id: f for f in self._catalog.custom_fields() if f.visible}
        found = []
        for detail in wanted:
            field = fields.get(int(detail["name"]))
            if field is None:
                continue
            old, new = str(detail.get("old_value") or ""), str(detail.get("new_value") or "")
            found.append(
                Change(f"cf:{field.id}", self._cf_label(field, old), self._cf_label(field, new), label=field.name)
            )
        return tuple(found)

    def _cf_label(self, field: CustomField, value: str) -> str:
        """A person or a version by name (the site's fields list none of a project's); else the field's label."""
        if field.format in ("user", "version") and value.isdigit():
            return self._name(field.format, int(value))
        return field.label(value)

    def _change(self, raw: dict[str, Any]) -> Change:
        name = str(raw.get("name", ""))
        old, new = raw.get("old_value"), raw.get("new_value")
        kind = _NAMED.get(name)
        if kind is None:
            return Change(name, str(old or ""), str(new or ""))
        old_id, new_id = _number(old), _number(new)
        return Change(name, self._name(kind, old_id), self._name(kind, new_id), old_id, new_id)

    def _name(self, kind: str, record_id: int | None) -> str:
        if record_id is None:
            return ""
        key = (kind, record_id)
        with self._lock:
            if key in self._names:
                return self._names[key]
        if kind == "user":
            try:
                raw = self._gateway.as_user(None, lambda r: r.user.get(record_id).raw())
                name = f"{raw.get('firstname', '')} {raw.get('lastname', '')}".strip() or str(raw.get("login", ""))
            except NotFound:  # a group, or a deleted user
                name = f"#{record_id}"
        elif kind == "version":
            try:
                name = str(self._gateway.as_user(None, lambda r: r.version.get(record_id).raw()).get("name", ""))
            except NotFound:
                name = f"#{record_id}"
        else:
            names = {int(x["id"]): str(x["name"]) for x in self._records(kind)}
            name = names.get(record_id, f"#{record_id}")
        with self._lock:
            self._names[key] = name
        return name

    def _records(self, kind: str) -> list[dict[str, Any]]:
        """Redmine's statuses or priorities, read once for names and closed flags alike (cached)."""

        def load() -> list[dict[str, Any]]:
            if kind == "status":
                return self._gateway.as_user(None, lambda r: [s.raw() for s in r.issue_status.all()])
            return self._gateway.as_user(
                None, lambda r: [p.raw() for p in r.enumeration.filter(resource="issue_priorities")]
            )

        return self._cached(self._site_lists, kind, load)

    def closed_ids(self) -> frozenset[int]:
        """The statuses that close a ticket (cached)."""
        return frozenset(int(s["id"]) for s in self._records("status") if s.get("is_closed"))

    def _project_tree(self) -> dict[int, int | None]:
        raws = self._gateway.as_user(None, lambda r: [p.raw() for p in r.project.all()])
        return {int(p["id"]): (int(p["parent"]["id"]) if p.get("parent") else None) for p in raws}

    def _cached(self, cache: TTLCache[K, V], key: K, load: Callable[[], V]) -> V:
        with self._lock:
            if key in cache:
                return cache[key]
        value = load()
        with self._lock:
            cache[key] = value
        return value


def _number(value: Any) -> int | None:
    return int(value) if value not in (None, "") and str(value).isdigit() else None
