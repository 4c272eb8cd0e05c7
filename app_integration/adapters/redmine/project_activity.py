"""The ProjectActivity port on Redmine 5.0: a project's news (`/projects/:id/news.json`), its wiki pages
(`/projects/:id/wiki/index.json`, each with `updated_on` and `version`), its versions (`versions.json`; a
version is released when its status is closed) and its time entries, read as a login, or with no login at
all (what anyone may see, for a public channel). A list Redmine refuses (a module off, no permission) is empty.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.issue_mapping import timestamp
from app_integration.core.errors import NotFound, OperatorError, PermissionDenied
from app_integration.core.models import ProjectItem

TEXT = 300  # characters of a news item's summary or a time entry's comment carried into the chat


class RedmineProjectActivity:
    def __init__(self, gateway: RedmineGateway) -> None:
        self._gateway = gateway

    def items_since(
        self, login: str | None, project_id: int, kinds: frozenset[str], since: dt.datetime
    ) -> list[ProjectItem]:
        read = functools.partial(self._read, login)
        found: list[ProjectItem] = []
        for kind, load in (("news", _news), ("wiki", _wiki), ("versions", _versions), ("time", _time)):
            if kind in kinds:
                found += [item for item in load(self._gateway.base_url, read, project_id, since) if item.when > since]
        return sorted(found, key=lambda item: item.when)

    def _read(self, login: str | None, path: str, **params: Any) -> dict[str, Any]:
        """A list as `login` sees it, or as anyone with no login at all (None); empty where Redmine refuses it."""
        try:
            if login is None:
                return self._gateway.get_anonymously(path, **params)
            return self._gateway.get(login, path, **params)
        except (NotFound, PermissionDenied, OperatorError):  # the module is off, or this reader may not see it
            return {}


Read = Callable[..., dict[str, Any]]


def _news(base: str, read: Read, project_id: int, since: dt.datetime) -> list[ProjectItem]:
    items = read(f"/projects/{project_id}/news.json", limit=25).get("news") or []
    return [
        ProjectItem(
            f"news:{item['id']}",
            "news",
            str(item.get("title") or ""),
            f"{base}/news/{item['id']}",
            timestamp(item.get("created_on")) or since,
            str((item.get("author") or {}).get("name") or ""),
            str(item.get("summary") or item.get("description") or "")[:TEXT],
        )
        for item in items
    ]


def _wiki(base: str, read: Read, project_id: int, since: dt.datetime) -> list[ProjectItem]:
    pages = read(f"/projects/{project_id}/wiki/index.json").get("wiki_pages") or []
    return [
        ProjectItem(
            f"wiki:{project_id}:{page['title']}:{page.get('version', 0)}",
            "wiki",
            str(page["title"]),
            f"{base}/projects/{project_id}/wiki/{quote(str(page['title']))}",
            timestamp(page.get("updated_on")) or since,
        )
        for page in pages
    ]


def _versions(base: str, read: Read, project_id: int, since: dt.datetime) -> list[ProjectItem]:
    versions = read(f"/projects/{project_id}/versions.json").get("versions") or []
    return [
        ProjectItem(
            f"version:{version['id']}:closed",
            "versions",
            str(version.get("name") or ""),
            f"{base}/versions/{version['id']}",
            timestamp(version.get("updated_on")) or since,
            text=str(version.get("description") or "")[:TEXT],
        )
        for version in versions
        if version.get("status") == "closed" and (version.get("project") or {}).get("id") == project_id
    ]


def _time(base: str, read: Read, project_id: int, since: dt.datetime) -> list[ProjectItem]:
    entries = read("/time_entries.json", project_id=project_id, limit=100, **{"from": since.date().isoformat()})
    return [
        ProjectItem(
            f"time:{entry['id']}",
            "time",
            f"#{entry['issue']['id']}" if entry.get("issue") else "",
            f"{base}/issues/{entry['issue']['id']}" if entry.get("issue") else f"{base}/time_entries",
            timestamp(entry.get("created_on")) or since,
            str((entry.get("user") or {}).get("name") or ""),
            f"{entry.get('hours')} h" + (f": {str(entry.get('comments'))[:TEXT]}" if entry.get("comments") else ""),
        )
        for entry in entries.get("time_entries") or []
    ]
