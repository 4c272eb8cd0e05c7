"""A TCP proxy on loopback that puts a fault between the bridge and a real server (Redmine, PostgreSQL).

Modes, switched at any time with `proxy.mode = ...` or `with proxy.fault(...)`:
- "pass": bytes go both ways as they come;
- "delay": each request waits `delay` seconds before it is sent on (a slow server: a request is the first bytes
  from the client after the server last answered, so one HTTP call is delayed once, whatever its size);
- "refuse": nothing listens: a new connection is refused (ECONNREFUSED) and open ones are closed;
- "hang": connections are accepted and kept, and nothing goes either way (a server that stopped answering, or
  traffic black-holed: no reset, no close, until the mode changes).

Bounded: each pump waits on its sockets with a short timeout and ends when the proxy stops.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Literal

Mode = Literal["pass", "delay", "refuse", "hang"]
TICK = 0.05  # seconds a pump waits for bytes before it looks at the mode again
CHUNK = 65536


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, delay: float = 0.0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay
        self._mode: Mode = "pass"
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self.connections = 0  # accepted so far
        self._listen()

    # Lifecycle -------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(TICK)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="fault-proxy").start()

    def stop(self) -> None:
        self._stopped.set()
        self._close_all()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Faults ----------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        with self._lock:
            was, self._mode = self._mode, mode
        if mode == "refuse" and was != "refuse":
            self._close_all()
        elif was == "refuse" and mode != "refuse":
            self._listen()  # the same port again, as a restarted server would

    @contextmanager
    def fault(self, mode: Mode) -> Iterator[None]:
        self.mode = mode
        try:
            yield
        finally:
            self.mode = "pass"

    def _close_all(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = list(self._sockets), set()
        for sock in ([listener] if listener else []) + sockets:
            with suppress(OSError):
                sock.close()

    # Pumping ---------------------------------------------------------------------
    def _held(self) -> bool:
        return self._mode == "hang"

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set() and self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed: refusing, or stopped
            self.connections += 1
            threading.Thread(target=self._connect, args=(client,), daemon=True, name="fault-proxy-conn").start()

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets.update((client, server))
        try:
            self._pump(client, server)
        finally:
            for sock in (client, server):
                with suppress(OSError):
                    sock.close()
            with self._lock:
                self._sockets.difference_update((client, server))

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        answered = True  # the server spoke last (or nobody yet): the client's next bytes start a request
        while not self._stopped.is_set():
            if self._held():
                time.sleep(TICK)
                continue
            try:
                readable, _, _ = select.select([client, server], [], [], TICK)
            except (OSError, ValueError):
                return
            for source in readable:
                if self._held():
                    break
                try:
                    data = source.recv(CHUNK)
                except OSError:
                    return
                if not data:
                    return
                if source is client:
                    if answered and self._mode == "delay" and self.delay > 0:
                        time.sleep(self.delay)
                    answered = False
                    target = server
                else:
                    answered = True
                    target = client
                try:
                    target.sendall(data)
                except OSError:
                    return
