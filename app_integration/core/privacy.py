"""Who may see what: the bridge's privacy rules, stated once. Every rule is decided from what Redmine answered
(a ticket's `is_private` as Redmine returned it, the roles Redmine gives outsiders), never from what the bridge
sent or assumed.

1. **A channel sees only what every reader could open in Redmine.** Anything about a ticket beyond its number
   (a subject, a card, an event) goes into a channel for everyone only when the ticket is not private, its
   project is public, and Redmine's roles for people outside the project (Non member, or the role a project
   gives the builtin "Non member users" group) may view its issues. A public channel can be read by anyone in
   the team, so where Redmine answers people who are not logged in, Anonymous must see it too.
2. **A subscription sees through its owner's eyes, and its owner is whoever saved it last.** Its checks and
   its deliveries run as that person; a private channel hears what they may see.
3. **What comes from a channel that is not public goes into Redmine no less privately.** A new ticket gets a
   private channel's text and files only once Redmine's answer shows the ticket private (or the person agreed
   that the whole project may see it); a note is written private, and only where Redmine keeps it private for
   the person; a private note carries no files, because Redmine shows a ticket's attachments to everyone who
   sees the ticket.
4. **A DM between the bot and its person is that person's own**: it shows what they may see.
5. **A project's news, wiki pages, versions and time go into a public channel only when Redmine shows them to
   anyone**: the same list read with no login at all holds the item. A private channel hears what the
   subscription's owner may see (rule 2).
"""

from __future__ import annotations

from app_integration.core.models import Issue, OutsiderView
from app_integration.core.services import Services

# Roles' issues visibility under which a ticket that is not private is seen.
SEES_PUBLIC_TICKETS = frozenset({"all", "default"})


def readers_may_see_project(view: OutsiderView, channel_kind: str | None) -> bool:
    """Rule 1 for a project: whether every reader of a channel of this kind (O, P, G, D) may open its tickets
    that are not private. A channel the bot cannot see (None) is nobody's to show anything to."""
    if channel_kind is None or not view.project_public or view.non_members not in SEES_PUBLIC_TICKETS:
        return False
    return not (channel_kind == "O" and view.anonymous_allowed and view.anonymous not in SEES_PUBLIC_TICKETS)


def everyone_may_read(item_key: str, anyones: frozenset[str], channel_kind: str | None) -> bool:
    """Rule 5: an item of a project (not a ticket) for a channel of this kind, given the keys of what Redmine
    showed with no login. A channel that is not public hears what its subscription's owner saw."""
    if channel_kind is None:
        return False
    return channel_kind != "O" or item_key in anyones


def readers_may_see(view: OutsiderView, issue: Issue, channel_kind: str | None) -> bool:
    """Rule 1 for a ticket, from what Redmine answered of it (its `is_private`) and of its project's outsiders."""
    return not issue.is_private and readers_may_see_project(view, channel_kind)


def everyone_may_see(services: Services, issue: Issue, channel_kind: str | None) -> bool:
    """Rule 1 for an issue as a person read it from Redmine (its `is_private` is Redmine's word)."""
    if channel_kind is None or issue.is_private:
        return False
    return readers_may_see(services.outsiders.view(issue.project.id), issue, channel_kind)


def channel_may_hear_project(services: Services, project_id: int, channel_kind: str | None) -> bool:
    """Whether a channel's readers may all see the project's tickets (that are not private): a public channel
    may subscribe only to such a project, since everything it hears is for all its readers."""
    return readers_may_see_project(services.outsiders.view(project_id), channel_kind)
