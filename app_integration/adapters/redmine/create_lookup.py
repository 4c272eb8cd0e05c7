"""After a create whose answer was lost (no answer, or a 5xx once Redmine's work on it is over): did Redmine make
the ticket? It is looked for by everything the create set (subject, project, tracker, assignee, due date) among
the caller's tickets of the last minutes, leaving out the ids already answered to the caller's other creates (a
batch's lines). One match is the ticket; none, it was not made; several, nobody can tell which, so the reply
says it may have been created."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Collection
from typing import Any, Protocol, TypeVar

from app_integration.adapters.redmine.issue_mapping import issue_from
from app_integration.core.errors import BridgeError, OutcomeUnknown, RedmineUnavailable
from app_integration.core.i18n import _
from app_integration.core.models import Issue, IssueDraft

T = TypeVar("T")


class Caller(Protocol):
    """What the lookup needs of the gateway: a call as a login, and Redmine's address."""

    @property
    def base_url(self) -> str: ...

    def as_user(self, login: str | None, call: Callable[[Any], T]) -> T: ...


log = logging.getLogger(__name__)
# How far before the request a found ticket may claim to be created: Redmine's clock is not ours.
CREATE_CLOCK_SKEW = dt.timedelta(minutes=5)
# A create that Redmine shows it did not make is tried again, this many times in all, after a short pause.
CREATE_ATTEMPTS = 3
CREATE_RETRY_PAUSE = 0.2


def may_exist(base_url: str) -> OutcomeUnknown:
    latest = f"{base_url}/issues?set_filter=1&author_id=me&status_id=*&sort=id:desc"
    return OutcomeUnknown(
        _(
            "Redmine did not confirm this ticket, so it may have been created. Check [your latest tickets]({url}).",
            url=latest,
        )
    )


def find_created(
    gateway: Caller,
    login: str,
    draft: IssueDraft,
    sent_at: dt.datetime,
    taken: Callable[[], Collection[int]],
    settle: tuple[float, ...] = (),
) -> Issue | None:
    """The ticket this login just created from this draft; None when Redmine shows it made none; OutcomeUnknown
    when Redmine cannot say, or several tickets fit. With `settle`, a ticket not found yet is looked for again
    after each pause: a create whose answer was lost may not be committed yet."""
    found = _lookup(gateway, login, draft, sent_at, taken)
    for pause in settle:
        if found is not None:
            break
        time.sleep(pause)
        found = _lookup(gateway, login, draft, sent_at, taken)
    return found


def _lookup(
    gateway: Caller, login: str, draft: IssueDraft, sent_at: dt.datetime, taken: Callable[[], Collection[int]]
) -> Issue | None:
    since = (sent_at - CREATE_CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = None
    for attempt in range(1, CREATE_ATTEMPTS + 1):  # a read is safe to repeat; a busy Redmine may refuse one
        try:
            found = gateway.as_user(
                login,
                lambda r: [
                    i.raw()
                    for i in r.issue.filter(
                        project_id=draft.project,
                        author_id="me",
                        status_id="*",
                        created_on=f">={since}",
                        # By subject too: in a busy batch, more than a page of this person's tickets may be
                        # newer than the one looked for.
                        subject=f"~{draft.subject}",
                        sort="id:desc",
                        limit=25,
                    )
                ],
            )
            break
        except RedmineUnavailable:
            if attempt < CREATE_ATTEMPTS:
                time.sleep(CREATE_RETRY_PAUSE * attempt)
        except BridgeError:
            break
    if found is None:
        raise may_exist(gateway.base_url)
    answered = set(taken())
    matches = [raw for raw in found if _made_from(raw, draft) and int(raw["id"]) not in answered]
    if len(matches) > 1:
        log.info("redmine: a create's answer was lost and %d tickets fit it; it may have been created", len(matches))
        raise may_exist(gateway.base_url)
    if matches:
        log.info("redmine: a create's answer was lost; found the ticket it made (#%s)", matches[0]["id"])
        return issue_from(matches[0])
    log.info("redmine: a create failed and no ticket was made")
    return None


def _made_from(raw: dict[str, Any], draft: IssueDraft) -> bool:
    """Whether a ticket holds what the draft set (Redmine's defaults may fill what it left out)."""
    assignee = (raw.get("assigned_to") or {}).get("id")
    tracker = (raw.get("tracker") or {}).get("id")
    return (
        raw.get("subject") == draft.subject
        and (draft.assigned_to_id is None or assignee == draft.assigned_to_id)
        and (draft.tracker_id is None or tracker == draft.tracker_id)
        and (draft.due_date is None or raw.get("due_date") == draft.due_date.isoformat())
    )
