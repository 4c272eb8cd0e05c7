"""The driver under the bot's REST calls: configured for a server at any path, and Mattermost's errors
translated into the core's in one table, so no caller ever sees the driver's own."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from mattermostautodriver.exceptions import (
    InvalidMattermostError,
    MattermostError,
    NoAccessTokenProvided,
    NotEnoughPermissions,
    ResourceNotFound,
    TooManyRequests,
)

from app_integration.core.errors import (
    ChatRefused,
    ChatTokenRefused,
    ChatUnavailable,
    EditTooLate,
    InputError,
    NotFound,
    PermissionDenied,
)
from app_integration.core.i18n import _
from app_integration.core.models import is_chat_id

log = logging.getLogger(__name__)
# api4/post.go postPatchChecks: the 400 a patch gets past ServiceSettings.PostEditTimeLimit.
EDIT_TIME_LIMIT = "api.post.update_post.permissions_time_limit.app_error"
# A message naming the setting, not a secret.
BOT_TOKEN_REFUSED = (
    "Mattermost refused the bot's token: check REDMINE_MATTERMOST_BRIDGE_APP_TOKEN "  # noqa: S105
    "(a bot account's access token, not revoked)."
)
# Seconds spent waiting on Mattermost in this context; benchmarks read it.
mattermost_seconds: contextvars.ContextVar[float] = contextvars.ContextVar("mattermost_seconds", default=0.0)


def driver_options(base_url: str, token: str, timeout: float) -> dict[str, Any]:
    parts = urlsplit(base_url)
    scheme = parts.scheme or "http"
    return {
        "url": parts.hostname or "localhost",
        "scheme": scheme,
        "port": parts.port or (443 if scheme == "https" else 80),
        "token": token,
        "request_timeout": timeout,
        "max_retries": 2,
        "retry_max_sleep": 5,
    }


def origin_and_path(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = parts.scheme or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{parts.hostname or 'localhost'}:{port}{parts.path.rstrip('/')}"


def checked_id(object_id: str) -> str:
    """An id fit for an API path. `me`, `../teams` and the like never reach one, whoever sent them."""
    if not is_chat_id(object_id):
        raise InputError(_("That is not a Mattermost id."))
    return object_id


@contextmanager
def translated_errors() -> Iterator[None]:
    """Mattermost's errors, as the core's: the one table for every REST call the bridge makes."""
    try:
        yield
    except ResourceNotFound:
        raise NotFound(_("Not found in Mattermost.")) from None
    except NotEnoughPermissions:
        raise PermissionDenied(_("The bot lacks a Mattermost permission for that.")) from None
    except NoAccessTokenProvided:
        raise ChatTokenRefused(BOT_TOKEN_REFUSED) from None
    except TooManyRequests as error:
        log.warning("mattermost: rate limited (retry after %s s)", error.retry_after)
        raise ChatUnavailable(_("Mattermost is busy; try again shortly."), error.retry_after) from None
    except (MattermostError, InvalidMattermostError) as error:
        if getattr(error, "error_id", "") == EDIT_TIME_LIMIT:
            raise EditTooLate(_("The post is past Mattermost's edit time limit.")) from None
        status = error.status_code
        log.warning("mattermost: request failed (%s, %d)", type(error).__name__, status)
        if status >= 500:
            raise ChatUnavailable(_("Mattermost did not accept the bot's request.")) from None
        reason = f"{status} {getattr(error, 'error_id', '') or type(error).__name__}"
        raise ChatRefused(_("Mattermost did not accept the bot's request."), reason) from None
    except httpx.HTTPError as error:
        log.warning("mattermost: request failed (%s)", type(error).__name__)
        raise ChatUnavailable(_("Mattermost did not accept the bot's request.")) from None
