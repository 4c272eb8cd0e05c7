"""`check`: every setting and connection, a ✓ or ✗ each, and the fix for every ✗."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.adapters.store.leadership import returning_problem
from app_integration.core.errors import AccountUnavailable, BridgeError, OperatorError, PermissionDenied
from app_integration.core.models import Account
from app_integration.core.settings import Settings

LINK_MODE_NEEDS = {"rewrite": {"edit_others_posts"}, "reply": set(), "off": set()}


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str
    fix: str = ""


def run_check(settings: Settings, env_file: Path | None, out: TextIO = sys.stdout) -> int:
    findings = diagnose(build_bridge(settings, env_file))
    width = max(len(f.check) for f in findings)
    for finding in findings:
        mark = "✓" if finding.ok else "✗"
        print(f"{mark} {finding.check.ljust(width)}  {finding.detail}", file=out)
        if not finding.ok:
            print(f"  {' ' * width}  fix: {finding.fix}", file=out)
    failed = sum(not f.ok for f in findings)
    print(f"\n{len(findings) - failed} passed, {failed} failed", file=out)
    return 1 if failed else 0


def diagnose(bridge: Bridge) -> list[Finding]:
    findings = _database(bridge) + _mattermost(bridge) + _redmine(bridge)
    return findings + _user_map(bridge, {f.check for f in findings if not f.ok}) + _feed(bridge) + _apps(bridge)


def _database(bridge: Bridge) -> list[Finding]:
    """The store: SQLite must be 3.35 or later (RETURNING), whatever else works."""
    engine = bridge.store.engine
    problem = returning_problem(engine)
    if problem is not None:
        return [Finding("Database", False, problem.split(":")[0], problem.split(": ", 1)[1])]
    if engine.dialect.name == "sqlite":
        version = ".".join(map(str, engine.dialect.dbapi.sqlite_version_info))  # type: ignore[union-attr]
        return [Finding("Database", True, f"SQLite {version} at {engine.url.database}")]
    return [Finding("Database", True, engine.dialect.name)]


def _feed(bridge: Bridge) -> list[Finding]:
    """Accounts the change feed skipped in its last cycles: their subscriptions and DMs get nothing."""
    skipped = bridge.subscriptions.skipped_accounts()
    if not skipped:
        return [Finding("Feed accounts", True, "Redmine acts as every subscription owner and recipient")]
    detail = "; ".join(f"{login}: {reason}" for login, reason in sorted(skipped.items()))
    fix = "Unlock these accounts in Redmine, or remove them from the user map; their deliveries are skipped till then."
    return [Finding("Feed accounts", False, f"skipped {detail}", fix)]


def _apps(bridge: Bridge) -> list[Finding]:
    """The original bridge's Apps install sent no JWT; this one requires it, so an install made before the
    switch gets 401 on every call until it is reinstalled with the secret."""
    install = f"/apps install http {bridge.settings.root_url}/manifest.json"
    if bridge.settings.app_jwt_secret is None:
        return [Finding("Apps framework", True, f"off (no APP_JWT_SECRET); to use it, set one and run `{install}`")]
    return [
        Finding(
            "Apps framework",
            True,
            f"calls must carry a JWT signed with APP_JWT_SECRET. An install made for the original bridge gets "
            f"401 until reinstalled: run `{install}` and give the same secret",
        )
    ]


def _probe(check: str, action: Callable[[], str], fix: str) -> Finding:
    try:
        return Finding(check, True, action())
    except BridgeError as error:
        return Finding(check, False, error.user_message, fix)


def _mattermost(bridge: Bridge) -> list[Finding]:
    chat, settings = bridge.chat, bridge.settings
    url = settings.mattermost_base_url

    def ping() -> str:
        chat.ping()
        return url

    reachable = _probe(
        "Mattermost reachable",
        ping,
        f"Check MATTERMOST_URL ({url}) and that Mattermost answers from this host.",
    )
    if not reachable.ok:
        return [reachable]
    token = _probe(
        "Bot token valid",
        lambda: "bot @" + chat.bot().username,
        "Create a bot account (System Console > Integrations > Bot Accounts), create a token for it, "
        "and put it in REDMINE_MATTERMOST_BRIDGE_APP_TOKEN.",
    )
    if not token.ok:
        return [reachable, token]
    return [reachable, token, *_permissions(bridge)]


def _permissions(bridge: Bridge) -> list[Finding]:
    """What the bot may do with its actual roles, from the server's own checks (api4/post.go): posting, DMs,
    reading and listening need only membership; ephemeral notices need the system permission
    create_post_ephemeral; rewriting needs edit_others_posts, which a team or channel role may also grant."""
    mode = bridge.settings.link_mode
    check = f"Bot permissions for LINK_MODE={mode}"
    try:
        granted = bridge.chat.permissions()
    except BridgeError as error:
        return [Finding(check, False, error.user_message, "Give the bot a role it can read, or check the token.")]
    missing = LINK_MODE_NEEDS[mode] - granted
    if missing:
        mode_finding = Finding(
            check,
            False,
            "missing " + ", ".join(sorted(missing)) + " in its system roles",
            "Make the bot a system admin, grant it edit_others_posts (a team or channel scheme role also does, "
            "per channel), or set LINK_MODE=reply.",
        )
    else:
        mode_finding = Finding(check, True, "has " + (", ".join(sorted(LINK_MODE_NEEDS[mode])) or "what it needs"))
    notices = (
        "may post private notices (create_post_ephemeral)"
        if "create_post_ephemeral" in granted
        else "may not post private notices (create_post_ephemeral, system admins by default): authors of "
        "references they cannot see, and unlinked users, are told nothing; links still work"
    )
    basics = "posts, DMs, reads and listens where it is a member; opening dialogs needs no permission"
    return [mode_finding, Finding("Bot notices", True, notices), Finding("Bot basics", True, basics)]


def _redmine(bridge: Bridge) -> list[Finding]:
    url = bridge.settings.redmine_base_url
    try:
        login, is_admin = bridge.gateway.admin_identity()
    except OperatorError:
        return [
            Finding(
                "Redmine admin key",
                False,
                "Redmine refused the key",
                "Put an administrator's API key (My account > API access key) in ADMIN_REDMINE_KEY_API.",
            )
        ]
    except PermissionDenied:
        return [
            Finding(
                "Redmine REST API",
                False,
                "REST is disabled",
                "Enable Administration > Settings > API > 'Enable REST web service'.",
            )
        ]
    except BridgeError as error:
        return [
            Finding(
                "Redmine reachable",
                False,
                error.user_message,
                f"Check REDMINE_URL ({url}) and that Redmine answers from this host.",
            )
        ]
    found = [Finding("Redmine reachable, REST enabled", True, url)]
    if not is_admin:
        return [
            *found,
            Finding(
                "Redmine admin key",
                False,
                f"the key belongs to {login}, not an administrator",
                "Use an administrator's API key: impersonation needs one.",
            ),
        ]
    return [*found, Finding("Redmine admin key", True, f"administrator {login}")]


SHOWN_PROBLEMS = 50  # a company's map: every entry is checked, and this many problems are listed one by one


def _user_map(bridge: Bridge, failed: set[str]) -> list[Finding]:
    """Every entry checked in a few calls (Redmine's users a page of 100 at a time, Mattermost's a hundred names
    a call): a 10,000-person map is reported within seconds. Problems are listed one a line, up to
    SHOWN_PROBLEMS; beyond that, counted."""
    entries = bridge.users.entries()
    if not entries:
        return [
            Finding(
                "User map",
                False,
                "empty",
                "Add `mattermost_username=redmine_login` lines to the env file, or set USER_MAP or USER_MAP_FILE.",
            )
        ]
    findings: list[Finding] = []
    problems: list[Finding] = []
    if not any(name.startswith("Redmine") for name in failed):
        findings.append(_impersonation(bridge, entries[0][1]))
        accounts = bridge.gateway.accounts(login for _, login in entries)
        problems += [p for username, login in entries if (p := _redmine_account(accounts, username, login))]
    if not any(name.startswith(("Mattermost", "Bot token")) for name in failed):
        people = bridge.chat.users_by_usernames([username for username, _ in entries])
        problems += [
            Finding(
                f"Mattermost user @{username}",
                False,
                "not found",
                f"Fix the user map entry for {username}: no such Mattermost username.",
            )
            for username, _ in entries
            if username.lower() not in people
        ]
    findings += problems[:SHOWN_PROBLEMS]
    hidden = len(problems) - SHOWN_PROBLEMS
    summary = f"{len(entries)} entries checked in Redmine and Mattermost; {len(problems)} with a problem"
    if hidden > 0:
        summary += f" ({hidden} not listed above)"
    findings.append(Finding("User map", True, summary))  # each problem is a failure of its own above
    return findings


def _impersonation(bridge: Bridge, login: str) -> Finding:
    try:
        seen = bridge.gateway.current_user(login).login
    except AccountUnavailable:
        return Finding("Impersonation", True, f"works (Redmine refused {login} itself; see below)")
    except BridgeError as error:
        return Finding("Impersonation", False, error.user_message, "Check that the admin key is an administrator's.")
    ok = seen == login
    return Finding("Impersonation", ok, f"acting as {login} gives {seen}", "Check ADMIN_REDMINE_KEY_API.")


def _redmine_account(accounts: dict[str, Account], username: str, login: str) -> Finding | None:
    """A problem with the entry's Redmine account, or None when it is active."""
    check = f"Redmine account {login} (for @{username})"
    account = accounts.get(login.lower())
    if account is None:
        return Finding(check, False, "no such login", f"Create {login} in Redmine or fix the user map.")
    if not account.active:
        return Finding(check, False, "locked", f"Unlock {login} in Redmine or remove it from the user map.")
    return None
