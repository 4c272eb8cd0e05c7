"""A post's files and its thread, as the bot reads them (api4/file.go, api4/post.go). Whether the person may
read them is asked separately, for their verified id: the bot's own access proves nothing about theirs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mattermostautodriver import TypedDriver

from app_integration.adapters.mattermost.rest_driver import checked_id
from app_integration.core.errors import NotFound, PermissionDenied
from app_integration.core.models import ChatFile, ChatPost, ChatUser

T = TypeVar("T")


class FilesAndThreads:
    """Mixed into MattermostChat: the part of the Chat port that brings posts into tickets."""

    def _call(self, call: Callable[[TypedDriver], T]) -> T:
        raise NotImplementedError

    def user(self, user_id: str) -> ChatUser | None:
        raise NotImplementedError

    def channel_kind(self, channel_id: str, fresh: bool = False) -> str | None:
        raise NotImplementedError

    def bot(self) -> ChatUser:
        raise NotImplementedError

    def file_info(self, file_id: str) -> ChatFile | None:
        """The file's name, size and type, or None when it is gone or the bot may not read it."""
        try:
            raw = self._call(lambda d: d.files.get_file_info(checked_id(file_id)))
        except (NotFound, PermissionDenied):
            return None
        return ChatFile(
            str(raw["id"]),
            str(raw.get("name") or raw["id"]),
            int(raw.get("size") or 0),
            str(raw.get("mime_type") or "application/octet-stream"),
        )

    def file_bytes(self, file_id: str) -> bytes:
        """The file itself. Asked of the client below its JSON parsing: a .json file is bytes like any other."""
        response = self._call(lambda d: d.client.make_request("get", f"/api/v4/files/{checked_id(file_id)}"))
        return bytes(response.content)

    def thread(self, post_id: str) -> list[ChatPost]:
        """Every post people wrote in the post's thread, the root first. The bot's own (its announcements, its
        links) are not the conversation, and a post it cannot attribute is left out."""
        raw = self._call(lambda d: d.posts.get_post_thread(checked_id(post_id)))
        by_id = raw.get("posts") or {}
        # `order` is newest first and settles posts made in the same millisecond, which create_at cannot.
        ordered = [by_id[i] for i in reversed(raw.get("order") or []) if i in by_id]
        bot = self.bot().id
        posts = [self.post_from(p) for p in ordered if not p.get("delete_at") and p.get("user_id") != bot]
        return [p for p in posts if p is not None]

    def post_from(self, raw: dict[str, Any]) -> ChatPost | None:
        author = self.user(str(raw.get("user_id", "")))
        kind = self.channel_kind(str(raw.get("channel_id", "")))
        if raw.get("delete_at") or author is None or kind is None:
            return None
        return ChatPost(
            id=str(raw["id"]),
            user=author,
            channel_id=str(raw["channel_id"]),
            channel_type=kind,
            message=str(raw.get("message", "")),
            root_id=str(raw.get("root_id") or ""),
            created_at=int(raw.get("create_at") or 0),
            file_ids=tuple(str(f) for f in raw.get("file_ids") or ()),
        )
