"""What else of a project a subscription hears: its news, wiki page changes, released versions and (when
chosen) time logged. Read by polling what Redmine 5.0 shows, as the subscription's owner, once a cycle per
owner and project; each item posted once into each channel that chose its kind (the outbox's key names it),
into a public channel only when Redmine shows it with no login (core/privacy.py, rule 5).
"""

from __future__ import annotations

import datetime as dt
import logging

from app_integration.core.errors import AccountUnavailable, PersonalKeyRefused
from app_integration.core.events import PROJECT_KINDS, Delivery, Subscription
from app_integration.core.formatting import link, plain
from app_integration.core.i18n import N_, _, speaking
from app_integration.core.models import ProjectItem
from app_integration.core.ports.store import StateStore
from app_integration.core.privacy import everyone_may_read
from app_integration.core.services import Services

log = logging.getLogger(__name__)
CURSOR = "project_activity_cursor"
STARTED = "project_activity_started"  # nothing from before this is posted: history is not replayed
# Each cycle reads a little before its cursor (the bridge's clock and Redmine's may differ by seconds): the
# outbox drops what it has already.
OVERLAP = dt.timedelta(minutes=2)
HEADS = {
    "news": N_("News in {project}"),
    "wiki": N_("Wiki page changed in {project}"),
    "versions": N_("Version released in {project}"),
    "time": N_("Time logged in {project}"),
}


def poll_project_activity(services: Services, state: StateStore, now: dt.datetime) -> int:
    """One cycle; how many posts it queued. The first only marks where it starts: history is not replayed."""
    subscribed = [s for s in services.subscriptions.list_subscriptions() if s.events & set(PROJECT_KINDS)]
    saved, started = state.load_state(CURSOR), state.load_state(STARTED)
    if saved is None or started is None or not subscribed:
        state.save_state(CURSOR, now.isoformat())
        if started is None:
            state.save_state(STARTED, now.isoformat())
        return 0
    since = max(dt.datetime.fromisoformat(saved) - OVERLAP, dt.datetime.fromisoformat(started))
    queued = _queue(services, subscribed, since)
    # Only once everything is in the outbox: a cycle that Redmine cut short is read again from the same point.
    state.save_state(CURSOR, now.isoformat())
    return queued


def enqueue_pushed_activity(services: Services, project_id: int, kind: str, now: dt.datetime) -> int:
    """A Redmine 7 webhook said a project's news, wiki page, version or time changed: that project's
    subscriptions that chose it read it now, as the poll would (the outbox keeps either from posting twice)."""
    subscribed = [
        s for s in services.subscriptions.list_subscriptions() if s.project_id == project_id and kind in s.events
    ]
    return _queue(services, subscribed, now - OVERLAP) if subscribed else 0


def _queue(services: Services, subscribed: list[Subscription], since: dt.datetime) -> int:
    seen: dict[tuple[str | None, int, frozenset[str]], list[ProjectItem]] = {}
    skipped: dict[str, str] = {}  # login -> why Redmine would not act as it: only its subscriptions wait
    fine: set[str] = set()
    queued = 0
    for subscription in subscribed:
        user = services.chat.user(subscription.owner_id)
        login = services.users.redmine_login(user) if user else None
        kind = services.chat.channel_kind(subscription.channel_id)
        if login is None or kind is None or login in skipped:
            continue
        kinds = frozenset(k for k in PROJECT_KINDS if k in subscription.events)
        try:
            items = _read(services, seen, login, subscription.project_id, kinds, since)
        except (AccountUnavailable, PersonalKeyRefused) as refused:
            skipped[login] = refused.user_message
            continue
        fine.add(login)
        anyones = (
            frozenset(i.key for i in _read(services, seen, None, subscription.project_id, kinds, since))
            if kind == "O"
            else frozenset()
        )
        deliveries = [
            _delivery(services, subscription, item) for item in items if everyone_may_read(item.key, anyones, kind)
        ]
        queued += services.outbox.enqueue(deliveries)
    for login in services.subscriptions.note_skipped(skipped, fine):
        log.warning("project activity: skipping what only %s would get: %s", login, skipped[login])
    return queued


def _read(
    services: Services,
    seen: dict[tuple[str | None, int, frozenset[str]], list[ProjectItem]],
    login: str | None,
    project_id: int,
    kinds: frozenset[str],
    since: dt.datetime,
) -> list[ProjectItem]:
    key = (login, project_id, kinds)
    if key not in seen:
        seen[key] = services.activity.items_since(login, project_id, kinds, since)
    return seen[key]


def _delivery(services: Services, subscription: Subscription, item: ProjectItem) -> Delivery:
    with speaking(subscription.locale or services.default_locale):
        head = _(HEADS[item.kind], project=plain(subscription.project_name))
        by = f" ({plain(item.author)})" if item.author else ""
        text = f"**{head}**: {link(item.title or head, item.url)}{by}" + (f"\n{plain(item.text)}" if item.text else "")
    return Delivery(item.key, subscription.channel_id, 0, text)
