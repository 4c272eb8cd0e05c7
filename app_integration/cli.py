"""`python -m app_integration`: serve, listen, run, check, users, rotate-keys, new-key."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app_integration.adapters.runtime.configuration import env_file_problem, load_configuration
from app_integration.core.settings import ENV_FILE_VARIABLE, Settings, SettingsError, env_file_path
from app_integration.logging_setup import configure_logging

log = logging.getLogger("app_integration")
DEMO_ELSEWHERE = (
    "The demo runs from a source checkout, where the sandbox is: `make demo`, "
    "or `python -m mattermost_server.demo [--keep]` from the checkout's root."
)


def _parser() -> argparse.ArgumentParser:
    # --env-file is accepted before and after the subcommand; SUPPRESS keeps one side from undoing the other.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--env-file", default=argparse.SUPPRESS, help="env file to read (default: $BRIDGE_ENV_FILE or .docker.env)"
    )
    parser = argparse.ArgumentParser(prog="python -m app_integration", description=__doc__, parents=[common])
    commands = parser.add_subparsers(dest="command")
    for name, text in (
        ("serve", "serve the web app (slash commands, dialogs, Apps) with gunicorn"),
        ("listen", "run the websocket listener (#t links, DMs to the bot)"),
        ("run", "serve and listen, supervised (the default)"),
        ("check", "check every setting and connection, with a fix for each problem"),
        ("users", "list the links, unlinked people who used the bridge, and map entries that resolve to nobody"),
        ("rotate-keys", "re-encrypt every stored API key with the newest LINK_ENCRYPTION_KEYS key"),
        ("new-key", "print a new key for LINK_ENCRYPTION_KEYS"),
    ):
        commands.add_parser(name, help=text, parents=[common])
    demo = commands.add_parser("demo", help="how to run the demo (it needs a source checkout)", parents=[common])
    demo.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    if command == "demo":
        # The demo needs the sandbox (the emulator and Redmine's provisioning), which a wheel or image does not
        # carry: it says where the demo is instead of failing on an import.
        print(DEMO_ELSEWHERE, file=sys.stderr)
        return 2
    if command == "new-key":
        from app_integration.adapters.store.key_vault import new_key

        print(new_key())
        return 0
    # python-dotenv warns about a line it cannot parse; the user map reports it with its line number instead.
    logging.getLogger("dotenv.main").setLevel(logging.ERROR)
    env_file = env_file_path(getattr(args, "env_file", None))
    named = bool(getattr(args, "env_file", None) or os.environ.get(ENV_FILE_VARIABLE))
    unreadable = env_file_problem(env_file, named)
    if unreadable is not None:
        print(f"The bridge cannot start: {unreadable}.", file=sys.stderr)
        return 2
    role = {"serve": "serve", "listen": "listen", "run": "run"}.get(command, "core")
    try:
        settings, _ = load_configuration(env_file, role=role)
    except SettingsError as error:
        print(
            f"The bridge cannot start: its settings (from the environment and {env_file}) have problems:",
            file=sys.stderr,
        )
        for line in error.lines:
            print(f"  {line}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    if command in ("serve", "listen", "run", "check", "users", "rotate-keys"):
        from app_integration.adapters.store.state_store import database_problem

        unusable = database_problem(settings.database_url)
        if unusable is not None:
            print(f"The bridge cannot start: {unusable}.", file=sys.stderr)
            return 2
    return _run(command, settings, env_file)


def _run(command: str, settings: Settings, env_file: Path) -> int:
    if command in ("serve", "run"):
        from app_integration.adapters.metrics_dir import prepare_multiprocess

        # Before anything imports prometheus_client: gunicorn's workers (and, under `run`, the listener) add
        # their samples up in one directory.
        prepare_multiprocess(share_with_children=command == "run")
    if command == "serve":
        from app_integration.adapters.runtime.gunicorn_server import serve

        return serve(settings, env_file)
    if command == "listen":
        from app_integration.adapters.runtime.listener_process import listen

        return listen(settings, env_file)
    if command == "check":
        from app_integration.adapters.runtime.doctor import run_check

        return run_check(settings, env_file)
    if command in ("users", "rotate-keys"):
        from app_integration.adapters.runtime.operator_commands import list_users, rotate_keys

        return list_users(settings, env_file) if command == "users" else rotate_keys(settings, env_file)
    from app_integration.adapters.runtime.supervisor import run_all

    return run_all(settings, env_file)
