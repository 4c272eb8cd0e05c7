"""What the web adapters share: the core, the bot's client, the signer and a worker pool."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from app_integration.adapters import metrics
from app_integration.adapters.mattermost.commands.form_rendering import signed_buttons
from app_integration.adapters.mattermost.commands.request_verification import StateSigner
from app_integration.adapters.mattermost.commands.work_queue import WorkQueue
from app_integration.adapters.redmine.call_scope import call_scope
from app_integration.core.dispatch import Command, CommandRegistry, dispatch
from app_integration.core.errors import BridgeError, Unauthorized
from app_integration.core.i18n import adopt
from app_integration.core.identity import acting_for
from app_integration.core.models import Action, ChatMessage, ChatUser, CommandContext, Reply, is_chat_id
from app_integration.core.ports import WebChat
from app_integration.core.services import Services
from app_integration.core.settings import Settings

log = logging.getLogger("app_integration.web")
# A trigger_id lives 3 s on Mattermost 7.x and 8.x (InteractiveDialogTriggerTimeoutMilliseconds), and from 9.0
# as long as ServiceSettings.OutgoingIntegrationRequestsTimeout (30 s by default). A margin stays for the trip.
OLD_SERVER_DEADLINE = 2.5
NEW_SERVER_DEADLINE = 25.0


@dataclass
class WebContext:
    settings: Settings
    services: Services
    chat: WebChat
    registry: CommandRegistry
    signer: StateSigner
    work: WorkQueue = field(default_factory=WorkQueue)

    def __post_init__(self) -> None:
        # Requests that may wait for their result at once: half of gunicorn's threads, so that under a slow
        # Redmine the other half still answer "working on it" at once instead of queueing behind the waiters.
        self._waiters = threading.Semaphore(max(1, self.settings.web_threads // 2))

    @property
    def root_url(self) -> str:
        return self.settings.root_url

    @property
    def icon_url(self) -> str:
        return f"{self.root_url}/static/redmine.png"

    def run(self, command: Command, context: CommandContext, submitting: bool = False) -> Reply:
        """Runs a command (or submits its form) through the core's one dispatch, and logs who ran what, with
        how many Redmine round trips."""
        request_id = uuid.uuid4().hex[:12]
        actor = acting_for.set(context.user.id)
        started = time.perf_counter()
        outcome = "ok"
        with call_scope() as scope:
            try:
                return dispatch(self.services, command, context, submitting)
            except BridgeError as error:
                outcome = type(error).__name__
                raise
            finally:
                acting_for.reset(actor)
                name = command.name + ("_submit" if submitting else "")
                self._log(request_id, name, context, scope.tally.round_trips, outcome, started)

    @staticmethod
    def _log(request_id: str, command: str, context: CommandContext, trips: int, outcome: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        metrics.observe_command(command, context.surface, outcome, elapsed)
        log.info(
            "command",
            extra={
                "request_id": request_id,
                "user": context.user.username,
                "command": command,
                "surface": context.surface,
                "redmine_round_trips": trips,
                "outcome": outcome,
                "latency_ms": round(elapsed * 1000, 1),
            },
        )

    def dialog_deadline(self) -> float:
        """Seconds a request may take before a dialog could no longer open from its trigger_id."""
        version = self.chat.server_version()
        return NEW_SERVER_DEADLINE if version is not None and version[0] >= 9 else OLD_SERVER_DEADLINE

    def identify(self, user_id: object) -> ChatUser:
        """The person behind a verified user id, named by Mattermost itself: a username in a request body is
        whatever its sender typed, so it never decides who acts."""
        if not is_chat_id(user_id):
            raise Unauthorized("no well-formed user id")
        assert isinstance(user_id, str)
        user = self.chat.user(user_id)
        if user is None:
            raise Unauthorized("the user id names nobody in Mattermost")
        adopt(user.locale)  # from here on the bridge answers in the caller's language
        return user

    def submit(self, work: Callable[[], Any]) -> Future[Any]:
        return self.work.submit(work)

    def result(self, future: Future[Any], within: float) -> Any:
        """The work's result if it comes within `within` seconds; else concurrent.futures' TimeoutError. When
        enough requests are waiting already, this one does not (unless the result is there)."""
        if not self._waiters.acquire(blocking=False):
            return future.result(timeout=0)
        try:
            return future.result(timeout=within)
        finally:
            self._waiters.release()

    def offer(self, context: CommandContext, text: str, actions: tuple[Action, ...]) -> None:
        """An answer with buttons for one person: ephemeral in the channel where the bot may post so, else in
        their DM with the bot; each button signed for them in the channel it is shown in."""
        props = {
            "attachments": [
                signed_buttons(self.signer, self.root_url, context.user.id, context.channel_id, actions, "")
            ]
        }
        try:
            self.chat.post_ephemeral(context.user.id, context.channel_id, text, props)
            return
        except BridgeError:
            pass
        try:
            channel = self.chat.direct_channel(context.user.id)
            buttons = signed_buttons(self.signer, self.root_url, context.user.id, channel, actions, "")
            self.chat.post_props(channel, text, {"attachments": [buttons]})
        except BridgeError:
            log.warning("could not offer the next step to %s", context.user.username)

    def tell(self, context: CommandContext, text: str) -> None:
        """An answer for one person: ephemeral where the bot may, else a DM."""
        try:
            self.chat.post_ephemeral(context.user.id, context.channel_id, text)
        except BridgeError:
            try:
                self.chat.send_direct(context.user.id, ChatMessage(text=text))
            except BridgeError:
                log.warning("could not deliver a reply to %s", context.user.username)
