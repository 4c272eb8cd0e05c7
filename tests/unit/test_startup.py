"""Start-up: every problem at once, one line each, no traceback; --env-file on either side; quiet migrations."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from app_integration.adapters.runtime.configuration import load_configuration
from app_integration.adapters.runtime.user_map import user_map_from
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.core.settings import SettingsError

ORIGINAL = "REDMINE_HOST=redmine\nREDMINE_PORT=3000\nADMIN_REDMINE_KEY_API=adminkey0123456789\n"
BAD_MAP = "alice=alice\nbob=bob\n'unclosed=x\ncarol=carol\nalice=alice2\n"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app_integration", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.env"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["check", "serve", "listen", "run"])
def test_a_bad_user_map_is_one_line_per_problem_for_every_command(tmp_path: Path, command: str) -> None:
    env = write(tmp_path, ORIGINAL + BAD_MAP)
    done = cli("--env-file", str(env), command)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    problems = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert any(line.startswith(f"{env}:6: cannot parse") for line in problems), done.stderr
    assert f"{env}:8: alice is mapped twice in this source" in problems
    assert done.stderr.splitlines()[0].startswith("The bridge cannot start")  # no stray warnings before it


def test_settings_and_user_map_problems_come_together(tmp_path: Path) -> None:
    env = write(tmp_path, "REDMINE_PORT=notaport\n" + BAD_MAP)
    done = cli("check", "--env-file", str(env))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    names = {line.split(":")[0].strip() for line in done.stderr.splitlines() if line.startswith("  ")}
    assert {"REDMINE_PORT", "ADMIN_REDMINE_KEY_API", str(env)} <= names


def test_env_file_is_accepted_after_the_subcommand_too(tmp_path: Path) -> None:
    env = write(tmp_path, ORIGINAL + "alice=alice\nalice=twice\n")
    for args in (("--env-file", str(env), "check"), ("check", "--env-file", str(env))):
        done = cli(*args)
        assert done.returncode == 2, done.stderr
        assert "alice is mapped twice" in done.stderr


def test_a_broken_user_map_file_is_found_even_when_settings_are_broken(tmp_path: Path) -> None:
    users = tmp_path / "users.map"
    users.write_text("no equals sign here\n")
    env = write(tmp_path, f"REDMINE_PORT=99999\nUSER_MAP_FILE={users}\n")
    with pytest.raises(SettingsError) as caught:
        load_configuration(env, role="core")
    assert any(line.startswith(f"{users}:1:") for line in caught.value.lines)
    assert any(line.startswith("REDMINE_PORT") for line in caught.value.lines)


def test_process_environment_mappings_count_and_other_variables_do_not(tmp_path: Path) -> None:
    environ = {"alice": "alice.r", "http_proxy": "proxy.local", "home": "/root", "PATH": "/bin", "bob": "b b"}
    users = user_map_from(None, None, None, environ)
    assert dict(users.entries()) == {"alice": "alice.r"}


def test_root_url_is_the_original_name_for_app_root_url(tmp_path: Path) -> None:
    settings, _ = load_configuration(write(tmp_path, ORIGINAL + "ROOT_URL=https://bridge.example/\n"), "core")
    assert settings.root_url == "https://bridge.example"


def test_migrations_log_one_line_when_they_migrate_and_nothing_otherwise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = BridgeStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    store.migrate()
    first = [r.getMessage() for r in caplog.records]
    caplog.clear()
    BridgeStore(f"sqlite:///{tmp_path / 'state.sqlite3'}").migrate()
    assert len(first) == 1 and first[0].startswith("store: migrated the schema from empty to ")
    assert caplog.records == []


def test_a_started_process_prints_no_alembic_lines(tmp_path: Path) -> None:
    database = tmp_path / "state.sqlite3"
    BridgeStore(f"sqlite:///{database}").migrate()
    code = (
        "import logging; from app_integration.logging_setup import configure_logging; configure_logging('INFO');"
        f"from app_integration.adapters.store.state_store import BridgeStore; BridgeStore('sqlite:///{database}').migrate()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "alembic" not in done.stderr.lower(), done.stderr


def test_the_app_factory_is_pure(tmp_path: Path) -> None:
    """Each gunicorn worker builds its app: that migrates nothing and asks neither Redmine nor Mattermost (both
    unreachable here, on a port nothing listens on); `serve` does both once, before the workers fork."""
    import sqlalchemy

    from app_integration.adapters.runtime.web_app import create_app
    from app_integration.core.settings import Settings

    store = tmp_path / "bridge.sqlite3"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        redmine_url="http://127.0.0.1:9",
        admin_redmine_key_api="k" * 20,
        mattermost_url="http://127.0.0.1:9",
        redmine_mattermost_bridge_app_token="t" * 26,
        mattermost_slash_tokens="s" * 26,
        request_signing_key="r" * 40,
        user_map="alice=alice",
        database_url=f"sqlite:///{store}",
    )
    app = create_app(settings)
    assert app.url_map.bind("bridge.test").match("/healthz") == ("health.healthz", {})
    tables = sqlalchemy.inspect(sqlalchemy.create_engine(f"sqlite:///{store}")).get_table_names()
    assert tables == []


@pytest.mark.parametrize("shape", ["missing", "folder", "latin-1"])
def test_an_env_file_that_cannot_be_read_is_one_line_naming_it(tmp_path: Path, shape: str) -> None:
    """Issue 33: a missing --env-file, a folder, or a file that is not UTF-8 ends with status 2 and one line
    naming the file and what to do, for every command, instead of a message naming neither or a traceback."""
    path = tmp_path / "bridge.env"
    if shape == "folder":
        path.mkdir()
    elif shape == "latin-1":
        path.write_bytes((ORIGINAL + "USER_MAP=jos\u00e9=jose\n").encode("latin-1"))
    for command in ("check", "serve"):
        done = cli("--env-file", str(path), command)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("The bridge cannot start:") and str(path) in line
        assert {"missing": "does not exist", "folder": "is a folder", "latin-1": "not UTF-8"}[shape] in line


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("sqlite:////nonexistent-folder-of-the-bridge/bridge.sqlite3", "a folder that does not exist"),
        ("not a url at all", "not a database URL"),
        ("mongodb://127.0.0.1/bridge", "a database the bridge does not know"),
        ("postgresql+psycopg://bridge:secret@127.0.0.1:1/bridge", "does not answer"),
    ],
)
def test_a_database_url_that_cannot_open_is_one_line_within_seconds(tmp_path: Path, url: str, said: str) -> None:
    """Issue 33: a SQLite folder that does not exist held `serve` 60 s; a URL that is none, or a PostgreSQL that
    does not answer (port 1 on loopback), printed tracebacks. Now: status 2 and one line (`check` here; every
    command that opens the store asks the same before anything else)."""
    env = write(tmp_path, ORIGINAL + f"DATABASE_URL={url}\n")
    for command in ("check",):
        done = cli("--env-file", str(env), command)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("The bridge cannot start: DATABASE_URL") and said in line, line
        assert "secret" not in line  # the password never reaches a log
