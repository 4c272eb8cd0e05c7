"""Two listener replicas on one real PostgreSQL: one leads; when it is killed mid-burst, the other takes over,
and no `#t` post is left unlinked or linked twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mattermost_server.emulator import wait_for
from tests.conftest import USER_MAP, RedmineInfo


def start_replica(env_file: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app_integration", "listen", "--env-file", str(env_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_a_killed_leader_is_replaced_and_no_post_is_lost_or_doubled(
    emulator: Any, redmine: RedmineInfo, seeded: dict[str, int], postgres_database: str, tmp_path: Path
) -> None:
    env = tmp_path / "replica.env"
    env.write_text(
        f"REDMINE_URL={redmine.url}\nADMIN_REDMINE_KEY_API={redmine.admin_key}\nMATTERMOST_URL={emulator.url}\n"
        f"MATTERMOST_WEBSOCKET_URL={emulator.websocket_url}\n"
        f"REDMINE_MATTERMOST_BRIDGE_APP_TOKEN={emulator.bot_token}\nDATABASE_URL={postgres_database}\n"
        f"USER_MAP={USER_MAP}\nLINK_MODE=rewrite\n"
    )
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    replicas = [start_replica(env, log) for log in logs]
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    issue = seeded["public"]

    def linked(post: dict[str, Any]) -> bool:
        return f"[#t{issue}](" in emulator.posts[post["id"]]["message"]

    try:
        leader_log = wait_for(lambda: next((log for log in logs if "this replica leads" in log.read_text()), None), 60)
        follower_log = next(log for log in logs if log != leader_log)
        wait_for(lambda: "another replica leads" in follower_log.read_text(), 30)
        wait_for(emulator.connected, 30)
        before = [emulator.post_as("alice", channel, f"before {n} #t{issue}") for n in range(5)]
        for post in before:
            wait_for(lambda post=post: linked(post), 30)
        leader = replicas[logs.index(leader_log)]
        os.killpg(leader.pid, signal.SIGKILL)  # mid-burst: no goodbye, no saved position
        killed_at = time.monotonic()
        during = [emulator.post_as("bob", channel, f"during {n} #t{issue}") for n in range(5)]
        for post in during:
            wait_for(lambda post=post: linked(post), 60)
        takeover = time.monotonic() - killed_at
        assert "this replica leads" in follower_log.read_text()
        for post in before + during:
            patches = [r for r in emulator.requests if r.method == "PUT" and post["id"] in r.path and r.status == 200]
            assert len(patches) == 1, (post["message"], len(patches))  # linked exactly once
        assert not [p for p in emulator.posts_in(channel) if p["user_id"] == emulator.bot["id"]]  # no replies
        print(f"takeover: {takeover:.1f} s from the kill to every post made meanwhile linked")
    finally:
        for replica in replicas:
            if replica.poll() is None:
                os.killpg(replica.pid, signal.SIGTERM)
                replica.wait(timeout=30)
