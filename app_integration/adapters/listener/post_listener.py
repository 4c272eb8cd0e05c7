"""The listener: websocket events in, `#t` links and DM answers out.

The receive loop only enqueues. Worker threads turn each event into a ChatPost and
hand it to the core, each event inside one error boundary.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from typing import Any

from ...core.chat_ids import is_chat_id
from ...core.errors import BridgeError, ChatTokenRefused, NotMapped
from ...core.features.direct_messages import answer_direct_message
from ...core.features.thread_replies import note_from_reply
from ...core.features.ticket_links import TicketLinker
from ...core.i18n import speaking
from ...core.models import ChatPost
from ..redmine_gateway import key_checks
from ..wiring import Bridge
from .reaction_offers import offer_ticket_from_post
from .websocket_client import Backoff, EventStream, StreamPosition

log = logging.getLogger(__name__)
STATE_KEY = "listener"
NOTICE_INTERVAL = 3600.0
QUEUE_SIZE = 10_000
SEEN_POSTS = 10_000


class PostListener:
    def __init__(
        self,
        bridge: Bridge,
        websocket_url: str,
        workers: int = 2,
        backoff: Backoff | None = None,
        ping_interval: float = 30.0,
    ) -> None:
        self._bridge = bridge
        self._services = bridge.services
        self._chat = bridge.chat
        settings = bridge.settings
        self.linker = TicketLinker(bridge.services, settings.link_mode, settings.link_show_subject)
        self._on_edit = settings.link_on_edit
        self.events: queue.Queue[dict[str, Any]] = queue.Queue(QUEUE_SIZE)
        saved = self._load_state()
        self._last_post_at = int(saved.get("last_post_at", 0))
        position = StreamPosition(str(saved.get("connection_id", "")), int(saved.get("seq", 0)))
        token = settings.redmine_mattermost_bridge_app_token
        self.stream = EventStream(
            websocket_url,
            token.get_secret_value() if token else "",
            self.events,
            position,
            on_position=lambda _: self._save_state(),
            on_gap=self.backfill,
            backoff=backoff,
            ping_interval=ping_interval,
            token_refused=self._token_refused,
        )
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._noticed: dict[str, float] = {}
        self._channel_types: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.handled = 0

    # Lifecycle ---------------------------------------------------------------
    def start(self) -> PostListener:
        self._bot_id = self._chat.bot().id
        ready = threading.Event()
        self._threads.append(threading.Thread(target=self._run_stream, args=(ready,), daemon=True, name="ws"))
        self._threads += [
            threading.Thread(target=self._work, daemon=True, name=f"links-{n}") for n in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()
        ready.wait(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop and self._stop and not self._loop.is_closed():  # closed once a refused token ended it
            self._loop.call_soon_threadsafe(self._stop.set)
        for _ in range(self._workers):
            self.events.put({"event": "__stop__"})
        for thread in self._threads:
            thread.join(timeout=10)
        self._save_state()

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
                return
            try:
                self.handle(message)
            except Exception:
                log.exception("listener: unexpected error handling an event")
            finally:
                self.handled += 1

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
    def _load_state(self) -> dict[str, Any]:
        raw = self._bridge.store.load_state(STATE_KEY)
        return json.loads(raw) if raw else {}

    def _save_state(self) -> None:
        position = self.stream.position
        state = {"connection_id": position.connection_id, "seq": position.seq, "last_post_at": self._last_post_at}
        self._bridge.store.save_state(STATE_KEY, json.dumps(state))

    # Events ------------------------------------------------------------------------
    def handle(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "reaction_added":
            self._reacted(message.get("data") or {})
            return
        if event not in ("posted", "post_edited") or (event == "post_edited" and not self._on_edit):
            return
        data = message.get("data") or {}
        raw = json.loads(data.get("post") or "{}")
        if data.get("channel_type"):
            self._channel_types[raw.get("channel_id", "")] = data["channel_type"]
        if event == "posted" and not self._first_sight(raw.get("id", "")):
            return
        post = self._post(raw)
        if post is not None:
            self._answer(post)
        with self._lock:
            self._last_post_at = max(self._last_post_at, int(raw.get("create_at", 0)))

    def _first_sight(self, post_id: str) -> bool:
        with self._lock:
            if post_id in self._seen:
                return False
            self._seen[post_id] = None
            if len(self._seen) > SEEN_POSTS:
                self._seen.popitem(last=False)
            return True

    def _post(self, raw: dict[str, Any]) -> ChatPost | None:
        """The post and its author, named by Mattermost for the post's user_id. An event's sender_name is the
        webhook's override_username for a webhook post, chosen by whoever made the hook, so it never names
        anyone; webhook posts themselves act for no one."""
        user_id = str(raw.get("user_id", ""))
        props = raw.get("props") or {}
        if user_id == self._bot_id or str(raw.get("type", "")).startswith("system_") or props.get("from_bot"):
            return None
        if str(props.get("from_webhook", "")).lower() == "true" or not is_chat_id(user_id):
            return None
        author = self._chat.user(user_id)
        if author is None:
            return None
        channel_id = str(raw.get("channel_id", ""))
        return ChatPost(
            id=str(raw.get("id", "")),
            user=author,
            channel_id=channel_id,
            channel_type=self._channel_types.get(channel_id, "O"),
            message=str(raw.get("message", "")),
            root_id=str(raw.get("root_id", "")),
        )

    def _answer(self, post: ChatPost) -> None:
        """The listener's one error boundary for a post."""
        checks = key_checks.set(set())
        try:
            with speaking(post.user.locale):
                self._act(post)
        finally:
            key_checks.reset(checks)

    def _act(self, post: ChatPost) -> None:
        try:
            if post.is_direct:
                answer_direct_message(self._services, self._bridge.registry, self.linker, post)
            else:
                self.linker.link(post)
                note_from_reply(self._services, post)
        except NotMapped as error:
            self._notice_unmapped(post, error.user_message)
        except BridgeError as error:
            self._tell(post, error.user_message)

    def _reacted(self, data: dict[str, Any]) -> None:
        """The ticket emoji on a post: its reactor gets a DM with a button to make a ticket from the post (a
        reaction brings no trigger_id to open a dialog with). Who reacted is the reaction's user_id."""
        reaction = json.loads(data.get("reaction") or "{}")
        user_id, post_id = str(reaction.get("user_id", "")), str(reaction.get("post_id", ""))
        wanted = self._bridge.settings.create_from_reaction_emoji
        if reaction.get("emoji_name") != wanted or user_id == self._bot_id or not is_chat_id(post_id):
            return
        try:
            offer_ticket_from_post(self._bridge, user_id, post_id)
        except BridgeError as error:
            log.info("listener: no ticket offer for a reaction: %s", error.user_message)

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

    def backfill(self) -> None:
        """After the server lost our buffer: the posts since the last one seen, over REST."""
        since = max(self._last_post_at - 1000, 0)
        try:
            channels = self._chat.bot_channels()
            for channel_id, kind in channels:
                self._channel_types[channel_id] = kind
                for raw in self._chat.posts_since(channel_id, since):
                    if raw.get("create_at", 0) >= since:
                        self.events.put({"event": "posted", "data": {"post": json.dumps(raw), "channel_type": kind}})
        except BridgeError as error:
            log.warning("listener: backfill failed: %s", error.user_message)
