"""The core's view of the bridge's own storage: claims, subscriptions, the outbox, links and sealed keys.
Adapters implement these protocols (adapters/store/); `core/ports.py` names them beside the rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from app_integration.core.events import ChannelDefaults, Delivery, DigestState, NotificationPrefs, Subscription
from app_integration.core.models import ChatUser, UserLink


class LeadFence(Protocol):
    """What only the lead's current term may do: `admit` records the key and says whether this is the first try
    at it (False: some term tried before, and the caller asks whether the effect took place). Raises LeadLost
    once another replica leads."""

    def admit(self, key: str) -> bool: ...


class SubscriptionStore(Protocol):
    """Subscriptions, thread roots (and the replies expected in them), skipped accounts, personal toggles."""

    def add_subscription(self, subscription: Subscription) -> Subscription: ...

    def replace_subscription(self, subscription: Subscription) -> None: ...

    def remove_subscription(self, subscription_id: int, channel_id: str) -> bool: ...

    def list_subscriptions(self, channel_id: str | None = None) -> list[Subscription]: ...

    def thread_root(self, channel_id: str, issue_id: int) -> str | None: ...

    def save_thread_root(self, channel_id: str, issue_id: int, post_id: str) -> None: ...

    def issue_of_thread(self, channel_id: str, root_post_id: str) -> int | None: ...

    def forget_thread_root(self, channel_id: str, issue_id: int) -> None: ...

    def note_skipped(self, skipped: dict[str, str], fine: set[str]) -> list[str]:
        """Records the Redmine logins a feed cycle had to skip (login -> why) and forgets those that worked
        (`fine`); returns the logins skipped for the first time."""
        ...

    def skipped_accounts(self) -> dict[str, str]: ...

    def expect_echo(self, channel_id: str, issue_id: int, post_id: str) -> None:
        """A reply of that thread is about to become a note of that issue: the feed must not post it back."""
        ...

    def is_echo(self, channel_id: str, issue_id: int, post_ids: Sequence[str]) -> bool:
        """Whether a note citing these posts was written from that channel's thread."""
        ...

    def prefs(self, chat_user_id: str) -> NotificationPrefs: ...

    def save_prefs(self, chat_user_id: str, prefs: NotificationPrefs) -> None: ...

    def channel_defaults(self, channel_id: str) -> ChannelDefaults: ...

    def digest_state(self, chat_user_id: str) -> DigestState | None: ...

    def save_digest_state(self, chat_user_id: str, state: DigestState) -> None: ...

    def save_channel_defaults(self, channel_id: str, defaults: ChannelDefaults, by_user_id: str) -> None: ...

    def set_muted(self, chat_user_id: str, issue_id: int, muted: bool) -> bool:
        """Mutes or unmutes one ticket's DMs for one person; whether that changed anything."""
        ...

    def muted_tickets(self, chat_user_id: str) -> frozenset[int]: ...


class Outbox(Protocol):
    """What is to be posted into Mattermost, keyed by (event, target): whoever enqueues an event twice, through a
    poll and a webhook or after a restart, enqueues it once."""

    def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        """Adds the deliveries not already in the outbox (by event and target); how many were new."""
        ...

    def has_delivery(self, event_key: str, target: str) -> bool: ...

    def pending_deliveries(self, limit: int, now: dt.datetime, per_target: int = 10) -> list[Delivery]:
        """Due rows, oldest first, at most `per_target` of each target, and none of a target whose earliest
        row is waiting out a retry (a thread's card must come before its replies)."""
        ...

    def delivered(self, delivery: Delivery) -> None: ...

    def retry_later(self, delivery: Delivery, at: dt.datetime) -> None: ...

    def drop(self, delivery: Delivery, reason: str) -> None: ...


class StateStore(Protocol):
    """Small named values kept across restarts (the feed's cursor)."""

    def load_state(self, name: str) -> str | None: ...

    def save_state(self, name: str, value: str) -> None: ...


class IdempotencyStore(Protocol):
    """Remembers form submissions so a second submit returns the first result."""

    def claim(self, key: str, user_id: str) -> bool:
        """True when this call is the first to claim the key."""
        ...

    def result(self, key: str, user_id: str) -> str | None:
        """The stored result once the first submit finished, else None."""
        ...

    def complete(self, key: str, result: str, user_id: str) -> None:
        """Keeps the answer of `user_id`'s submit; another person's key of the same value is another key."""
        ...

    def release(self, key: str, user_id: str) -> None:
        """Forget `user_id`'s claim whose submit failed before it changed anything."""
        ...


class LinkStore(Protocol):
    """User links, keyed by the Mattermost user id."""

    def link_for(self, chat_user_id: str) -> UserLink | None: ...

    def link_for_login(self, login: str, with_key: bool = False) -> UserLink | None:
        """A link to this login; with `with_key`, one that holds a stored key."""
        ...

    def map_claim(self, username: str) -> UserLink | None:
        """The link an operator's map entry for this username was resolved to, if any."""
        ...

    def save_link(self, link: UserLink) -> None: ...

    def remove_link(self, chat_user_id: str) -> bool: ...

    def chat_user_for(self, redmine_user_id: int) -> str | None:
        """The reverse lookup: one indexed query."""
        ...

    def all_links(self) -> list[UserLink]: ...

    def note_unlinked(self, user: ChatUser) -> None:
        """Remembers a Mattermost user who used the bridge without a link, for the operator's `users` list."""
        ...


class Sealer(Protocol):
    """Encrypts what must not be stored in the clear (personal API keys)."""

    @property
    def available(self) -> bool: ...

    def seal(self, secret: str) -> str: ...

    def open(self, sealed: str) -> str: ...


class BridgeState(IdempotencyStore, LinkStore, Protocol):
    """The bridge's own store as the use cases see it: form submissions kept once, and who is who by user id."""
