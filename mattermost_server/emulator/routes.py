"""The REST endpoints the bridge calls, with the server's permission checks and limits (each names its source)."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

from mattermost_server.emulator.dialogs import dialog_problems
from mattermost_server.emulator.ids import new_id, now_ms

if TYPE_CHECKING:
    from mattermost_server.emulator.server_state import ServerState

POST_MESSAGE_MAX_RUNES = 16383  # model/post.go PostMessageMaxRunesV2
PENDING_POST_IDS_TTL = 30.0  # app/post.go pendingPostIDsCacheTTL


def error(status: int, error_id: str, message: str) -> Response:
    response = jsonify(
        {"id": error_id, "message": message, "request_id": new_id(), "status_code": status, "is_oauth": False}
    )
    response.status_code = status
    return response


def public(channel: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in channel.items() if k not in ("members", "admins")}


def denied(permission: str) -> Response:
    return error(
        403, "api.context.permissions.app_error", f"You do not have the appropriate permissions ({permission})"
    )


def routes(app: Flask, em: ServerState) -> None:
    @app.get("/api/v4/config/client")
    def client_config() -> Any:
        if request.args.get("format") != "old":  # api4/config.go: only the old format is implemented
            return error(501, "api.config.client.old_format.app_error", "format must be old")
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
            return error(404, "app.user.missing_account.const", "User not found")
        # app/user.go sanitising: another user's email only with PrivacySettings.ShowEmailAddress, or as an admin.
        shown = dict(user)
        caller = em.caller()["id"]
        if caller != user["id"] and not em.show_email_address and not em.may(caller, "manage_system"):
            shown["email"] = ""
        return jsonify(shown)

    @app.get("/api/v4/users/username/<username>")
    def get_user_by_username(username: str) -> Any:
        user = next((u for u in em.users.values() if u["username"] == username.lower()), None)
        return jsonify(user) if user else error(404, "app.user.missing_account.const", "User not found")

    @app.post("/api/v4/users/usernames")
    def get_users_by_usernames() -> Any:
        """api4/user.go getUsersByNames: the users of the names given (an active session, no permission); an
        empty list is a bad request; names with no user are left out."""
        wanted = request.get_json(silent=True)
        if not isinstance(wanted, list) or not wanted or not all(isinstance(n, str) for n in wanted):
            return error(
                400, "api.context.invalid_body_param.app_error", "Invalid or missing usernames in request body"
            )
        names = {n.lower() for n in wanted}
        with em.lock:
            return jsonify([u for u in em.users.values() if u["username"] in names])

    @app.get("/api/v4/users/<user_id>/channels")
    def channels_for_user(user_id: str) -> Any:
        uid = em.caller()["id"] if user_id == "me" else user_id
        if uid != em.caller()["id"] and not em.may(em.caller()["id"], "edit_other_users"):
            return denied("edit_other_users")
        with em.lock:
            return jsonify([public(c) for c in em.channels.values() if uid in c["members"]])

    @app.get("/api/v4/channels/<channel_id>")
    def get_channel(channel_id: str) -> Any:
        channel = em.channels.get(channel_id)
        if channel is None:
            return error(404, "app.channel.get.existing.app_error", "Channel not found")
        caller = em.caller()["id"]
        # api4/channel.go getChannel: read_channel, or for an open channel read_public_channel in its team.
        if not em.may(caller, "read_channel", channel_id) and channel["type"] != "O":  # one team: all in it
            return denied("read_channel")
        return jsonify(public(channel))

    @app.get("/api/v4/channels/<channel_id>/members/<user_id>")
    def get_channel_member(channel_id: str, user_id: str) -> Any:
        channel = em.channels.get(channel_id)
        if channel is None or not em.may(em.caller()["id"], "read_channel", channel_id):
            return denied("read_channel")
        if user_id not in channel["members"]:
            return error(404, "app.channel.get_member.missing.app_error", "Member not found")
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
            return error(404, "app.team.get_member.missing.app_error", "Member not found")
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
            return error(400, "api.channel.create_direct_channel.invalid_user.app_error", "Invalid users")
        caller = em.caller()["id"]
        if not em.may(caller, "create_direct_channel"):
            return denied("create_direct_channel")
        if caller not in ids and not em.may(caller, "manage_system"):
            return denied("manage_system")
        return jsonify(public(em.direct_channel(ids[0], ids[1]))), 201

    @app.post("/api/v4/posts")
    def create_post() -> Any:
        body = request.get_json()
        channel = em.channels.get(body.get("channel_id", ""))
        caller = em.caller()
        if channel is None or not em.may(caller["id"], "create_post", channel["id"]):
            return denied("create_post")
        if len(body.get("message", "")) > POST_MESSAGE_MAX_RUNES:
            return error(400, "model.post.is_valid.msg.app_error", "Message too long")
        root = em.posts.get(body.get("root_id") or "")
        if body.get("root_id") and (root is None or root["delete_at"] or root["channel_id"] != channel["id"]):
            # app/post.go CreatePost: a reply needs a live root in the same channel.
            return error(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter")
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
            return denied("create_post_ephemeral")
        body = request.get_json()
        with em.lock:
            em.ephemerals.append(body)
        post: dict[str, Any] = {"id": new_id(), **body["post"], "user_id": em.caller()["id"], "create_at": now_ms()}
        return jsonify(post), 201

    @app.get("/api/v4/posts/<post_id>")
    def get_post(post_id: str) -> Any:
        post = em.posts.get(post_id)
        if post is None or post.get("delete_at"):
            return error(404, "app.post.get.app_error", "Post not found")
        if not em.may(em.caller()["id"], "read_channel_content", post["channel_id"]):
            return denied("read_channel_content")
        return jsonify(post)

    @app.put("/api/v4/posts/<post_id>/patch")
    def patch_post(post_id: str) -> Any:
        post = em.posts.get(post_id)
        caller = em.caller()
        # api4/post.go postPatchChecks: a missing or deleted post is a permission error, not a 404.
        if post is None or post.get("delete_at"):
            return denied("edit_post")
        permission = "edit_post" if post["user_id"] == caller["id"] else "edit_others_posts"
        if not em.may(caller["id"], permission, post["channel_id"]):
            return denied(permission)
        limit = em.post_edit_time_limit
        if limit != -1 and now_ms() > post["create_at"] + limit * 1000:
            return error(400, "api.post.update_post.permissions_time_limit.app_error", "Edit time limit passed")
        body = request.get_json()
        with em.lock:
            post.update(message=body.get("message", post["message"]), edit_at=now_ms(), update_at=now_ms())
            snapshot = dict(post)
        em._broadcast("post_edited", {"post": json.dumps(snapshot)}, snapshot["channel_id"])
        return jsonify(snapshot)

    @app.get("/api/v4/channels/<channel_id>/posts")
    def channel_posts(channel_id: str) -> Any:
        if not em.may(em.caller()["id"], "read_channel_content", channel_id):
            return denied("read_channel_content")
        # GetPostsSince returns what changed since then, deleted posts included.
        since = int(request.args.get("since", "0") or 0)
        posts = [p for p in em.posts_in(channel_id) if p["update_at"] >= since]
        order = [p["id"] for p in sorted(posts, key=lambda p: p["create_at"], reverse=True)]
        return jsonify({"order": order, "posts": {p["id"]: p for p in posts}, "next_post_id": "", "prev_post_id": ""})

    @app.post("/api/v4/actions/dialogs/open")
    def open_dialog() -> Any:
        body = request.get_json()
        if not body.get("trigger_id") or not body.get("url"):
            return error(400, "api.dialog.open.invalid", "empty trigger id or URL")
        try:
            _, _, issued, _ = base64.b64decode(body["trigger_id"]).decode().split(":")
            age = now_ms() - int(issued)
        except ValueError:
            return error(400, "interactive_message.decode_trigger_id.missing_data", "Malformed trigger id")
        if age > em.trigger_lifetime() * 1000:
            em.expired_triggers.append(body["trigger_id"])
            return error(400, "interactive_message.decode_trigger_id.expired", "Trigger id expired")
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
                "received_at": time.time(),
                **(request.get_json() or {}),
            }
            em.hook_replies.append(reply)
        if em.hook_status != 200:
            return error(em.hook_status, "web.command_webhook.general.app_error", "Unable to handle the hook")
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
