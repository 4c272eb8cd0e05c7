"""A company-sized user map (issue 33): with 10,002 entries, `serve` took 60 s to answer and `check` gave no
output in 120 s, one Mattermost lookup and up to two Redmine lookups per person. Now Mattermost is asked a hundred
names a call and Redmine's users are read a page of 100 at a time: the calls are counted here (the times are in
docs/benchmarks.md, from benchmarks/user_map_bench.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmarks.user_map_bench import company_map, map_figures
from tests.conftest import RedmineInfo, bridge_settings


def test_a_ten_thousand_person_map_costs_a_hundred_calls_not_ten_thousand(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path
) -> None:
    size = 10_000
    path = company_map(emulator, size, tmp_path)
    settings = bridge_settings(
        redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path, user_map="", user_map_file=path
    )
    figures = map_figures(settings, emulator)
    batches = math.ceil((size + 3) / 100)
    assert figures["link_mattermost_calls"] <= batches + 2  # + the bot's own lookup
    assert figures["link_redmine_calls"] <= 4  # the active users, then all: a page each on this Redmine
    assert figures["check_mattermost_calls"] <= batches + 10  # + the bot's permissions and the server's facts
    assert figures["check_redmine_calls"] <= 12
    assert figures["check_lines"] < 80  # 50 problems listed, the rest counted
