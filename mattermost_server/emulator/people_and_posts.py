"""What a test puts on the server: users, channels, posts, edits and reactions, each heard on the websocket as
the server would publish it."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from mattermost_server.emulator.ids import new_id, now_ms
from mattermost_server.emulator.websocket_hub import Hub


class PeopleAndPosts:
    """Test data, and the one way a post is made (by a test or through the API)."""

    lock: threading.RLock
    users: dict[str, dict[str, Any]]
    tokens: dict[str, str]
    channels: dict[str, dict[str, Any]]
    posts: dict[str, dict[str, Any]]
    team_id: str
    bot: dict[str, Any]
    hub: Hub
    files: dict[str, tuple[dict[str, Any], bytes]]
    max_file_size: int

    if TYPE_CHECKING:  # WebsocketSide publishes what happens here; Permissions answers who may

        def _broadcast(self, event: str, data: dict[str, Any], channel_id: str) -> None: ...

        def may(self, user_id: str, permission: str, channel_id: str | None = None) -> bool: ...

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
        files: tuple[dict[str, Any], ...] = (),
    ) -> dict[str, Any]:
        """A person posts; the bot hears it on the websocket if it is in the channel. For a webhook's post
        (props from_webhook), the server sets sender_name to its override_username, as the real one does.
        `files` are FileInfos from `upload_as`, attached as the server attaches them (app/file.go
        attachFilesToPost): each takes the post's id, and the post carries `file_ids` and `metadata.files`."""
        author = self.user(username)
        return self._create_post(author["id"], channel_id, message, root_id, props or {}, sender_name, files)

    def upload_as(self, username: str, channel_id: str, name: str, data: bytes, mime_type: str = "") -> dict[str, Any]:
        """A file uploaded into a channel, not yet on a post (api4/file.go uploadFileSimple): its uploader needs
        upload_file there, and FileSettings.MaxFileSize bounds it (app/file.go: 413 too_large)."""
        uploader = self.user(username)
        if not self.may(uploader["id"], "upload_file", channel_id):
            raise PermissionError(f"{username} may not upload into {channel_id}")
        if len(data) > self.max_file_size:
            raise ValueError(f"api.file.upload_file.too_large_detailed.app_error: {len(data)} > {self.max_file_size}")
        now = now_ms()
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        info: dict[str, Any] = {
            "id": new_id(),
            "user_id": uploader["id"],
            "post_id": "",
            "channel_id": channel_id,
            "create_at": now,
            "update_at": now,
            "delete_at": 0,
            "name": name,
            "extension": extension,
            "size": len(data),
            "mime_type": mime_type or "application/octet-stream",
            "width": 0,
            "height": 0,
            "has_preview_image": False,
            "mini_preview": None,
            "remote_id": "",
            "archived": False,
        }
        with self.lock:
            self.files[info["id"]] = (info, bytes(data))
        return dict(info)

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
        # store/sqlstore/reaction_store.go updatePostForReactionsOnInsert: the post gets HasReactions and a new
        # UpdateAt, so `posts?since=` returns it again; app/post_metadata.go lists its reactions in metadata.
        with self.lock:
            post["update_at"], post["has_reactions"] = reaction["update_at"], True
            post.setdefault("metadata", {}).setdefault("reactions", []).append(dict(reaction))
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

    def _create_post(
        self,
        user_id: str,
        channel_id: str,
        message: str,
        root_id: str,
        props: dict[str, Any],
        sender_name: str | None = None,
        files: tuple[dict[str, Any], ...] = (),
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
            if files:
                for info in files:
                    self.files[info["id"]][0]["post_id"] = post["id"]
                post["file_ids"] = [info["id"] for info in files]
                post["metadata"] = {"files": [dict(self.files[info["id"]][0]) for info in files]}
            if root_id and root_id in self.posts:  # app/post.go: the root counts its replies
                self.posts[root_id]["reply_count"] += 1
                self.posts[root_id]["last_reply_at"] = created
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
