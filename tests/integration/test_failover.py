"""Two `run` replicas on one real PostgreSQL: both serve the web, one leads the listener and the change feed;
when it is killed mid-burst, the other takes over, no `#t` post is left unlinked or linked twice, and no
Redmine change is lost or posted twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from app_integration.adapters.store.state_store import BridgeStore
from app_integration.adapters.store.subscription_store import SubscriptionTables
from app_integration.core.events import Subscription
from tests.conftest import SIGNING_KEY, SLASH_TOKEN, USER_MAP, RedmineInfo
from tests.waiting import wait_for


def start_replica(env_file: Path, log: Path, port: int) -> subprocess.Popen[bytes]:
    """`run`: serve and listen as children, as in production; its own web port, one shared database."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app_integration", "run", "--env-file", str(env_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHON_BOT_APP_PORT": str(port)},
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def note(redmine: RedmineInfo, issue: int, text: str) -> None:
    headers = {"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": "bob"}
    body = {"issue": {"notes": text}}
    requests.put(f"{redmine.url}/issues/{issue}.json", json=body, headers=headers, timeout=15).raise_for_status()


def test_a_killed_leader_is_replaced_and_nothing_is_lost_or_doubled(
    emulator: Any, redmine: RedmineInfo, seeded: dict[str, int], postgres_database: str, tmp_path: Path
) -> None:
    env = tmp_path / "replica.env"
    env.write_text(
        f"REDMINE_URL={redmine.url}\nADMIN_REDMINE_KEY_API={redmine.admin_key}\nMATTERMOST_URL={emulator.url}\n"
        f"MATTERMOST_WEBSOCKET_URL={emulator.websocket_url}\n"
        f"REDMINE_MATTERMOST_BRIDGE_APP_TOKEN={emulator.bot_token}\nDATABASE_URL={postgres_database}\n"
        f"USER_MAP={USER_MAP}\nLINK_MODE=rewrite\nREDMINE_POLL_SECONDS=1\n"
        f"MATTERMOST_SLASH_TOKENS={SLASH_TOKEN}\nREQUEST_SIGNING_KEY={SIGNING_KEY}\n"
    )
    store = BridgeStore(postgres_database)
    store.migrate()
    watched = emulator.add_channel("watch", [emulator.bot, emulator.user("alice")], kind="P")["id"]
    demo = requests.get(
        f"{redmine.url}/projects/demo.json", headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=15
    ).json()["project"]["id"]
    SubscriptionTables(store.engine).add_subscription(Subscription(watched, emulator.user("alice")["id"], demo, "Demo"))
    logs, ports = [tmp_path / "a.log", tmp_path / "b.log"], [free_port(), free_port()]
    replicas = [start_replica(env, log, port) for log, port in zip(logs, ports, strict=True)]
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    issue = seeded["public"]

    def linked(post: dict[str, Any]) -> bool:
        return f"[#t{issue}](" in emulator.posts[post["id"]]["message"]

    def replies(text: str) -> int:
        return sum(text in p["message"] for p in emulator.posts_in(watched))

    try:
        leader_log = wait_for(lambda: next((log for log in logs if "this replica leads" in log.read_text()), None), 60)
        follower_log = next(log for log in logs if log != leader_log)
        wait_for(lambda: "another replica leads" in follower_log.read_text(), 30)
        for port in ports:  # every replica serves the web requests
            wait_for(lambda port=port: _answers(f"http://127.0.0.1:{port}/healthz"), 30)
        wait_for(emulator.connected, 30)
        wait_for(lambda: store.load_state("redmine_feed"), 30)  # the feed has its starting point
        time.sleep(1.1)  # Redmine's clock has whole seconds
        tag = uuid.uuid4().hex[:6]
        before = [emulator.post_as("alice", channel, f"before {n} #t{issue}") for n in range(5)]
        note(redmine, issue, f"before {tag}")
        for post in before:
            wait_for(lambda post=post: linked(post), 30)
        wait_for(lambda: replies(f"before {tag}"), 30)
        leader = replicas[logs.index(leader_log)]
        os.killpg(leader.pid, signal.SIGKILL)  # mid-burst: no goodbye, no saved position
        killed_at = time.monotonic()
        during = [emulator.post_as("bob", channel, f"during {n} #t{issue}") for n in range(5)]
        for n in range(3):
            note(redmine, issue, f"during {tag} {n}")
        for post in during:
            wait_for(lambda post=post: linked(post), 60)
        for n in range(3):
            wait_for(lambda n=n: replies(f"during {tag} {n}"), 60)
        takeover = time.monotonic() - killed_at
        assert "this replica leads" in follower_log.read_text()
        for post in before + during:
            patches = [r for r in emulator.requests if r.method == "PUT" and post["id"] in r.path and r.status == 200]
            assert len(patches) == 1, (post["message"], len(patches))  # linked exactly once
        assert not [p for p in emulator.posts_in(channel) if p["user_id"] == emulator.bot["id"]]  # no replies
        # The marker: one more change, after all the others. The new leader sends a channel's rows in order, so
        # once its reply is in, any second copy of an earlier one would be too.
        note(redmine, issue, f"marker {tag}")
        wait_for(lambda: replies(f"marker {tag}"), 60)
        assert [replies(f"before {tag}"), *(replies(f"during {tag} {n}") for n in range(3))] == [1, 1, 1, 1]
        print(f"takeover: {takeover:.1f} s from the kill to every post and change made meanwhile delivered")
    finally:
        for replica in replicas:
            if replica.poll() is None:
                os.killpg(replica.pid, signal.SIGTERM)
                replica.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
