"""Mattermost's websocket, for a listener that runs for months.

It authenticates with the bot token, tracks `seq`, and resumes with `connection_id`
and `sequence_number` so the server replays what was missed. When the server answers
with a new `connection_id`, its buffer is gone: the caller backfills over REST. The
receive loop only decodes and enqueues; workers do the rest. asyncio stays in here.
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
    ) -> None:
        self._url = url
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
            except AuthenticationFailed:
                log.error("websocket: the bot token was refused; check REDMINE_MATTERMOST_BRIDGE_APP_TOKEN")
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
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_interval,
            open_timeout=10,
            close_timeout=3,
            max_size=2**22,
        ) as connection:
            await connection.send(
                json.dumps({"seq": 1, "action": "authentication_challenge", "data": {"token": self._token}})
            )
            self.connects += 1
            receiving = asyncio.ensure_future(self._receive(connection))
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (receiving, stopping):
                task.cancel()
            if receiving in done and receiving.exception():
                raise receiving.exception()  # type: ignore[misc]

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
