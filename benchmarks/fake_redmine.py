"""A fake Redmine that answers the bridge's calls after a fixed latency, for measuring the
bridge's own overhead apart from Redmine's. TCP_NODELAY is set on every connection:
without it, small responses stall about 40 ms on Nagle's algorithm and delayed ACKs."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

ISSUE = {
    "id": 1,
    "subject": "A ticket",
    "project": {"id": 1, "name": "Demo"},
    "tracker": {"id": 1, "name": "Bug"},
    "status": {"id": 1, "name": "New", "is_closed": False},
    "priority": {"id": 2, "name": "Normal"},
    "author": {"id": 5, "name": "Alice"},
    "assigned_to": {"id": 6, "name": "Bob"},
    "start_date": None,
    "due_date": "2027-01-01",
    "is_private": False,
    "updated_on": "2026-11-22T10:00:00Z",
}
USERS = {"alice": 5, "bob": 6, "carol": 7}


def _answer(method: str, path: str, query: str, body: dict[str, Any]) -> tuple[int, Any]:
    if path == "/users/current.json":
        return 200, {"user": {"id": 5, "login": "alice", "firstname": "Alice", "lastname": "A", "admin": True}}
    if path == "/users.json":
        login = next((p.split("=", 1)[1] for p in query.split("&") if p.startswith("name=")), "")
        found = [{"id": USERS[login], "login": login}] if login in USERS else []
        return 200, {"users": found, "total_count": len(found), "offset": 0, "limit": 25}
    if path.endswith("/memberships.json"):
        members = [
            {
                "id": n,
                "project": {"id": 1, "name": "Demo"},
                "user": {"id": uid, "name": name},
                "roles": [{"id": 3, "name": "Manager"}],
            }
            for n, (name, uid) in enumerate(USERS.items())
        ]
        return 200, {"memberships": members, "total_count": len(members), "offset": 0, "limit": 100}
    if path.endswith("issues.json") and method == "POST":
        issue = dict(ISSUE, subject=body.get("issue", {}).get("subject", "x"))
        return 201, {"issue": issue}
    if path == "/issues.json":
        issues = [dict(ISSUE, id=n) for n in range(1, 11)]
        return 200, {"issues": issues, "total_count": 10, "offset": 0, "limit": 50}
    if path == "/projects.json":
        return 200, {
            "projects": [{"id": 1, "identifier": "demo", "name": "Demo", "status": 1}],
            "total_count": 1,
            "offset": 0,
            "limit": 100,
        }
    if path == "/trackers.json":
        return 200, {"trackers": [{"id": 1, "name": "Bug"}]}
    if path == "/issue_statuses.json":
        return 200, {"issue_statuses": [{"id": 1, "name": "New", "is_closed": False}]}
    if path == "/enumerations/issue_priorities.json":
        return 200, {"issue_priorities": [{"id": 2, "name": "Normal", "is_default": True, "active": True}]}
    return 404, {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeRedmine

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        parts = urlsplit(self.path)
        time.sleep(self.server.latency)
        status, payload = _answer(self.command, parts.path, parts.query, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with self.server.lock:
            self.server.requests += 1

    do_GET = do_POST = _serve

    def log_message(self, *_: Any) -> None:
        pass


class FakeRedmine(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, latency: float = 0.05) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency = latency
        self.lock = threading.Lock()
        self.requests = 0

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FakeRedmine:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
        self.server_close()
