"""The emulator's websocket connections, kept as the real server keeps them.

Read beside `server/channels/app/platform/web_hub.go`, `web_conn.go` and `api4/websocket.go`:

- A connection has an active queue (events not yet written, at most 256: `sendQueueSize`) and a dead
  queue (the last 128 events written: `deadQueueSize`). A written event takes the connection's next
  sequence number. While its client is away the connection is inactive and its active queue keeps
  filling; an event that finds the queue full removes the connection (`closeAndRemoveConn`).
- A reconnect that names `connection_id` and `sequence_number` on an upgrade that carried a session finds
  the inactive connection (`CheckConn`, `PopulateWebConnConfig`). Then no hello is sent (hello only when
  `reuseCount == 0`); the write pump replays the dead queue from that number, or sends nothing when nothing
  was missed, or, when the number is no longer in the dead queue, starts over: a new connection id,
  sequence 0, and a hello (`writePump`, `hasMsgLoss`).
- A connection id the hub does not know (a server restart, a reaped connection) gives a fresh connection
  with a new id and a hello. An invalid id, or a missing or non-numeric sequence number, closes the socket.
- Inactive connections are reaped after `inactiveConnReaperInterval` (5 minutes).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEAD_QUEUE_SIZE = 128
SEND_QUEUE_SIZE = 256
STALE_AFTER = 300.0
_VALID_ID = re.compile(r"^[a-z0-9]{26}$")  # model.IsValidId


def new_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(26))


class Refused(Exception):
    """The server closes the socket right after the upgrade."""


@dataclass(eq=False)
class WebConn:
    connection_id: str
    user_id: str
    sequence: int = 0  # the seq the next written event takes (wc.Sequence)
    dead: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=DEAD_QUEUE_SIZE))
    send: deque[dict[str, Any]] = field(default_factory=deque)  # the active queue
    active: bool = True
    inactive_since: float = 0.0
    reuse_count: int = 0
    closed: bool = False  # removed from the hub: its pump ends
    socket: Any = None


@dataclass
class Registration:
    conn: WebConn
    replay: list[dict[str, Any]]  # events written again from the dead queue, with their own seq
    kind: str  # "fresh", "replayed", "lossless" or "lost" (a new connection id after a gap)


class Hub:
    def __init__(self, hello: Any) -> None:
        self._hello = hello  # (conn) -> the hello event for that connection
        self._conns: dict[str, WebConn] = {}
        self._cond = threading.Condition()
        self.stale_after = STALE_AFTER
        self.registrations: list[str] = []  # what each connection got: fresh, replayed, lossless or lost

    # Registering -------------------------------------------------------------------
    def register(self, user_id: str, connection_id: str, sequence: str | None, upgraded: bool) -> Registration:
        with self._cond:
            self._reap()
            if not connection_id or not upgraded:
                return self._fresh(user_id)
            if not _VALID_ID.match(connection_id):
                raise Refused(f"invalid connection id: {connection_id}")
            if sequence is None or not sequence.lstrip("-").isdigit():
                raise Refused("sequence number not present or not a number")
            conn = self._conns.get(connection_id)
            if conn is None or conn.active or conn.user_id != user_id:
                return self._fresh(user_id)
            return self._reuse(conn, int(sequence))

    def _fresh(self, user_id: str) -> Registration:
        conn = WebConn(new_id(), user_id)
        self._conns[conn.connection_id] = conn
        conn.send.appendleft(self._hello(conn))
        self.registrations.append("fresh")
        return Registration(conn, [], "fresh")

    def _reuse(self, conn: WebConn, sequence: int) -> Registration:
        conn.active, conn.reuse_count, conn.sequence = True, conn.reuse_count + 1, sequence
        kind, replay = "lossless", []
        if sequence != 0:
            seqs = [event["seq"] for event in conn.dead]
            if sequence in seqs:
                kind, replay = "replayed", list(conn.dead)[seqs.index(sequence) :]
                conn.sequence = replay[-1]["seq"] + 1
            elif conn.dead and conn.dead[-1]["seq"] != sequence - 1:
                del self._conns[conn.connection_id]
                conn.connection_id, conn.sequence, kind = new_id(), 0, "lost"
                conn.dead.clear()
                self._conns[conn.connection_id] = conn
                conn.send.appendleft(self._hello(conn))
        self.registrations.append(kind)
        return Registration(conn, replay, kind)

    def attach(self, conn: WebConn, socket: Any) -> None:
        with self._cond:
            conn.socket = socket
            self._cond.notify_all()

    def unregister(self, conn: WebConn, socket: Any) -> None:
        """The client on `socket` left; a connection already resumed on another socket stays active."""
        with self._cond:
            if conn.socket is socket:
                conn.active, conn.inactive_since, conn.socket = False, time.monotonic(), None
            self._cond.notify_all()

    def _reap(self) -> None:
        now = time.monotonic()
        for conn in list(self._conns.values()):
            if not conn.active and now - conn.inactive_since > self.stale_after:
                self._remove(conn)

    def _remove(self, conn: WebConn) -> None:
        self._conns.pop(conn.connection_id, None)
        conn.closed = True
        self._cond.notify_all()

    # Sending -------------------------------------------------------------------------
    def broadcast(self, event: dict[str, Any], to_user: Any) -> None:
        """`to_user(user_id)` says whether that user's connections get it (ShouldSendEvent)."""
        with self._cond:
            self._reap()
            for conn in list(self._conns.values()):
                if not to_user(conn.user_id):
                    continue
                if len(conn.send) >= SEND_QUEUE_SIZE:
                    self._remove(conn)
                    continue
                conn.send.append(dict(event))
            self._cond.notify_all()

    def direct(self, conn: WebConn, message: dict[str, Any]) -> None:
        """A reply to the client (seq_reply): it takes no sequence number and is not kept."""
        with self._cond:
            conn.send.append({**message, "__reply__": True})
            self._cond.notify_all()

    def next_message(self, conn: WebConn, socket: Any, timeout: float = 0.5) -> dict[str, Any] | None:
        """The next message for the pump of `socket`, numbered as it is written; None when there is none yet.
        Raises EOFError once the connection is closed, or no longer on this socket (its client left, or has
        already resumed it on another socket, whose pump takes over)."""
        with self._cond:
            if not conn.send and not conn.closed and conn.socket is socket:
                self._cond.wait(timeout)
            if conn.closed or conn.socket is not socket:
                raise EOFError
            if not conn.send:
                return None
            message = conn.send.popleft()
            if message.pop("__reply__", False):
                return message
            message["seq"] = conn.sequence
            conn.sequence += 1
            conn.dead.append(message)
            return message

    def caught_up(self, connection_id: str, client_seq: int) -> bool:
        """Whether the client on that connection has read every event written so far and none waits to be."""
        with self._cond:
            conn = self._conns.get(connection_id)
            return conn is not None and not conn.send and conn.sequence == client_seq + 1

    def close_all(self, forget: bool = False) -> list[Any]:
        """The sockets to close; with `forget`, the hub forgets every connection, as a restarted server has."""
        with self._cond:
            sockets = [c.socket for c in self._conns.values() if c.socket is not None]
            if forget:
                for conn in list(self._conns.values()):
                    self._remove(conn)
            self._cond.notify_all()
        return sockets

    def any_active(self) -> bool:
        with self._cond:
            return any(c.active and c.socket is not None for c in self._conns.values())
