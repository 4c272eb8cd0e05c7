"""The Finder port on Redmine: its search (`/search.json`) and its saved issue queries (`/queries.json`, then
`/issues.json?query_id=`), each asked as the person, so Redmine's permissions decide what they find."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.issue_mapping import issue_from, timestamp
from app_integration.adapters.redmine.memo import Memo
from app_integration.core.models import Found, FoundPage, IssuePage, SavedQuery

RECENT_PAGES = 5  # a subscription's query is read a hundred tickets a page, newest update first


class RedmineFinder:
    def __init__(self, gateway: RedmineGateway, cache_ttl: float = 300.0) -> None:
        self._gateway = gateway
        self._queries = Memo(maxsize=10_000, ttl=cache_ttl)  # per login: queries change rarely

    def search_issues(self, login: str, words: str, limit: int, offset: int) -> FoundPage:
        """Redmine's own search (every word, in subjects, descriptions and notes; open and closed tickets), newest
        first as Redmine ranks it; a private ticket or note only where the person may see it."""
        raw = self._gateway.get(login, "/search.json", q=words, issues=1, all_words=1, limit=limit, offset=offset)
        found = tuple(
            Found(int(item["id"]), str(item.get("title") or ""))
            for item in raw.get("results") or []
            if item.get("type", "issue").startswith("issue")
        )
        return FoundPage(found, int(raw.get("total_count") or len(found)))

    def saved_queries(self, login: str) -> list[SavedQuery]:
        def load() -> list[SavedQuery]:
            found: list[SavedQuery] = []
            for page in range(20):  # a hundred a page: at most 2,000 queries
                raw = self._gateway.get(login, "/queries.json", limit=100, offset=page * 100)
                for item in raw.get("queries") or []:
                    project = item.get("project_id")
                    found.append(SavedQuery(int(item["id"]), str(item["name"]), int(project) if project else None))
                if (page + 1) * 100 >= int(raw.get("total_count") or 0):
                    break
            return found

        return self._queries.get(login, load)

    def recently_in_query(self, login: str, query: SavedQuery, since: dt.datetime) -> frozenset[int]:
        found: set[int] = set()
        for page in range(RECENT_PAGES):
            # Redmine ignores other filters with a query_id, but keeps `sort` (QueriesHelper#retrieve_query).
            raw = self._query(login, query, sort="updated_on:desc", limit=100, offset=page * 100)
            issues = raw.get("issues") or []
            found.update(int(item["id"]) for item in issues)
            oldest = timestamp(issues[-1].get("updated_on")) if issues else None
            if len(issues) < 100 or oldest is None or oldest < since:
                break
        return frozenset(found)

    def query_issues(self, login: str, query: SavedQuery, limit: int) -> IssuePage:
        raw = self._query(login, query, limit=limit)
        issues = tuple(issue_from(item) for item in raw.get("issues") or [])
        return IssuePage(issues, int(raw.get("total_count") or len(issues)))

    def _query(self, login: str, query: SavedQuery, **params: Any) -> dict[str, Any]:
        # A project's query is found only within its project (QueriesHelper#retrieve_query).
        where = {"project_id": query.project_id} if query.project_id else {}
        return self._gateway.get(login, "/issues.json", query_id=query.id, **where, **params)
