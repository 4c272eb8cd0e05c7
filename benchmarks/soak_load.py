"""The soak's load: what people do in the chat and in Redmine while the faults come, each act noted in a ledger
that the account later checks against what the bridge did."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from benchmarks import suite
from benchmarks.soak_rig import Replica

SLASH_TOKEN = "soak-token"  # noqa: S105 - the emulator's slash command, on loopback


class Ledger:
    """What the soak sent, by kind, with how to count each one's effects."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, list[Any]] = {"post": [], "dm": [], "slash": [], "batch line": [], "redmine": []}

    def add(self, kind: str, item: Any) -> None:
        with self.lock:
            self.items[kind].append(item)


def every(period: float, until: float, work: Callable[[int], None], stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        n = 0
        while time.monotonic() < until and not stop.is_set():
            started = time.monotonic()
            try:
                work(n)
            except Exception as error:  # the soak goes on; what failed shows in the account
                print(f"soak: load step failed: {error!r}", file=sys.stderr)
            n += 1
            stop.wait(max(0.0, period - (time.monotonic() - started)))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


# The load --------------------------------------------------------------------------------------------------
def post(emulator: Any, ledger: Ledger, channel: str, n: int, issue: int) -> None:
    post = emulator.post_as("alice", channel, f"soak {n} about #t{issue}")
    ledger.add("post", (post["id"], issue))


def dm(emulator: Any, ledger: Ledger, n: int) -> None:
    dm = emulator.direct_channel(emulator.bot["id"], emulator.user("bob")["id"])["id"]
    # An answer posted in the DM itself, keyed by the post it answers (tickets_for_me would answer with a list).
    ledger.add("dm", emulator.post_as("bob", dm, "find Seeded"))


def slash(emulator: Any, ledger: Ledger, replica: Replica, channel: str, n: int) -> None:
    from app_integration.adapters.mattermost.commands import classic_surface

    hook = uuid.uuid4().hex[:26]
    form = {**suite.slash_form(emulator, "tickets_for_me"), "token": SLASH_TOKEN, "channel_id": channel}
    form["response_url"] = f"{emulator.url}/hooks/commands/{hook}"
    try:
        answer = requests.post(f"{replica.url}/slash", data=form, timeout=30).json().get("text", "")
    except (requests.RequestException, ValueError):
        answer = None  # as Mattermost: no answer within its 30 s
    ledger.add("slash", (hook, answer, classic_surface.WORKING))


def batch(emulator: Any, ledger: Ledger, replicas: list[Replica], channel: str, project: str, n: int) -> None:
    """alice opens the form on one replica and submits it to the other; a submission that gets no answer is
    sent again, as a person presses Submit again, until one is answered (within the load's time)."""
    tag = f"sk{uuid.uuid4().hex[:8]}"
    subjects = [f"Soak report {tag}a", f"Soak review {tag}b"]
    lines = f"1. {subjects[0]} @bob 31.12.27\n2. {subjects[1]} @carol 2027-01-15"
    for subject in subjects:
        ledger.add("batch line", (tag, subject))
    from mattermost_server.emulator import trigger_id

    alice = emulator.user("alice")
    opened = None
    for attempt in range(6):
        count = len(emulator.dialogs)
        form = {**suite.slash_form(emulator, "create_tickets"), "token": SLASH_TOKEN, "channel_id": channel}
        form["trigger_id"] = trigger_id(alice["id"])
        with contextlib.suppress(requests.RequestException):
            requests.post(f"{replicas[(n + attempt) % 2].url}/slash", data=form, timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(emulator.dialogs) == count:
            time.sleep(0.2)
        if len(emulator.dialogs) > count:
            opened = emulator.dialogs[-1]
            break
        time.sleep(5)
    if opened is None:
        return  # never opened: the person saw "try again"; nothing was sent
    body = {
        "type": "dialog_submission",
        "callback_id": opened["dialog"]["callback_id"],
        "state": opened["dialog"]["state"],
        "user_id": alice["id"],
        "channel_id": channel,
        "team_id": emulator.team_id,
        "cancelled": False,
        "submission": {"option": project, "message": lines},
    }
    for attempt in range(10):
        try:
            answered = requests.post(f"{replicas[(n + attempt + 1) % 2].url}/dialog", json=body, timeout=30)
            if answered.status_code == 200 and not answered.content.strip():
                return  # accepted; its result is told in the channel
        except requests.RequestException:
            pass
        time.sleep(10)


def redmine_change(redmine: Any, ledger: Ledger, project: dict[str, Any], n: int) -> None:
    """Straight to Redmine (not through the bridge's proxy): a new ticket, or a note on the last one."""
    headers = {"X-Redmine-API-Key": redmine.admin_key}
    token = f"rc{uuid.uuid4().hex[:8]}"
    made = [item for item in ledger.items["redmine"] if item[0] == "ticket"]
    if n % 2 == 0 or not made:
        answer = requests.post(
            f"{redmine.url}/issues.json",
            json={"issue": {"project_id": project["id"], "subject": f"Soak change {token}", "tracker_id": 1}},
            headers=headers,
            timeout=30,
        )
        answer.raise_for_status()
        ledger.add("redmine", ("ticket", token, answer.json()["issue"]["id"]))
    else:
        issue_id = made[-1][2]
        requests.put(
            f"{redmine.url}/issues/{issue_id}.json",
            json={"issue": {"notes": f"Soak note {token}"}},
            headers=headers,
            timeout=30,
        ).raise_for_status()
        ledger.add("redmine", ("note", token, issue_id))
