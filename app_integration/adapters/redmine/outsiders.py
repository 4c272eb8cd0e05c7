"""What Redmine lets people outside a project see of its issues: implements the core's Outsiders port.

Redmine gives a person who is not a member of a public project the builtin Non member role (Anonymous when
not logged in), unless the project has the builtin "Non member users" ("Anonymous users") group as a member:
then that membership's roles instead (`Project#override_roles`). All of it is read with the admin key:

- `GET /groups.json?builtin=1` names the two builtin groups, and `GET /groups/:id.json?include=memberships`
  the projects that override each, with which roles;
- `GET /roles.json` lists the roles that can be given, so the two builtin roles are the others; Redmine
  5.0's API does not say which is which, so the one made first (Non member, migration 062) is taken as such;
- `GET /roles/:id.json` gives a role's permissions and issues visibility;
- an unauthenticated `GET /projects.json` says whether Redmine answers people who are not logged in.

Redmine 5.0's role API does not show a role's per-tracker limits on `view_issues`; see README's privacy notes.
Anything Redmine does not answer counts as "may not see" (fail closed).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.memo import Memo
from app_integration.core.errors import BridgeError, NotFound, OperatorError, PermissionDenied
from app_integration.core.models import IssuesVisibility, OutsiderView

log = logging.getLogger(__name__)
T = TypeVar("T")
# Widest first: the visibility of a set of roles is the widest among those that may view issues.
_WIDTH: tuple[IssuesVisibility, ...] = ("all", "default", "own")
# How many role ids past the highest givable one are looked at for the two builtin roles.
_BUILTIN_SEARCH = 20
_NOBODY = OutsiderView(project_public=False, non_members="", anonymous="", anonymous_allowed=False)


class RedmineOutsiders:
    def __init__(self, gateway: RedmineGateway, cache_ttl: float = 300.0) -> None:
        self._gateway = gateway
        # Short, like the gateway's publicity cache: a role or membership changed in Redmine takes effect soon.
        self._memo = Memo(maxsize=256, ttl=min(cache_ttl, 60.0))

    def view(self, project_id: int) -> OutsiderView:
        try:
            if not self._gateway.project_is_public(project_id):
                return _NOBODY
            non_member_role, anonymous_role = self._cached("builtin-roles", self._builtin_roles)
            overrides = self._cached("overrides", self._overrides)
            non_members = overrides.get(("non_member", project_id), [non_member_role] if non_member_role else [])
            anonymous = overrides.get(("anonymous", project_id), [anonymous_role] if anonymous_role else [])
            return OutsiderView(
                project_public=True,
                non_members=self._widest(non_members),
                anonymous=self._widest(anonymous),
                anonymous_allowed=self._cached("anonymous-allowed", self._anonymous_allowed),
            )
        except (NotFound, PermissionDenied):
            return _NOBODY

    def _cached(self, name: str, load: Callable[[], T]) -> T:
        return self._memo.get(name, load)

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._gateway.get(None, path, **params)

    def _builtin_roles(self) -> tuple[int | None, int | None]:
        """(Non member, Anonymous): the two roles Redmine does not list as givable, oldest first."""
        givable = {int(role["id"]) for role in self._get("/roles.json").get("roles", [])}
        found: list[int] = []
        for role_id in range(1, max(givable, default=0) + _BUILTIN_SEARCH):
            if role_id in givable:
                continue
            try:
                self._get(f"/roles/{role_id}.json")
            except NotFound:
                continue
            found.append(role_id)
            if len(found) == 2:
                return found[0], found[1]
        log.warning("redmine: its builtin Non member and Anonymous roles were not found; outsiders see nothing")
        return None, None

    def _overrides(self) -> dict[tuple[str, int], list[int]]:
        """(builtin kind, project id) -> the roles a project gives that builtin group instead of the role."""
        found: dict[tuple[str, int], list[int]] = {}
        for group in self._get("/groups.json", builtin=1).get("groups", []):
            kind = str(group.get("builtin") or "")
            if kind not in ("non_member", "anonymous"):
                continue
            memberships = self._get(f"/groups/{group['id']}.json", include="memberships")["group"].get("memberships")
            for membership in memberships or []:
                project_id = int((membership.get("project") or {}).get("id", 0))
                found[(kind, project_id)] = [int(role["id"]) for role in membership.get("roles", [])]
        return found

    def _widest(self, role_ids: list[int]) -> IssuesVisibility:
        seen: set[str] = set()
        for role_id in role_ids:
            role = self._cached(f"role-{role_id}", functools.partial(self._role, role_id))
            if "view_issues" in role.get("permissions", []):
                seen.add(str(role.get("issues_visibility") or ""))
        return next((width for width in _WIDTH if width in seen), "")

    def _role(self, role_id: int) -> dict[str, Any]:
        role = self._get(f"/roles/{role_id}.json").get("role")
        return role if isinstance(role, dict) else {}

    def _anonymous_allowed(self) -> bool:
        """Whether Redmine answers someone who is not logged in (its "Authentication required" is off)."""
        try:
            self._gateway.get_anonymously("/projects.json", limit=1)
        except (OperatorError, PermissionDenied, NotFound):
            return False
        except BridgeError:
            raise
        return True
