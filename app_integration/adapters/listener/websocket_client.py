"""Mattermost's websocket, for a listener that runs for months.

It sends the bot token on the upgrade request itself (`Authorization: Bearer`): the
server honours `connection_id` and `sequence_number`, and so replays what was missed,
only for a connection authenticated at the upgrade (api4/websocket.go). The
authentication challenge is kept for a server or proxy that drops the header: it gets
no hello within a moment, so the challenge follows. When the server answers with a new
`connection_id`, its buffer is gone: the caller backfills over REST.

A refused token is not announced: the server just closes the socket. A socket that
closes before its hello is therefore checked over REST (`token_refused`), and a
refused token ends the stream instead of retrying for ever. The receive loop only
decodes and enqueues; workers do the rest. asyncio stays in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.exceptions import InvalidHandshake, WebSocketException

log = logging.getLogger(__name__)


@dataclass
class StreamPosition:
    """Where the stream is; saved so a restart resumes."""

    connection_id: str = ""
    seq: int = 0


class AuthenticationFailed(Exception):
    pass


class ClosedBeforeHello(Exception):
    """The socket closed before the server said hello: an outage, or a refused token."""


HELLO_WAIT = 2.0  # seconds to wait for a hello after an authenticated upgrade before sending the challenge


@dataclass
class Backoff:
    first: float = 3.0
    most: float = 300.0

    def delay(self, attempt: int) -> float:
        """Exponential from `first` up to `most`, with full jitter in its upper half."""
        ceiling = min(self.most, self.first * (2 ** min(attempt, 20)))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


class EventStream:
    def __init__(
        self,
        url: str,
        token: str,
        events: queue.Queue[dict[str, Any]],
        position: StreamPosition,
        on_position: Callable[[StreamPosition], None],
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
        self.position = position
        self._on_position = on_position
        self._on_gap = on_gap
        self._backoff = backoff or Backoff()
        self._ping_interval = ping_interval
        self.connects = 0
        self.dropped = 0

    def _connect_url(self) -> str:
        if not self.position.connection_id:
            return self._url
        query = urlencode({"connection_id": self.position.connection_id, "sequence_number": self.position.seq + 1})
        return f"{self._url}?{query}"

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            try:
                await self._session(stop)
                attempt = 0
            except (AuthenticationFailed, ClosedBeforeHello) as error:
                if isinstance(error, AuthenticationFailed) or await asyncio.to_thread(self._token_refused):
                    log.error("websocket: the bot token was refused; check REDMINE_MATTERMOST_BRIDGE_APP_TOKEN")
                    self.refused = True
                    break
                log.warning("websocket: closed before hello")
            except (OSError, TimeoutError, WebSocketException, InvalidHandshake, ValueError) as error:
                log.warning("websocket: disconnected (%s)", type(error).__name__)
            if stop.is_set():
                break
            delay = self._backoff.delay(attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        self._on_position(self.position)

    async def _session(self, stop: asyncio.Event) -> None:
        async with websockets.connect(
            self._connect_url(),
            additional_headers={"Authorization": f"Bearer {self._token}"},
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_interval,
            open_timeout=10,
            close_timeout=3,
            max_size=2**22,
        ) as connection:
            await self._greet(connection)
            self.connects += 1
            receiving = asyncio.ensure_future(self._receive(connection))
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (receiving, stopping):
                task.cancel()
            if receiving in done and receiving.exception():
                raise receiving.exception()  # type: ignore[misc]

    async def _greet(self, connection: Any) -> None:
        """Waits for the hello of an upgrade-authenticated connection; without one, authenticates by challenge."""
        try:
            first = await asyncio.wait_for(connection.recv(), timeout=HELLO_WAIT)
        except TimeoutError:
            first = None
        except WebSocketException:
            raise ClosedBeforeHello() from None
        if first is None:
            challenge = {"seq": 1, "action": "authentication_challenge", "data": {"token": self._token}}
            await connection.send(json.dumps(challenge))
            try:
                first = await connection.recv()
                while "seq_reply" in json.loads(first):
                    if json.loads(first).get("status") != "OK":
                        raise AuthenticationFailed()
                    first = await connection.recv()
            except WebSocketException:
                raise ClosedBeforeHello() from None
        message = json.loads(first)
        if message.get("event") != "hello":
            raise ClosedBeforeHello()
        self._hello(message)

    async def _receive(self, connection: Any) -> None:
        async for raw in connection:
            message = json.loads(raw)
            if "seq_reply" in message:
                if message.get("status") != "OK":
                    raise AuthenticationFailed()
                continue
            if message.get("event") == "hello":
                self._hello(message)
                continue
            seq = message.get("seq")
            if isinstance(seq, int):
                if seq <= self.position.seq:
                    continue  # already seen before a resume
                self.position.seq = seq
            try:
                self._events.put_nowait(message)
            except queue.Full:
                self.dropped += 1
                log.warning("websocket: event queue full; dropped an event (%d so far)", self.dropped)

    def _hello(self, message: dict[str, Any]) -> None:
        connection_id = str((message.get("data") or {}).get("connection_id", ""))
        if connection_id == self.position.connection_id:
            log.info("websocket: resumed at seq %d", self.position.seq)
            return
        had_one = bool(self.position.connection_id)
        self.position = StreamPosition(connection_id, int(message.get("seq") or 0))
        self._on_position(self.position)
        log.info("websocket: new connection%s", " (missed events will be backfilled)" if had_one else "")
        if had_one:
            self._on_gap()
