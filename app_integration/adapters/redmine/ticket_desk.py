"""One ticket read and changed as a person, through the gateway: implements the core's TicketDesk port.

The card is one call (`include=journals,allowed_statuses,watchers`, Redmine 5.0 and later); each action
is one more. Redmine's own validation answers a refused change (422), and its reasons are shown as given.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from app_integration.adapters.redmine.change_feed import RedmineChangeFeed
from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.issue_mapping import issue_from, timestamp, uploads_field
from app_integration.adapters.redmine.ticket_fields import RedmineFieldCatalog
from app_integration.core.errors import BridgeError, PermissionDenied
from app_integration.core.models import Choice, Ref
from app_integration.core.tickets import CustomValue, Note, TicketChange, TicketView, TimeEntry, TimeEntryDraft

log = logging.getLogger(__name__)


class RedmineTickets:
    def __init__(self, gateway: RedmineGateway, feed: RedmineChangeFeed, catalog: RedmineFieldCatalog) -> None:
        self._gateway = gateway
        self._feed = feed
        self._catalog = catalog

    def ticket(self, login: str, issue_id: int) -> TicketView:
        include = ["journals", "allowed_statuses", "watchers"]
        raw = self._gateway.as_user(login, lambda r: r.issue.get(issue_id, include=include).raw())
        known = self._gateway.account(login)  # the admin's view, cached: no extra call per card
        me = known.id if known is not None else self._gateway.current_user(login).id
        closed_ids = self._feed.closed_ids()
        issue = issue_from(raw)
        watchers = raw.get("watchers")
        return TicketView(
            issue=issue,
            viewer_id=me,
            closed=issue.status.id in closed_ids,
            description=str(raw.get("description") or ""),
            done_ratio=int(raw.get("done_ratio") or 0),
            estimated_hours=raw.get("estimated_hours"),
            spent_hours=raw.get("spent_hours"),
            notes=tuple(_note(j) for j in raw.get("journals", []) if str(j.get("notes") or "").strip()),
            allowed_statuses=tuple(Choice(str(s["id"]), str(s["name"])) for s in raw.get("allowed_statuses", [])),
            closed_status_ids=closed_ids,
            watcher_ids=frozenset(int(w["id"]) for w in watchers) if isinstance(watchers, list) else None,
            custom_values=self._custom_values(raw),
        )

    def _custom_values(self, raw: dict[str, Any]) -> tuple[CustomValue, ...]:
        """The custom fields Redmine showed this person, with a value, by name; a value that is a record's id (a
        list entry, a person, a version) or a yes/no shown as its label."""
        filled = [c for c in raw.get("custom_fields", []) if c.get("value") not in (None, "", [])]
        if not filled:
            return ()
        try:
            known = {f.id: f for f in self._catalog.fields(str(raw["project"]["id"])).custom}
        except BridgeError:
            known = {}
        found = []
        for custom in filled:
            field = known.get(int(custom["id"]))
            values = custom["value"] if isinstance(custom["value"], list) else [custom["value"]]
            shown = ", ".join(field.label(str(v)) if field is not None else str(v) for v in values)
            found.append(CustomValue(int(custom["id"]), str(custom["name"]), shown))
        return tuple(found)

    def change_ticket(self, login: str, issue_id: int, change: TicketChange) -> None:
        fields: dict[str, Any] = {}
        if change.notes:
            fields.update(notes=change.notes, private_notes=change.private_notes)
        if change.subject is not None:
            fields["subject"] = change.subject
        if change.description is not None:
            fields["description"] = change.description
        if change.status_id is not None:
            fields["status_id"] = change.status_id
        if change.assigned_to_id is not None:
            fields["assigned_to_id"] = change.assigned_to_id
        if change.uploads:
            fields["uploads"] = uploads_field(change.uploads)
        if change.custom_values:
            fields["custom_fields"] = [
                {"id": field_id, "value": list(value) if isinstance(value, tuple) else value}
                for field_id, value in change.custom_values
            ]
        self._gateway.as_user(login, lambda r: r.issue.update(issue_id, **fields))

    def withdraw_ticket(self, login: str, issue_id: int) -> None:
        """Deletes a ticket the bridge has just made for this person and that holds nothing of theirs yet: as the
        person where Redmine lets them delete tickets, else with the admin key (the bridge undoing its own step,
        not acting for anyone)."""
        try:
            self._gateway.as_user(login, lambda r: r.issue.delete(issue_id))
        except PermissionDenied:
            log.info("redmine: withdrawing #%d with the admin key (%s may not delete tickets)", issue_id, login)
            self._gateway.as_user(None, lambda r: r.issue.delete(issue_id))

    def log_time(self, login: str, issue_id: int, entry: TimeEntryDraft) -> None:
        fields: dict[str, Any] = {
            "issue_id": issue_id,
            "hours": float(entry.hours),
            "comments": entry.comments,
            "spent_on": entry.spent_on.isoformat(),
        }
        if entry.activity_id is not None:
            fields["activity_id"] = entry.activity_id
        self._gateway.as_user(login, lambda r: r.time_entry.create(**fields))

    def time_entries(self, login: str, since: dt.date, until: dt.date, issue_id: int | None = None) -> list[TimeEntry]:
        params: dict[str, Any] = {"user_id": "me", "from": since.isoformat(), "to": until.isoformat()}
        if issue_id is not None:
            params["issue_id"] = issue_id

        # A page of a hundred, and more only while Redmine says there are: one call for a usual week (a
        # python-redmine set of limit=1000 asks for all ten pages whatever the total).
        found: list[TimeEntry] = []
        for page in range(10):
            raw = self._gateway.get(login, "/time_entries.json", **params, limit=100, offset=page * 100)
            found += [_time_entry(entry) for entry in raw.get("time_entries") or []]
            if len(found) >= int(raw.get("total_count") or 0):
                break
        return found

    def activities(self) -> list[Choice]:
        return self._gateway.cached_list(
            "activities",
            lambda r: [
                Choice(str(a.id), a.name, bool(a.raw().get("is_default")))
                for a in r.enumeration.filter(resource="time_entry_activities")
                if a.raw().get("active", True)
            ],
        )

    def may_write_private_notes(self, login: str, project_id: int) -> bool:
        """Whether Redmine would keep a note private for this person: a role in the project with
        `set_notes_private`. Redmine silently makes the note public otherwise."""
        return "set_notes_private" in self._permissions(login, project_id)

    def may_make_private(self, login: str, project_id: int) -> bool:
        """A new ticket is the person's own: set_issues_private or set_own_issues_private keep it private."""
        return bool({"set_issues_private", "set_own_issues_private"} & self._permissions(login, project_id))

    def _permissions(self, login: str, project_id: int) -> frozenset[str]:
        """What the person's roles in the project allow (fail closed: a non-member, or a login Redmine does not
        know, may nothing here)."""
        account = self._gateway.account(login)
        if account is None:
            return frozenset()
        # The person's own memberships (group ones included), not the project's list: no page to fall off.
        memberships = self._gateway.as_user(
            None, lambda r: r.user.get(account.id, include=["memberships"]).raw().get("memberships", [])
        )
        role_ids = {
            int(role["id"])
            for m in memberships
            if (m.get("project") or {}).get("id") == project_id
            for role in m.get("roles", [])
        }
        return frozenset().union(*(self._role_permissions(role_id) for role_id in role_ids))

    def _role_permissions(self, role_id: int) -> frozenset[str]:
        choices = self._gateway.cached_list(
            f"role-{role_id}",
            lambda r: [Choice(p, p) for p in r.role.get(role_id).raw().get("permissions", [])],
        )
        return frozenset(c.value for c in choices)

    def set_watching(self, login: str, issue_id: int, user_id: int, watching: bool) -> None:
        def call(r: Any) -> Any:
            url = f"{r.url}/issues/{issue_id}/watchers"
            if watching:
                return r.engine.request("post", f"{url}.json", data={"user_id": user_id})
            return r.engine.request("delete", f"{url}/{user_id}.json")

        self._gateway.as_user(login, call)


def _note(raw: dict[str, Any]) -> Note:
    user = raw.get("user") or {}
    return Note(
        int(raw["id"]),
        Ref(int(user.get("id", 0)), str(user.get("name", ""))),
        timestamp(raw.get("created_on")),
        str(raw.get("notes") or ""),
        bool(raw.get("private_notes", False)),
    )


def _time_entry(raw: dict[str, Any]) -> TimeEntry:
    created = raw.get("created_on")
    return TimeEntry(
        int(raw["id"]),
        int(raw["issue"]["id"]) if raw.get("issue") else None,
        Decimal(str(raw.get("hours") or 0)),
        str((raw.get("activity") or {}).get("name") or ""),
        str(raw.get("comments") or ""),
        dt.date.fromisoformat(str(raw["spent_on"])),
        dt.datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None,
    )
