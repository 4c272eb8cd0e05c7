"""Verifies every inbound request: slash tokens, signed dialog state and button
context, and the Apps framework's JWT. Every failure is the same `Unauthorized`, so
a caller learns nothing about which check failed."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Literal

import jwt
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app_integration.core.errors import Unauthorized
from app_integration.core.i18n import N_

# What a token is for: each is signed with its own salt, so one minted for a button never opens a dialog's
# door, nor an Apps form's.
Purpose = Literal["button", "dialog", "apps-form"]


EXPIRED_BUTTON = N_("This button has expired; run the command again.")
EXPIRED_DIALOG = N_("This form has expired; run the command again.")


class Expired(Unauthorized):
    """Signed by the bridge, but too long ago: the person only needs to run the command again."""


def check_slash_token(header: str | None, form_token: str | None, accepted: tuple[str, ...]) -> None:
    """The token from `Authorization: Token <t>` or the `token` field, in constant time."""
    if not accepted:
        raise Unauthorized("slash commands are not configured")
    offered = ""
    if header and header.startswith("Token "):
        offered = header[len("Token ") :].strip()
    offered = offered or (form_token or "")
    matches = [hmac.compare_digest(offered.encode(), token.encode()) for token in accepted]
    if not offered or not any(matches):
        raise Unauthorized("wrong slash token")


class StateSigner:
    """Signs what the bridge hands to Mattermost and gets back: dialog state, button context, Apps form state.
    Each token is bound to its purpose, its person (`uid`) and, where given, its channel (`cid`)."""

    def __init__(self, key: str, max_age: int) -> None:
        self._key = key
        self._max_age = max_age

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._key, salt=f"redmine-bridge/v2/{purpose}")

    def sign(self, purpose: Purpose, payload: Mapping[str, Any]) -> str:
        return str(self._serializer(purpose).dumps(dict(payload)))

    def verify(
        self, purpose: Purpose, token: str | None, user_id: str, channel_id: str | None = None, post_id: str = ""
    ) -> dict[str, Any]:
        """The payload, if untampered, fresh, signed for this purpose, issued to this same user, and (when the
        token names one) for this same channel."""
        if not token:
            raise Unauthorized("no signed state")
        try:
            payload = self._serializer(purpose).loads(token, max_age=self._max_age)
        except SignatureExpired:
            raise Expired("expired signed state") from None
        except BadSignature:
            raise Unauthorized(f"bad signed state, or one not made for a {purpose}") from None
        if not isinstance(payload, dict) or not hmac.compare_digest(str(payload.get("uid", "")), user_id):
            raise Unauthorized("signed state belongs to another user")
        if channel_id is not None and not hmac.compare_digest(str(payload.get("cid", "")), channel_id):
            raise Unauthorized("signed state belongs to another channel")
        if payload.get("pid") and not hmac.compare_digest(str(payload["pid"]), post_id):
            raise Unauthorized("signed state belongs to another post")
        return payload


def check_app_jwt(header: str | None, secret: str | None, acting_user_id: str, require_user: bool = True) -> None:
    """HS256 only, `exp` required and unexpired, `acting_user_id` equal to the context's. A call that never acts
    as a user (`require_user=False`) may name no one, but if the JWT or the body names someone, both must agree."""
    if not secret:
        raise Unauthorized("the Apps framework is not configured")
    if not header or not header.startswith("Bearer "):
        raise Unauthorized("no app JWT")
    try:
        claims = jwt.decode(
            header[len("Bearer ") :].strip(), secret, algorithms=["HS256"], options={"require": ["exp"]}
        )
    except jwt.PyJWTError:
        raise Unauthorized("invalid app JWT") from None
    claimed = str(claims.get("acting_user_id", "") or "")
    if not require_user and not claimed and not acting_user_id:
        return
    if not acting_user_id or not hmac.compare_digest(claimed, acting_user_id):
        raise Unauthorized("JWT acting user differs from the call's")
