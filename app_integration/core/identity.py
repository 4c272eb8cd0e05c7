"""Who is who: a Mattermost user, by immutable id, and the Redmine user they act as.

Links live in the store, keyed by the Mattermost user id. The operator's map (username ->
login) is only the way in: the first time a mapped username is seen, its entry is
resolved to that user's id and kept. A renamed account keeps its link; someone who later
takes a freed username inherits nothing, because the entry already belongs to an id.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence

from app_integration.core.errors import AccountTaken, BridgeError, PersonalKeyRefused
from app_integration.core.i18n import SOURCE, _, speaking
from app_integration.core.models import ChatMessage, ChatUser, LinkMethod, UserLink
from app_integration.core.ports import Chat, IssueTracker, LinkStore, Sealer, UserDirectory

log = logging.getLogger(__name__)
# The Mattermost user a command or a post acts for, set by each adapter's boundary. A stored API key serves only
# the person who stored it: within their work, no one else's key is ever looked up.
acting_for: contextvars.ContextVar[str | None] = contextvars.ContextVar("acting_for", default=None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Directory:
    """Implements the AccountLinks port (who is who) over the links in the store and the operator's map."""

    def __init__(
        self,
        store: LinkStore,
        operator_map: UserDirectory,
        tracker: IssueTracker,
        sealer: Sealer | None = None,
        chat: Chat | None = None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._store = store
        self._map = operator_map
        self._tracker = tracker
        self._sealer = sealer
        self._chat = chat
        self._clock = clock
        self._refusals = threading.Lock()

    def personal_key(self, login: str) -> str | None:
        """The login's own API key, where its person linked one. In someone's command or post, only that
        person's own link counts; outside one (the change feed, the morning digest), the login's link that holds
        a key."""
        actor = acting_for.get()
        link = self._store.link_for(actor) if actor else self._store.link_for_login(login, with_key=True)
        if link is None or link.redmine_login != login or not link.sealed_key or self._sealer is None:
            return None
        return self._sealer.open(link.sealed_key)

    def key_refused(self, login: str) -> None:
        """Redmine refused a personal key: the link goes, and its person hears so once, not once per call."""
        with self._refusals:
            link = self._store.link_for_login(login)
            if link is None or link.method != "key" or not self._store.remove_link(link.chat_user_id):
                return
        log.warning("identity: Redmine refused %s's personal key; unlinked", link.chat_user_id)
        if self._chat is not None:
            try:
                person = self._chat.user(link.chat_user_id)
                with speaking(person.locale if person else SOURCE):
                    notice = PersonalKeyRefused(login).user_message
                self._chat.send_direct(link.chat_user_id, ChatMessage(text=notice))
            except BridgeError:
                log.warning("identity: could not tell %s that their link was removed", link.chat_user_id)

    def redmine_login(self, user: ChatUser) -> str | None:
        link = self.link_of(user)
        if link is None:
            if user.id:
                self._store.note_unlinked(user)
            return None
        return link.redmine_login

    def link_of(self, user: ChatUser) -> UserLink | None:
        """The user's link, claiming the operator's map entry for their username the first time."""
        if user.id:
            link = self._store.link_for(user.id)
            if link is not None:
                return self._as_mapped_now(link) if link.method == "map" else link
        return self._claim_from_map(user)

    def _as_mapped_now(self, link: UserLink) -> UserLink | None:
        """A link from the map follows the map: an entry the operator changed or removed changes or removes it.
        The entry is looked up by the username it was claimed under, so a rename changes nothing."""
        claimed_as = ChatUser(link.chat_user_id, link.map_username or "")
        login = self._map.redmine_login(claimed_as)
        if login == link.redmine_login:
            return link
        self._store.remove_link(link.chat_user_id)
        return None if login is None else self._claim_from_map(claimed_as)

    def entries(self) -> Sequence[tuple[str, str]]:
        return self._map.entries()

    def chat_user_for(self, redmine_user_id: int) -> str | None:
        return self._store.chat_user_for(redmine_user_id)

    def link(
        self, user: ChatUser, redmine_user_id: int, login: str, method: LinkMethod, sealed_key: str | None = None
    ) -> UserLink:
        """One Redmine account, one person: a link to an account someone else holds is refused, and they hear
        of the attempt."""
        holder = self._store.chat_user_for(redmine_user_id)
        if holder is not None and holder != user.id:
            self._tell_holder(holder, login, user)
            raise AccountTaken(
                _("That Redmine account is linked to another Mattermost account already; its owner has been told.")
            )
        link = UserLink(user.id, redmine_user_id, login, method, self._clock(), sealed_key=sealed_key)
        self._store.save_link(link)
        log.info("identity: %s linked to Redmine user %s by %s", user.id, redmine_user_id, method)
        return link

    def _tell_holder(self, holder: str, login: str, claimant: ChatUser) -> None:
        log.warning("identity: %s tried to link Redmine user %s, held by %s; refused", claimant.id, login, holder)
        if self._chat is None:
            return
        try:
            person = self._chat.user(holder)
            with speaking(person.locale if person else SOURCE):
                notice = _(
                    "@{username} tried to link your Redmine account `{login}` to their Mattermost account. "
                    "It was refused. If you did not expect this, tell your Redmine administrator.",
                    username=claimant.username,
                    login=login,
                )
            self._chat.send_direct(holder, ChatMessage(text=notice))
        except BridgeError:
            log.warning("identity: could not tell %s of the refused link", holder)

    def unlink(self, user: ChatUser) -> bool:
        return self._store.remove_link(user.id)

    def sync_map(self, chat: Chat) -> None:
        """Resolves every map entry to its user's id now, so a rename before first use loses nothing."""
        try:
            self._tracker.accounts(login for _, login in self._map.entries())  # one query warms every lookup
        except BridgeError as error:
            log.warning("identity: Redmine's accounts are not available now (%s)", error.user_message)
            return
        try:
            # A hundred names a call: a 10,000-person map is a hundred calls, not ten thousand.
            people = chat.users_by_usernames([username for username, _login in self._map.entries()])
        except BridgeError as error:  # best effort: the entries are claimed at first use instead
            log.warning("identity: could not resolve the map's people now (%s)", error.user_message)
            return
        for person in people.values():
            self.link_of(person)

    def _claim_from_map(self, user: ChatUser) -> UserLink | None:
        login = self._map.redmine_login(user)
        if login is None or not user.id:
            return None
        claimed = self._store.map_claim(user.username)
        if claimed is not None and claimed.chat_user_id != user.id:
            log.warning(
                "identity: @%s's map entry belongs to an earlier holder of that name; not linked", user.username
            )
            return None
        account = self._tracker.account(login)
        if account is None:
            return UserLink(user.id, 0, login, "map", self._clock(), map_username=user.username)  # not kept
        link = UserLink(user.id, account.id, account.login, "map", self._clock(), map_username=user.username)
        self._store.save_link(link)
        return link
