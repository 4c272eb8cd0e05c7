"""The user map: Mattermost username -> Redmine login, from three sources.

1. The original convention: `alice=alice.r` lines in the env file, whose key is not a
   known setting. Only lower-case keys count: Mattermost usernames are lower-case, so
   other docker variables (POSTGRES_PASSWORD=...) are never taken for users.
   The same lines given as process environment variables (docker's `env_file:` turns
   them into that) count too; there, anything that is not a username=login pair is
   someone else's variable and is passed over.
2. USER_MAP="alice=alice.r,bob=bob.r".
3. USER_MAP_FILE: one pair per line, `#` comments.

Later sources override earlier ones, with a notice in the log.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from dotenv.parser import parse_stream

from app_integration.core.models import ChatUser
from app_integration.core.settings import Settings, SettingsError, known_variable_names

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_LOGIN = re.compile(r"^[A-Za-z0-9_@.-]{1,255}$")

Pair = tuple[int, str, str]  # line number, key, value
# Lower-case variables every shell or proxy setup may carry; never people.
_NOT_PEOPLE = frozenset({"http_proxy", "https_proxy", "no_proxy", "ftp_proxy", "all_proxy", "ws_proxy", "wss_proxy"})


class StaticUserMap:
    """A user map held in memory, matched case-insensitively on the Mattermost side."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self._mapping = {key.lower(): value for key, value in mapping.items()}

    def redmine_login(self, user: ChatUser) -> str | None:
        return self._mapping.get(user.username.lower())

    def entries(self) -> Sequence[tuple[str, str]]:
        return sorted(self._mapping.items())


def build_user_map(
    settings: Settings, env_file: Path | None, environ: Mapping[str, str] | None = None
) -> StaticUserMap:
    """Merges the sources or raises SettingsError with one line per problem."""
    return user_map_from(env_file, settings.user_map, settings.user_map_file, environ)


def user_map_from(
    env_file: Path | None,
    user_map: str | None,
    user_map_file: Path | None,
    environ: Mapping[str, str] | None = None,
) -> StaticUserMap:
    """The map from its raw sources, so it can be checked even when other settings are broken."""
    problems: list[str] = []
    sources: list[tuple[str, dict[str, str]]] = []
    if env_file is not None and env_file.is_file():
        sources.append((str(env_file), _collect(str(env_file), _env_file_pairs(env_file, problems), problems)))
    sources.append(("the environment", _environment_pairs(os.environ if environ is None else environ)))
    if user_map is not None:
        pairs = _split_pairs("USER_MAP", enumerate(user_map.split(","), start=1), problems)
        sources.append(("USER_MAP", _collect("USER_MAP", pairs, problems)))
    if user_map_file is not None:
        path = user_map_file
        if not path.is_file():
            problems.append(f"USER_MAP_FILE: {path} is not a readable file")
        else:
            lines = enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            sources.append((str(path), _collect(str(path), _split_pairs(str(path), lines, problems), problems)))
    if problems:
        raise SettingsError(tuple(problems))
    return StaticUserMap(_merge(sources))


def _env_file_pairs(path: Path, problems: list[str]) -> list[Pair]:
    settings_names = known_variable_names()
    pairs: list[Pair] = []
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            line = binding.original.line
            if binding.error:
                problems.append(f"{path}:{line}: cannot parse {binding.original.string.strip()[:40]!r}")
            elif binding.key and binding.key.upper() not in settings_names and binding.key == binding.key.lower():
                pairs.append((line, binding.key, binding.value or ""))
    return pairs


def _environment_pairs(environ: Mapping[str, str]) -> dict[str, str]:
    settings_names = known_variable_names()
    return {
        key: value.strip()
        for key, value in environ.items()
        if key == key.lower()
        and key not in _NOT_PEOPLE
        and key.upper() not in settings_names
        and _USERNAME.match(key)
        and _LOGIN.match(value.strip())
    }


def _split_pairs(source: str, lines: Iterable[tuple[int, str]], problems: list[str]) -> list[Pair]:
    pairs: list[Pair] = []
    for number, raw in lines:
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        key, sep, value = text.partition("=")
        if not sep:
            problems.append(f"{source}:{number}: expected mattermost_username=redmine_login, got {text[:40]!r}")
            continue
        pairs.append((number, key.strip(), value.strip()))
    return pairs


def _collect(source: str, pairs: Iterable[Pair], problems: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for number, key, value in pairs:
        username = key.lower().lstrip("@")
        if not _USERNAME.match(username):
            problems.append(f"{source}:{number}: {key!r} is not a Mattermost username")
        elif not _LOGIN.match(value):
            problems.append(f"{source}:{number}: {value!r} is not a Redmine login (for {username})")
        elif username in mapping:
            problems.append(f"{source}:{number}: {username} is mapped twice in this source")
        else:
            mapping[username] = value
    return mapping


def _merge(sources: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    for source, mapping in sources:
        for username, login in mapping.items():
            if username in merged and merged[username] != login:
                log.warning("user map: %s from %s overrides the entry from %s", username, source, origin[username])
            merged[username] = login
            origin[username] = source
    return merged
