"""A project's news at the HTTP layer (the integration test reads the real one): items after `since` only, as
the person, and a project whose news module is off (Redmine answers 403) has none rather than failing the
cycle."""

from __future__ import annotations

import datetime as dt

import responses

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.project_activity import RedmineProjectActivity

URL = "http://redmine.test"
SINCE = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def activity() -> RedmineProjectActivity:
    return RedmineProjectActivity(RedmineGateway(URL, "admin-key"))


@responses.activate
def test_news_after_since_as_the_person() -> None:
    news = [
        {
            "id": 8,
            "title": "Office move",
            "summary": "We move on Friday",
            "author": {"name": "Alice Anders"},
            "created_on": "2026-12-07T10:00:00Z",
        },
        {"id": 7, "title": "Old news", "summary": "", "author": {"name": "Bob"}, "created_on": "2026-12-06T10:00:00Z"},
    ]
    responses.get(f"{URL}/projects/1/news.json", json={"news": news, "total_count": 2})
    [item] = activity().items_since("alice", 1, frozenset({"news"}), SINCE)
    assert (item.key, item.title, item.author, item.text) == (
        "news:8",
        "Office move",
        "Alice Anders",
        "We move on Friday",
    )
    assert item.url == f"{URL}/news/8"
    assert responses.calls[0].request.headers["X-Redmine-Switch-User"] == "alice"


@responses.activate
def test_a_module_that_is_off_has_nothing_and_anyone_asks_with_no_key() -> None:
    responses.get(f"{URL}/projects/1/news.json", status=403)
    assert activity().items_since(None, 1, frozenset({"news"}), SINCE) == []
    assert "X-Redmine-API-Key" not in responses.calls[0].request.headers
