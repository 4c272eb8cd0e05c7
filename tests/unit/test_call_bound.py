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


def test_strain_halves_the_window_and_good_answers_grow_it_back() -> None:
    bound = http_engine.CallBound(8)
    for _ in range(8):
        assert bound.acquire(wait=0.1)
    assert not bound.acquire(wait=0.05)  # the limit
    bound.release(strained=True)  # a 5xx: 7 in flight, and the window is 4
    assert bound.window == 4
    assert not bound.acquire(wait=0.05)
    for _ in range(4):
        bound.release(strained=False)  # 3 in flight
    assert bound.acquire(wait=0.1)  # a slot under the window again
    assert 4 < bound.window < 5
    for _ in range(4):
        bound.release(strained=False)  # none in flight
    for _ in range(200):
        assert bound.acquire(wait=0.1)
        bound.release(strained=False)
    assert bound.window == 8  # never above the setting


def test_a_stalling_redmine_gets_one_request_at_a_time() -> None:
    bound = http_engine.CallBound(8)
    for _ in range(4):
        bound.acquire(wait=0.1)
        bound.release(strained=True)
    assert bound.window == 1
    assert bound.acquire(wait=0.1)
    assert not bound.acquire(wait=0.05)
