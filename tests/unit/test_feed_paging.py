"""The feed's issue list is paged by key: an issue that changes while the pages are read moves later in the list
and shifts the rest, which offset paging answered by never reading one issue. A fake Redmine list at the HTTP
layer, filtering and sorting as Redmine's does (updated_on >= …, sort=updated_on,id, limit, offset)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from app_integration.adapters.redmine.change_feed import RedmineChangeFeed, iso
from app_integration.adapters.redmine.gateway import RedmineGateway

URL = "http://redmine.test"
T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def serve(updated: dict[int, dt.datetime], after_first_page: Any) -> list[dict[str, str]]:
    asked: list[dict[str, str]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        asked.append(query)
        since = dt.datetime.fromisoformat(query["updated_on"].removeprefix(">=").replace("Z", "+00:00"))
        rows = sorted((when, issue_id) for issue_id, when in updated.items() if when >= since)
        offset, limit = int(query.get("offset", 0)), int(query["limit"])
        page = [{"id": issue_id, "updated_on": iso(when)} for when, issue_id in rows[offset : offset + limit]]
        if len(asked) == 1:
            after_first_page()
        return 200, {}, json.dumps({"issues": page, "total_count": len(rows), "offset": offset, "limit": limit})

    responses.add_callback(responses.GET, f"{URL}/issues.json", callback=answer)
    return asked


@responses.activate
def test_an_issue_that_changes_between_pages_hides_no_other() -> None:
    updated = {n: T0 + dt.timedelta(seconds=n) for n in range(1, 151)}

    def change_issue_5() -> None:
        updated[5] = T0 + dt.timedelta(seconds=500)  # a note added while the first page was read

    serve(updated, change_issue_5)
    found = RedmineChangeFeed(RedmineGateway(URL, "admin-key")).changed_since(T0, pages=5)
    ids = [issue_id for issue_id, _ in found]
    assert sorted(ids) == list(range(1, 151))  # every issue read, none twice
    assert dict(found)[5] == T0 + dt.timedelta(seconds=500)  # at its latest change


@responses.activate
def test_a_bulk_edit_of_one_second_is_read_whole() -> None:
    updated = {n: T0 for n in range(1, 251)}  # 250 issues changed in the same second
    asked = serve(updated, lambda: None)
    found = RedmineChangeFeed(RedmineGateway(URL, "admin-key")).changed_since(T0, pages=5)
    assert sorted(issue_id for issue_id, _ in found) == list(range(1, 251))
    assert [q["offset"] for q in asked] == ["0", "100", "200"]
