"""A create whose answer is lost: Redmine made the ticket, the bridge never heard. It must look before it
says "not created", and never invite a resend that would duplicate the ticket."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.core.errors import OutcomeUnknown
from app_integration.core.models import IssueDraft
from tests.conftest import RedmineInfo, both_redmines, issues_matching


@pytest.fixture(params=["webrick-sqlite", "puma-postgresql"])
def redmine(request: pytest.FixtureRequest) -> RedmineInfo:
    """Concurrency decides these tests' truth: they run on SQLite under WEBrick, one write at a time, and on
    PostgreSQL under Puma, where creates truly overlap."""
    return both_redmines(request)


class LosingProxy:
    """Forwards to the real Redmine, but drops the answer to every issue create after Redmine made it.
    With `lookups_fail`, the search that follows fails too (503)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.lookups_fail = False
        self.hold_create = 0.0  # seconds a create waits here before it reaches Redmine
        self.after_create: Callable[[], None] = lambda: None  # runs once Redmine made it, before the answer is lost
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _forward(self) -> requests.Response:
                length = int(self.headers.get("Content-Length") or 0)
                headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-redmine")}
                headers["Content-Type"] = self.headers.get("Content-Type", "application/json")
                return requests.request(
                    self.command,
                    proxy.target + self.path,
                    data=self.rfile.read(length) if length else None,
                    headers=headers,
                    timeout=10,
                )

            def do_POST(self) -> None:
                time.sleep(proxy.hold_create)
                self._forward()
                proxy.after_create()
                self.close_connection = True  # Redmine answered; the bridge never hears it

            def do_GET(self) -> None:
                if proxy.lookups_fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = self._forward()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> LosingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()


@pytest.fixture
def proxy(redmine: RedmineInfo) -> Iterator[LosingProxy]:
    with LosingProxy(redmine.url) as running:
        yield running


def count(redmine: RedmineInfo, subject: str) -> int:
    return len([i for i in issues_matching(redmine, subject) if i["subject"] == subject])


def test_a_lost_answer_is_found_and_reported_as_created(proxy: LosingProxy, redmine: RedmineInfo) -> None:
    gateway = RedmineGateway(proxy.url, redmine.admin_key, read_timeout=5)
    subject = f"Lost answer {uuid.uuid4().hex[:8]}"
    issue = gateway.create_issue("alice", IssueDraft(project="demo", subject=subject))
    assert issue.subject == subject and issue.author.name == "Alice Anders"
    assert count(redmine, subject) == 1


def test_an_unconfirmed_create_says_it_may_exist(proxy: LosingProxy, redmine: RedmineInfo) -> None:
    proxy.lookups_fail = True
    gateway = RedmineGateway(proxy.url, redmine.admin_key, read_timeout=5)
    subject = f"Unconfirmed {uuid.uuid4().hex[:8]}"
    with pytest.raises(OutcomeUnknown) as caught:
        gateway.create_issue("alice", IssueDraft(project="demo", subject=subject))
    assert "may have been created" in caught.value.user_message
    assert "author_id=me" in caught.value.user_message
    assert "again" not in caught.value.user_message
    assert count(redmine, subject) == 1  # it was, indeed


def test_a_batch_with_an_unconfirmed_line_never_calls_it_not_created(
    proxy: LosingProxy, redmine: RedmineInfo, emulator: Any, tmp_path: Any
) -> None:
    from app_integration.adapters.runtime.wiring import build_bridge
    from app_integration.core.commands.ticket_batch import create_batch
    from app_integration.core.models import CommandContext
    from tests.conftest import bridge_settings

    proxy.lookups_fail = False
    bridge = build_bridge(
        bridge_settings(proxy.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path), None
    )
    alice = emulator.user("alice")
    context = CommandContext(user=bridge.chat.user(alice["id"]), channel_id="", surface="slash")  # type: ignore[arg-type]
    tag = uuid.uuid4().hex[:8]
    reply = create_batch(bridge.services, context, "demo", f"1. One {tag} @bob\n2. Two {tag} @carol")
    assert "Created 2 tickets" in reply.text and "Not created" not in reply.text
    assert count(redmine, f"One {tag}") == 1 and count(redmine, f"Two {tag}") == 1


def test_a_create_redmine_makes_after_the_timeout_is_never_sent_twice(proxy: LosingProxy, redmine: RedmineInfo) -> None:
    """Held 2.5 s on its way, the create reaches Redmine after the bridge's 1 s read timeout. A lookup at once
    finds nothing, since nothing is there yet; sending it again would make it twice. The bridge looks again
    later instead, and finds the one ticket."""
    proxy.hold_create = 2.5
    gateway = RedmineGateway(proxy.url, redmine.admin_key, read_timeout=1)
    subject = f"Late {uuid.uuid4().hex[:8]}"
    issue = gateway.create_issue("alice", IssueDraft(project="demo", subject=subject))
    assert issue.subject == subject
    time.sleep(3)  # any second create the bridge had sent would have reached Redmine by now
    assert count(redmine, subject) == 1


def test_a_create_still_missing_after_the_timeout_may_exist(proxy: LosingProxy, redmine: RedmineInfo) -> None:
    """Held longer than the bridge looks: the reply says it may have been created, and it was, once."""
    proxy.hold_create = 12.0
    gateway = RedmineGateway(proxy.url, redmine.admin_key, read_timeout=1)
    subject = f"Later {uuid.uuid4().hex[:8]}"
    with pytest.raises(OutcomeUnknown, match="may have been created"):
        gateway.create_issue("alice", IssueDraft(project="demo", subject=subject))
    deadline = time.monotonic() + 20
    while count(redmine, subject) == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert count(redmine, subject) == 1


def test_a_lost_answer_is_found_behind_a_page_of_newer_tickets(proxy: LosingProxy, redmine: RedmineInfo) -> None:
    """A busy batch: by the time the bridge looks for the ticket whose answer it lost, the same person made 30
    more. The lookup still finds it (by subject), instead of calling it unconfirmed."""
    session = requests.Session()
    headers = {"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": "alice"}
    tag = uuid.uuid4().hex[:8]

    def thirty_newer() -> None:
        for n in range(30):
            body = {"issue": {"project_id": "demo", "subject": f"Newer {tag} {n}"}}
            session.post(f"{redmine.url}/issues.json", json=body, headers=headers, timeout=30).raise_for_status()

    proxy.after_create = thirty_newer
    gateway = RedmineGateway(proxy.url, redmine.admin_key, read_timeout=8)
    subject = f"Behind a page {tag}"
    issue = gateway.create_issue("alice", IssueDraft(project="demo", subject=subject))
    assert issue.subject == subject
    assert count(redmine, subject) == 1
