"""The doctor names a disabled REST API, which Redmine reports as 403 to an API key."""

from __future__ import annotations

from pathlib import Path

import responses

from app_integration.adapters.runtime.doctor import diagnose
from app_integration.adapters.runtime.wiring import build_bridge
from tests.conftest import bridge_settings


@responses.activate
def test_rest_disabled_is_named_with_its_fix(tmp_path: Path) -> None:
    responses.get("http://redmine.test/users/current.json", status=403)
    settings = bridge_settings("http://redmine.test", "k", "http://127.0.0.1:9", "t", tmp_path)
    found = {f.check: f for f in diagnose(build_bridge(settings, None))}
    assert not found["Redmine REST API"].ok
    assert "Enable REST web service" in found["Redmine REST API"].fix
    assert not found["Mattermost reachable"].ok
