"""Exactly once in effect, against the real Redmine and the emulator: what is done twice, typed twice or retried
after a lost answer takes effect once."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine
from tests.integration.surface_support import slash
from tests.integration.test_posts_into_tickets import journals_of


def test_attach_typed_twice_adds_the_post_once_and_says_where_it_is(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    issue = Redmine(redmine).create("alice", "demo", f"Attach target {uuid.uuid4().hex[:8]}")
    post = emulator.post_as("carol", channel, "The lift is stuck on floor 3")
    first = slash(client, emulator, "bob", f"attach {post['id']} {issue}", channel)["text"]
    assert first.startswith("Added the post to")
    second = slash(client, emulator, "bob", f"attach {post['id']} {issue}", channel)["text"]
    assert f"in #{issue} already" in second and "#change-" in second
    assert len(journals_of(redmine, issue)) == 1
    reply = emulator.post_as("bob", channel, "An engineer is on the way", root_id=post["id"])
    assert reply["id"]
    thread = slash(client, emulator, "bob", f"attach {post['id']} {issue} thread", channel)["text"]
    assert thread.startswith("Added the thread")  # the thread is another note: it holds more than the post
    again = slash(client, emulator, "bob", f"attach {post['id']} {issue} thread", channel)["text"]
    assert "already" in again and len(journals_of(redmine, issue)) == 2
