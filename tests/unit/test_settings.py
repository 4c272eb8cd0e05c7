"""Settings: the original .docker.env names, the URL forms, secrets, and clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app_integration.core.settings import Settings, SettingsError, load_settings
from tests.unit.test_startup import cli

ORIGINAL_ENV = """\
REDMINE_PROTOCOL=http
REDMINE_HOST=redmine
REDMINE_PORT=3000
MATTERMOST_PROTOCOL=https
MATTERMOST_HOST=chat.example.org
MATTERMOST_PORT=8065
PYTHON_BOT_APP_HOST=python_bot_app
PYTHON_BOT_APP_PORT=8090
ADMIN_REDMINE_KEY_API=adminkey0123456789
ADMIN_MATTERMOST_TOKEN=mmadmintoken
REDMINE_MATTERMOST_BRIDGE_APP_TOKEN=bottoken0123
alice=alice.r
bob=bob.r
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("BRIDGE_ENV_FILE", raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".docker.env"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_original_env_file_works_unchanged(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ORIGINAL_ENV), role="listen")
    assert settings.redmine_base_url == "http://redmine:3000"
    assert settings.mattermost_base_url == "https://chat.example.org:8065"
    assert settings.root_url == "http://python_bot_app:8090"
    assert settings.admin_redmine_key_api.get_secret_value() == "adminkey0123456789"


def test_url_forms_win_over_the_parts(tmp_path: Path) -> None:
    text = (
        ORIGINAL_ENV + "REDMINE_URL=https://tracker.example.org/\nMATTERMOST_URL=http://mm:8065\n"
        "APP_ROOT_URL=https://bridge.example.org\n"
    )
    settings = load_settings(write(tmp_path, text), role="listen")
    assert settings.redmine_base_url == "https://tracker.example.org"
    assert settings.mattermost_base_url == "http://mm:8065"
    assert settings.root_url == "https://bridge.example.org"


def test_the_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDMINE_HOST", "from-env")
    assert load_settings(write(tmp_path, ORIGINAL_ENV)).redmine_host == "from-env"


def test_env_file_path_comes_from_bridge_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "other.env"
    path.write_text(ORIGINAL_ENV.replace("redmine\n", "elsewhere\n"), encoding="utf-8")
    monkeypatch.setenv("BRIDGE_ENV_FILE", str(path))
    assert load_settings().redmine_host == "elsewhere"


def test_secrets_never_show_in_repr_or_str(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ORIGINAL_ENV + "REQUEST_SIGNING_KEY=" + "s" * 40 + "\n"))
    shown = repr(settings) + str(settings) + str(settings.model_dump())
    for secret in ("adminkey0123456789", "bottoken0123", "mmadmintoken", "s" * 40):
        assert secret not in shown


def test_every_problem_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    text = "REDMINE_PORT=notaport\nMATTERMOST_PROTOCOL=gopher\nLINK_MODE=sometimes\nREDMINE_URL=ftp://x\n"
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, text))
    lines = caught.value.lines
    names = [line.split(":", 1)[0] for line in lines]
    assert names == sorted(names, key=names.index)  # one line each, in order
    for expected in ("REDMINE_PORT", "MATTERMOST_PROTOCOL", "LINK_MODE", "REDMINE_URL", "ADMIN_REDMINE_KEY_API"):
        assert expected in names
    assert all("\n" not in line for line in lines)


def test_serving_needs_a_way_to_verify_callers_and_a_signing_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(write(tmp_path, ORIGINAL_ENV), role="serve")
    text = str(caught.value)
    assert "MATTERMOST_SLASH_TOKENS or APP_JWT_SECRET" in text
    assert "REQUEST_SIGNING_KEY" in text


def test_a_short_signing_key_is_refused(tmp_path: Path) -> None:
    env = ORIGINAL_ENV + "MATTERMOST_SLASH_TOKENS=t1\nREQUEST_SIGNING_KEY=short\n"
    with pytest.raises(SettingsError, match="REQUEST_SIGNING_KEY"):
        load_settings(write(tmp_path, env), role="serve")


def test_timeouts_are_bounded(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="REDMINE_READ_TIMEOUT"):
        load_settings(write(tmp_path, ORIGINAL_ENV + "REDMINE_READ_TIMEOUT=60\n"))


def test_the_cli_prints_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    env = write(tmp_path, "REDMINE_PORT=notaport\nLINK_MODE=sometimes\n")
    done = cli("--env-file", str(env), "check")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    problem_lines = [line for line in done.stderr.splitlines() if line.startswith("  ")]
    assert {line.split(":")[0].strip() for line in problem_lines} >= {
        "REDMINE_PORT",
        "LINK_MODE",
        "ADMIN_REDMINE_KEY_API",
    }


def test_loading_settings_logs_no_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    load_settings(write(tmp_path, ORIGINAL_ENV))
    assert "adminkey0123456789" not in caplog.text
