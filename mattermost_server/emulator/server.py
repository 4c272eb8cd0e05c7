"""The emulator itself: its settings, its lifecycle and the REST app that records, validates and routes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from websockets.sync.server import serve
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server

from mattermost_server.emulator.ids import new_id
from mattermost_server.emulator.people_and_posts import PeopleAndPosts
from mattermost_server.emulator.permissions import Permissions
from mattermost_server.emulator.routes import error, routes
from mattermost_server.emulator.routes_files import file_routes
from mattermost_server.emulator.spec_validation import SPEC_PATH, SpecValidator
from mattermost_server.emulator.websocket_hub import Hub
from mattermost_server.emulator.websocket_side import NO_PINGS, WebsocketSide

SERVER_VERSION = "9.11.6"


class _QuietHandler(WSGIRequestHandler):
    """No line per request: the tests and benchmarks read the recorded requests instead."""

    def log_request(self, *_: Any) -> None:
        pass


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    user_id: str | None
    status: int = 0


class MattermostEmulator(PeopleAndPosts, WebsocketSide, Permissions):
    """Start it, add users and channels, post as people, and read what the bridge did."""

    def __init__(
        self,
        spec_path: Path | None = None,
        validate: bool = True,
        bot_roles: str = "system_user system_admin",
        base_path: str = "",
    ) -> None:
        self.base_path = base_path.rstrip("/")  # a server installed under a subpath, e.g. /mattermost
        path = spec_path or SPEC_PATH
        self.validator = SpecValidator(path) if validate and path.is_file() else None
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}  # id: (FileInfo, its bytes)
        self.max_file_size = 104_857_600  # FileSettings.MaxFileSize's default (model/config.go), bytes
        self.requests: list[Recorded] = []
        self.spec_errors: list[str] = []
        self.dialogs: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.hook_replies: list[dict[str, Any]] = []
        self.hook_status = 200  # what /hooks/commands/<id> answers
        self.team_admins: set[str] = set()  # user ids with team_admin in the one team
        self.granted: dict[str, set[str]] = {}  # extra permissions per role, as an admin would grant them
        self.post_edit_time_limit = -1  # ServiceSettings.PostEditTimeLimit, seconds; -1 is no limit
        self.refuse_rest = False  # answer 503 to every REST call, as a server that is starting up
        self.upgrade_auth: list[bool] = []  # per websocket: did the upgrade request itself carry a valid token
        self.version = SERVER_VERSION  # 7.x and 8.x give a trigger id 3 s; 9.0 and later the integration timeout
        self.integration_timeout = 30  # ServiceSettings.OutgoingIntegrationRequestsTimeout, seconds
        self.expired_triggers: list[str] = []
        self.site_url = ""  # ServiceSettings.SiteURL; empty means the emulator's own address
        self.show_email_address = True  # PrivacySettings.ShowEmailAddress
        self.require_email_verification = False  # EmailSettings.RequireEmailVerification; the server's default
        self.strip_upgrade_auth = False  # as a proxy that drops the Authorization header would
        self.hub = Hub(self._hello)
        self.pending_post_ids: dict[str, tuple[str, float]] = {}  # app/post.go seenPendingPostIdsCache
        self._refuse_websockets = False
        self.team_id = new_id()
        self.bot = self.add_user("redmine", is_bot=True, token="bot-token-" + new_id(), roles=bot_roles)
        self.bot_token = next(t for t, uid in self.tokens.items() if uid == self.bot["id"])
        app: Any = self._app()
        if self.base_path:  # everything lives under the subpath; the bare root answers 404, as behind a proxy
            app = DispatcherMiddleware(NotFound(), {self.base_path: app})
        self._http = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self._ws = serve(self._websocket, "127.0.0.1", 0, **NO_PINGS)
        self._threads: list[threading.Thread] = []

    # Lifecycle ---------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_port}{self.base_path}"

    @property
    def websocket_url(self) -> str:
        return f"ws://127.0.0.1:{self._ws.socket.getsockname()[1]}{self.base_path}/api/v4/websocket"

    def start(self) -> MattermostEmulator:
        for target in (self._http.serve_forever, self._ws.serve_forever):
            thread = threading.Thread(target=target, daemon=True, name="mm-emulator")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self.disconnect_all()
        self._http.shutdown()
        self._ws.shutdown()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> MattermostEmulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def version_id(self) -> str:
        """What the server sends as X-Version-Id: version, build number, hash, enterprise flag."""
        return f"{self.version}.{self.version}.emulator.false"

    def trigger_lifetime(self) -> float:
        """app/integration_action.go OpenInteractiveDialog: 3 s (InteractiveDialogTriggerTimeoutMilliseconds)
        before 9.0, then ServiceSettings.OutgoingIntegrationRequestsTimeout (MM-53269)."""
        return 3.0 if int(self.version.split(".")[0]) < 9 else float(self.integration_timeout)

    def _app(self) -> Flask:
        app = Flask("mattermost-emulator")
        emulator = self

        @app.before_request
        def record() -> Any:
            body = request.get_json(silent=True) if request.data else None
            token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            user_id = emulator.tokens.get(token)
            query = {k: request.args.getlist(k) for k in request.args}
            with emulator.lock:
                emulator.requests.append(Recorded(request.method, request.path, query, body, user_id))
                request.environ["emulator.recorded"] = emulator.requests[-1]
            if request.path.startswith("/api/v4/"):
                if emulator.refuse_rest:
                    return error(503, "api.emulator.unavailable", "Starting up")
                if emulator.validator is not None:
                    problem = emulator.validator.problems(
                        request.method, request.path, query, request.get_data(), request.content_type
                    )
                    if problem:
                        emulator.spec_errors.append(problem)
                        return error(400, "api.emulator.spec", problem)
                if user_id is None and request.path != "/api/v4/system/ping":
                    return error(401, "api.context.session_expired.app_error", "Invalid or expired session")
            return None

        @app.after_request
        def status(response: Response) -> Response:
            response.headers["X-Version-Id"] = emulator.version_id
            recorded = request.environ.get("emulator.recorded")
            if recorded is not None:
                recorded.status = response.status_code
            return response

        routes(app, emulator)
        file_routes(app, emulator)
        return app

    def caller(self) -> dict[str, Any]:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        return self.users[self.tokens[token]]
