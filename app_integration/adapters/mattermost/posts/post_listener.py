"""The listener: websocket events in, `#t` links and DM answers out.

The receive loop only enqueues. Worker threads turn each event into a ChatPost and
hand it to the core, each event inside one error boundary.

Each post is answered once in effect, whoever hears it: filter, claim, act, done. The answer is
claimed in the store by the post's id, through the lead's fence, and marked done once it took place
(or never will, for a reason retrying cannot change). A claim not done (its process died between
the claim and the effect, or Redmine or Mattermost could not be reached) is taken again: by this
process's retry, every few seconds for up to ten minutes (past that, the author is told), by a
backfill, or by the next leader. A new connection (at start, after a takeover, or when the server lost
what it kept for us) backfills over REST from the last post handled, page by page, and is tried
again until it completes; the claims drop what was answered already.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy.exc import DBAPIError

from app_integration.adapters import metrics
from app_integration.adapters.mattermost.posts.post_events import acts_for_someone, decode
from app_integration.adapters.mattermost.posts.reaction_offers import ListenerParts, offer_for_reaction, reactions_since
from app_integration.adapters.mattermost.posts.websocket_client import Backoff, EventStream
from app_integration.adapters.mattermost.rest_files import RETRYING_SINCE
from app_integration.adapters.redmine.call_scope import call_scope
from app_integration.adapters.store.leadership import Claim, Fence
from app_integration.core.errors import (
    BridgeError,
    ChatTokenRefused,
    ChatUnavailable,
    NotMapped,
    RedmineUnavailable,
)
from app_integration.core.i18n import N_, _, speaking
from app_integration.core.identity import acting_for
from app_integration.core.models import ChatPost
from app_integration.core.posts.direct_messages import answer_direct_message
from app_integration.core.posts.thread_replies import note_from_reply
from app_integration.core.posts.ticket_links import TicketLinker

log = logging.getLogger(__name__)
GAVE_UP = N_(
    "Your post could not be answered: Redmine or Mattermost was unavailable for ten minutes ({reason}). "
    "Post it again, please."
)
STATE_KEY = "listener"
NOTICE_INTERVAL = 3600.0
QUEUE_SIZE = 10_000
# A backfill starts this far before the last post handled: posts heard but not yet claimed when a process
# died are older than it. The claims drop the ones handled already.
BACKFILL_MARGIN_MS = 120_000
RETRY_SECONDS = 5.0  # a post that could not be answered for now is tried again this often
START_SKEW_MS = 5_000  # Mattermost's clock against ours, for when this process began listening
RETRY_MOST = 10_000  # posts kept in memory for a retry; past that, a backfill reads them again from Mattermost
GIVE_UP_SECONDS = 600.0  # a post Redmine or Mattermost could not take for this long: its author is told
BACKFILL_PAGES = 50  # pages of posts a backfill reads per channel (the server gives at most 1000 a page)


class PostListener:
    def __init__(
        self,
        bridge: ListenerParts,
        websocket_url: str,
        workers: int = 2,
        backoff: Backoff | None = None,
        ping_interval: float = 30.0,
        fence: Fence | None = None,
    ) -> None:
        self._bridge = bridge
        self.fence = fence or Fence(bridge.store.engine, "listener", 0)
        self.fenced = False  # set once a claim finds that this term no longer leads
        self._services = bridge.services
        self._chat = bridge.chat
        settings = bridge.settings
        self.linker = TicketLinker(bridge.services, settings.link_mode, settings.link_show_subject)
        self._on_edit = settings.link_on_edit
        self.events: queue.Queue[dict[str, Any]] = queue.Queue(QUEUE_SIZE)
        token = settings.redmine_mattermost_bridge_app_token
        self.stream = EventStream(
            websocket_url,
            token.get_secret_value() if token else "",
            self.events,
            on_gap=self._backfill_soon,
            backoff=backoff,
            ping_interval=ping_interval,
            token_refused=self._token_refused,
        )
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._backfilling = threading.Lock()
        self._noticed: dict[str, float] = {}
        self._channel_types: dict[str, str] = {}
        self._deferred: deque[dict[str, Any]] = deque()
        self._backfill_owed = threading.Event()  # a backfill failed, or the retries overflowed: read again
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = threading.Event()
        self.handled = 0
        self.backfilled = 0
        self._listening_since_ms = int(time.time() * 1000)  # set again by start()

    # Lifecycle ---------------------------------------------------------------
    def start(self) -> PostListener:
        self._bot_id = self._chat.bot().id
        self._listening_since_ms = int(time.time() * 1000)
        ready = threading.Event()
        self._threads.append(threading.Thread(target=self._run_stream, args=(ready,), daemon=True, name="ws"))
        self._threads += [
            threading.Thread(target=self._work, daemon=True, name=f"links-{n}") for n in range(self._workers)
        ]
        self._threads.append(threading.Thread(target=self._retry_deferred, daemon=True, name="links-retry"))
        for thread in self._threads:
            thread.start()
        ready.wait(timeout=10)
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._loop and self._stop and not self._loop.is_closed():  # closed once a refused token ended it
            self._loop.call_soon_threadsafe(self._stop.set)
        for _worker in range(self._workers):
            self.events.put({"event": "__stop__"})
        for thread in self._threads:
            thread.join(timeout=10)

    def _run_stream(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            ready.set()
            await self.stream.run(self._stop)

        asyncio.run(main())

    def _work(self) -> None:
        while True:
            message = self.events.get()
            if message.get("event") == "__stop__":
                self.events.task_done()
                return
            try:
                self.handle(message)
            except Exception:
                log.exception("listener: unexpected error handling an event")
            finally:
                with self._lock:
                    self.handled += 1
                self.events.task_done()

    def settled(self) -> bool:
        """Every event received so far is handled (or deferred for a retry): what a test waits for before it
        checks that something did not happen."""
        return self.events.unfinished_tasks == 0

    def _token_refused(self) -> bool:
        """Whether Mattermost refuses the bot's token over REST; the websocket only ever closes."""
        try:
            self._chat.me()
        except ChatTokenRefused:
            return True
        except BridgeError:
            return False
        return False

    @property
    def refused(self) -> bool:
        return self.stream.refused

    # State -----------------------------------------------------------------------
    def _last_post_at(self) -> int:
        """Where the last post handled was, by any process: its claim keeps its time, and STATE_KEY what a
        store written by an older version holds. No connection is kept: it is this process's own, and a
        takeover resuming a dead leader's connection would meet a server that sends it no hello."""
        raw = self._bridge.store.load_state(STATE_KEY)
        saved = int(json.loads(raw).get("last_post_at", 0)) if raw else 0
        return max(saved, self.fence.last_post_at())

    # Events ------------------------------------------------------------------------
    def handle(self, message: dict[str, Any]) -> None:
        """The door: decode → filter → claim → route, then done (or again, for a retry)."""
        incoming = decode(message, self._on_edit)
        if incoming is None:
            return
        data, raw = incoming.data, incoming.raw
        if incoming.kind == "channel":
            self._forget_channel(str(data.get("channel_id") or message.get("broadcast", {}).get("channel_id", "")))
            return
        if incoming.kind == "reaction":
            self._reacted(data)
            return
        if data.get("channel_type"):
            with self._lock:
                self._channel_types[raw.get("channel_id", "")] = data["channel_type"]
        if not acts_for_someone(raw, self._bot_id):
            return  # nothing to claim: the bot's own posts, system messages, other bots, webhooks
        key, event = incoming.key, incoming.kind
        claim = self._claimed(key, message, incoming.post_at)
        if claim is None:
            return
        try:
            post = self._post(raw)
        except BridgeError as error:  # the author's lookup: Mattermost busy or away
            log.info("listener: %s waits: %s", key, error.user_message)
            self._again(message)
            return
        # Acting again on a claim tried before: what the earlier try posted is looked for before posting.
        retrying = RETRYING_SINCE.set(int(raw.get("create_at") or 1) if claim is Claim.AGAIN else 0)
        try:
            answered = post is None or self._answer(post, message, edited=event == "edit")
        finally:
            RETRYING_SINCE.reset(retrying)
        if answered:
            self._done(key, message)
        else:
            self._again(message)

    def _claimed(self, key: str, message: dict[str, Any], post_at: int = 0) -> Claim | None:
        """The claim when this process is to act on it now (the first, or one never done that is taken again),
        else None. A store that cannot write keeps the event for a retry."""
        try:
            claim = self.fence.claim(key, post_at=post_at, retry=bool(message.get("retry")))
        except DBAPIError as error:
            log.warning("listener: could not record %s (%s); trying again later", key, type(error).__name__)
            self._again(message)
            return None
        if claim is Claim.FENCED and not self.fenced:
            log.warning("listener: another replica leads now; this one answers nothing more")
            self.fenced = True
        return claim if claim in (Claim.MINE, Claim.AGAIN) else None

    def _done(self, key: str, message: dict[str, Any]) -> None:
        try:
            self.fence.done(key)
        except DBAPIError as error:  # taken again once stale, and answered idempotently then
            log.warning("listener: could not mark %s done (%s)", key, type(error).__name__)

    def _again(self, message: dict[str, Any]) -> None:
        """Tried again in a few seconds, as a retry of this term's own claim. Past RETRY_MOST waiting, the copy
        in memory goes, and a backfill reads the post from Mattermost again."""
        if len(self._deferred) >= RETRY_MOST:
            if not self._backfill_owed.is_set():
                log.warning("listener: %d posts wait for a retry; the rest are read again by a backfill", RETRY_MOST)
            self._backfill_owed.set()
            return
        first = float(message.get("first_try") or time.time())
        self._deferred.append({**message, "retry": True, "first_try": first})

    def _retry_deferred(self) -> None:
        """Puts back what could not be answered for now, and runs the backfill that is owed."""
        while not self._stopped.wait(RETRY_SECONDS):
            for _waiting in range(len(self._deferred)):
                self.events.put(self._deferred.popleft())
            if self._backfill_owed.is_set():
                self.backfill()

    def _forget_channel(self, channel_id: str) -> None:
        """A channel made public or private: its type is read again wherever it was kept."""
        with self._lock:
            self._channel_types.pop(channel_id, None)
        self._chat.forget_channel(channel_id)

    def _post(self, raw: dict[str, Any]) -> ChatPost | None:
        """The post and its author, named by Mattermost for the post's user_id (never by the event's
        sender_name)."""
        author = self._chat.user(str(raw.get("user_id", "")))
        if author is None:
            return None
        channel_id = str(raw.get("channel_id", ""))
        return ChatPost(
            id=str(raw.get("id", "")),
            user=author,
            channel_id=channel_id,
            channel_type=self._channel_type(channel_id),
            message=str(raw.get("message", "")),
            root_id=str(raw.get("root_id", "")),
        )

    def _channel_type(self, channel_id: str) -> str:
        """As the event said, else as Mattermost says now; a channel of unknown type is never taken for public
        (`post_edited` carries no type)."""
        with self._lock:
            known = self._channel_types.get(channel_id)
        if known:
            return known
        try:
            kind = self._chat.channel_kind(channel_id)
        except BridgeError:
            kind = None
        return kind or "P"

    def _answer(self, post: ChatPost, message: dict[str, Any], edited: bool = False) -> bool:
        """The listener's one error boundary for a post: whether it is done (False: try it again)."""
        actor = acting_for.set(post.user.id)
        try:
            with call_scope(), speaking(post.user.locale):
                return self._act(post, message, edited)
        finally:
            acting_for.reset(actor)

    def _act(self, post: ChatPost, message: dict[str, Any], edited: bool) -> bool:
        try:
            if post.is_direct:
                if not edited:  # an edited DM is not a new command
                    self._answer_direct(post)
            else:
                self.linker.link(post)
                if not edited:  # only a new reply becomes a note: an edit would write another
                    note_from_reply(self._services, post)
        except NotMapped as error:
            self._notice_unmapped(post, error.user_message)
        except (RedmineUnavailable, ChatUnavailable) as error:
            waited = time.time() - float(message.get("first_try") or time.time())
            if waited < GIVE_UP_SECONDS:
                log.info("listener: %s waits for Redmine or Mattermost: %s", post.id, error.user_message)
                return False
            self._tell(post, _(GAVE_UP, reason=error.user_message))
        except BridgeError as error:
            self._tell(post, error.user_message)
        return True

    def _answer_direct(self, post: ChatPost) -> None:
        command, _argument = self._bridge.registry.split(post.message)
        started, outcome = time.perf_counter(), "ok"
        try:
            answer_direct_message(self._services, self._bridge.registry, self.linker, post)
        except BridgeError as error:
            outcome = type(error).__name__
            raise
        finally:
            name = command.name if command is not None else "message"
            metrics.observe_command(name, "dm", outcome, time.perf_counter() - started)

    def _reacted(self, data: dict[str, Any]) -> None:
        offer_for_reaction(self._bridge, self._bot_id, data, self._claimed, self._done)

    def _notice_unmapped(self, post: ChatPost, text: str) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._noticed.get(post.user.id)
            if last is not None and now - last < NOTICE_INTERVAL:
                return
            self._noticed[post.user.id] = now
        self._tell(post, text)

    def _tell(self, post: ChatPost, text: str) -> None:
        try:
            self._chat.post_ephemeral(post.user.id, post.channel_id, text)
        except BridgeError:
            log.warning("listener: could not tell %s: %s", post.user.username, text)

    def _backfill_soon(self) -> None:
        """Called from the websocket's loop on a new connection: the REST calls run beside it."""
        threading.Thread(target=self.backfill, daemon=True, name="links-backfill").start()

    def backfill(self) -> None:
        """The posts since the last one handled, over REST; the claims drop those answered already. Where no
        post was ever handled, since this process began listening: a first connection can be lost before its
        hello arrives (an outage, a server restart), and what was posted meanwhile must not be lost with it."""
        with self._backfilling:
            self._backfill_owed.clear()
            try:
                last = self._last_post_at()
                unfinished = self.fence.oldest_unfinished_post_at()
            except DBAPIError as error:
                log.warning("listener: no backfill yet: the store did not answer (%s)", type(error).__name__)
                self._backfill_owed.set()  # tried again by the retry loop until it completes
                return
            since = max(last - BACKFILL_MARGIN_MS, 0) if last else self._listening_since_ms - START_SKEW_MS
            if unfinished:  # a post claimed and never answered, by this process or one that died: read it again
                since = min(since, unfinished)
            try:
                for channel_id, kind in self._chat.bot_channels():
                    with self._lock:
                        self._channel_types[channel_id] = kind
                    for raw in self._chat.posts_since(channel_id, since):
                        if raw.get("create_at", 0) >= since and not raw.get("delete_at"):
                            self.backfilled += 1
                            metrics.BACKFILLED.inc()
                            data = {"post": json.dumps(raw), "channel_type": kind}
                            self.events.put({"event": "posted", "data": data})
                        for event in reactions_since(raw, since):
                            self.events.put(event)
            except BridgeError as error:
                log.warning("listener: backfill failed (%s); trying again", error.user_message)
                self._backfill_owed.set()
