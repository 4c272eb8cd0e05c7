"""The websocket, as the server keeps it (`websocket_hub.py` says how, from web_hub.go and web_conn.go): the
authentication challenge, `hello` only for a fresh connection, a resume that replays without a hello, and
outages and restarts on demand."""

from __future__ import annotations

import contextlib
import inspect
import json
import socket as sockets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from mattermost_server.emulator.websocket_hub import Hub, Refused, Registration, WebConn

# The server's keepalive pings are not what these tests are about: off. websockets' sync server pings (and
# takes ping_interval) only from 15.0 on, and the bridge's floor is 14.0, whose server sends none.
NO_PINGS = {"ping_interval": None} if "ping_interval" in inspect.signature(serve).parameters else {}


class WebsocketSide:
    """The websocket half of the emulator: who connects, what they hear, and how they lose it."""

    lock: threading.RLock
    channels: dict[str, dict[str, Any]]
    users: dict[str, dict[str, Any]]
    tokens: dict[str, str]
    hub: Hub
    base_path: str
    strip_upgrade_auth: bool
    upgrade_auth: list[bool]
    _refuse_websockets: bool

    @property
    def version_id(self) -> str:
        raise NotImplementedError  # the server says which version it is

    def disconnect_all(self) -> None:
        """Every client loses its socket; the server keeps the connections, inactive, for a resume."""
        for socket in self.hub.close_all():
            socket.close()

    def restart_websockets(self) -> None:
        """As a restarted server: every socket closes and every connection is forgotten."""
        for socket in self.hub.close_all(forget=True):
            socket.close()

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Drops every websocket and refuses new ones until the block ends."""
        self._refuse_websockets = True
        self.disconnect_all()
        try:
            yield
        finally:
            self._refuse_websockets = False

    def connected(self) -> bool:
        return self.hub.any_active()

    def _broadcast(self, event: str, data: dict[str, Any], channel_id: str) -> None:
        with self.lock:
            channel = self.channels.get(channel_id)
            members = set(channel["members"]) if channel is not None else set()
        message = {
            "event": event,
            "data": data,
            "broadcast": {
                "omit_users": None,
                "user_id": "",
                "channel_id": channel_id,
                "team_id": "",
                "connection_id": "",
                "omit_connection_id": "",
            },
        }
        self.hub.broadcast(message, lambda user_id: user_id in members)

    def _hello(self, conn: WebConn) -> dict[str, Any]:
        return {
            "event": "hello",
            "data": {"connection_id": conn.connection_id, "server_version": self.version_id},
            "broadcast": {
                "omit_users": None,
                "user_id": conn.user_id,
                "channel_id": "",
                "team_id": "",
                "connection_id": "",
                "omit_connection_id": "",
            },
        }

    def _websocket(self, connection: ServerConnection) -> None:
        if self._refuse_websockets:
            connection.close(1013, "try again later")
            return
        target = urlsplit(connection.request.path if connection.request else "")
        if target.path.rstrip("/") != f"{self.base_path}/api/v4/websocket":
            connection.close(1008, "not found")
            return
        query = parse_qs(target.query)
        header = connection.request.headers.get("Authorization", "") if connection.request else ""
        user_id = self.tokens.get(header.removeprefix("Bearer ").strip())
        upgraded = user_id is not None and not self.strip_upgrade_auth
        self.upgrade_auth.append(upgraded)
        try:
            if upgraded:
                # api4/websocket.go: connection_id and sequence_number count only when the upgrade had a session.
                wanted = (query.get("connection_id") or [""])[0]
                sequence = query["sequence_number"][0] if query.get("sequence_number") else None
                registration: Registration | None = self.hub.register(str(user_id), wanted, sequence, upgraded=True)
            else:
                registration = self._challenge(connection)
        except Refused:
            connection.close()
            return
        if registration is None:
            return
        self._pump(connection, registration)

    def _challenge(self, connection: ServerConnection) -> Registration | None:
        """platform/websocket_router.go: a bad token closes the socket with no answer; a good one registers a
        fresh connection (its hello is queued first) and then answers OK."""
        try:
            challenge = json.loads(connection.recv(timeout=10))
        except (TimeoutError, ConnectionClosed, ValueError):
            return None
        token = (challenge.get("data") or {}).get("token", "")
        user_id = self.tokens.get(token) if isinstance(token, str) else None
        if challenge.get("action") != "authentication_challenge" or user_id is None:
            # platform/websocket_router.go: `conn.WebSocket.Close()`, gorilla's Close, which closes the network
            # connection without a close frame: the client sees an abnormal closure (1006), not a clean one.
            with contextlib.suppress(OSError):
                connection.socket.shutdown(sockets.SHUT_RDWR)
            connection.socket.close()
            return None
        registration = self.hub.register(user_id, "", None, upgraded=False)
        self.hub.direct(registration.conn, {"status": "OK", "seq_reply": challenge.get("seq")})
        return registration

    def _pump(self, connection: ServerConnection, registration: Registration) -> None:
        """The write pump; a reader beside it notices the client leaving (and ignores what it sends: a
        challenge on an authenticated socket gets no answer)."""
        conn = registration.conn
        self.hub.attach(conn, connection)
        if self._refuse_websockets:  # an outage began while this one was connecting: it ends at once
            connection.close()
        reader = threading.Thread(target=self._read_until_closed, args=(connection, conn), daemon=True)
        reader.start()
        try:
            for replayed in registration.replay:
                connection.send(json.dumps(replayed))
            while True:
                message = self.hub.next_message(conn, connection)
                if message is not None:
                    connection.send(json.dumps(message))
        except (ConnectionClosed, EOFError):
            pass
        finally:
            self.hub.unregister(conn, connection)
            connection.close()
            reader.join(timeout=5)

    def _read_until_closed(self, connection: ServerConnection, conn: WebConn) -> None:
        try:
            for _ in connection:
                pass
        except ConnectionClosed:
            pass
        finally:
            self.hub.unregister(conn, connection)
