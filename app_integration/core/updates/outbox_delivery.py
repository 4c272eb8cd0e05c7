"""Delivers the outbox to Mattermost: each row once, in order, retried with backoff while Mattermost
cannot take it (unreachable, 5xx, 429 after its Retry-After), and dropped with its reason when Mattermost
refuses the request itself (any other 4xx: the target is gone, or the post is not acceptable). Each row is
admitted through the lead's fence first, so a replica that lost the lead while frozen sends nothing more.

In a channel, the first event about an issue posts its card, which becomes the thread's root; later
events reply in that thread, and the card is edited to show the current state. Where the bot may not
edit, the reply carries the state instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from app_integration.core.errors import ChatRefused, ChatUnavailable, EditTooLate, LeadLost, NotFound, PermissionDenied
from app_integration.core.events import Delivery
from app_integration.core.models import ChatMessage
from app_integration.core.ports import Chat, LeadFence, Outbox, SubscriptionStore

log = logging.getLogger(__name__)
FIRST_RETRY, LAST_RETRY = 5.0, 600.0
GIVE_UP_AFTER = 300  # attempts: about two days at the longest interval


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dropped: int = 0
    drop_kinds: tuple[str, ...] = ()  # why each dropped row was dropped, in few words: a metric's label


_DROP_KINDS = {NotFound: "gone", PermissionDenied: "not_allowed", ChatRefused: "refused"}


class Unfenced:
    """One process and no lead to lose: everything is admitted."""

    def admit(self, key: str) -> bool:
        return True


def deliver_due(
    chat: Chat,
    subs: SubscriptionStore,
    outbox: Outbox,
    now: dt.datetime,
    limit: int = 100,
    fence: LeadFence | None = None,
) -> DeliveryReport:
    """Each target gets its rows in order: a row waiting out a retry holds back the later rows of its
    target, never those of another."""
    sent = retried = 0
    drops: list[str] = []
    failed: set[str] = set()  # a row refused this round holds back the rest of its target
    for delivery in outbox.pending_deliveries(limit, now):
        if delivery.target in failed:
            continue
        try:
            first = (fence or Unfenced()).admit(f"outbox:{delivery.event_key}:{delivery.target}:{delivery.attempts}")
            # Not the first time this term takes the row: an earlier try ended before the row was marked, anywhere
            # between the claim and the post. Whether it reached Mattermost is asked of Mattermost, never assumed.
            if first or not _already_posted(chat, subs, delivery, now):
                _deliver(chat, subs, delivery)
        except LeadLost:
            log.warning("outbox: another replica leads now; this one stops delivering")
            break
        except ChatUnavailable as error:
            # Mattermost is down or busy: this row waits, and the round ends (the others would fail alike).
            if delivery.attempts + 1 >= GIVE_UP_AFTER:
                outbox.drop(delivery, "Mattermost could not take it, too many times")
                drops.append("gave_up")
                break
            delay = max(min(FIRST_RETRY * 2**delivery.attempts, LAST_RETRY), error.retry_after or 0.0)
            outbox.retry_later(delivery, now + dt.timedelta(seconds=delay))
            log.warning("outbox: Mattermost did not take a post for %s; retrying in %.0f s", delivery.target, delay)
            retried += 1
            break
        except (NotFound, PermissionDenied, ChatRefused) as refused:
            reason = getattr(refused, "reason", "") or refused.user_message
            log.warning("outbox: dropped a post for %s: %s", delivery.target, reason)
            outbox.drop(delivery, reason)
            failed.add(delivery.target)
            drops.append(_DROP_KINDS.get(type(refused), "refused"))
            continue
        except Exception as error:
            # A store error ("database is locked"), a proxy's answer that is not JSON…: nothing says the post was
            # made or not, so the row is tried again, under a new claim, and asks Mattermost first if it comes back.
            log.warning("outbox: delivering to %s failed (%s); trying it again", delivery.target, type(error).__name__)
            _retry_soon(outbox, delivery, now)
            retried += 1
            break
        try:
            outbox.delivered(delivery)
        except Exception as error:  # posted, not marked: the next round finds it in Mattermost
            log.warning("outbox: a post for %s is made but not marked (%s)", delivery.target, type(error).__name__)
            break
        sent += 1
    return DeliveryReport(sent, retried, len(drops), tuple(drops))


def _retry_soon(outbox: Outbox, delivery: Delivery, now: dt.datetime) -> None:
    try:
        outbox.retry_later(delivery, now + dt.timedelta(seconds=FIRST_RETRY))
    except Exception:
        log.warning("outbox: could not mark %s for a retry; it is asked of Mattermost next time", delivery.target)


# How far back an unfinished try of the same term is looked for: a term's rounds come seconds apart.
LOOK_BACK = dt.timedelta(hours=1)


def _already_posted(chat: Chat, subs: SubscriptionStore, delivery: Delivery, now: dt.datetime) -> bool:
    """Whether the row's post is in Mattermost (the last one it makes: the reply, or a creation's card)."""
    once = f"{delivery.event_key}:{delivery.target}"
    since = now - LOOK_BACK
    if delivery.direct_to is not None:
        return chat.posted_once(chat.direct_channel(delivery.direct_to), once, since)
    last = once + ":card" if delivery.event_key.endswith(":0") else once
    return chat.posted_once(delivery.target, last, since)


def _deliver(chat: Chat, subs: SubscriptionStore, delivery: Delivery) -> None:
    """Each post carries a key of its row: a row posted by a leader that died before marking it sent, and
    posted again by the next one, is still one post."""
    once = f"{delivery.event_key}:{delivery.target}"
    if delivery.direct_to is not None:
        chat.post(chat.direct_channel(delivery.direct_to), ChatMessage(text=delivery.text), once=once)
        return
    channel = delivery.target
    if not delivery.issue_id:  # a project's news, wiki page, version or time: a post of its own, no thread
        chat.post(channel, ChatMessage(text=delivery.text), once=once)
        return
    if delivery.sensitive and chat.channel_kind(channel, fresh=True) in ("O", None):
        # Made public (or deleted) since the event was fanned out: what only members could see stays out.
        raise PermissionDenied("the channel is public now; the event is not for everyone")
    root = subs.thread_root(channel, delivery.issue_id)
    if root is not None and not _refresh_card(chat, root, delivery):
        if chat.post_message(root) is None:  # the root was deleted: the issue starts a new thread
            subs.forget_thread_root(channel, delivery.issue_id)
            root = None
        else:
            delivery = Delivery(delivery.event_key, channel, delivery.issue_id, _with_state(delivery), delivery.card)
    if root is None:
        root = chat.post(channel, ChatMessage(text=delivery.card), once=once + ":card")
        subs.save_thread_root(channel, delivery.issue_id, root)
        if delivery.event_key.endswith(":0"):
            return  # a creation: the card says it all
    chat.post(channel, ChatMessage(text=delivery.text), root_id=root, once=once)


def _refresh_card(chat: Chat, root: str, delivery: Delivery) -> bool:
    """Whether the root now shows the current state. A root that is gone (404) is not: the caller finds it
    gone and starts a new thread, instead of dropping the row and keeping the stale root."""
    try:
        chat.patch_post(root, delivery.card)
    except (PermissionDenied, EditTooLate, NotFound):
        return False
    return True


def _with_state(delivery: Delivery) -> str:
    state = delivery.card.split("\n", 1)[-1]
    return f"{delivery.text}\n_{state}_"
