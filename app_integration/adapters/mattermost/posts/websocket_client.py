"""Mattermost's websocket, for a listener that runs for months.

It sends the bot token on the upgrade request itself (`Authorization: Bearer`): the
server honours `connection_id` and `sequence_number`, and so resumes, only for a
connection authenticated at the upgrade (api4/websocket.go). A resume gets no hello
(web_hub.go: hello only when reuseCount is 0): the missed events come straight away, or
nothing does. A new `connection_id` in a hello, or an event whose seq skips ahead,
means events were lost: the caller backfills over REST. The authentication challenge
is kept for a server or proxy that drops the header: a silent socket gets it after a
moment, and a socket the upgrade authenticated ignores it (websocket_router.go).

A refused token is not announced: the server just closes the socket. A socket that
closes before the server said anything is therefore checked over REST
(`token_refused`), and a refused token ends the stream instead of retrying for ever.
The receive loop only decodes and enqueues; workers do the rest. asyncio stays in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.exceptions import InvalidHandshake, WebSocketException

from app_integration.adapters import metrics

log = logging.getLogger(__name__)


@dataclass
class StreamPosition:
    """Where this process's connection is: the server's id for it and the last event's seq."""

    connection_id: str = ""
    seq: int = 0


class AuthenticationFailed(Exception):
    pass


class ClosedUnheard(Exception):
    """The socket closed before the server said anything: an outage, or a refused token."""


HELLO_WAIT = 2.0  # seconds of silence on a new socket before the challenge is sent
STAYED_UP = 10.0  # seconds a connection that heard the server must have lasted for its drop to start afresh


def next_attempt(attempt: int, heard: bool, lasted: float) -> int:
    """The backoff's step for the reconnect after a drop: a connection that heard the server and stayed up
    starts afresh (as Mattermost's own clients do), so a flapping network does not grow minute-long gaps;
    one that never got going counts on."""
    return 0 if heard and lasted >= STAYED_UP else attempt


@dataclass
class Backoff:
    """Between reconnects: 3 s doubling, but never past 8 s. The bridge is one connection, not a crowd of
    browsers, so a short ceiling costs the server nothing; a long one (Mattermost's clients wait up to 5 minutes)
    kept posts unanswered half a minute after an outage ended. Within 8 s plus a backfill, they are answered."""

    first: float = 3.0
    most: float = 8.0

    def delay(self, attempt: int) -> float:
        """Exponential from `first` up to `most`, with full jitter in its upper half."""
        ceiling = min(self.most, self.first * (2 ** min(attempt, 20)))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


class EventStream:
    """One websocket connection at a time. Its position lives in memory only: a resume is right only for
    the process that owns the connection, so a new process (a restart, a takeover) always starts a fresh
    one and its caller backfills over REST."""

    def __init__(
        self,
        url: str,
        token: str,
        events: queue.Queue[dict[str, Any]],
        on_gap: Callable[[], None],
        backoff: Backoff | None = None,
        ping_interval: float = 30.0,
        token_refused: Callable[[], bool] | None = None,
    ) -> None:
        self._url = url
        self._token_refused = token_refused or (lambda: False)
        self.refused = False
        self._token = token
        self._events = events
        self.position = StreamPosition()
        self._on_gap = on_gap
        self._backoff = backoff or Backoff()
        self._ping_interval = ping_interval
        self.connects = 0
        self.resumes = 0  # reconnects the server took as a resume (no hello)
        self.gaps = 0  # times events were missed and a backfill was asked for
        self.listening = 0  # connections that got past their first message (or the challenge) and listen on
        self.dropped = 0
        self._overflowing = False

    def _connect_url(self) -> str:
        if not self.position.connection_id:
            return self._url
        query = urlencode({"connection_id": self.position.connection_id, "sequence_number": self.position.seq + 1})
        return f"{self._url}?{query}"

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            started = time.monotonic()
            self._heard = False
            try:
                await self._session(stop)
                attempt = 0
            except (AuthenticationFailed, ClosedUnheard) as error:
                if isinstance(error, AuthenticationFailed) or await asyncio.to_thread(self._token_refused):
                    log.error("websocket: the bot token was refused; check REDMINE_MATTERMOST_BRIDGE_APP_TOKEN")
                    self.refused = True
                    break
                log.warning("websocket: closed before the server said anything")
            except (OSError, TimeoutError, WebSocketException, InvalidHandshake, ValueError) as error:
                log.warning("websocket: disconnected (%s)", type(error).__name__)
            if stop.is_set():
                break
            attempt = next_attempt(attempt, self._heard, time.monotonic() - started)
            delay = self._backoff.delay(attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _session(self, stop: asyncio.Event) -> None:
        resuming = bool(self.position.connection_id)
        async with websockets.connect(
            self._connect_url(),
            additional_headers={"Authorization": f"Bearer {self._token}"},
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_interval,
            open_timeout=10,
            close_timeout=3,
            max_size=2**22,
        ) as connection:
            self.connects += 1
            if self.connects > 1:
                metrics.RECONNECTS.inc()
            self._heard, self._resuming = False, resuming
            receiving = asyncio.ensure_future(self._receive(connection))
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (receiving, stopping):
                task.cancel()
            if receiving in done and not self._heard:
                # Closed before the server said a word, however it closed: a refused challenge closes the network
                # connection with no close frame (platform/websocket_router.go), an abnormal closure like an
                # outage's. Only REST tells them apart.
                raise ClosedUnheard()
            if receiving in done and receiving.exception():
                raise receiving.exception()  # type: ignore[misc]

    async def _receive(self, connection: Any) -> None:
        """A fresh connection begins with hello. A resumed one begins with the replayed events, or with
        nothing at all when nothing was missed (web_hub.go sends hello only when reuseCount is 0). Either way,
        a socket that stays silent for a moment gets the challenge: a proxy may have dropped the token from
        the upgrade, and on a socket the upgrade did authenticate, the server ignores it."""
        try:
            first = await asyncio.wait_for(connection.recv(), timeout=HELLO_WAIT)
        except TimeoutError:
            challenge = {"seq": 1, "action": "authentication_challenge", "data": {"token": self._token}}
            await connection.send(json.dumps(challenge))
            first = None
        except WebSocketException:
            return
        self.listening += 1  # past the first moment: heard something, or sent the challenge
        if first is not None:
            self._take(json.loads(first))
        async for raw in connection:
            self._take(json.loads(raw))

    def _take(self, message: dict[str, Any]) -> None:
        self._heard = True
        if "seq_reply" in message:
            if message.get("status") != "OK":
                raise AuthenticationFailed()
            return
        if message.get("event") == "hello":
            if self._resuming:
                metrics.RESUMES.labels("fresh").inc()  # the server no longer had our place
            self._resuming = False
            self._hello(message)
            return
        seq = message.get("seq")
        if isinstance(seq, int):
            if seq <= self.position.seq:
                return  # already seen
            expected = self.position.seq + 1
            if self._resuming:
                self.resumes += 1
                metrics.RESUMES.labels("resumed").inc()
                self._resuming = False
            self.position.seq = seq
            if seq != expected and self.position.connection_id:
                # Missed events, as the official clients judge it (msg.seq != expected): backfill them.
                log.warning("websocket: expected event %d, got %d; backfilling", expected, seq)
                self._gap()
        try:
            self._events.put_nowait(message)
            self._overflowing = False
        except queue.Full:
            self.dropped += 1
            log.warning("websocket: event queue full; dropped an event (%d so far)", self.dropped)
            if not self._overflowing:  # what was dropped is read again over REST, once per burst
                self._overflowing = True
                self._gap()

    def _hello(self, message: dict[str, Any]) -> None:
        """A fresh connection: whatever happened before it, in this process or before it started, comes over
        REST (the caller knows from where)."""
        connection_id = str((message.get("data") or {}).get("connection_id", ""))
        self.position = StreamPosition(connection_id, int(message.get("seq") or 0))
        log.info("websocket: new connection; what came before it is backfilled")
        self._gap()

    def _gap(self) -> None:
        self.gaps += 1
        self._on_gap()
