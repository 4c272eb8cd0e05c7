"""`make demo` (or `python -m mattermost_server.demo [--keep]` in a checkout): the bridge's main job on a
local sandbox. It lives beside the emulator, not in the package: it needs the sandbox (the emulator and the
Redmine provisioning script), which an installed bridge does not carry.

A real Redmine 5.0.4 (Debian's packages), the Mattermost emulator the tests use, and
the bridge between them: its web app on a loopback port and its listener. A scripted
session then does what people would do, and every reply is printed as they would see it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from app_integration.core.i18n import locale_of
from mattermost_server.demo_transcript import ROOT, TRANSCRIPT, Transcript
from mattermost_server.emulator.sample_files import png

PROVISION = ROOT / "redmine_server" / "provision_local.sh"
# The language everyone in the demo uses in Mattermost, and the channel's: `make demo DEMO_LOCALE=ru`.
DEMO_LOCALE = locale_of(os.environ.get("DEMO_LOCALE"))
# The demo's bridge serves /metrics to whoever holds this, as an operator's Prometheus would.
METRICS_TOKEN = secrets.token_hex(16)
# What the end of the demo shows of /metrics: the families an operator watches first.
SHOWN_METRICS = (
    "bridge_commands_total",
    "bridge_redmine_calls_total",
    "bridge_outbox_delivered_total",
    "bridge_feed_lag_seconds",
    "bridge_listener_backfilled_posts_total",
)
# The demo's own Redmine instance, started from a freshly seeded database every time, so the hundredth
# demo looks like the first and never shows the tests' tickets.
DEMO_ENV = {**os.environ, "REDMINE_LOCAL_INSTANCE": "bridge-demo"}


def provision() -> tuple[dict[str, str], bool]:
    print("Provisioning a local Redmine 5.0.4 from Debian's packages (the first run takes a minute or two)...")
    process = subprocess.Popen(
        [str(PROVISION), "fresh"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=DEMO_ENV
    )
    assert process.stderr is not None and process.stdout is not None
    for line in process.stderr:
        print("  " + line.rstrip(), flush=True)
    values = dict(line.split("=", 1) for line in process.stdout.read().splitlines() if "=" in line)
    if process.wait() != 0 or "REDMINE_URL" not in values:
        raise SystemExit("Redmine could not be provisioned; see the lines above.")
    return values, True


def run_demo(keep: bool = False) -> int:
    sys.path.insert(0, str(ROOT))
    from mattermost_server.emulator import MattermostEmulator

    logging.basicConfig(level=logging.WARNING, format="  (%(name)s) %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    values, started_redmine = provision()
    emulator = MattermostEmulator().start()
    # A server that verifies every change of address: there Mattermost vouches for it, and linking by email works.
    emulator.require_email_verification = True
    # frank is in Redmine but in nobody's user map: he links himself in step 5.
    people = {name: emulator.add_user(name) for name in ("alice", "bob", "carol", "frank")}
    for person in people.values():  # `make demo DEMO_LOCALE=ru`: everyone speaks Russian in Mattermost
        person["locale"] = DEMO_LOCALE
    channel = emulator.add_channel("town-square", [emulator.bot, *people.values()])
    sandbox = Path(tempfile.mkdtemp(prefix="bridge-demo-"))
    try:
        running = _RunningBridge(values, emulator, sandbox)
        with running as (web_url, slash_token):
            _session(web_url, slash_token, emulator, people, channel["id"], values, running.start_feed, running.digest)
            if keep:
                print(f"\n--keep: the bridge runs at {web_url}, Redmine at {values['REDMINE_URL']}. Ctrl-C stops.")
                threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if started_redmine and not keep:
            subprocess.run([str(PROVISION), "stop"], check=False, capture_output=True, env=DEMO_ENV)
    return 0


def _attachments(redmine: str, headers: dict[str, str], issue_id: int) -> list[tuple[str, int]]:
    issue = requests.get(
        f"{redmine}/issues/{issue_id}.json", params={"include": "attachments"}, headers=headers, timeout=30
    ).json()["issue"]
    return [(a["filename"], int(a["filesize"])) for a in issue["attachments"]]


def _actions(answer: dict[str, Any]) -> list[dict[str, Any]]:
    attachments = answer.get("attachments") or answer.get("update", {}).get("props", {}).get("attachments", [])
    return [action for attachment in attachments for action in attachment["actions"]]


def _labels(answer: dict[str, Any]) -> str:
    return "  ".join(f"[{action['name']}]" for action in _actions(answer))


def _button(answer: dict[str, Any], command: str) -> dict[str, Any]:
    """The button that runs `command`: labels are in the reader's language, commands are not."""
    return next(a for a in _actions(answer) if a["integration"]["context"]["action"] == command)


def _click(web: str, user: dict[str, Any], channel: str, button: dict[str, Any]) -> dict[str, Any]:
    from mattermost_server.emulator import trigger_id

    body = {
        "user_id": user["id"],
        "channel_id": channel,
        "context": button["integration"]["context"],
        "trigger_id": trigger_id(user["id"]),
    }
    answer: dict[str, Any] = requests.post(f"{web}/actions", json=body, timeout=30).json()
    return answer


class _RunningBridge:
    """The bridge's web app and listener, wired to the local Redmine and the emulator."""

    def __init__(self, values: dict[str, str], emulator: Any, sandbox: Path) -> None:
        self._values, self._emulator, self._sandbox = values, emulator, sandbox

    def __enter__(self) -> tuple[str, str]:
        from werkzeug.serving import make_server

        from app_integration.adapters.mattermost.posts.post_listener import PostListener
        from app_integration.adapters.runtime.web_app import create_app
        from app_integration.adapters.runtime.wiring import build_bridge
        from app_integration.adapters.store.key_vault import new_key
        from app_integration.core.settings import Settings
        from tests.waiting import wait_for

        holder: dict[str, Any] = {}
        self._server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
        web_url = f"http://127.0.0.1:{self._server.server_port}"
        slash_token = secrets.token_hex(16)
        values: dict[str, Any] = dict(
            redmine_url=self._values["REDMINE_URL"],
            admin_redmine_key_api=self._values["REDMINE_ADMIN_KEY"],
            mattermost_url=self._emulator.url,
            mattermost_websocket_url=self._emulator.websocket_url,
            redmine_mattermost_bridge_app_token=self._emulator.bot_token,
            mattermost_slash_tokens=slash_token,
            request_signing_key=secrets.token_hex(32),
            app_jwt_secret=secrets.token_hex(32),
            link_encryption_keys=new_key(),
            # Creates one at a time, so ticket numbers follow the lines and every demo prints the same ones.
            redmine_concurrency=1,
            user_map="alice=alice,bob=bob,carol=carol",
            default_locale=DEMO_LOCALE,
            app_root_url=web_url,
            database_url=f"sqlite:///{self._sandbox / 'bridge.sqlite3'}",
            metrics_token=METRICS_TOKEN,
        )
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        bridge = build_bridge(settings, None)
        bridge.users.sync_map(bridge.chat)  # what `serve` does once at start
        holder["app"] = create_app(settings, bridge)
        self._bridge = bridge
        self._runner: Any = None
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._listener = PostListener(bridge, self._emulator.websocket_url).start()
        wait_for(self._emulator.connected)
        return web_url, slash_token

    def start_feed(self) -> None:
        """Redmine's changes back into the chat, read every second here (30 s by default)."""
        from app_integration.adapters.runtime.update_runner import UpdateRunner

        self._runner = UpdateRunner(self._bridge, poll_seconds=1.0).start()

    def digest(self) -> None:
        """Tomorrow's morning digest, as the leader will send it (today's went out when the feed started), with
        everyone's digest time moved to midnight, every day: a demo cannot wait for nine o'clock."""
        from app_integration.core.updates.morning_digest import send_morning_digests

        subs, midnight = self._bridge.subscriptions, {"digest_time": dt.time(0, 0), "weekends": True}
        for link in self._bridge.services.store.all_links():
            subs.save_prefs(link.chat_user_id, dataclasses.replace(subs.prefs(link.chat_user_id), **midnight))
        tomorrow = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(0, 30), dt.UTC)
        send_morning_digests(self._bridge.services, tomorrow)

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            self._runner.stop()
        self._listener.stop()
        self._server.shutdown()


def _session(
    web: str,
    token: str,
    emulator: Any,
    people: dict[str, Any],
    channel: str,
    values: dict[str, str],
    start_feed: Callable[[], None],
    digest: Callable[[], None],
) -> None:
    from mattermost_server.demo_company import company_scene
    from mattermost_server.demo_daily import daily_scene
    from mattermost_server.emulator import trigger_id
    from tests.waiting import wait_for

    redmine = values["REDMINE_URL"]
    log = Transcript()

    def slash(who: str, text: str) -> dict[str, Any]:
        form = {
            "token": token,
            "user_id": people[who]["id"],
            "user_name": who,
            "channel_id": channel,
            "text": text,
            "trigger_id": trigger_id(people[who]["id"]),
            "command": "/integration_with_redmine",
        }
        log.says(f"@{who} types", f"/integration_with_redmine {text}")
        reply: dict[str, Any] = requests.post(f"{web}/slash", data=form, timeout=30).json()
        return reply

    def dm(who: str) -> None:
        post = emulator.dm_posts(who)[-1]
        attachment = (post.get("props") or {}).get("attachments", [{}])[0]
        text = "\n\n".join(filter(None, [attachment.get("title") or attachment.get("pretext"), attachment.get("text")]))
        log.says(f"Bot, in a DM to @{who}", text or post["message"])

    log.step("1. Help, generated from the command registry")
    log.says("Bot (only @alice sees this)", slash("alice", "app_info")["text"])

    log.step("2. Three tickets from a meeting, through the create_tickets dialog")
    slash("alice", "create_tickets")
    opened = emulator.dialogs[-1]
    log.says(
        "Mattermost opens a dialog",
        f"{opened['dialog']['title']}: " + ", ".join(e["display_name"] for e in opened["dialog"]["elements"]),
    )
    due = dt.date.today() + dt.timedelta(days=14)
    lines = (
        f"1. Write the quarterly report @bob {due:%d.%m.%y}\n2. Book the board room @carol\n"
        f"3. Send the minutes @alice {due:%d.%m.%Y}"
    )
    log.says("@alice fills in", f"Project: Demo\n\n```\n{lines}\n```")
    body = {
        "type": "dialog_submission",
        "callback_id": opened["dialog"]["callback_id"],
        "state": opened["dialog"]["state"],
        "user_id": people["alice"]["id"],
        "channel_id": channel,
        "submission": {"option": "demo", "message": lines},
        "cancelled": False,
    }
    requests.post(f"{web}/dialog", json=body, timeout=60).raise_for_status()
    log.says("Bot (only @alice sees this)", emulator.ephemerals[-1]["post"]["message"])
    dm("alice")

    log.step("3. Tickets for me, as @bob")
    log.says("Bot (only @bob sees this)", slash("bob", "tickets_for_me")["text"])
    dm("bob")

    log.step("4. Tickets I created, as @alice")
    log.says("Bot (only @alice sees this)", slash("alice", "my_tickets")["text"])
    dm("alice")

    log.step("5. A new colleague links himself to Redmine, by his email")
    offer = slash("frank", "connect")
    log.says("Bot (only @frank sees this)", offer["text"] + "  " + _labels(offer))
    preview = _click(web, people["frank"], channel, _button(offer, "connect_email"))
    log.says(
        "@frank clicks [Link by my email]; the prompt becomes", preview["update"]["message"] + "  " + _labels(preview)
    )
    done = _click(web, people["frank"], channel, _button(preview, "connect_email_confirm"))
    log.says("@frank clicks [Confirm]", done["update"]["message"])
    log.says("Bot (only @frank sees this)", slash("frank", "whoami")["text"])

    log.step("6. #t references in a channel become links")
    ids = [int(n) for n in re.findall(r"/issues/(\d+)\)", emulator.ephemerals[-1]["post"]["message"])][:2] or [1]
    text = f"Standup: #t{ids[0]} is blocked by #t{ids[-1]}; the old note `#t{ids[0]}` stays as code."
    post = emulator.post_as("carol", channel, text)
    log.says("@carol posts in ~town-square", text)
    wait_for(lambda: emulator.posts[post["id"]]["message"] != text)
    log.says("...and a moment later the post's Markdown reads", emulator.posts[post["id"]]["message"], raw=True)

    log.step("7. The channel subscribes to Demo; a change in Redmine comes back as a thread")
    start_feed()
    emulator.channels[channel]["admins"] = {people["alice"]["id"]: "channel_admin"}
    slash("alice", "subscribe")
    opened = emulator.dialogs[-1]
    submission: dict[str, Any] = {"projects": "demo", "subprojects": True, "status": "any", "mine": False}
    submission.update({e["name"]: True for e in opened["dialog"]["elements"] if e["name"].startswith("event_")})
    log.says("@alice fills in the subscribe dialog", "Project: Demo, every kind of event")
    body = {**body, "callback_id": "subscribe", "state": opened["dialog"]["state"], "submission": submission}
    requests.post(f"{web}/dialog", json=body, timeout=60).raise_for_status()
    log.says("Bot (only @alice sees this)", emulator.ephemerals[-1]["post"]["message"])
    time.sleep(2.5)  # the feed's first cycle marks where it starts; Redmine's clock has whole seconds
    change = {"issue": {"status_id": 2, "notes": "Started on it: the numbers are in, @alice."}}
    headers = {"X-Redmine-API-Key": values["REDMINE_ADMIN_KEY"], "X-Redmine-Switch-User": "bob"}
    alice_dms = len(emulator.dm_posts("alice"))
    requests.put(f"{redmine}/issues/{ids[0]}.json", json=change, headers=headers, timeout=30).raise_for_status()
    log.says("@bob, in Redmine", f"moves #{ids[0]} to In Progress and comments: {change['issue']['notes']}")
    thread = wait_for(lambda: len(emulator.posts_in(channel)) >= 3 and emulator.posts_in(channel)[-2:], timeout=30)
    log.says("Bot posts the ticket's card in ~town-square", thread[0]["message"], raw=True)
    log.says("...and replies in its thread", thread[1]["message"], raw=True)
    wait_for(lambda: len(emulator.dm_posts("alice")) > alice_dms, timeout=15)
    log.says("Bot, in a DM to @alice", emulator.dm_posts("alice")[-1]["message"], raw=True)

    log.step("8. A ticket's card, and a button on it")
    card = slash("alice", f"ticket {ids[0]}")
    log.says("Bot (only @alice sees this)", card["text"] + "\n\n" + _labels(card))
    taken = _click(web, people["alice"], channel, _button(card, "ticket_take"))
    log.says("@alice clicks [Take it]; the card becomes", taken["update"]["message"])

    log.step("9. A ticket from any post, its screenshot included: the ticket emoji")
    shot = emulator.upload_as("carol", channel, "projector.png", png(64, 48, (40, 40, 200)), "image/png")
    idea = emulator.post_as(
        "carol", channel, "The projector in room 3 flickers\nIt started after the update.", files=(shot,)
    )
    log.says("@carol posts in ~town-square, with a screenshot", idea["message"] + "\n📎 projector.png")
    before = len(emulator.dm_posts("bob"))
    emulator.react_as("bob", idea["id"], "ticket")
    offer = wait_for(lambda: emulator.dm_posts("bob")[before:], timeout=15)[0]
    buttons = offer["props"]["attachments"][0]["actions"]
    log.says(
        "@bob reacts with :ticket:; Bot, in a DM to @bob",
        offer["message"] + "  " + _labels({"attachments": [{"actions": buttons}]}),
    )
    _click(web, people["bob"], offer["channel_id"], buttons[0])  # the click comes from the DM it is in
    form = emulator.dialogs[-1]["dialog"]
    defaults = {e["name"]: e.get("default") for e in form["elements"]}
    log.says(
        "Mattermost opens a dialog, prefilled",
        f"Subject: {defaults['subject']}\nDescription: {defaults['description']}",
    )
    submission = {"projects": "demo", "trackers": "1", "status": "1", "priority": "2", "done": "0"}
    submission.update(subject=defaults["subject"], description=defaults["description"])
    made = {**body, "callback_id": form["callback_id"], "state": form["state"], "submission": submission}
    made.update(user_id=people["bob"]["id"], channel_id=offer["channel_id"])
    requests.post(f"{web}/dialog", json=made, timeout=60).raise_for_status()
    announced = wait_for(lambda: [p for p in emulator.posts_in(channel) if p["root_id"] == idea["id"]], timeout=15)
    log.says("...and the bot answers in the post's thread", announced[0]["message"], raw=True)
    made_id = int(re.findall(r"issues/(\d+)", announced[0]["message"])[0])
    files = _attachments(redmine, headers, made_id)
    log.says(f"Redmine: #{made_id}'s attachments", "\n".join(f"{name}: {size} bytes" for name, size in files))

    log.step("10. A whole thread into a ticket that exists")
    for who, text in (("bob", "Same in room 4 since Monday."), ("carol", "The log says the HDMI link drops.")):
        emulator.post_as(who, channel, text, root_id=idea["id"])
    log.says(
        "@bob and @carol reply in the post's thread", "Same in room 4 since Monday.\nThe log says the HDMI link drops."
    )
    added = slash("alice", f"attach {idea['id']} {ids[0]} thread")
    log.says(f"@alice: /integration_with_redmine attach <the post> {ids[0]} thread", added["text"])
    journal = requests.get(
        f"{redmine}/issues/{ids[0]}.json", params={"include": "journals"}, headers=headers, timeout=30
    ).json()["issue"]["journals"][-1]
    log.says(f"Redmine: the note on #{ids[0]}", journal["notes"])

    company_scene(
        log, web, slash, lambda user, room, button: _click(web, user, room, button), emulator, people, channel
    )
    daily_scene(log, slash, emulator, ids[0], digest)

    log.step("What an operator's Prometheus sees")
    scraped = requests.get(f"{web}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    scraped.raise_for_status()
    shown = [line for line in scraped.text.splitlines() if line.startswith(SHOWN_METRICS) and not line.endswith(" 0.0")]
    log.says(
        f"GET /metrics (Authorization: Bearer …), {len(scraped.text.splitlines())} lines; a few",
        "\n".join(shown),
        raw=True,
    )

    log.step("Open the tickets in Redmine")
    print(f"\n{redmine}/projects/demo/issues  (log in as alice / alice-password)")
    log.parts.append(f"\nRedmine: {redmine}/projects/demo/issues\n")
    log.save()
    print(f"The session is saved as Markdown in {TRANSCRIPT.relative_to(ROOT)}.")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mattermost_server.demo", description="The bridge on a sandbox.")
    parser.add_argument("--keep", action="store_true", help="leave Redmine and the bridge running afterwards")
    raise SystemExit(run_demo(keep=parser.parse_args().keep))
