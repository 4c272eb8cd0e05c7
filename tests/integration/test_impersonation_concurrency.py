"""Concurrent calls as different users never run as the wrong one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from app_integration.adapters.redmine.gateway import RedmineGateway
from tests.conftest import RedmineInfo, both_redmines


@pytest.fixture(params=["webrick-sqlite", "puma-postgresql"])
def redmine(request: pytest.FixtureRequest) -> RedmineInfo:
    """Concurrency decides these tests' truth: they run on SQLite under WEBrick, one write at a time, and on
    PostgreSQL under Puma, where creates truly overlap."""
    return both_redmines(request)


CALLS_PER_USER = 50


def test_two_users_fifty_parallel_calls_each_never_cross(redmine: RedmineInfo) -> None:
    gateway = RedmineGateway(redmine.url, redmine.admin_key)
    logins = ["alice", "bob"] * CALLS_PER_USER
    with ThreadPoolExecutor(max_workers=16) as pool:
        seen = list(pool.map(lambda login: (login, gateway.current_user(login).login), logins, timeout=120))
    crossed = [(asked, got) for asked, got in seen if asked != got]
    assert len(seen) == 2 * CALLS_PER_USER
    assert crossed == []
