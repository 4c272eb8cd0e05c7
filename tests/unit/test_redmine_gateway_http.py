"""The gateway at the HTTP layer: headers per call, the error table, timeouts, no blind retries."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import requests
import responses

from app_integration.adapters.redmine.call_scope import counting
from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.core.errors import (
    AccountUnavailable,
    NotFound,
    OperatorError,
    OutcomeUnknown,
    PermissionDenied,
    RedmineRejected,
    RedmineUnavailable,
)
from app_integration.core.models import IssueDraft

URL = "http://redmine.test"
KEY = "admin-key-123"
CREATE_URL = re.compile(r"http://redmine\.test/(projects/demo/)?issues\.json")


@pytest.fixture
def gateway() -> RedmineGateway:
    return RedmineGateway(URL, KEY, connect_timeout=2.0, read_timeout=7.0)


def issue_json(issue_id: int = 1) -> dict[str, object]:
    return {
        "id": issue_id,
        "subject": "S",
        "project": {"id": 1, "name": "Demo"},
        "tracker": {"id": 1, "name": "Bug"},
        "status": {"id": 1, "name": "New"},
        "priority": {"id": 2, "name": "Normal"},
        "author": {"id": 5, "name": "Alice"},
        "updated_on": "2026-11-22T10:00:00Z",
        "due_date": "2027-01-02",
    }


@responses.activate
def test_each_call_impersonates_and_sends_the_admin_key(gateway: RedmineGateway) -> None:
    responses.get(f"{URL}/users/current.json", json={"user": {"id": 5, "login": "alice", "firstname": "A"}})
    assert gateway.current_user("alice").login == "alice"
    sent = responses.calls[0].request
    assert sent.headers["X-Redmine-Switch-User"] == "alice"
    assert sent.headers["X-Redmine-API-Key"] == KEY


@responses.activate
def test_admin_lookups_do_not_impersonate(gateway: RedmineGateway) -> None:
    responses.get(f"{URL}/trackers.json", json={"trackers": [{"id": 1, "name": "Bug"}]})
    assert [c.label for c in gateway.trackers()] == ["Bug"]
    assert "X-Redmine-Switch-User" not in responses.calls[0].request.headers


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (401, OperatorError, "admin key"),
        (403, PermissionDenied, "no permission"),
        (404, NotFound, "not found"),
        (412, AccountUnavailable, "`bob` is missing or locked"),
        (500, RedmineUnavailable, "unavailable"),
        (503, RedmineUnavailable, "unavailable"),
    ],
)
@responses.activate
def test_the_error_table(gateway: RedmineGateway, status: int, error: type[Exception], text: str) -> None:
    responses.get(f"{URL}/projects/demo.json", status=status)
    with pytest.raises(error) as caught:
        gateway.project("bob", "demo")
    assert text.lower() in caught.value.user_message.lower()  # type: ignore[attr-defined]


@responses.activate
def test_422_shows_redmines_errors_verbatim(gateway: RedmineGateway) -> None:
    responses.post(
        CREATE_URL, status=422, json={"errors": ["Due date must be greater than start date", "Subject cannot be blank"]}
    )
    with pytest.raises(RedmineRejected) as caught:
        gateway.create_issue("alice", IssueDraft(project="demo", subject=""))
    assert caught.value.errors == ["Due date must be greater than start date", "Subject cannot be blank"]


@responses.activate
def test_every_call_has_the_configured_timeout(gateway: RedmineGateway) -> None:
    seen: list[object] = []

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps({"issue_statuses": []})

    responses.add_callback(responses.GET, f"{URL}/issue_statuses.json", callback=callback)
    original = requests.Session.request

    def spy(self: requests.Session, *args: object, **kwargs: object) -> requests.Response:
        seen.append(kwargs.get("timeout"))
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.Session, "request", spy)
        gateway.open_statuses()
    assert seen == [(2.0, 7.0)]


@responses.activate
def test_a_create_is_retried_only_once_redmine_shows_it_made_nothing(
    gateway: RedmineGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy SQLite behind Redmine answers 500 at once; the ticket lookup proves nothing was made, so the
    create is tried again (three times in all), and never when the lookup cannot tell."""
    monkeypatch.setattr("app_integration.adapters.redmine.gateway.time.sleep", lambda seconds: None)
    responses.get(f"{URL}/issues.json", json={"issues": [], "total_count": 0, "offset": 0, "limit": 25})
    responses.post(CREATE_URL, status=500)
    responses.post(CREATE_URL, status=201, json={"issue": issue_json(7)})
    assert gateway.create_issue("alice", IssueDraft(project="demo", subject="x")).id == 7
    assert [c.request.method for c in responses.calls] == ["POST", "GET", "POST"]
    responses.calls.reset()
    responses.replace(responses.POST, CREATE_URL, status=500)
    with pytest.raises(RedmineUnavailable):
        gateway.create_issue("alice", IssueDraft(project="demo", subject="x"))
    assert [c.request.method for c in responses.calls] == ["POST", "GET"] * 3


@responses.activate
def test_a_create_is_never_repeated_blindly(gateway: RedmineGateway) -> None:
    responses.post(CREATE_URL, body=requests.ConnectionError("reset"))
    with pytest.raises(RedmineUnavailable):
        gateway.create_issue("alice", IssueDraft(project="demo", subject="x"))
    posts = [c for c in responses.calls if c.request.method == "POST"]
    assert len(posts) == 1  # what follows is a look for the ticket, never a second create


@responses.activate
def test_a_timeout_is_unavailable(gateway: RedmineGateway) -> None:
    responses.get(f"{URL}/issues.json", body=requests.ReadTimeout("slow"))
    with pytest.raises(RedmineUnavailable, match="did not answer in time"):
        gateway.assigned_issues("alice", 10)


@responses.activate
def test_issue_lists_are_one_request_with_a_total(gateway: RedmineGateway) -> None:
    responses.get(
        f"{URL}/issues.json",
        json={"issues": [issue_json(1), issue_json(2)], "total_count": 75, "offset": 0, "limit": 2},
    )
    with counting() as tally:
        page = gateway.assigned_issues("alice", 2)
    assert tally.round_trips == 1
    assert page.total == 75 and [i.id for i in page.issues] == [1, 2]
    assert page.issues[0].due_date == dt.date(2027, 1, 2)
    query = responses.calls[0].request.url or ""
    for part in ("assigned_to_id=me", "status_id=open", "sort=updated_on%3Adesc", "limit=2"):
        assert part in query


@responses.activate
def test_site_lists_are_cached_and_user_lookups_are_not_shared_across_logins(gateway: RedmineGateway) -> None:
    responses.get(
        f"{URL}/enumerations/issue_priorities.json",
        json={"issue_priorities": [{"id": 2, "name": "Normal", "is_default": True}]},
    )
    gateway.priorities()
    gateway.priorities()
    assert len(responses.calls) == 1
    responses.get(
        f"{URL}/users.json", json={"users": [{"id": 6, "login": "bob"}], "total_count": 1, "offset": 0, "limit": 25}
    )
    assert gateway.account("bob") is not None and gateway.account("bob") is not None
    assert len(responses.calls) == 2


@responses.activate
def test_a_locked_account_is_found_by_the_second_lookup(gateway: RedmineGateway) -> None:
    responses.get(f"{URL}/users.json", json={"users": [], "total_count": 0, "offset": 0, "limit": 25})
    responses.get(
        f"{URL}/users.json", json={"users": [{"id": 8, "login": "dave"}], "total_count": 1, "offset": 0, "limit": 25}
    )
    account = gateway.account("dave")
    assert account is not None and account.active is False
    assert "status=" in (responses.calls[1].request.url or "")


@responses.activate
def test_a_lost_answer_is_matched_on_everything_the_line_set(
    gateway: RedmineGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two lines `Call the vendor @bob` and `Call the vendor @carol`; carol's create is answered 500 and was never
    made. The lookup finds bob's ticket by subject, but it is assigned to bob and already answered to this
    batch: carol's is created, not bob's listed twice."""
    monkeypatch.setattr("app_integration.adapters.redmine.gateway.time.sleep", lambda seconds: None)
    bobs = {**issue_json(41), "subject": "Call the vendor", "assigned_to": {"id": 6, "name": "Bob"}}
    carols = {**issue_json(42), "subject": "Call the vendor", "assigned_to": {"id": 7, "name": "Carol"}}
    responses.get(f"{URL}/issues.json", json={"issues": [bobs], "total_count": 1, "offset": 0, "limit": 25})
    responses.post(CREATE_URL, status=500)
    responses.post(CREATE_URL, status=201, json={"issue": carols})
    draft = IssueDraft(project="demo", subject="Call the vendor", assigned_to_id=7)
    assert gateway.create_issue("alice", draft, taken=lambda: {41}).id == 42
    lookup = next(c.request for c in responses.calls if c.request.method == "GET")
    assert "project_id=demo" in str(lookup.url)


@responses.activate
def test_a_lost_answer_that_two_tickets_fit_may_have_been_created(
    gateway: RedmineGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app_integration.adapters.redmine.gateway.time.sleep", lambda seconds: None)
    twins = [{**issue_json(n), "subject": "Same", "assigned_to": {"id": 7, "name": "Carol"}} for n in (43, 44)]
    responses.get(f"{URL}/issues.json", json={"issues": twins, "total_count": 2, "offset": 0, "limit": 25})
    responses.post(CREATE_URL, status=500)
    with pytest.raises(OutcomeUnknown, match="may have been created"):
        gateway.create_issue("alice", IssueDraft(project="demo", subject="Same", assigned_to_id=7))
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1  # never sent again
