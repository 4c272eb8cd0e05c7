"""A post's files and its thread, as the bot reads them (api4/file.go, api4/post.go). Whether the person may
read them is asked separately, for their verified id: the bot's own access proves nothing about theirs."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any, BinaryIO, Protocol, TypeVar, cast

import httpx
from mattermostautodriver import TypedDriver

from app_integration.adapters.mattermost.rest_driver import checked_id
from app_integration.core.errors import FileRefused, NotFound, PermissionDenied
from app_integration.core.formatting import megabytes
from app_integration.core.i18n import _
from app_integration.core.models import ChatFile, ChatPost, ChatUser

T = TypeVar("T")
SINCE_PAGE = 1000  # the most posts GET /channels/{id}/posts?since= answers at once (GetPostsSince's limit)
ONCE_PROP = "bridge_once"  # a post's key of the outbox row (or other one-time act) that made it


# Set while the listener acts again on a post it claimed before (a retry, a backfill, a new leader): the post's
# create_at in ms. A post keyed `once` is then looked for first: Mattermost's own dedup lasts only 30 s.
RETRYING_SINCE: ContextVar[int] = ContextVar("bridge_retrying_since", default=0)


def once_digest(once: str) -> str:
    return hashlib.sha256(once.encode()).hexdigest()[:40]


def _posts_since(driver: TypedDriver, channel_id: str, since: int) -> Any:
    return driver.posts.get_posts_for_channel(channel_id, since=since)


SPOOL_IN_MEMORY = 256 * 1024  # bytes of a file kept in memory; the rest goes to a temporary file
CHUNK = 64 * 1024
# A large file takes long; httpx's read timeout is per chunk, so a stalled server is still noticed.
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def _download(driver: TypedDriver, file_id: str, sink: IO[bytes], limit: int | None) -> None:
    """GET /api/v4/files/{id} (api4/file.go getFile), chunk by chunk; below the driver's own request, which reads
    a whole body into memory. An error's body is read whole (it is small) and judged by the driver's own table."""
    client = driver.client
    url = f"{client.url}/api/v4/files/{file_id}"
    with client.client.stream("GET", url, headers=client.auth_header(), timeout=DOWNLOAD_TIMEOUT) as response:
        if response.status_code >= 400:
            response.read()
            client._check_response(response)
        written = 0
        for chunk in response.iter_bytes(CHUNK):
            written += len(chunk)
            if limit is not None and written > limit:
                raise FileRefused(_("larger than Redmine's limit of {size}", size=megabytes(limit)))
            sink.write(chunk)


class ChatHost(Protocol):
    """What FilesAndThreads needs of the class it is mixed into (MattermostChat): its methods say so with a
    self-type, instead of re-declaring them as stubs."""

    def _call(self, call: Callable[[TypedDriver], T]) -> T: ...

    def user(self, user_id: str) -> ChatUser | None: ...

    def channel_kind(self, channel_id: str, fresh: bool = False) -> str | None: ...

    def bot(self) -> ChatUser: ...

    def post_from(self, raw: dict[str, Any]) -> ChatPost | None: ...


class FilesAndThreads:
    """Mixed into MattermostChat: the part of the Chat port that brings posts into tickets."""

    def file_info(self: ChatHost, file_id: str) -> ChatFile | None:
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

    @contextmanager
    def file_stream(self: ChatHost, file_id: str, limit: int | None) -> Iterator[BinaryIO]:
        """The file, streamed from Mattermost into a spool: in memory up to SPOOL_IN_MEMORY bytes, on disk past
        that, so five 50 MB files at once cost the bridge no more memory than five small ones. More than `limit`
        bytes (Redmine's limit, where known) stops the download with FileRefused."""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            self._call(lambda d: _download(d, checked_id(file_id), spool, limit))
            spool.seek(0)
            yield cast(BinaryIO, spool)

    def posted_once(self: ChatHost, channel_id: str, once: str, since: dt.datetime) -> bool:
        """GET /channels/{id}/posts?since= (api4/post.go getPostsForChannel): the channel's posts changed since
        then, searched for the key's digest in their props."""
        since_ms = int(since.timestamp() * 1000)
        raw = self._call(
            lambda d: d.client.get(f"/api/v4/channels/{checked_id(channel_id)}/posts", params={"since": since_ms})
        )
        digest = once_digest(once)
        posts = (raw or {}).get("posts") or {}
        return any((p.get("props") or {}).get(ONCE_PROP) == digest and not p.get("delete_at") for p in posts.values())

    def posts_since(self: ChatHost, channel_id: str, since_ms: int, pages: int = 50) -> list[dict[str, Any]]:
        """Posts changed since then, oldest first, page after page: the server gives at most 1000 at a time
        (store/sqlstore/post_store.go GetPostsSince), so a long outage in a busy channel reads on from the last
        page's newest change. The server includes deleted ones: they are left out."""
        found: dict[str, dict[str, Any]] = {}
        since = since_ms
        for _page in range(pages):
            raw = self._call(functools.partial(_posts_since, channel_id=checked_id(channel_id), since=since))
            page = list((raw.get("posts", {}) or {}).values())
            new = [p for p in page if p["id"] not in found]
            found.update({p["id"]: p for p in page})
            if len(page) < SINCE_PAGE or not new:
                break
            since = max(int(p.get("update_at") or 0) for p in page)
        posts = [p for p in found.values() if not p.get("delete_at")]
        return sorted(posts, key=lambda p: p.get("create_at", 0))

    def thread(self: ChatHost, post_id: str) -> list[ChatPost]:
        """Every post people wrote in the post's thread, the root first. The bot's own (its announcements, its
        links) are not the conversation, and a post it cannot attribute is left out."""
        raw = self._call(lambda d: d.posts.get_post_thread(checked_id(post_id)))
        by_id = raw.get("posts") or {}
        # Without a direction, `order` is the requested post first and the rest in the database's order, not by
        # time (app/post.go GetPostThread): sorted here by create_at, then id for posts of the same millisecond.
        ordered = sorted(by_id.values(), key=lambda p: (int(p.get("create_at") or 0), str(p.get("id", ""))))
        bot = self.bot().id
        posts = [self.post_from(p) for p in ordered if not p.get("delete_at") and p.get("user_id") != bot]
        return [p for p in posts if p is not None]

    def post_from(self: ChatHost, raw: dict[str, Any]) -> ChatPost | None:
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
