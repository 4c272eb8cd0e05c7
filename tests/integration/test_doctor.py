"""`check` catches each misconfiguration with a fix: one broken setting at a time."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.runtime.doctor import diagnose, run_check
from app_integration.adapters.runtime.wiring import build_bridge
from tests.conftest import RedmineInfo, bridge_settings

GOOD_MAP = "alice=alice,bob=bob,carol=carol"


def findings(redmine: RedmineInfo, emulator: Any, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "redmine_url": redmine.url,
        "admin_key": redmine.admin_key,
        "mattermost_url": emulator.url,
        "bot_token": emulator.bot_token,
    }
    values.update({k: overrides.pop(k) for k in list(overrides) if k in values})
    settings = bridge_settings(
        values["redmine_url"],
        values["admin_key"],
        values["mattermost_url"],
        values["bot_token"],
        tmp_path,
        **{"user_map": GOOD_MAP, **overrides},
    )
    return {f.check: f for f in diagnose(build_bridge(settings, None))}


def failed(found: dict[str, Any]) -> dict[str, Any]:
    return {name: f for name, f in found.items() if not f.ok}


def test_a_good_configuration_passes_and_exits_zero(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    assert failed(findings(redmine, emulator, tmp_path)) == {}
    settings = bridge_settings(
        redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path, user_map=GOOD_MAP
    )
    out = io.StringIO()
    assert run_check(settings, None, out) == 0
    assert "✓ Impersonation" in out.getvalue() and "0 failed" in out.getvalue()
    assert "401 until reinstalled: run `/apps install http http://bridge.test:8090/manifest.json`" in out.getvalue()


def test_mattermost_unreachable(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    bad = failed(findings(redmine, emulator, tmp_path, mattermost_url="http://127.0.0.1:9"))
    assert list(bad) == ["Mattermost reachable"] and "MATTERMOST_URL" in bad["Mattermost reachable"].fix


def test_bad_bot_token(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    bad = failed(findings(redmine, emulator, tmp_path, bot_token="wrong"))
    assert list(bad) == ["Bot token valid"] and "REDMINE_MATTERMOST_BRIDGE_APP_TOKEN" in bad["Bot token valid"].fix


def test_bot_without_edit_permission_in_rewrite_mode(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    emulator.bot["roles"] = "system_user"
    bad = failed(findings(redmine, emulator, tmp_path))
    assert list(bad) == ["Bot permissions for LINK_MODE=rewrite"]
    assert "LINK_MODE=reply" in bad["Bot permissions for LINK_MODE=rewrite"].fix
    assert failed(findings(redmine, emulator, tmp_path, link_mode="reply")) == {}
    notices = findings(redmine, emulator, tmp_path, link_mode="reply")["Bot notices"]
    assert notices.detail.startswith("may not post private notices") and "links still work" in notices.detail


def test_an_admin_bot_is_told_it_may_post_notices(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    assert findings(redmine, emulator, tmp_path)["Bot notices"].detail.startswith("may post private notices")


def test_redmine_unreachable(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    bad = failed(findings(redmine, emulator, tmp_path, redmine_url="http://127.0.0.1:9", redmine_connect_timeout=0.5))
    assert list(bad) == ["Redmine reachable"] and "REDMINE_URL" in bad["Redmine reachable"].fix


def test_wrong_admin_key(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    bad = failed(findings(redmine, emulator, tmp_path, admin_key="not-a-key"))
    assert list(bad) == ["Redmine admin key"] and "ADMIN_REDMINE_KEY_API" in bad["Redmine admin key"].fix


def test_a_key_that_is_not_an_administrators(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    key = redmine.seed.get("non_admin_key")
    if not key:
        pytest.skip("an external Redmine gives no non-admin key to test with")
    bad = failed(findings(redmine, emulator, tmp_path, admin_key=key))
    assert "not an administrator" in bad["Redmine admin key"].detail


def test_mapped_users_missing_or_locked_in_redmine(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    bad = failed(findings(redmine, emulator, tmp_path, user_map=GOOD_MAP + ",dave=dave,ghost=ghost"))
    assert bad["Redmine account dave (for @dave)"].detail == "locked"
    assert bad["Redmine account ghost (for @ghost)"].detail == "no such login"
    assert len(bad) == 2


def test_a_mapped_mattermost_username_that_does_not_exist(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    bad = failed(findings(redmine, emulator, tmp_path, user_map=GOOD_MAP + ",zed=alice"))
    assert list(bad) == ["Mattermost user @zed"]


def test_an_empty_user_map(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> None:
    bad = failed(findings(redmine, emulator, tmp_path, user_map=""))
    assert list(bad) == ["User map"]
