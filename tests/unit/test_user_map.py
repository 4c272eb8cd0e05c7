"""The user map's three sources, their errors, and their precedence."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app_integration.adapters.runtime.user_map import build_user_map
from app_integration.core.models import ChatUser
from app_integration.core.settings import Settings, SettingsError


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, admin_redmine_key_api="k", redmine_url="http://r", **values)  # type: ignore[call-arg]


def login(user_map: object, username: str) -> str | None:
    return user_map.redmine_login(ChatUser("id", username))  # type: ignore[attr-defined]


def test_the_original_env_file_convention(tmp_path: Path) -> None:
    env = tmp_path / ".docker.env"
    env.write_text("REDMINE_HOST=redmine\nPOSTGRES_PASSWORD=hunter2\nalice=alice.r\nbob.smith=bsmith\n")
    users = build_user_map(settings(), env)
    assert login(users, "alice") == "alice.r"
    assert login(users, "bob.smith") == "bsmith"
    assert login(users, "postgres_password") is None  # upper-case keys are never users
    assert login(users, "redmine_host") is None


def test_matching_is_case_insensitive_on_the_mattermost_side() -> None:
    users = build_user_map(settings(user_map="Alice=alice.R"), None)
    assert login(users, "ALICE") == "alice.R"


def test_user_map_variable_and_file(tmp_path: Path) -> None:
    path = tmp_path / "users.map"
    path.write_text("# team A\ncarol = carol.c   # lead\n\ndave=dave.d\n")
    users = build_user_map(settings(user_map="alice=a, bob=b", user_map_file=path), None)
    assert [login(users, u) for u in ("alice", "bob", "carol", "dave")] == ["a", "b", "carol.c", "dave.d"]


def test_a_malformed_line_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "users.map"
    path.write_text("alice=a\nthis line has no equals\nbob=has space\n")
    with pytest.raises(SettingsError) as caught:
        build_user_map(settings(user_map_file=path), None)
    assert caught.value.lines[0].startswith(f"{path}:2:")
    assert caught.value.lines[1].startswith(f"{path}:3:")


def test_a_duplicate_within_one_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"USER_MAP:2: alice is mapped twice"):
        build_user_map(settings(user_map="alice=a,ALICE=b"), None)


def test_a_duplicate_in_the_env_file_is_an_error(tmp_path: Path) -> None:
    env = tmp_path / ".docker.env"
    env.write_text("alice=a\nalice=b\n")
    with pytest.raises(SettingsError, match=r"\.docker\.env:2: alice is mapped twice"):
        build_user_map(settings(), env)


def test_a_later_source_overrides_with_a_notice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    env = tmp_path / ".docker.env"
    env.write_text("alice=from.env\n")
    path = tmp_path / "users.map"
    path.write_text("alice=from.file\n")
    caplog.set_level(logging.INFO)
    users = build_user_map(settings(user_map="alice=from.var", user_map_file=path), env)
    assert login(users, "alice") == "from.file"
    notices = [r.getMessage() for r in caplog.records if "overrides" in r.getMessage()]
    assert len(notices) == 2 and "users.map" in notices[-1]


def test_a_missing_map_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="USER_MAP_FILE"):
        build_user_map(settings(user_map_file=tmp_path / "nope"), None)
