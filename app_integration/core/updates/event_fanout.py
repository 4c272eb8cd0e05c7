"""Who hears of an issue event: subscribed channels, as their owner sees the issue, and people by DM.

Nothing is posted that its reader could not see in Redmine:
- a channel gets an event only when the subscription's owner may see the issue (and the journal);
- a public channel gets only what every reader could open in Redmine (core/privacy.py);
- a private note never goes to a channel, and by DM only to those whom Redmine shows it;
- a DM goes only to someone who may see the issue, asked as that person.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from app_integration.core.errors import AccountUnavailable, NotMapped, PersonalKeyRefused
from app_integration.core.events import Delivery, IssueEvent, PersonalKind, Subscription
from app_integration.core.i18n import N_, _, speaking
from app_integration.core.privacy import everyone_may_see
from app_integration.core.services import Services
from app_integration.core.updates.event_rendering import Names, card, event_text, personal_text

# A login may hold dots, @ and dashes, but a mention does not end with one: "@alice." names alice. The run of
# login characters is taken whole and its tail trimmed after: a pattern that must end on a letter backtracks
# through every start of "@.@.@.…" (64 KB took 8.6 s), and Redmine notes have no length limit.
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_.@-]+)")
_MENTION_TAIL = ".@-"
# A note written from a thread reply ends with the reply's permalink (…/_redirect/pl/<post id>).
_CITED_POST = re.compile(r"/pl/([a-z0-9]{26})\b")
QUERY_LOOK_BACK = dt.timedelta(hours=1)  # a cycle's events are minutes old; a catch-up's are read from here
_REASONS: dict[PersonalKind, str] = {
    "mentions": N_("you were mentioned"),
    "assigned": N_("it is assigned to you"),
    "status": N_("your ticket"),
    "notes": N_("your ticket"),
    "watching": N_("you watch it"),
}


@dataclass
class FanOutCycle:
    """Lookups shared by the events of one poll cycle, so each is asked once per cycle. Who may see what is
    asked once per person for all the cycle's issues (`issue_ids`): one list query as them."""

    services: Services
    issue_ids: tuple[int, ...] = ()
    asked: dict[str, set[int]] = field(default_factory=dict)  # login -> issues asked about
    visible: dict[str, set[int]] = field(default_factory=dict)  # login -> those of them it may see
    journals: dict[tuple[str, int], frozenset[int] | None] = field(default_factory=dict)
    logins: dict[str, str | None] = field(default_factory=dict)
    usernames: dict[int, str | None] = field(default_factory=dict)
    kinds: dict[str, str | None] = field(default_factory=dict)
    subscriptions: list[Subscription] | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # login -> why Redmine would not act as it
    fine: set[str] = field(default_factory=set)
    in_queries: dict[tuple[str, int], frozenset[int]] = field(default_factory=dict)  # (login, query) -> tickets

    def in_query(self, login: str, query_id: int, event: IssueEvent) -> bool:
        """Whether the owner's saved query finds the event's ticket: the query's tickets updated lately, read
        once per cycle and owner, as the owner (a query they may no longer use finds nothing)."""
        if (login, query_id) not in self.in_queries:
            finder = self.services.finder
            query = next((q for q in finder.saved_queries(login) if q.id == query_id), None)
            since = (event.issue.updated_on or dt.datetime.now(dt.UTC)) - QUERY_LOOK_BACK
            found = finder.recently_in_query(login, query, since) if query else frozenset()
            self.in_queries[(login, query_id)] = found
        return event.issue.id in self.in_queries[(login, query_id)]

    def sees(self, login: str, event: IssueEvent) -> bool:
        """A locked or missing account (or a refused personal key) sees nothing: it costs only its own
        deliveries, never the cycle's. Whoever sees an issue sees its journals, except private notes, which
        only a DM carries: those are asked about one by one."""
        if login in self.skipped:
            return False
        issue_id = event.issue.id
        try:
            if event.private_notes and event.journal_id:
                if (login, issue_id) not in self.journals:
                    feed = self.services.feed
                    self.journals[(login, issue_id)] = feed.visible_journals(login, issue_id)
                seen = self.journals[(login, issue_id)]
                visible = seen is not None and event.journal_id in seen
            else:
                visible = issue_id in self._visible_to(login, issue_id)
        except (AccountUnavailable, PersonalKeyRefused, NotMapped) as refused:
            self.skipped[login] = refused.user_message
            return False
        self.fine.add(login)
        return visible

    def _visible_to(self, login: str, issue_id: int) -> set[int]:
        asked = self.asked.setdefault(login, set())
        visible = self.visible.setdefault(login, set())
        if issue_id not in asked:
            batch = [i for i in self.issue_ids if i not in asked] if issue_id in self.issue_ids else [issue_id]
            feed = self.services.feed
            visible.update(feed.visible_issues(login, batch))
            asked.update(batch)
        return visible

    def login_of(self, chat_user_id: str) -> str | None:
        if chat_user_id not in self.logins:
            user = self.services.chat.user(chat_user_id)
            self.logins[chat_user_id] = self.services.users.redmine_login(user) if user else None
        return self.logins[chat_user_id]

    def username(self, redmine_user_id: int) -> str | None:
        if redmine_user_id not in self.usernames:
            people = self.services.store
            chat_id = people.chat_user_for(redmine_user_id)
            user = self.services.chat.user(chat_id) if chat_id else None
            self.usernames[redmine_user_id] = user.username if user else None
        return self.usernames[redmine_user_id]

    def channel_kind(self, channel_id: str) -> str | None:
        if channel_id not in self.kinds:
            self.kinds[channel_id] = self.services.chat.channel_kind(channel_id)
        return self.kinds[channel_id]

    def all_subscriptions(self) -> list[Subscription]:
        if self.subscriptions is None:
            subs = self.services.subscriptions
            self.subscriptions = subs.list_subscriptions()
        return self.subscriptions


def deliveries_for(cycle: FanOutCycle, event: IssueEvent) -> list[Delivery]:
    return _channel_deliveries(cycle, event) + _personal_deliveries(cycle, event)


def _channel_deliveries(cycle: FanOutCycle, event: IssueEvent) -> list[Delivery]:
    services = cycle.services
    feed = services.feed
    subs = services.subscriptions
    if event.private_notes and event.kinds == {"note"}:
        return []
    subscriptions = cycle.all_subscriptions()
    if not subscriptions:
        return []
    ancestors = feed.ancestors(event.issue.project.id)
    names = Names(cycle.username, event.actor.id)
    base_url = services.tracker.base_url
    sensitive: bool | None = None
    found: dict[str, Delivery] = {}
    for subscription in subscriptions:
        channel = subscription.channel_id
        if channel in found or not subscription.matches(event, ancestors):
            continue
        login = cycle.login_of(subscription.owner_id)
        if login is None or not cycle.sees(login, event):
            continue
        if subscription.query_id and not cycle.in_query(login, subscription.query_id, event):
            continue
        if sensitive is None:  # not for every reader of a public channel (core/privacy.py); asked once an event
            sensitive = not everyone_may_see(services, event.issue, "O")
        kind = cycle.channel_kind(channel)
        if kind is None or (sensitive and kind == "O"):
            continue
        if event.kinds == {"note"} and subs.is_echo(channel, event.issue.id, _CITED_POST.findall(event.notes)):
            continue  # a reply of this very thread, written as a note: it is there already
        with speaking(subscription.locale or services.default_locale):
            text = event_text(base_url, event, names, with_note=not event.private_notes)
            found[channel] = Delivery(
                event.key, channel, event.issue.id, text, card(base_url, event.issue, names), sensitive=sensitive
            )
    return list(found.values())


def _personal_deliveries(cycle: FanOutCycle, event: IssueEvent) -> list[Delivery]:
    services = cycle.services
    subs = services.subscriptions
    people = services.store
    names = Names(cycle.username, event.actor.id)
    deliveries = []
    for redmine_id, kind in _recipients(cycle, event).items():
        if redmine_id == event.actor.id:
            continue  # never about your own change
        chat_id = people.chat_user_for(redmine_id)
        if chat_id is None or not subs.prefs(chat_id).wants(kind):
            continue
        if event.issue.id in subs.muted_tickets(chat_id):
            continue  # `mute #N`: this person wants no more DMs about this ticket
        login = cycle.login_of(chat_id)
        if login is None or not cycle.sees(login, event):
            continue
        with speaking(services.locale_of_user(chat_id)):
            text = personal_text(services.tracker.base_url, event, _(_REASONS[kind]), names)
        deliveries.append(Delivery(event.key, f"dm:{chat_id}", event.issue.id, text))
    return deliveries


def _recipients(cycle: FanOutCycle, event: IssueEvent) -> dict[int, PersonalKind]:
    """Redmine user id -> the one reason they hear of it; a mention outranks the rest."""
    issue = event.issue
    reasons: dict[int, PersonalKind] = {}
    watchers = [r.id for r in (issue.assigned_to, issue.author) if r is not None]
    if event.kinds & {"status", "fields"}:
        reasons.update(dict.fromkeys(watchers, "status"))
    if "note" in event.kinds:
        reasons.update(dict.fromkeys(watchers, "notes"))
    assignment = event.change("assigned_to_id")
    if assignment and assignment.new_id:
        reasons[assignment.new_id] = "assigned"
    if "created" in event.kinds and issue.assigned_to:
        reasons[issue.assigned_to.id] = "assigned"
    if "note" in event.kinds:
        for redmine_id in _mentioned(cycle, event.notes):
            reasons[redmine_id] = "mentions"
    if event.kinds & {"status", "note", "fields"}:
        for redmine_id in event.watcher_ids:
            reasons.setdefault(redmine_id, "watching")  # a stronger reason of theirs stays
    return reasons


def mentioned_logins(notes: str) -> list[str]:
    """The logins a note names as @login, in order, once each."""
    return list(dict.fromkeys(found for m in _MENTION.findall(notes) if (found := m.rstrip(_MENTION_TAIL).lower())))


def _mentioned(cycle: FanOutCycle, notes: str) -> list[int]:
    """Redmine user ids of the linked people a note names as @login."""
    people = cycle.services.store
    found = []
    for login in mentioned_logins(notes):
        link = people.link_for_login(login)
        if link is not None:
            found.append(link.redmine_user_id)
    return found
