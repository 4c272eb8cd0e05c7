"""`make soak`: two `run` replicas on one real PostgreSQL, the real Redmine, the emulator; for `--minutes` at
once, `#t` posts in a public and a private channel, DM commands, slash commands on both replicas, dialog
batches, and Redmine notes and new tickets in a subscribed project; a fault about every minute, each kind in
turn (benchmarks/soak_rig.py). At the end, once every fault is over and the bridge has had time to catch up,
an exact account per kind: sent, done once, lost, doubled. Written into docs/benchmarks-full.md."""

from __future__ import annotations

import argparse
import atexit
import json
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet

from benchmarks import soak_load, suite
from benchmarks.sandbox import ROOT, free_port, machine, provision
from benchmarks.soak_load import SLASH_TOKEN
from benchmarks.soak_rig import Replica, Rig, fresh_database, through
from tests.fault_proxy import FaultProxy

SETTLE = 420.0  # seconds the bridge gets after the last fault to finish what it owes (retries run 10 minutes)
OUTPUT = ROOT / "docs" / "benchmarks-full.md"
HEADING = "## 12. Soak with faults"


# Effects, counted in the emulator and in Redmine ----------------------------------------------------------
def link_count(emulator: Any, post_id: str, issue_id: int) -> int:
    link = f"[#t{issue_id}]("
    post = emulator.posts[post_id]
    replies = [
        p["message"]
        for p in emulator.posts_in(post["channel_id"])
        if p["user_id"] == emulator.bot["id"] and p["root_id"] == post_id
    ]
    return int(post["message"].count(link)) + sum(link in reply for reply in replies)


def dm_answers(emulator: Any, post: dict[str, Any]) -> int:
    from app_integration.adapters.mattermost.rest_files import ONCE_PROP, once_digest

    key = once_digest(f"answer:{post['id']}")
    return sum(1 for p in emulator.posts_in(post["channel_id"]) if (p.get("props") or {}).get(ONCE_PROP) == key)


def redmine_subjects(redmine_url: str, admin_key: str, token: str) -> dict[str, int]:
    """Subject -> how many issues carry it, among those whose subject has `token`."""
    counts: dict[str, int] = {}
    offset = 0
    while offset < 10_000:
        page = requests.get(
            f"{redmine_url}/issues.json",
            params={"subject": f"~{token}", "status_id": "*", "limit": "100", "offset": str(offset)},
            headers={"X-Redmine-API-Key": admin_key},
            timeout=30,
        ).json()
        for issue in page["issues"]:
            counts[issue["subject"]] = counts.get(issue["subject"], 0) + 1
        offset += 100
        if offset >= page["total_count"]:
            break
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mattermost_server.emulator import MattermostEmulator

    redmine = provision("bridge-prod")
    pg = subprocess.run(
        [str(ROOT / "tests" / "postgres" / "provision_local.sh"), "start"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    admin_url = next(line.split("=", 1)[1] for line in pg.stdout.splitlines() if line.startswith("DATABASE_URL="))
    database_url = fresh_database(admin_url)
    tmp = suite.temp_dir()
    emulator = MattermostEmulator(validate=False).start()
    people = {name: emulator.add_user(name) for name in ("alice", "bob", "carol")}
    public = emulator.add_channel("town-square", [emulator.bot, *people.values()])["id"]
    private = emulator.add_channel("soak-private", [emulator.bot, people["alice"], people["bob"]], kind="P")["id"]
    feed = emulator.add_channel("soak-feed", [emulator.bot, people["alice"]], kind="P")["id"]
    where = urlsplit(redmine.url)
    redmine_proxy = FaultProxy(where.hostname or "127.0.0.1", where.port or 80)
    pg_where = urlsplit(database_url.replace("+psycopg", ""))
    shared = {
        "REDMINE_URL": redmine_proxy.url,
        "ADMIN_REDMINE_KEY_API": redmine.admin_key,
        "MATTERMOST_URL": emulator.url,
        "MATTERMOST_WEBSOCKET_URL": emulator.websocket_url,  # the emulator serves it on a port of its own
        "REDMINE_MATTERMOST_BRIDGE_APP_TOKEN": emulator.bot_token,
        "MATTERMOST_SLASH_TOKENS": SLASH_TOKEN,
        "REQUEST_SIGNING_KEY": secrets.token_hex(32),
        "LINK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "USER_MAP": suite.USER_MAP,
        "LOG_LEVEL": "INFO",
        "BIND_HOST": "127.0.0.1",
        "REDMINE_POLL_SECONDS": "3",
    }
    replicas = []
    for name in ("soak-a", "soak-b"):
        proxy = FaultProxy(pg_where.hostname or "127.0.0.1", pg_where.port or 5432)
        port = free_port()
        env = {
            **shared,
            "DATABASE_URL": through(database_url, proxy, name),
            "PYTHON_BOT_APP_PORT": str(port),
            "APP_ROOT_URL": f"http://127.0.0.1:{port}",
        }
        replicas.append(Replica(name, port, env, tmp / f"{name}.log", proxy))
    rig = Rig(emulator, redmine_proxy, replicas, database_url)
    project = _subscribe(redmine, emulator, feed, people["alice"], shared, database_url, tmp)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped soak still stops its replicas
    for replica in replicas:
        atexit.register(replica.stop)
    for replica in replicas:
        replica.start()
    _wait_ready(replicas)
    ledger = soak_load.Ledger()
    stop = threading.Event()
    began = time.monotonic()
    until = began + args.minutes * 60
    issue = 1  # the seed's public issue
    threads = [
        soak_load.every(
            2.0, until, lambda n: soak_load.post(emulator, ledger, (public, private)[n % 2], n, issue), stop
        ),
        soak_load.every(5.0, until, lambda n: soak_load.dm(emulator, ledger, n), stop),
        soak_load.every(3.0, until, lambda n: soak_load.slash(emulator, ledger, replicas[n % 2], public, n), stop),
        soak_load.every(
            30.0, until, lambda n: soak_load.batch(emulator, ledger, replicas, public, project["identifier"], n), stop
        ),
        soak_load.every(10.0, until, lambda n: soak_load.redmine_change(redmine, ledger, project, n), stop),
    ]
    n = 0
    while time.monotonic() < until - 30:
        wait = began + 30 + 60 * n - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if time.monotonic() >= until - 30:
            break
        kind = Rig.KINDS[n % len(Rig.KINDS)]
        print(f"soak: {time.monotonic() - began:5.0f} s: {kind}", file=sys.stderr)
        rig.inject(kind)
        n += 1
    for thread in threads:
        thread.join(timeout=120)
    ended = time.monotonic()
    try:
        account = _settle(emulator, ledger, redmine, ended)
    finally:
        stop.set()
        for replica in replicas:
            replica.stop()
        redmine_proxy.stop()
        emulator.stop()
    lines = _report(account, rig, args.minutes, redmine.label, began, replicas)
    _write(lines)
    print("\n".join(lines))
    lost = sum(row["lost"] for row in account.values())
    doubled = sum(row["doubled"] for row in account.values())
    return 0 if lost == 0 and doubled == 0 else 1


def _subscribe(
    redmine: Any, emulator: Any, feed: str, owner: dict[str, Any], shared: dict[str, str], db: str, tmp: Path
) -> dict[str, Any]:
    """The feed channel subscribed, in the shared store, to the project of the seed's public issue."""
    from app_integration.adapters.runtime.wiring import build_bridge
    from app_integration.core.events import Subscription
    from app_integration.core.settings import Settings

    found = requests.get(
        f"{redmine.url}/issues/1.json", headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=30
    ).json()["issue"]["project"]
    values: dict[str, Any] = {
        "redmine_url": redmine.url,
        "admin_redmine_key_api": shared["ADMIN_REDMINE_KEY_API"],
        "mattermost_url": emulator.url,
        "redmine_mattermost_bridge_app_token": emulator.bot_token,
        "mattermost_slash_tokens": SLASH_TOKEN,
        "request_signing_key": shared["REQUEST_SIGNING_KEY"],
        "link_encryption_keys": shared["LINK_ENCRYPTION_KEYS"],
        "user_map": suite.USER_MAP,
        "database_url": db,
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    bridge = build_bridge(settings, None)
    bridge.subscriptions.add_subscription(Subscription(feed, owner["id"], int(found["id"]), str(found["name"])))
    identifier = requests.get(
        f"{redmine.url}/projects/{found['id']}.json", headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=30
    ).json()["project"]["identifier"]
    return {"id": int(found["id"]), "identifier": identifier, "channel": feed}


def _wait_ready(replicas: list[Replica]) -> None:
    deadline = time.monotonic() + 120
    for replica in replicas:
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{replica.url}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"{replica.name} did not start: {replica.log.read_text()[-2000:]}")
    while time.monotonic() < deadline and not any(replica.leads() for replica in replicas):
        time.sleep(0.5)


# The account -----------------------------------------------------------------------------------------------
def _count(emulator: Any, ledger: soak_load.Ledger, redmine: Any) -> dict[str, list[int]]:
    """For each kind, the number of effects of each item sent."""
    with emulator.lock:
        feed_posts = [p["message"] for p in emulator.posts.values() if p["user_id"] == emulator.bot["id"]]
        hooks: dict[str, int] = {}
        for reply in emulator.hook_replies:
            hooks[reply["hook"]] = hooks.get(reply["hook"], 0) + 1
    created = redmine_subjects(redmine.url, redmine.admin_key, "Soak re")
    return {
        "post": [link_count(emulator, post_id, issue) for post_id, issue in ledger.items["post"]],
        "dm": [dm_answers(emulator, post) for post in ledger.items["dm"]],
        "slash": [
            (1 if answer not in (None, working) else 0) + hooks.get(hook, 0)
            for hook, answer, working in ledger.items["slash"]
        ],
        "batch line": [created.get(subject, 0) for _, subject in ledger.items["batch line"]],
        "redmine": [
            sum(_mentions(text, what, token) for text in feed_posts) for what, token, _ in ledger.items["redmine"]
        ],
    }


def _mentions(text: str, what: str, token: str) -> int:
    """A new ticket shows once as its card; a note once, in the thread of its ticket's card."""
    marker = f"Soak change {token}" if what == "ticket" else f"Soak note {token}"
    return 1 if marker in text and (what == "note" or not re.search(r"Soak note rc", text)) else 0


def _owed(kind: str, item: Any) -> bool:
    """Whether the item must have an effect: a slash command that got no HTTP answer (its replica was killed or
    stopped) has none to wait for; Mattermost told its person."""
    return not (kind == "slash" and item[1] is None)


def _name(item: Any) -> str:
    """An item of the ledger in a few words: a post's id, or the tuple it was noted as."""
    return str(item["id"]) if isinstance(item, dict) else repr(item)


def _settle(emulator: Any, ledger: soak_load.Ledger, redmine: Any, ended: float) -> dict[str, dict[str, int]]:
    """Waits until every item has its effect (or SETTLE passes), then takes the account."""
    deadline = ended + SETTLE
    while time.monotonic() < deadline:
        counts = _count(emulator, ledger, redmine)
        owed = {
            kind: [c for c, item in zip(values, ledger.items[kind], strict=True) if _owed(kind, item)]
            for kind, values in counts.items()
        }
        if all(all(c >= 1 for c in values) for values in owed.values()):
            break
        time.sleep(10)
    counts = _count(emulator, ledger, redmine)
    details = {
        kind: [f"{_name(item)}: {count}" for item, count in zip(ledger.items[kind], values, strict=True) if count != 1]
        for kind, values in counts.items()
    }
    print("soak: items not done exactly once:", json.dumps(details, indent=1), file=sys.stderr)
    unanswered = sum(1 for _, answer, _ in ledger.items["slash"] if answer is None)
    account = {}
    for kind, values in counts.items():
        row = {
            "sent": len(values),
            "once": values.count(1),
            "lost": values.count(0),
            "doubled": sum(1 for v in values if v > 1),
        }
        if kind == "slash":
            row["lost"] -= unanswered  # no HTTP answer at all: the replica was down; Mattermost said so
            row["no answer"] = unanswered
        account[kind] = row
    return account


def _report(
    account: dict[str, dict[str, int]], rig: Rig, minutes: float, label: str, began: float, replicas: list[Replica]
) -> list[str]:
    names = {
        "post": "`#t` posts (public and private channels): linked",
        "dm": "DM commands: answered in the DM",
        "slash": "slash commands (both replicas): answered",
        "batch line": "dialog batch lines: tickets in Redmine",
        "redmine": "Redmine changes (new tickets, notes): shown in the subscribed channel",
    }
    rows = [
        HEADING,
        "",
        f"`make soak`: {minutes:.0f} minutes; two `run` replicas on one PostgreSQL, {label}, the emulator. A fault",
        "about every minute, in turn: "
        + ", ".join(f"{kind} at {at - began:.0f} s" for at, kind, _ in rig.faults)
        + ".",
        f"Replica starts: {', '.join(f'{r.name} {r.starts}' for r in replicas)}. Counted after every fault was over",
        "and the bridge had caught up (at most 7 minutes).",
        "",
        "| Kind | Sent | Done once | Lost | Doubled | Other |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind, row in account.items():
        other = (
            f"{row['no answer']} got no HTTP answer (their replica was killed or stopped)" if "no answer" in row else ""
        )
        rows.append(f"| {names[kind]} | {row['sent']} | {row['once']} | {row['lost']} | {row['doubled']} | {other} |")
    rows += ["", *machine(), ""]
    return rows


def _write(lines: list[str]) -> None:
    """Replaces the soak's section of docs/benchmarks-full.md (the rest is `make bench-full`'s)."""
    existing = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else "# Benchmarks\n"
    before = existing.split(HEADING, 1)[0].rstrip("\n")
    OUTPUT.write_text(before + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
