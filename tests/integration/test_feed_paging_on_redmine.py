"""The change feed's paging against the real Redmine, where many issues share each second (four threads creating
at once): Redmine sorts by its stored time (microseconds) while it shows whole seconds, and `updated_on>=T`
starts inside the second before T (Query#date_clause). The feed read by comparing ids lost issues here; on both
servers, four pages now read every one."""

from __future__ import annotations

import collections
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app_integration.adapters.redmine.change_feed import RedmineChangeFeed
from app_integration.adapters.redmine.gateway import RedmineGateway
from tests.conftest import RedmineInfo, both_redmines

MADE = 230  # with up to two seconds of earlier changes (the list starts inside the second before): four pages


@pytest.fixture(params=["webrick-sqlite", "puma-postgresql"])
def redmine(request: pytest.FixtureRequest) -> tuple[RedmineInfo, int]:
    """With the threads each server takes without refusing: SQLite writes one at a time (a dozen a second is
    busy enough), Puma on PostgreSQL takes four at once (dozens a second)."""
    return both_redmines(request), 4 if request.param == "puma-postgresql" else 1


def test_busy_seconds_are_read_whole_in_four_pages(redmine: tuple[RedmineInfo, int]) -> None:
    (info, threads), url = redmine, redmine[0].url
    key = info.admin_key
    feed = RedmineChangeFeed(RedmineGateway(url, key))
    since = feed.newest_change()
    assert since is not None
    tag = uuid.uuid4().hex[:8]

    def create(n: int) -> int:
        body = {"issue": {"project_id": "demo", "subject": f"Paging {tag} {n}"}}
        answer = requests.post(f"{url}/issues.json", json=body, headers={"X-Redmine-API-Key": key}, timeout=60)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["issue"]["id"])

    with ThreadPoolExecutor(threads) as pool:
        made = set(pool.map(create, range(MADE)))
    found = dict(feed.changed_since(since, pages=4))
    per_second = collections.Counter(found[i] for i in made if i in found)
    assert made <= set(found), f"{len(made - set(found))} of {MADE} not read"
    assert max(per_second.values()) >= 5  # the seconds were busy: what the test is about
    assert len(found) <= 4 * 100  # four pages, no more
