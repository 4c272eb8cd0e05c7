"""REDMINE_MAX_CALLS bounds the Redmine requests one process has in flight, whatever sent them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app_integration.adapters.redmine import http_engine
from app_integration.adapters.redmine.gateway import RedmineGateway


class CountingRedmine:
    """Answers /users/current.json after 50 ms, and notes the most requests it ever had at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                with lock:
                    owner.now += 1
                    owner.most = max(owner.most, owner.now)
                time.sleep(0.05)
                with lock:
                    owner.now -= 1
                body = json.dumps({"user": {"id": 1, "login": "alice", "firstname": "A", "lastname": "B"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def counted() -> Iterator[CountingRedmine]:
    counting = CountingRedmine()
    threading.Thread(target=counting.server.serve_forever, daemon=True).start()
    yield counting
    counting.server.shutdown()
    http_engine.bound_calls(8)


@pytest.mark.parametrize("limit", [1, 3])
def test_a_burst_from_many_threads_never_exceeds_the_bound(counted: CountingRedmine, limit: int) -> None:
    http_engine.bound_calls(limit)
    gateway = RedmineGateway(counted.url, "key")
    with ThreadPoolExecutor(12) as pool:
        logins = list(pool.map(lambda n: gateway.current_user("alice").login, range(24), timeout=60))
    assert logins == ["alice"] * 24
    assert counted.most == limit


def test_without_a_tight_bound_the_same_burst_overlaps(counted: CountingRedmine) -> None:
    """The control: the server does see many at once when the bound allows it."""
    http_engine.bound_calls(64)
    gateway = RedmineGateway(counted.url, "key")
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda n: gateway.current_user("alice"), range(24), timeout=60))
    assert counted.most > 3
