"""Delivers the outbox to Mattermost: each row once, in order, retried with backoff while Mattermost
cannot take it, and dropped when Mattermost says the target is gone.

In a channel, the first event about an issue posts its card, which becomes the thread's root; later
events reply in that thread, and the card is edited to show the current state. Where the bot may not
edit, the reply carries the state instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from ..errors import ChatUnavailable, EditTooLate, NotFound, PermissionDenied
from ..events import Delivery
from ..models import ChatMessage
from ..ports import Chat, NotificationStore

log = logging.getLogger(__name__)
FIRST_RETRY, LAST_RETRY = 5.0, 600.0
GIVE_UP_AFTER = 300  # attempts: about two days at the longest interval


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dropped: int = 0


def deliver_due(chat: Chat, notes: NotificationStore, now: dt.datetime, limit: int = 100) -> DeliveryReport:
    """Each target gets its rows in order: a row waiting out a retry holds back the later rows of its
    target (a thread's card must come before its replies), never those of another."""
    sent = dropped = 0
    waiting: set[str] = set()
    for delivery in notes.pending_deliveries(limit):
        if delivery.target in waiting or (delivery.next_at is not None and delivery.next_at > now):
            waiting.add(delivery.target)
            continue
        try:
            _deliver(chat, notes, delivery)
        except ChatUnavailable:
            # Mattermost is down or refused the request: this row waits, and so does the rest, in order.
            if delivery.attempts + 1 >= GIVE_UP_AFTER:
                notes.drop(delivery, "Mattermost refused it too many times")
                return DeliveryReport(sent, 0, dropped + 1)
            delay = min(FIRST_RETRY * 2**delivery.attempts, LAST_RETRY)
            notes.retry_later(delivery, now + dt.timedelta(seconds=delay))
            log.warning("outbox: Mattermost did not take a post; retrying in %.0f s", delay)
            return DeliveryReport(sent, 1, dropped)
        except (NotFound, PermissionDenied) as gone:
            log.info("outbox: dropped a post for %s: %s", delivery.target, gone.user_message)
            notes.drop(delivery, gone.user_message)
            dropped += 1
            continue
        notes.delivered(delivery)
        sent += 1
    return DeliveryReport(sent, 0, dropped)


def _deliver(chat: Chat, notes: NotificationStore, delivery: Delivery) -> None:
    if delivery.direct_to is not None:
        chat.post(chat.direct_channel(delivery.direct_to), ChatMessage(text=delivery.text))
        return
    channel = delivery.target
    root = notes.thread_root(channel, delivery.issue_id)
    if root is not None and not _refresh_card(chat, root, delivery):
        if chat.post_message(root) is None:  # the root was deleted: the issue starts a new thread
            notes.forget_thread_root(channel, delivery.issue_id)
            root = None
        else:
            delivery = Delivery(delivery.event_key, channel, delivery.issue_id, _with_state(delivery), delivery.card)
    if root is None:
        root = chat.post(channel, ChatMessage(text=delivery.card))
        notes.save_thread_root(channel, delivery.issue_id, root)
        if delivery.event_key.endswith(":0"):
            return  # a creation: the card says it all
    chat.post(channel, ChatMessage(text=delivery.text), root_id=root)


def _refresh_card(chat: Chat, root: str, delivery: Delivery) -> bool:
    """Whether the root now shows the current state."""
    try:
        chat.patch_post(root, delivery.card)
    except (PermissionDenied, EditTooLate):
        return False
    return True


def _with_state(delivery: Delivery) -> str:
    state = delivery.card.split("\n", 1)[-1]
    return f"{delivery.text}\n_{state}_"
