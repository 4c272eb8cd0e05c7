"""Small parts with rules of their own: JSON logs, the reconnect backoff, posts that fit."""

from __future__ import annotations

import json
import logging
import re

from app_integration.adapters.mattermost.posts.websocket_client import Backoff
from app_integration.core.formatting import POST_LIMIT, fit
from app_integration.logging_setup import JsonFormatter


def test_json_logs_carry_the_extra_fields() -> None:
    record = logging.LogRecord("app_integration.web", logging.INFO, __file__, 1, "command", (), None)
    record.__dict__.update(request_id="abc123", user="bob", redmine_round_trips=1, latency_ms=12.5)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "command" and line["level"] == "INFO"
    assert (line["request_id"], line["user"], line["redmine_round_trips"], line["latency_ms"]) == (
        "abc123",
        "bob",
        1,
        12.5,
    )


def test_backoff_grows_from_three_seconds_to_eight_with_jitter() -> None:
    """An outage of 35 s once left posts unanswered 23 to 38 s after it ended (issue 33): the ceiling is 8 s."""
    backoff = Backoff()
    first = [backoff.delay(0) for _ in range(200)]
    assert all(1.5 <= d <= 3.0 for d in first) and len(set(first)) > 1
    assert all(4.0 <= backoff.delay(30) <= 8.0 for _ in range(200))
    assert max(backoff.delay(n) for n in range(60)) <= 8.0


def test_a_post_longer_than_the_limit_is_cut_with_a_link() -> None:
    text = fit("x" * 20_000, "http://redmine.test/issues?set_filter=1")
    assert len(text) <= POST_LIMIT and text.endswith("[See everything](http://redmine.test/issues?set_filter=1)")
    assert fit("short") == "short"


def test_redmine_text_never_pings_or_links() -> None:
    from app_integration.core.formatting import cell, link, plain

    nasty = "@channel @all @here [x](http://evil.example) <http://evil.example> `code` **bold**"
    linked = link(nasty, "http://redmine/issues/1")
    assert linked.startswith("[") and linked.endswith("](http://redmine/issues/1)")
    for rendered in (plain(nasty), cell(nasty), linked[1 : -len("](http://redmine/issues/1)")]):
        assert not re.search(r"@(channel|all|here)", rendered)
        assert not re.search(r"(?<!\\)[\[\]<>`*]", rendered), rendered  # every markup character is escaped
    assert plain("Fix the @bob report").replace("\u200b", "") == "Fix the @bob report"


def test_a_connection_that_stayed_up_resets_the_backoff() -> None:
    """Five drops, each after 6 s of a healthy connection, once grew to 40 s between reconnects (issue 33): a
    connection that heard the server for 10 s or more starts the backoff afresh; one that never got going
    counts on."""
    from app_integration.adapters.mattermost.posts.websocket_client import Backoff, next_attempt

    attempt = 0
    delays = []
    for _drop in range(5):
        attempt = next_attempt(attempt, heard=True, lasted=12.0)
        delays.append(Backoff().delay(attempt))
        attempt += 1
    assert max(delays) <= Backoff().first  # never past the first step
    assert next_attempt(4, heard=False, lasted=60.0) == 4  # silent sockets (an outage) keep backing off
    assert next_attempt(4, heard=True, lasted=2.0) == 4  # a connection that fell at once too
