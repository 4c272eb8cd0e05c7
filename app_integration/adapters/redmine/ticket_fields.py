"""What a ticket in a project asks, read from Redmine 5.0's REST API: implements the core's FieldCatalog port.

- `GET /custom_fields.json` (administrators only): each issue field's format, whether it is required, its
  possible values and default, its trackers, and who may see it;
- `GET /trackers.json`: each tracker's `enabled_standard_fields`;
- `GET /projects/:id.json?include=trackers,issue_categories,issue_custom_fields`: which trackers and custom
  fields the project has, and its categories;
- `GET /projects/:id/versions.json`: its versions (shared ones included), the open ones offered;
- `GET /projects/:id/memberships.json`: its members, offered for user fields, and its groups for assignment,
  where an issue's page shows Redmine lets tickets be assigned to groups.

All with the admin key, and kept for REDMINE_CACHE_TTL (a project's for at most 5 minutes): the same for
everyone, and a person's own access to the project is checked apart, as them. A key that is not an
administrator's cannot read the custom fields: the form then asks for none, and Redmine's refusal names what
is missing (shown against the form).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cachetools import TTLCache

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.memo import Memo
from app_integration.core.errors import NotFound, PermissionDenied
from app_integration.core.models import Choice
from app_integration.core.tickets import OPTIONAL_STANDARD, CustomField, TicketFields

log = logging.getLogger(__name__)
_ASSIGNEE_SELECT = re.compile(r'<select name="issue\[assigned_to_id\]"[^>]*>(.*?)</select>', re.DOTALL)
_OPTION_VALUE = re.compile(r'<option[^>]*value="(\d+)"')
T = TypeVar("T")
PROJECT_TTL = 300.0


class RedmineFieldCatalog:
    def __init__(self, gateway: RedmineGateway, cache_ttl: float = 300.0) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        self._site = Memo(maxsize=8, ttl=cache_ttl)
        self._projects: TTLCache[str, TicketFields] = TTLCache(maxsize=512, ttl=min(cache_ttl, PROJECT_TTL))

    def fields(self, project: str) -> TicketFields:
        """The project's (by identifier or id); NotFound where Redmine has no such project."""
        with self._lock:
            if project in self._projects:
                return self._projects[project]
        found = self._load(project)
        with self._lock:
            self._projects[project] = found
            self._projects[found.project_identifier] = found
            self._projects[str(found.project_id)] = found
        return found

    def forget(self, project: str) -> None:
        """Read the project's fields again next time (Redmine named a field the bridge did not know)."""
        with self._lock:
            known = self._projects.pop(project, None)
            if known is not None:
                self._projects.pop(known.project_identifier, None)
                self._projects.pop(str(known.project_id), None)
            self._site.clear()

    def custom_fields(self) -> tuple[CustomField, ...]:
        """Every issue custom field of the site (empty where the key may not read them)."""
        return self._cached("custom-fields", self._load_custom_fields)

    def _cached(self, name: str, load: Callable[[], T]) -> T:
        return self._site.get(name, load)

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._gateway.get(None, path, **params)

    def _load_custom_fields(self) -> tuple[CustomField, ...]:
        try:
            raws = self._get("/custom_fields.json").get("custom_fields", [])
        except PermissionDenied:
            log.warning("redmine: the admin key may not read custom fields; forms ask for none")
            return ()
        return tuple(_custom_field(raw) for raw in raws if raw.get("customized_type") == "issue")

    def _disabled(self) -> dict[int, frozenset[str]]:
        def load() -> dict[int, frozenset[str]]:
            trackers = self._get("/trackers.json").get("trackers", [])
            return {
                int(t["id"]): OPTIONAL_STANDARD - set(t.get("enabled_standard_fields", OPTIONAL_STANDARD))
                for t in trackers
            }

        return self._cached("trackers", load)

    def _load(self, project: str) -> TicketFields:
        raw = self._get(f"/projects/{project}.json", include="trackers,issue_categories,issue_custom_fields")
        body = raw.get("project") or {}
        if not body:
            raise NotFound(f"no project {project}")
        project_id = int(body["id"])
        enabled = {int(f["id"]) for f in body.get("issue_custom_fields", [])}
        custom = [f for f in self.custom_fields() if f.id in enabled]
        versions = self._versions(project_id)
        members = self._members(project_id)
        custom = [_with_project_options(f, versions, members[0]) for f in custom]
        groups = self._assignable_groups(project_id, members[1]) if members[1] else []
        return TicketFields(
            project_id=project_id,
            project_identifier=str(body["identifier"]),
            trackers=tuple(Choice(str(t["id"]), str(t["name"])) for t in body.get("trackers", [])),
            disabled=self._disabled(),
            custom=tuple(custom),
            versions=tuple(versions),
            categories=tuple(Choice(str(c["id"]), str(c["name"])) for c in body.get("issue_categories", [])),
            assignable_groups=tuple(groups),
        )

    def _versions(self, project_id: int) -> list[Choice]:
        try:
            raws = self._get(f"/projects/{project_id}/versions.json").get("versions", [])
        except (NotFound, PermissionDenied):
            return []
        return [Choice(str(v["id"]), str(v["name"])) for v in raws if v.get("status", "open") == "open"]

    def _assignable_groups(self, project_id: int, groups: list[Choice]) -> list[Choice]:
        """The member groups Redmine offers as assignees: none unless its "Allow issue assignment to groups" is
        on. The REST API does not show that setting; an issue's page does, in its edit form's assignee list
        (IssuesController#show takes the API key in any format). A project with no issue yet offers none."""
        newest = self._get("/issues.json", project_id=project_id, status_id="*", sort="id:desc", limit=1)
        issues = newest.get("issues", [])
        if not issues:
            return []
        try:
            page = self._gateway.as_user(None, lambda r: r.engine.page(f"{r.url}/issues/{issues[0]['id']}"))
        except (NotFound, PermissionDenied):
            return []
        found = _ASSIGNEE_SELECT.search(page)
        offered = set(_OPTION_VALUE.findall(found.group(1))) if found else set()
        return [g for g in groups if g.value in offered]

    def _members(self, project_id: int) -> tuple[list[Choice], list[Choice]]:
        """The project's user members and its member groups, by Redmine id and name."""
        raws = self._get(f"/projects/{project_id}/memberships.json", limit=100).get("memberships", [])
        users = [Choice(str(m["user"]["id"]), str(m["user"]["name"])) for m in raws if "user" in m]
        groups = [Choice(str(m["group"]["id"]), str(m["group"]["name"])) for m in raws if "group" in m]
        return users, groups


def _custom_field(raw: dict[str, Any]) -> CustomField:
    values = raw.get("possible_values") or []
    return CustomField(
        id=int(raw["id"]),
        name=str(raw["name"]),
        format=str(raw.get("field_format", "string")),
        required=bool(raw.get("is_required")),
        multiple=bool(raw.get("multiple")),
        default=str(raw.get("default_value") or ""),
        options=tuple(Choice(str(v.get("value")), str(v.get("label", v.get("value")))) for v in values),
        tracker_ids=frozenset(int(t["id"]) for t in raw.get("trackers", [])),
        visible=bool(raw.get("visible", True)),
        role_ids=frozenset(int(r["id"]) for r in raw.get("roles", [])),
        max_length=int(raw["max_length"]) if raw.get("max_length") else None,
    )


def _with_project_options(field: CustomField, versions: list[Choice], users: list[Choice]) -> CustomField:
    """User and version fields offer the project's own people and versions (Redmine lists none site-wide)."""
    if field.format == "version" and not field.options:
        return CustomField(**{**field.__dict__, "options": tuple(versions)})
    if field.format == "user" and not field.options:
        return CustomField(**{**field.__dict__, "options": tuple(users)})
    return field
