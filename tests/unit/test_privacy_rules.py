"""core/privacy.py's rule 1, case by case: what every reader of a channel may be shown, from what Redmine
answered of the ticket and of the roles it gives people outside its project."""

from __future__ import annotations

import dataclasses

import pytest

from app_integration.core.models import OutsiderView
from app_integration.core.privacy import readers_may_see, readers_may_see_project
from tests.unit.fakes import make_issue

DEFAULTS = OutsiderView(project_public=True, non_members="default", anonymous="default", anonymous_allowed=True)


@pytest.mark.parametrize(
    ("view", "kind", "expected"),
    [
        (DEFAULTS, "O", True),
        (DEFAULTS, "P", True),
        (DEFAULTS, None, False),  # a channel the bot cannot see
        (dataclasses.replace(DEFAULTS, project_public=False), "P", False),
        (dataclasses.replace(DEFAULTS, non_members=""), "P", False),  # Non member may not view issues
        (dataclasses.replace(DEFAULTS, non_members="own"), "O", False),  # only their own tickets
        (dataclasses.replace(DEFAULTS, non_members="all"), "O", True),
        (dataclasses.replace(DEFAULTS, anonymous=""), "O", False),  # a public channel: anyone in the team
        (dataclasses.replace(DEFAULTS, anonymous=""), "P", True),
        (dataclasses.replace(DEFAULTS, anonymous="", anonymous_allowed=False), "O", True),  # login required
    ],
)
def test_a_projects_tickets_reach_a_channels_readers(view: OutsiderView, kind: str | None, expected: bool) -> None:
    assert readers_may_see_project(view, kind) is expected


def test_a_private_ticket_never_reaches_a_channel_whatever_the_roles() -> None:
    secret = dataclasses.replace(make_issue(1), is_private=True)
    everyone = dataclasses.replace(DEFAULTS, non_members="all", anonymous="all")
    assert readers_may_see(everyone, make_issue(1), "O") is True
    assert readers_may_see(everyone, secret, "O") is False
    assert readers_may_see(everyone, secret, "P") is False
