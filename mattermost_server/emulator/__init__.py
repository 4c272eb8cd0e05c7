"""An emulator of the Mattermost REST API subset and websocket that the bridge uses.

Mattermost cannot run on the machines that test this project, so the tests and the demo run against this
instead. Its authority is the real server's source: each rule names the file it follows. It answers in the
shapes of the captured payloads in `../shared/fixtures/mattermost/` and validates every REST request the
bridge sends against the official OpenAPI spec in `../shared/mattermost-api/` when that is present.

A file per concern: `server` (settings, lifecycle, the REST app), `routes` (the endpoints), `permissions`
(roles and checks), `dialogs` (what a dialog may hold), `websocket_side` and `websocket_hub` (connections,
resume, replay, hello), `people_and_posts` (test data), `spec_validation`, `ids`.
"""

from mattermost_server.emulator.dialogs import dialog_problems
from mattermost_server.emulator.ids import new_id, now_ms, trigger_id
from mattermost_server.emulator.server import MattermostEmulator, Recorded

__all__ = ["MattermostEmulator", "Recorded", "dialog_problems", "new_id", "now_ms", "trigger_id"]
