"""An emulator of the Mattermost REST API subset and websocket that the bridge uses.

Mattermost cannot run on the machines that test this project, so the tests and the
demo run against this instead. It answers in the shapes of the captured payloads in
`../shared/fixtures/mattermost/`, and validates every REST request the bridge sends
against the official OpenAPI spec in `../shared/mattermost-api/` when that is present.

The websocket keeps connections as the real server does (`websocket_hub.py` says how,
from web_hub.go and web_conn.go): the authentication challenge, `hello` only for a fresh
connection, a resume that replays without a hello, and a new `connection_id` when the gap
can no longer be covered. Tests can force an outage or a server restart.
"""

from __future__ import annotations

import base64
import inspect
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask, Response, jsonify, request
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server

from .websocket_hub import Hub, Refused, Registration, WebConn

SHARED = Path(__file__).resolve().parents[2] / "shared"
SPEC_PATH = SHARED / "mattermost-api" / "mattermost-openapi-v4.yaml"
FIXTURES = SHARED / "fixtures" / "mattermost"
SERVER_VERSION = "9.11.6"


# Default role permissions, as server/public/model/role.go (MakeDefaultRoles) grants them: only the ones
# the endpoints below check. system_admin holds every permission. A test may grant more to a role.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    "system_user": {"create_direct_channel", "create_group_channel", "view_members", "list_public_teams"},
    "team_user": {"list_team_channels", "join_public_channels", "read_public_channel", "view_team"},
    "team_admin": {"delete_others_posts", "manage_team", "manage_channel_roles"},
    "channel_user": {"read_channel", "read_channel_content", "create_post", "edit_post", "delete_post"},
    "channel_admin": {"manage_channel_roles", "use_group_mentions"},
}
# Channel-scoped permissions: the server checks them with SessionHasPermissionToChannel, so the member's
# channel and team roles count. Everything else is checked against the system roles alone.
CHANNEL_SCOPED = {"read_channel", "read_channel_content", "create_post", "edit_post", "edit_others_posts"}
# model/integration_action.go: the limits Dialog.IsValid enforces (in bytes, as Go's len counts).
DIALOG_TITLE_MAX = 24
DIALOG_LIMITS = {"display_name": 24, "name": 300, "help_text": 150}
DIALOG_TEXT_LIMITS = {"text": 150, "textarea": 3000, "select": 3000}
DIALOG_TYPES = {"text", "textarea", "select", "bool", "radio", "date", "datetime"}
POST_MESSAGE_MAX_RUNES = 16383  # model/post.go PostMessageMaxRunesV2
PENDING_POST_IDS_TTL = 30.0  # app/post.go pendingPostIDsCacheTTL
# The server's keepalive pings are not what these tests are about: off. websockets' sync server pings (and
# takes ping_interval) only from 15.0 on, and the bridge's floor is 14.0, whose server sends none.
_NO_PINGS = {"ping_interval": None} if "ping_interval" in inspect.signature(serve).parameters else {}


class _QuietHandler(WSGIRequestHandler):
    """No line per request: the tests and benchmarks read the recorded requests instead."""

    def log_request(self, *_: Any) -> None:
        pass


def wait_for(check: Callable[[], Any], timeout: float = 15.0, step: float = 0.05) -> Any:
    """Polls `check` until it gives something true, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError(f"condition not met within {timeout} s")


def new_id() -> str:
    """A 26-character id like Mattermost's."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def now_ms() -> int:
    return int(time.time() * 1000)


def trigger_id(user_id: str, issued_ms: int | None = None) -> str:
    """A trigger id in the server's layout (model/integration_action.go GenerateTriggerId): base64 of
    `client id:user id:millis:signature`. The signature here is a stand-in; the age is what counts."""
    raw = f"{new_id()}:{user_id}:{issued_ms if issued_ms is not None else now_ms()}:c2ln"
    return base64.b64encode(raw.encode()).decode()


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    user_id: str | None
    status: int = 0


class SpecValidator:
    """Checks requests against the official spec, loaded leniently (see its NOTICE)."""

    _cache: dict[Path, Any] = {}

    def __init__(self, spec_path: Path) -> None:
        import yaml
        from openapi_core import Config, OpenAPI

        if spec_path not in self._cache:
            with spec_path.open(encoding="utf-8") as stream:
                spec = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loaders
            spec["servers"] = [{"url": "http://emulator"}]
            self._cache[spec_path] = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self._api = self._cache[spec_path]

    def problems(
        self, method: str, path: str, query: dict[str, list[str]], raw_body: bytes, content_type: str | None
    ) -> str | None:
        from openapi_core.testing import MockRequest

        args = {key: values[-1] for key, values in query.items()}
        mock = MockRequest(
            "http://emulator",
            method.lower(),
            path,
            args=args,
            data=raw_body or None,
            content_type=content_type or "application/json",
            headers={"Authorization": "Bearer x"},
        )
        try:
            self._api.validate_request(mock)
        except Exception as error:
            cause = getattr(error, "__cause__", None)
            return f"{method} {path}: {type(error).__name__}: {error} {cause or ''}".strip()
        return None


class MattermostEmulator:
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
        self._ws = serve(self._websocket, "127.0.0.1", 0, **_NO_PINGS)
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

    # Test data -----------------------------------------------------------------
    def add_user(
        self, username: str, is_bot: bool = False, token: str | None = None, roles: str = "system_user"
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": new_id(),
            "username": username,
            "email": f"{username}@example.org",
            "email_verified": True,  # the address was confirmed by mail once; model/user.go
            "auth_service": "",  # "" or "email": a password account, whose address its person may change
            "first_name": "",
            "last_name": "",
            "nickname": "",
            "position": "",
            "roles": roles,
            "locale": "en",
            "timezone": {"useAutomaticTimezone": "true", "automaticTimezone": "", "manualTimezone": ""},
            "is_bot": is_bot,
            "delete_at": 0,
            "create_at": now_ms(),
            "update_at": now_ms(),
        }
        with self.lock:
            self.users[user["id"]] = user
            if token:
                self.tokens[token] = user["id"]
        return user

    def user(self, username: str) -> dict[str, Any]:
        return next(u for u in self.users.values() if u["username"] == username)

    def add_channel(self, name: str, members: list[dict[str, Any]], kind: str = "O") -> dict[str, Any]:
        channel: dict[str, Any] = {
            "id": new_id(),
            "team_id": self.team_id if kind in "OP" else "",
            "type": kind,
            "display_name": name.replace("-", " ").title(),
            "name": name,
            "delete_at": 0,
            "create_at": now_ms(),
            "members": {m["id"] for m in members},
        }
        with self.lock:
            self.channels[channel["id"]] = channel
        return channel

    def direct_channel(self, a: str, b: str) -> dict[str, Any]:
        name = "__".join(sorted((a, b)))
        with self.lock:
            for existing in self.channels.values():
                if existing["type"] == "D" and existing["name"] == name:
                    return existing
            channel: dict[str, Any] = {
                "id": new_id(),
                "team_id": "",
                "type": "D",
                "display_name": "",
                "name": name,
                "delete_at": 0,
                "create_at": now_ms(),
                "members": {a, b},
            }
            self.channels[channel["id"]] = channel
            return channel

    def post_as(
        self,
        username: str,
        channel_id: str,
        message: str,
        root_id: str = "",
        props: dict[str, Any] | None = None,
        sender_name: str | None = None,
    ) -> dict[str, Any]:
        """A person posts; the bot hears it on the websocket if it is in the channel. For a webhook's post
        (props from_webhook), the server sets sender_name to its override_username, as the real one does."""
        author = self.user(username)
        return self._create_post(author["id"], channel_id, message, root_id, props or {}, sender_name)

    def edit_as(self, post_id: str, message: str) -> dict[str, Any]:
        with self.lock:
            post = self.posts[post_id]
            post.update(message=message, edit_at=now_ms(), update_at=now_ms())
            snapshot = dict(post)
        self._broadcast("post_edited", {"post": json.dumps(snapshot)}, snapshot["channel_id"])
        return snapshot

    def react_as(self, username: str, post_id: str, emoji_name: str) -> dict[str, Any]:
        """A person reacts to a post; the channel's members hear `reaction_added` (app/reaction.go)."""
        post = self.posts[post_id]
        reaction = {
            "user_id": self.user(username)["id"],
            "post_id": post_id,
            "emoji_name": emoji_name,
            "create_at": now_ms(),
            "update_at": now_ms(),
            "delete_at": 0,
            "remote_id": "",
            "channel_id": post["channel_id"],
        }
        self._broadcast("reaction_added", {"reaction": json.dumps(reaction)}, post["channel_id"])
        return reaction

    def posts_in(self, channel_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(
                (p for p in self.posts.values() if p["channel_id"] == channel_id), key=lambda p: p["create_at"]
            )

    def dm_posts(self, username: str) -> list[dict[str, Any]]:
        channel = self.direct_channel(self.bot["id"], self.user(username)["id"])
        return self.posts_in(channel["id"])

    @property
    def version_id(self) -> str:
        """What the server sends as X-Version-Id: version, build number, hash, enterprise flag."""
        return f"{self.version}.{self.version}.emulator.false"

    def trigger_lifetime(self) -> float:
        """app/integration_action.go OpenInteractiveDialog: 3 s (InteractiveDialogTriggerTimeoutMilliseconds)
        before 9.0, then ServiceSettings.OutgoingIntegrationRequestsTimeout (MM-53269)."""
        return 3.0 if int(self.version.split(".")[0]) < 9 else float(self.integration_timeout)

    def convert_channel(self, channel_id: str, kind: str) -> None:
        """A channel made public or private. app/channel.go publishes `channel_converted` to the channel's team,
        with only the channel's id."""
        with self.lock:
            channel = self.channels[channel_id]
            channel["type"] = kind
            team = set(self.users)  # the emulator's one team holds everyone
        message = {
            "event": "channel_converted",
            "data": {"channel_id": channel_id},
            "broadcast": {
                "omit_users": None,
                "user_id": "",
                "channel_id": "",
                "team_id": channel["team_id"],
                "connection_id": "",
                "omit_connection_id": "",
            },
        }
        self.hub.broadcast(message, lambda user_id: user_id in team)

    def delete_post(self, post_id: str) -> None:
        with self.lock:
            post = self.posts[post_id]
            post.update(delete_at=now_ms(), update_at=now_ms())

    # Permissions -----------------------------------------------------------------
    def role_permissions(self, role: str) -> set[str]:
        if role == "system_admin":
            return {"*"}
        return ROLE_PERMISSIONS.get(role, set()) | self.granted.get(role, set())

    def may(self, user_id: str, permission: str, channel_id: str | None = None) -> bool:
        """SessionHasPermissionTo / SessionHasPermissionToChannel, for the roles this emulator knows."""
        with self.lock:
            user = self.users.get(user_id)
            channel = self.channels.get(channel_id or "")
        if user is None:
            return False
        roles = str(user.get("roles", "")).split()
        if permission in CHANNEL_SCOPED and channel is not None and user_id in channel["members"]:
            roles += ["channel_user"] + (["team_user"] if channel["type"] in "OP" else [])
            roles += channel.get("admins", {}).get(user_id, "").split()
        granted: set[str] = set().union(*(self.role_permissions(r) for r in roles)) if roles else set()
        return "*" in granted or permission in granted

    # Websocket control -------------------------------------------------------
    def disconnect_all(self) -> None:
        """Every client loses its socket; the server keeps the connections, inactive, for a resume."""
        for socket in self.hub.close_all():
            socket.close()

    def restart_websockets(self) -> None:
        """As a restarted server: every socket closes and every connection is forgotten."""
        for socket in self.hub.close_all(forget=True):
            socket.close()

    @contextmanager
    def outage(self) -> Iterator[None]:
        """Drops every websocket and refuses new ones until the block ends."""
        self._refuse_websockets = True
        self.disconnect_all()
        try:
            yield
        finally:
            self._refuse_websockets = False

    def connected(self) -> bool:
        return self.hub.any_active()

    def _broadcast(self, event: str, data: dict[str, Any], channel_id: str) -> None:
        with self.lock:
            channel = self.channels.get(channel_id)
            members = set(channel["members"]) if channel is not None else set()
        message = {
            "event": event,
            "data": data,
            "broadcast": {
                "omit_users": None,
                "user_id": "",
                "channel_id": channel_id,
                "team_id": "",
                "connection_id": "",
                "omit_connection_id": "",
            },
        }
        self.hub.broadcast(message, lambda user_id: user_id in members)

    def _hello(self, conn: WebConn) -> dict[str, Any]:
        return {
            "event": "hello",
            "data": {"connection_id": conn.connection_id, "server_version": self.version_id},
            "broadcast": {
                "omit_users": None,
                "user_id": conn.user_id,
                "channel_id": "",
                "team_id": "",
                "connection_id": "",
                "omit_connection_id": "",
            },
        }

    def _websocket(self, connection: ServerConnection) -> None:
        if self._refuse_websockets:
            connection.close(1013, "try again later")
            return
        target = urlsplit(connection.request.path if connection.request else "")
        if target.path.rstrip("/") != f"{self.base_path}/api/v4/websocket":
            connection.close(1008, "not found")
            return
        query = parse_qs(target.query)
        header = connection.request.headers.get("Authorization", "") if connection.request else ""
        user_id = self.tokens.get(header.removeprefix("Bearer ").strip())
        upgraded = user_id is not None and not self.strip_upgrade_auth
        self.upgrade_auth.append(upgraded)
        try:
            if upgraded:
                # api4/websocket.go: connection_id and sequence_number count only when the upgrade had a session.
                wanted = (query.get("connection_id") or [""])[0]
                sequence = query["sequence_number"][0] if query.get("sequence_number") else None
                registration: Registration | None = self.hub.register(str(user_id), wanted, sequence, upgraded=True)
            else:
                registration = self._challenge(connection)
        except Refused:
            connection.close()
            return
        if registration is None:
            return
        self._pump(connection, registration)

    def _challenge(self, connection: ServerConnection) -> Registration | None:
        """platform/websocket_router.go: a bad token closes the socket with no answer; a good one registers a
        fresh connection (its hello is queued first) and then answers OK."""
        try:
            challenge = json.loads(connection.recv(timeout=10))
        except (TimeoutError, ConnectionClosed, ValueError):
            return None
        token = (challenge.get("data") or {}).get("token", "")
        user_id = self.tokens.get(token) if isinstance(token, str) else None
        if challenge.get("action") != "authentication_challenge" or user_id is None:
            connection.close()
            return None
        registration = self.hub.register(user_id, "", None, upgraded=False)
        self.hub.direct(registration.conn, {"status": "OK", "seq_reply": challenge.get("seq")})
        return registration

    def _pump(self, connection: ServerConnection, registration: Registration) -> None:
        """The write pump; a reader beside it notices the client leaving (and ignores what it sends: a
        challenge on an authenticated socket gets no answer)."""
        conn = registration.conn
        self.hub.attach(conn, connection)
        if self._refuse_websockets:  # an outage began while this one was connecting: it ends at once
            connection.close()
        reader = threading.Thread(target=self._read_until_closed, args=(connection, conn), daemon=True)
        reader.start()
        try:
            for replayed in registration.replay:
                connection.send(json.dumps(replayed))
            while True:
                message = self.hub.next_message(conn, connection)
                if message is not None:
                    connection.send(json.dumps(message))
        except (ConnectionClosed, EOFError):
            pass
        finally:
            self.hub.unregister(conn, connection)
            connection.close()
            reader.join(timeout=5)

    def _read_until_closed(self, connection: ServerConnection, conn: WebConn) -> None:
        try:
            for _ in connection:
                pass
        except ConnectionClosed:
            pass
        finally:
            self.hub.unregister(conn, connection)

    # REST ----------------------------------------------------------------------
    def _create_post(
        self,
        user_id: str,
        channel_id: str,
        message: str,
        root_id: str,
        props: dict[str, Any],
        sender_name: str | None = None,
    ) -> dict[str, Any]:
        created = now_ms()
        post: dict[str, Any] = {
            "id": new_id(),
            "create_at": created,
            "update_at": created,
            "edit_at": 0,
            "delete_at": 0,
            "is_pinned": False,
            "user_id": user_id,
            "channel_id": channel_id,
            "root_id": root_id or "",
            "original_id": "",
            "message": message,
            "type": "",
            "props": props,
            "hashtags": "",
            "pending_post_id": f"{user_id}:{created}",
            "reply_count": 0,
            "last_reply_at": 0,
            "participants": None,
            "metadata": {},
        }
        with self.lock:
            self.posts[post["id"]] = post
            channel = self.channels[channel_id]
            author = self.users[user_id]
        data = {
            "channel_display_name": channel["display_name"],
            "channel_name": channel["name"],
            "channel_type": channel["type"],
            "post": json.dumps(post),
            "sender_name": sender_name or props.get("override_username") or "@" + author["username"],
            "set_online": True,
            "team_id": channel["team_id"],
        }
        self._broadcast("posted", data, channel_id)
        return dict(post)

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
                    return _error(503, "api.emulator.unavailable", "Starting up")
                if emulator.validator is not None:
                    problem = emulator.validator.problems(
                        request.method, request.path, query, request.get_data(), request.content_type
                    )
                    if problem:
                        emulator.spec_errors.append(problem)
                        return _error(400, "api.emulator.spec", problem)
                if user_id is None and request.path != "/api/v4/system/ping":
                    return _error(401, "api.context.session_expired.app_error", "Invalid or expired session")
            return None

        @app.after_request
        def status(response: Response) -> Response:
            response.headers["X-Version-Id"] = emulator.version_id
            recorded = request.environ.get("emulator.recorded")
            if recorded is not None:
                recorded.status = response.status_code
            return response

        _routes(app, emulator)
        return app

    def caller(self) -> dict[str, Any]:
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        return self.users[self.tokens[token]]


def _error(status: int, error_id: str, message: str) -> Response:
    response = jsonify(
        {"id": error_id, "message": message, "request_id": new_id(), "status_code": status, "is_oauth": False}
    )
    response.status_code = status
    return response


def _public(channel: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in channel.items() if k not in ("members", "admins")}


def _denied(permission: str) -> Response:
    return _error(
        403, "api.context.permissions.app_error", f"You do not have the appropriate permissions ({permission})"
    )


def dialog_problems(dialog: dict[str, Any]) -> list[str]:
    """What model/integration_action.go's Dialog.IsValid refuses; lengths in bytes, as Go's len counts them."""

    def size(value: Any) -> int:
        return len(str(value or "").encode("utf-8"))

    problems = []
    title = dialog.get("title") or ""
    if not title or size(title) > DIALOG_TITLE_MAX:
        problems.append(f"invalid dialog title {title!r}")
    names: set[str] = set()
    for element in dialog.get("elements") or []:
        name = str(element.get("name") or "")
        if name in names:
            problems.append(f"duplicate dialog element {name!r}")
        names.add(name)
        for key, limit in DIALOG_LIMITS.items():
            if key in ("display_name", "name") and not element.get(key):
                problems.append(f"{name}: {key} cannot be empty")
            if size(element.get(key)) > limit:
                problems.append(f"{name}: {key} longer than {limit} bytes")
        kind = element.get("type")
        if kind not in DIALOG_TYPES:
            problems.append(f"{name}: invalid element type {kind!r}")
        if int(element.get("min_length") or 0) > int(element.get("max_length") or 0):
            problems.append(f"{name}: min_length above max_length")
        text_limit = DIALOG_TEXT_LIMITS.get(str(kind))
        if text_limit is not None:
            for key in ("default", "placeholder"):
                if size(element.get(key)) > text_limit:
                    problems.append(f"{name}: {key} longer than {text_limit} bytes")
        options = {o.get("value") for o in element.get("options") or []}
        if kind == "select" and not element.get("data_source") and element.get("default") not in options | {None, ""}:
            problems.append(f"{name}: default {element['default']!r} is not an option")
    return problems


def _routes(app: Flask, em: MattermostEmulator) -> None:
    @app.get("/api/v4/config/client")
    def client_config() -> Any:
        if request.args.get("format") != "old":  # api4/config.go: only the old format is implemented
            return _error(501, "api.config.client.old_format.app_error", "format must be old")
        return jsonify(
            {
                "SiteURL": em.site_url or em.url,
                "Version": em.version,
                "BuildNumber": em.version,
                # config/client.go: EmailSettings.RequireEmailVerification, false by default.
                "RequireEmailVerification": str(em.require_email_verification).lower(),
            }
        )

    @app.get("/api/v4/system/ping")
    def ping() -> Any:
        return jsonify({"status": "OK"})

    @app.get("/api/v4/users/<user_id>")
    def get_user(user_id: str) -> Any:
        user = em.caller() if user_id == "me" else em.users.get(user_id)
        if user is None:
            return _error(404, "app.user.missing_account.const", "User not found")
        # app/user.go sanitising: another user's email only with PrivacySettings.ShowEmailAddress, or as an admin.
        shown = dict(user)
        caller = em.caller()["id"]
        if caller != user["id"] and not em.show_email_address and not em.may(caller, "manage_system"):
            shown["email"] = ""
        return jsonify(shown)

    @app.get("/api/v4/users/username/<username>")
    def get_user_by_username(username: str) -> Any:
        user = next((u for u in em.users.values() if u["username"] == username.lower()), None)
        return jsonify(user) if user else _error(404, "app.user.missing_account.const", "User not found")

    @app.get("/api/v4/users/<user_id>/channels")
    def channels_for_user(user_id: str) -> Any:
        uid = em.caller()["id"] if user_id == "me" else user_id
        if uid != em.caller()["id"] and not em.may(em.caller()["id"], "edit_other_users"):
            return _denied("edit_other_users")
        with em.lock:
            return jsonify([_public(c) for c in em.channels.values() if uid in c["members"]])

    @app.get("/api/v4/channels/<channel_id>")
    def get_channel(channel_id: str) -> Any:
        channel = em.channels.get(channel_id)
        if channel is None:
            return _error(404, "app.channel.get.existing.app_error", "Channel not found")
        caller = em.caller()["id"]
        # api4/channel.go getChannel: read_channel, or for an open channel read_public_channel in its team.
        if not em.may(caller, "read_channel", channel_id) and channel["type"] != "O":  # one team: all in it
            return _denied("read_channel")
        return jsonify(_public(channel))

    @app.get("/api/v4/channels/<channel_id>/members/<user_id>")
    def get_channel_member(channel_id: str, user_id: str) -> Any:
        channel = em.channels.get(channel_id)
        if channel is None or not em.may(em.caller()["id"], "read_channel", channel_id):
            return _denied("read_channel")
        if user_id not in channel["members"]:
            return _error(404, "app.channel.get_member.missing.app_error", "Member not found")
        extra = channel.get("admins", {}).get(user_id, "")
        return jsonify(
            {
                "channel_id": channel_id,
                "user_id": user_id,
                "roles": " ".join(["channel_user", *extra.split()]),
                "scheme_user": True,
                "scheme_admin": "channel_admin" in extra.split(),
                "last_viewed_at": 0,
                "msg_count": 0,
                "mention_count": 0,
                "notify_props": {},
                "last_update_at": now_ms(),
            }
        )

    @app.get("/api/v4/teams/<team_id>/members/<user_id>")
    def get_team_member(team_id: str, user_id: str) -> Any:
        if team_id != em.team_id or user_id not in em.users:
            return _error(404, "app.team.get_member.missing.app_error", "Member not found")
        admin = user_id in em.team_admins
        return jsonify(
            {
                "team_id": team_id,
                "user_id": user_id,
                "roles": "team_user team_admin" if admin else "team_user",
                "delete_at": 0,
                "scheme_user": True,
                "scheme_admin": admin,
            }
        )

    @app.post("/api/v4/channels/direct")
    def direct() -> Any:
        ids = request.get_json()
        if not isinstance(ids, list) or len(ids) != 2 or any(i not in em.users for i in ids):
            return _error(400, "api.channel.create_direct_channel.invalid_user.app_error", "Invalid users")
        caller = em.caller()["id"]
        if not em.may(caller, "create_direct_channel"):
            return _denied("create_direct_channel")
        if caller not in ids and not em.may(caller, "manage_system"):
            return _denied("manage_system")
        return jsonify(_public(em.direct_channel(ids[0], ids[1]))), 201

    @app.post("/api/v4/posts")
    def create_post() -> Any:
        body = request.get_json()
        channel = em.channels.get(body.get("channel_id", ""))
        caller = em.caller()
        if channel is None or not em.may(caller["id"], "create_post", channel["id"]):
            return _denied("create_post")
        if len(body.get("message", "")) > POST_MESSAGE_MAX_RUNES:
            return _error(400, "model.post.is_valid.msg.app_error", "Message too long")
        root = em.posts.get(body.get("root_id") or "")
        if body.get("root_id") and (root is None or root["delete_at"] or root["channel_id"] != channel["id"]):
            # app/post.go CreatePost: a reply needs a live root in the same channel.
            return _error(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter")
        # app/post.go deduplicateCreatePost: a pending_post_id seen within 30 s returns the post it made.
        pending = str(body.get("pending_post_id") or "")
        with em.lock:
            seen = em.pending_post_ids.get(pending) if pending else None
            if seen is not None and time.monotonic() - seen[1] < PENDING_POST_IDS_TTL:
                return jsonify(em.posts[seen[0]]), 201
        post = em._create_post(
            caller["id"], channel["id"], body.get("message", ""), body.get("root_id") or "", body.get("props") or {}
        )
        if pending:
            with em.lock:
                em.pending_post_ids[pending] = (post["id"], time.monotonic())
        return jsonify(post), 201

    @app.post("/api/v4/posts/ephemeral")
    def ephemeral() -> Any:
        if not em.may(em.caller()["id"], "create_post_ephemeral"):  # a system permission, never a channel one
            return _denied("create_post_ephemeral")
        body = request.get_json()
        with em.lock:
            em.ephemerals.append(body)
        post: dict[str, Any] = {"id": new_id(), **body["post"], "user_id": em.caller()["id"], "create_at": now_ms()}
        return jsonify(post), 201

    @app.get("/api/v4/posts/<post_id>")
    def get_post(post_id: str) -> Any:
        post = em.posts.get(post_id)
        if post is None or post.get("delete_at"):
            return _error(404, "app.post.get.app_error", "Post not found")
        if not em.may(em.caller()["id"], "read_channel_content", post["channel_id"]):
            return _denied("read_channel_content")
        return jsonify(post)

    @app.put("/api/v4/posts/<post_id>/patch")
    def patch_post(post_id: str) -> Any:
        post = em.posts.get(post_id)
        caller = em.caller()
        # api4/post.go postPatchChecks: a missing or deleted post is a permission error, not a 404.
        if post is None or post.get("delete_at"):
            return _denied("edit_post")
        permission = "edit_post" if post["user_id"] == caller["id"] else "edit_others_posts"
        if not em.may(caller["id"], permission, post["channel_id"]):
            return _denied(permission)
        limit = em.post_edit_time_limit
        if limit != -1 and now_ms() > post["create_at"] + limit * 1000:
            return _error(400, "api.post.update_post.permissions_time_limit.app_error", "Edit time limit passed")
        body = request.get_json()
        with em.lock:
            post.update(message=body.get("message", post["message"]), edit_at=now_ms(), update_at=now_ms())
            snapshot = dict(post)
        em._broadcast("post_edited", {"post": json.dumps(snapshot)}, snapshot["channel_id"])
        return jsonify(snapshot)

    @app.get("/api/v4/channels/<channel_id>/posts")
    def channel_posts(channel_id: str) -> Any:
        if not em.may(em.caller()["id"], "read_channel_content", channel_id):
            return _denied("read_channel_content")
        # GetPostsSince returns what changed since then, deleted posts included.
        since = int(request.args.get("since", "0") or 0)
        posts = [p for p in em.posts_in(channel_id) if p["update_at"] >= since]
        order = [p["id"] for p in sorted(posts, key=lambda p: p["create_at"], reverse=True)]
        return jsonify({"order": order, "posts": {p["id"]: p for p in posts}, "next_post_id": "", "prev_post_id": ""})

    @app.post("/api/v4/actions/dialogs/open")
    def open_dialog() -> Any:
        body = request.get_json()
        if not body.get("trigger_id") or not body.get("url"):
            return _error(400, "api.dialog.open.invalid", "empty trigger id or URL")
        try:
            _, _, issued, _ = base64.b64decode(body["trigger_id"]).decode().split(":")
            age = now_ms() - int(issued)
        except ValueError:
            return _error(400, "interactive_message.decode_trigger_id.missing_data", "Malformed trigger id")
        if age > em.trigger_lifetime() * 1000:
            em.expired_triggers.append(body["trigger_id"])
            return _error(400, "interactive_message.decode_trigger_id.expired", "Trigger id expired")
        problems = dialog_problems(body.get("dialog") or {})
        if problems:
            # The server only logs an invalid dialog as a warning and opens what it can; the emulator records it
            # so the tests fail on it, and opens it too.
            em.spec_errors.append("dialog: " + "; ".join(problems))
        with em.lock:
            em.dialogs.append(body)
        return jsonify({"status": "OK"})

    @app.post("/hooks/commands/<hook_id>")
    def command_hook(hook_id: str) -> Any:
        """web/command_webhook.go: the hook id is the credential; the request carries no token."""
        with em.lock:
            reply = {
                "hook": hook_id,
                "authorization": request.headers.get("Authorization"),
                **(request.get_json() or {}),
            }
            em.hook_replies.append(reply)
        if em.hook_status != 200:
            return _error(em.hook_status, "web.command_webhook.general.app_error", "Unable to handle the hook")
        return Response("ok")

    @app.get("/api/v4/roles/name/<name>")
    def role(name: str) -> Any:
        granted = em.role_permissions(name)
        everything = {"edit_others_posts", "create_post_ephemeral", "manage_system", "edit_other_users"}
        permissions = sorted((granted - {"*"}) | (everything if "*" in granted else set()))
        return jsonify(
            {
                "id": new_id(),
                "name": name,
                "display_name": name,
                "permissions": permissions,
                "scheme_managed": True,
                "built_in": True,
            }
        )
