"""Start-up configuration: the settings and the user map, checked together.

Every problem is reported at once, one line each, naming the variable or the file and
line: an operator fixes the env file in one pass, never one error per restart.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

from app_integration.adapters.runtime.user_map import StaticUserMap, user_map_from
from app_integration.core.settings import Settings, SettingsError, load_settings


def env_file_problem(env_file: Path, named: bool) -> str | None:
    """What is wrong with the env file itself, in one line naming it and what to do; None when it can be read.
    The default file may be missing (the environment then holds the settings); one named by --env-file or
    BRIDGE_ENV_FILE may not."""
    if not env_file.exists():
        if not named:
            return None
        return (
            f"the env file {env_file} does not exist: give --env-file (or BRIDGE_ENV_FILE) the path of your "
            ".docker.env, made from .docker.env.example"
        )
    if env_file.is_dir():
        return f"{env_file} is a folder, not an env file: give --env-file (or BRIDGE_ENV_FILE) the file's path"
    try:
        env_file.read_bytes().decode("utf-8")
    except OSError as error:
        return f"the env file {env_file} cannot be read ({error.strerror}): check its owner and permissions"
    except UnicodeDecodeError as error:
        return f"the env file {env_file} is not UTF-8 text (a byte at position {error.start} is not): save it as UTF-8"
    return None


def load_configuration(env_file: Path, role: str) -> tuple[Settings, StaticUserMap]:
    """Both, or SettingsError with the settings' problems and the user map's together."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = load_settings(env_file, role=role)
    except SettingsError as error:
        problems += error.lines
    raw_map, raw_file = (
        (settings.user_map, settings.user_map_file) if settings else (_raw("USER_MAP", env_file), _raw_path(env_file))
    )
    users: StaticUserMap | None = None
    try:
        users = user_map_from(env_file, raw_map, raw_file)
    except SettingsError as error:
        problems += error.lines
    if problems or settings is None or users is None:
        raise SettingsError(tuple(problems))
    return settings, users


def _raw(name: str, env_file: Path) -> str | None:
    """A variable as the settings would read it (the environment wins), when they could not be built."""
    for key, value in os.environ.items():
        if key.upper() == name:
            return value
    if env_file.is_file():
        for file_key, file_value in dotenv_values(env_file).items():
            if file_key.upper() == name:
                return file_value
    return None


def _raw_path(env_file: Path) -> Path | None:
    raw = _raw("USER_MAP_FILE", env_file)
    return Path(raw) if raw else None
