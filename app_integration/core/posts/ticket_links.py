"""`#t10` in a message becomes a link to Redmine issue 10, as its author may see it.

All references of a post are looked up in one Redmine call, as the post's author.
The ones the author cannot see stay as written, and the author hears about them in a
notice only they see, where the bot may post one: the notice is best effort and never
stops the links, and it is never posted where others could read it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from cachetools import TTLCache

from app_integration.core.errors import BridgeError, EditTooLate, NotMapped, PermissionDenied
from app_integration.core.formatting import POST_LIMIT, issue_url, plain
from app_integration.core.i18n import _
from app_integration.core.models import ChatMessage, ChatPost, Issue
from app_integration.core.posts.ticket_refs import find_refs, markdown_link, rewrite_refs
from app_integration.core.privacy import everyone_may_see
from app_integration.core.services import Services
from app_integration.core.settings import LinkMode

log = logging.getLogger(__name__)
CARDS_PER_POST = 3
CARD_QUIET_SECONDS = 1800


def compact_card(base_url: str, issue: Issue) -> str:
    """One line: tracker, number, subject, status and assignee."""
    url = issue_url(base_url, issue.id)
    who = plain(issue.assigned_to.name) if issue.assigned_to else _("unassigned")
    head = f"**{plain(issue.tracker.name)} [#{issue.id}]({url})** {plain(issue.subject)}"
    return f"{head} · {plain(issue.status.name)} · {who}"


@dataclass(frozen=True)
class LinkOutcome:
    linked: tuple[int, ...]
    hidden: tuple[int, ...]
    action: str  # "patched", "replied", "skipped: …", "none"


class TicketLinker:
    def __init__(self, services: Services, mode: LinkMode, show_subject: bool = False) -> None:
        self._services = services
        self._mode: LinkMode = mode
        self._show_subject = show_subject
        self._fallback_logged = threading.Event()
        self._notice_refusal_logged = threading.Event()
        # Channels where editing others' posts was refused; edit_others_posts is granted per channel.
        self._no_edit: set[str] = set()
        self._may_edit: set[str] = set()
        # The first edit in a channel is a probe: one thread at a time makes it, so a refusal is met once.
        self._probe = threading.Lock()
        # (channel, ticket) carded lately: the same ticket is not carded again there for half an hour.
        self._recent_cards: TTLCache[tuple[str, int], bool] = TTLCache(maxsize=10_000, ttl=CARD_QUIET_SECONDS)

    @property
    def mode(self) -> LinkMode:
        return self._mode

    def link(self, post: ChatPost) -> LinkOutcome | None:
        """None when the post has no reference; NotMapped when its author has no Redmine login."""
        ids = find_refs(post.message)
        mode = self._mode_in(post) if ids else self._mode
        if not ids or mode == "off":
            return None
        login = self._services.users.redmine_login(post.user)
        if login is None:
            raise NotMapped(
                _(
                    "@{username}: `#t` links need your Mattermost account linked to Redmine: "
                    "`/integration_with_redmine connect`.",
                    username=post.user.username,
                )
            )
        wanted = set(ids)
        found = {i.id: i for i in self._services.tracker.issues_by_ids(login, ids) if i.id in wanted}
        visible = {i: found[i] for i in dict.fromkeys(ids) if i in found}  # in the post's order
        hidden = tuple(i for i in ids if i not in visible)
        if hidden:
            refs = ", ".join(f"#t{i}" for i in hidden)
            self._notice(post, _("{refs}: not found in Redmine, or you cannot see it.", refs=refs))
        if not visible:
            return LinkOutcome((), hidden, "none")
        if mode == "card":
            return LinkOutcome(tuple(visible), hidden, self._cards(post, visible))
        rendered = {i: self._render(issue, post) for i, issue in visible.items()}
        return LinkOutcome(tuple(visible), hidden, self._deliver(post, rendered, mode))

    def _mode_in(self, post: ChatPost) -> LinkMode:
        """The channel's own choice (channel_settings) over LINK_MODE; "link" is LINK_MODE's way of linking."""
        chosen = None if post.is_direct else self._services.subscriptions.channel_defaults(post.channel_id).link_mode
        if chosen == "link":
            return self._mode if self._mode in ("rewrite", "reply") else "rewrite"
        return "card" if chosen == "card" else "off" if chosen == "off" else self._mode

    def _rewrite(self, post: ChatPost, rendered: dict[int, str]) -> str | None:
        """The outcome, or None when the bot may not edit here and must reply instead."""
        current = self._services.chat.post_message(post.id)
        if current != post.message:
            return "skipped: the post changed after it was read"
        rewritten = rewrite_refs(post.message, rendered)
        if len(rewritten) > POST_LIMIT:  # links made the post too long to save: a reply carries them instead
            return None
        try:
            self._services.chat.patch_post(post.id, rewritten)
        except EditTooLate:
            return None  # this post only: others in the channel may still be edited
        except PermissionDenied:
            self._no_edit.add(post.channel_id)
            if not self._fallback_logged.is_set():
                self._fallback_logged.set()
                log.warning("LINK_MODE=rewrite but the bot may not edit others' posts; replying instead")
            return None
        self._may_edit.add(post.channel_id)
        return "patched"

    def _notice(self, post: ChatPost, text: str) -> None:
        try:
            self._services.chat.post_ephemeral(post.user.id, post.channel_id, text)
        except BridgeError as error:
            if not self._notice_refusal_logged.is_set():
                self._notice_refusal_logged.set()
                log.warning("listener: private notices are refused (%s); authors will not hear of them", error)

    def _render(self, issue: Issue, post: ChatPost) -> str:
        label = f"#t{issue.id}"
        if self._show_subject and self._everyone_may_see(issue, post):
            label += f" {issue.subject}"
        return markdown_link(label, issue_url(self._services.tracker.base_url, issue.id))

    def _everyone_may_see(self, issue: Issue, post: ChatPost) -> bool:
        """A subject or a card goes into a channel only when every reader could open the ticket in Redmine
        (core/privacy.py). A DM with the bot is its author's own."""
        return post.is_direct or everyone_may_see(self._services, issue, post.channel_type)

    def _cards(self, post: ChatPost, visible: dict[int, Issue]) -> str:
        """LINK_MODE=card: a thread reply with a compact card per ticket that everyone in the channel may see
        (a bare link for the rest), at most CARDS_PER_POST, and none for a ticket carded here lately."""
        base_url = self._services.tracker.base_url
        lines, carded = [], 0
        for issue_id, issue in visible.items():
            key = (post.channel_id, issue_id)
            fresh = key not in self._recent_cards and carded < CARDS_PER_POST
            if fresh and self._everyone_may_see(issue, post):
                self._recent_cards[key] = True
                carded += 1
                lines.append(compact_card(base_url, issue))
            else:
                lines.append(markdown_link(f"#t{issue_id}", issue_url(base_url, issue_id)))
        root = post.root_id or post.id
        self._services.chat.post(
            post.channel_id, ChatMessage(text="\n".join(lines)), root_id=root, once=f"link:{post.id}"
        )
        return "carded"

    def _deliver(self, post: ChatPost, rendered: dict[int, str], mode: LinkMode) -> str:
        # In a DM too, as the original bridge did; a bot that may not edit others' posts replies instead.
        if mode == "rewrite":
            if post.channel_id in self._may_edit:
                outcome = self._rewrite(post, rendered)
            else:
                with self._probe:
                    outcome = None if post.channel_id in self._no_edit else self._rewrite(post, rendered)
            if outcome is not None:
                return outcome
        links = " ".join(rendered.values())
        # Keyed by the post it links: a retry (Redmine away, a takeover) is one reply.
        root = post.root_id or post.id
        self._services.chat.post(post.channel_id, ChatMessage(text=links), root_id=root, once=f"link:{post.id}")
        return "replied"
