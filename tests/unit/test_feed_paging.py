"""The feed's issue list is paged by key: an issue that changes while the pages are read moves later in the list
and shifts the rest, which offset paging answered by never reading one issue. A fake Redmine list at the HTTP
layer, filtering and sorting as Redmine 5.0's does (updated_on >= …, sort=updated_on,id, limit, offset)."""

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
        # Redmine 5.0.4's Query#date_clause (app/models/query.rb): `>=T` is "stored time > T - 1 s"; the order is
        # the stored time (microseconds), then the id.
        after = since - dt.timedelta(seconds=1)
        rows = sorted((when, issue_id) for issue_id, when in updated.items() if when > after)
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
    assert [q["offset"] for q in asked] == ["0", "99", "198"]  # each page starts on the last row read


@responses.activate
def test_busy_seconds_still_fill_every_page() -> None:
    """Forty changes a second (a script, an import): each page starts on the last row read, so ten pages read
    991 issues (100, then 99 new a page), not the half that a restart at the second's first row left room for."""
    updated = {n: T0 + dt.timedelta(seconds=n // 40) for n in range(1, 992)}
    asked = serve(updated, lambda: None)
    found = RedmineChangeFeed(RedmineGateway(URL, "admin-key")).changed_since(T0, pages=10)
    assert sorted(issue_id for issue_id, _ in found) == list(range(1, 992))
    assert len(asked) == 10


@responses.activate
def test_a_row_of_the_keys_second_that_changes_between_pages_shifts_no_other_out() -> None:
    """Seven changes a second: the first page ends on issue 100, third of its second (98, 99, 100, 101, …).
    Issue 99 changes before the second page, so the rows after it move up by one. The key does not come back
    first, that second is read again from its start, and issue 101 is not stepped over."""
    updated = {n: T0 + dt.timedelta(seconds=n // 7) for n in range(1, 251)}

    def change_issue_99() -> None:
        updated[99] = T0 + dt.timedelta(seconds=900)

    asked = serve(updated, change_issue_99)
    found = RedmineChangeFeed(RedmineGateway(URL, "admin-key")).changed_since(T0, pages=6)
    assert sorted(issue_id for issue_id, _ in found) == list(range(1, 251))
    assert dict(found)[99] == T0 + dt.timedelta(seconds=900)
    assert [q["offset"] for q in asked][:3] == ["0", "99", "0"]  # on the last row read; it moved; its second again


@responses.activate
def test_within_a_second_redmines_order_is_its_stored_time_not_the_ids() -> None:
    """Redmine sorts by its stored time, which has microseconds, and shows whole seconds: four threads creating
    at once give a second whose rows are not in id order. Nothing is compared by id, so none is dropped."""
    updated = {
        n: T0 + dt.timedelta(seconds=n // 40, microseconds=(40 - n % 40) * 1000)  # later ids, earlier times
        for n in range(1, 301)
    }
    serve(updated, lambda: None)
    found = RedmineChangeFeed(RedmineGateway(URL, "admin-key")).changed_since(T0, pages=4)
    assert sorted(issue_id for issue_id, _ in found) == list(range(1, 301))
