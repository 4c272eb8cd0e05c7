"""Mattermost's REST API, as the bot, through mattermostautodriver.

mattermostautodriver is generated from the official API spec and maintained;
mattermostdriver is archived and its websocket breaks on Python >= 3.10.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from cachetools import TTLCache
from mattermostautodriver import TypedDriver

from app_integration.adapters.mattermost.rest_driver import (
    checked_id,
    driver_options,
    mattermost_seconds,
    origin_and_path,
    translated_errors,
)
from app_integration.adapters.mattermost.rest_files import ONCE_PROP, RETRYING_SINCE, FilesAndThreads, once_digest
from app_integration.core.errors import (
    BridgeError,
    EmailNotVouched,
    InputError,
    NotFound,
    PermissionDenied,
)
from app_integration.core.formatting import fit
from app_integration.core.i18n import _, locale_of
from app_integration.core.models import ChatMessage, ChatPost, ChatUser, is_chat_id

log = logging.getLogger(__name__)
T = TypeVar("T")
EPHEMERAL_RETRY_SECONDS = 3600.0
# Sign-ins whose address comes from a directory the person cannot edit (model/user.go's auth services).
DIRECTORY_SIGN_INS = frozenset({"ldap", "saml", "gitlab", "openid", "google", "office365"})


def attachments(message: ChatMessage) -> list[dict[str, str]]:
    if not (message.body or message.title or message.pretext):
        return []
    item = {
        "fallback": message.text,
        "pretext": message.pretext,
        "title": message.title,
        "title_link": message.title_link,
        "text": fit(message.body),
    }
    return [{k: v for k, v in item.items() if v}]


USERNAMES_PER_CALL = 100


def _users_by_usernames(driver: TypedDriver, usernames: list[str]) -> Any:
    return driver.users.get_users_by_usernames(options=usernames)


class MattermostChat(FilesAndThreads):
    """Implements the core's Chat port, plus what the web and listener adapters need."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._driver = TypedDriver(driver_options(base_url, token, timeout))
        self._driver.client.token = token
        # The driver builds its URL from scheme, host and port alone (its `basepath` option no longer has any
        # effect), which loses a server installed under a subpath such as https://host/mattermost. Its client
        # prefixes every endpoint with this one attribute, so the full base goes there.
        self._driver.client._url = origin_and_path(base_url)
        self._lock = threading.Lock()
        # A company's user map holds 10,000 people and more: each one twice (by id and by name).
        self._users: TTLCache[str, ChatUser | None] = TTLCache(maxsize=50_000, ttl=300)
        self._dm_channels: dict[str, str] = {}
        # A channel made private, or deleted, is seen within a minute.
        self._channel_kinds: TTLCache[str, str | None] = TTLCache(maxsize=4096, ttl=60)
        self._zones: TTLCache[str, str] = TTLCache(maxsize=4096, ttl=300)
        self._bot: ChatUser | None = None
        self._ephemeral_refused_at = -EPHEMERAL_RETRY_SECONDS
        self._ephemeral_allowed = False
        self._version: tuple[int, int] | None = None
        self._site_url: str | None = None
        self._ephemeral_probe = threading.Lock()

    def __repr__(self) -> str:
        return f"MattermostChat({self.base_url!r})"

    def _call(self, call: Callable[[TypedDriver], T]) -> T:
        started = time.perf_counter()
        try:
            with translated_errors():
                return call(self._driver)
        finally:
            mattermost_seconds.set(mattermost_seconds.get() + time.perf_counter() - started)

    def bot(self) -> ChatUser:
        if self._bot is None:
            raw = self.me()
            self._bot = ChatUser(raw["id"], raw["username"])
        return self._bot

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call(lambda d: d.users.get_user("me"))
        return result

    def user(self, user_id: str) -> ChatUser | None:
        return self._cached_user(checked_id(user_id), lambda d: d.users.get_user(user_id))

    def user_by_username(self, username: str) -> ChatUser | None:
        return self._cached_user("@" + username.lower(), lambda d: d.users.get_user_by_username(username))

    def users_by_usernames(self, usernames: list[str]) -> dict[str, ChatUser]:
        """Many users at once, by lower-cased username: POST /users/usernames, a hundred names a call (api4/user.go
        getUsersByNames), kept as single lookups are. A name with no user is cached as none."""
        wanted = sorted({name.lower() for name in usernames})
        found: dict[str, ChatUser] = {}
        for start in range(0, len(wanted), USERNAMES_PER_CALL):
            batch = wanted[start : start + USERNAMES_PER_CALL]
            raws = self._call(functools.partial(_users_by_usernames, usernames=batch))
            users = [ChatUser(raw["id"], raw["username"], locale_of(raw.get("locale"))) for raw in raws or []]
            found.update({user.username.lower(): user for user in users})
            with self._lock:  # by name only, as single lookups by name are: a lookup by id asks Mattermost
                for name in batch:
                    self._users["@" + name] = found.get(name)
        return found

    def _cached_user(self, key: str, load: Callable[[TypedDriver], dict[str, Any]]) -> ChatUser | None:
        with self._lock:
            if key in self._users:
                return self._users[key]
        try:
            raw = self._call(load)
            found: ChatUser | None = ChatUser(raw["id"], raw["username"], locale_of(raw.get("locale")))
        except NotFound:
            found = None
        with self._lock:
            self._users[key] = found
        return found

    def email(self, user_id: str) -> str | None:
        """The address only where Mattermost vouches for it: verified, and either the server verifies every
        change of address (RequireEmailVerification, off by default) or the account signs in through a
        directory, where people cannot type their address. EmailNotVouched says why not; None: not shown."""
        raw = self._call(lambda d: d.users.get_user(checked_id(user_id)))
        email = str(raw.get("email") or "")
        if not email:
            return None
        if not raw.get("email_verified"):
            raise EmailNotVouched(
                _(
                    "Mattermost has not verified your email address, so the bridge cannot trust it. "
                    "Link with your personal API key instead."
                )
            )
        if str(raw.get("auth_service") or "") not in DIRECTORY_SIGN_INS and not self._verifies_addresses():
            raise EmailNotVouched(
                _(
                    "This Mattermost lets people change their email address without verifying it, so the bridge "
                    "cannot trust it. Link with your personal API key instead."
                )
            )
        return email

    def _verifies_addresses(self) -> bool:
        """EmailSettings.RequireEmailVerification, from the client config every session may read."""
        config = self._call(lambda d: d.client.get("/api/v4/config/client", params={"format": "old"}))
        return str(config.get("RequireEmailVerification", "false")).lower() == "true"

    def direct_channel(self, user_id: str) -> str:
        if checked_id(user_id) not in self._dm_channels:
            bot_id = self.bot().id
            raw = self._call(lambda d: d.channels.create_direct_channel([bot_id, user_id]))
            self._dm_channels[user_id] = raw["id"]
        return self._dm_channels[user_id]

    def send_direct(self, user_id: str, message: ChatMessage) -> None:
        self.post(self.direct_channel(user_id), message)

    def post(self, channel_id: str, message: ChatMessage, root_id: str = "", once: str = "") -> str:
        items = attachments(message)
        body: dict[str, Any] = {"channel_id": checked_id(channel_id), "message": fit(message.text)}
        if root_id:
            body["root_id"] = root_id
        if items:
            body["props"] = {"attachments": items}
        if once:
            since = RETRYING_SINCE.get()
            if since and self.posted_once(channel_id, once, dt.datetime.fromtimestamp(since / 1000, dt.UTC)):
                return ""  # an earlier try made it, and lost its end
            # app/post.go deduplicateCreatePost: the same pending_post_id within 30 s gets the post already made.
            # Past that window, the key in the post's props tells `posted_once` the post is there.
            body["pending_post_id"] = "bridge:" + once_digest(once)
            body["props"] = {**body.get("props", {}), ONCE_PROP: once_digest(once)}
        raw = self._call(lambda d: d.client.post("/api/v4/posts", options=body))
        return str(raw["id"])

    def post_props(self, channel_id: str, text: str, props: dict[str, Any]) -> str:
        """A post with props of the adapters' making (signed buttons), beyond what the core's messages carry."""
        raw = self._call(
            lambda d: d.posts.create_post(channel_id=checked_id(channel_id), message=fit(text), props=props or None)
        )
        return str(raw["id"])

    def channel_kind(self, channel_id: str, fresh: bool = False) -> str | None:
        with self._lock:
            if channel_id in self._channel_kinds and not fresh:
                return self._channel_kinds[channel_id]
        try:
            raw = self._call(lambda d: d.channels.get_channel(checked_id(channel_id)))
            kind: str | None = None if raw.get("delete_at") else str(raw.get("type", ""))
        except (NotFound, PermissionDenied):
            kind = None
        with self._lock:
            self._channel_kinds[channel_id] = kind
        return kind

    def forget_channel(self, channel_id: str) -> None:
        """Mattermost said the channel changed (converted, renamed): its type is read again when next asked."""
        with self._lock:
            self._channel_kinds.pop(channel_id, None)

    def may_manage_channel(self, user_id: str, channel_id: str) -> bool:
        """Asked of Mattermost for this user now: channel membership and roles, team roles, system roles."""
        try:
            member = self._call(lambda d: d.channels.get_channel_member(checked_id(channel_id), checked_id(user_id)))
        except (NotFound, PermissionDenied):
            return False  # not a member: nobody outside a channel manages what it hears
        if "channel_admin" in str(member.get("roles", "")).split() or member.get("scheme_admin"):
            return True
        user = self._call(lambda d: d.users.get_user(user_id))
        if "system_admin" in str(user.get("roles", "")).split():
            return True
        channel = self._call(lambda d: d.channels.get_channel(channel_id))
        team_id = str(channel.get("team_id") or "")
        if not team_id:
            return False
        try:
            team_member = self._call(lambda d: d.teams.get_team_member(checked_id(team_id), user_id))
        except (NotFound, PermissionDenied):
            return False
        return "team_admin" in str(team_member.get("roles", "")).split() or bool(team_member.get("scheme_admin"))

    def read_post(self, post_id: str) -> ChatPost | None:
        try:
            raw = self._call(lambda d: d.posts.get_post(checked_id(post_id)))
        except (NotFound, PermissionDenied):
            return None
        return self.post_from(raw)

    def may_read_channel(self, user_id: str, channel_id: str) -> bool:
        try:
            self._call(lambda d: d.channels.get_channel_member(checked_id(channel_id), checked_id(user_id)))
            return True
        except (NotFound, PermissionDenied):
            pass
        if self.channel_kind(channel_id) != "O":
            return False
        # An open channel: every member of its team may read it, without joining.
        channel = self._call(lambda d: d.channels.get_channel(channel_id))
        try:
            self._call(lambda d: d.teams.get_team_member(checked_id(str(channel.get("team_id"))), user_id))
        except (NotFound, PermissionDenied, InputError):
            return False
        return True

    def permalink(self, post_id: str) -> str:
        return f"{self.site_url() or self.base_url}/_redirect/pl/{checked_id(post_id)}"

    def time_zone(self, user_id: str) -> str:
        with self._lock:
            if user_id in self._zones:
                return self._zones[user_id]
        raw = self._call(lambda d: d.users.get_user(checked_id(user_id)))
        zone = self._zone_of(raw)
        with self._lock:
            self._zones[user_id] = zone
        return zone

    @staticmethod
    def _zone_of(raw: dict[str, Any]) -> str:
        zone = raw.get("timezone") or {}
        if str(zone.get("useAutomaticTimezone", "true")).lower() == "true":
            return str(zone.get("automaticTimezone") or "")
        return str(zone.get("manualTimezone") or "")

    def post_ephemeral(self, user_id: str, channel_id: str, text: str, props: dict[str, Any] | None = None) -> None:
        # create_post_ephemeral is a system permission (system admins only, by default): once refused, it stays
        # refused, so the bot stops asking for an hour instead of being refused on every notice.
        # Until one is accepted, one thread at a time asks, so a refusal is met once.
        if self._ephemeral_allowed:
            self._ephemeral(user_id, channel_id, text, props)
            return
        with self._ephemeral_probe:
            if time.monotonic() - self._ephemeral_refused_at < EPHEMERAL_RETRY_SECONDS:
                raise PermissionDenied(_("The bot may not post ephemeral messages."))
            try:
                self._ephemeral(user_id, channel_id, text, props)
            except PermissionDenied:
                self._ephemeral_refused_at = time.monotonic()
                raise
            self._ephemeral_allowed = True

    def _ephemeral(self, user_id: str, channel_id: str, text: str, props: dict[str, Any] | None = None) -> None:
        post: dict[str, Any] = {"channel_id": channel_id, "message": fit(text)}
        if props:
            post["props"] = props
        self._call(lambda d: d.posts.create_post_ephemeral(user_id=user_id, post=post))

    def patch_post(self, post_id: str, message: str) -> None:
        """Raises PermissionDenied (also for a deleted post, as the server answers) or EditTooLate."""
        self._call(lambda d: d.posts.patch_post(checked_id(post_id), message=message))

    def post_message(self, post_id: str) -> str | None:
        try:
            raw = self._call(lambda d: d.posts.get_post(checked_id(post_id)))
        except NotFound:
            return None
        return None if raw.get("delete_at") else str(raw.get("message", ""))

    def open_dialog(self, trigger_id: str, url: str, dialog: dict[str, Any]) -> None:
        self._call(
            lambda d: d.integration_actions.open_interactive_dialog(trigger_id=trigger_id, url=url, dialog=dialog)
        )

    def bot_channels(self) -> list[tuple[str, str]]:
        """(id, type) of every channel the bot is in, DMs included."""
        bot_id = self.bot().id
        raws = self._call(lambda d: d.channels.get_channels_for_user(bot_id))
        return [(c["id"], c.get("type", "O")) for c in raws]

    def permissions(self) -> set[str]:
        """Every permission the bot's roles grant it."""
        roles = str(self.me().get("roles", "")).split()
        found: set[str] = set()
        for role in roles:
            found.update(self._role_permissions(role))
        return found

    def _role_permissions(self, role: str) -> list[str]:
        raw: dict[str, Any] = self._call(lambda d: d.roles.get_role_by_name(role))
        return list(raw.get("permissions", []))

    def ping(self) -> None:
        self._call(lambda d: d.system.get_ping())

    def site_url(self) -> str | None:
        """Mattermost's public Site URL, which it builds response_url from; None when it cannot say. Behind a
        proxy it differs from MATTERMOST_URL, the address the bridge itself uses."""
        if self._site_url is None:
            try:
                config = self._call(lambda d: d.client.get("/api/v4/config/client", params={"format": "old"}))
            except BridgeError:
                return None
            self._site_url = str(config.get("SiteURL") or "").rstrip("/")
        return self._site_url or None

    def is_own_hook(self, url: str) -> bool:
        """Whether a response_url is exactly `<this Mattermost>/hooks/commands/<id>`, by its own address or its
        Site URL: no other host, no other path (`/hooks/../api/v4/…` is the API), no dot segment, no encoded
        character, no query. The bridge posts command answers there, and sends no token with them."""
        parts = urlsplit(url)
        if "%" in url or "\\" in url or parts.query or parts.fragment or parts.username or parts.password:
            return False
        for prefix in (self.base_url, self.site_url()):
            if not prefix:
                continue
            base = urlsplit(prefix.rstrip("/"))
            hook = parts.path.removeprefix(base.path + "/hooks/commands/")
            if (parts.scheme, parts.netloc) == (base.scheme, base.netloc) and hook != parts.path and is_chat_id(hook):
                return True
        return False

    def server_version(self) -> tuple[int, int] | None:
        """(major, minor) from the X-Version-Id header every answer carries; None when Mattermost cannot say.
        Cached: it changes only with an upgrade, and a restart follows those."""
        if self._version is None:
            try:
                answer = httpx.get(f"{origin_and_path(self.base_url)}/api/v4/system/ping", timeout=3.0)
                major, minor = answer.headers.get("X-Version-Id", "").split(".")[:2]
                self._version = (int(major), int(minor))
            except (httpx.HTTPError, ValueError):
                return None
        return self._version
