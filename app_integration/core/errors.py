"""The bridge's own error types. Adapters translate foreign errors into these once,
at their edge, and every surface shows `user_message` and never a traceback."""

from __future__ import annotations

from collections.abc import Mapping

from app_integration.core.i18n import _


class BridgeError(Exception):
    """An error with a message fit for the person who caused it."""

    def __init__(self, user_message: str, field: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.field = field


class NotMapped(BridgeError):
    """The Mattermost user has no Redmine login in the user map."""


class AccountUnavailable(BridgeError):
    """Redmine answered 412: the login is missing or locked."""


class PersonalKeyRefused(BridgeError):
    """Redmine refused a user's own API key: revoked, or its account locked."""

    def __init__(self, login: str) -> None:
        super().__init__(
            _(
                "Redmine refused your personal API key, so your link was removed. "
                "Link again with `/integration_with_redmine connect`."
            )
        )
        self.login = login


class OperatorError(BridgeError):
    """Redmine answered 401: the admin key is wrong; only an operator can fix it."""


class PermissionDenied(BridgeError):
    """Redmine answered 403."""


class EditTooLate(BridgeError):
    """Mattermost refused to edit a post past its edit time limit (ServiceSettings.PostEditTimeLimit)."""


class NotFound(BridgeError):
    """Redmine answered 404: missing, or not visible to this user."""


class RedmineRejected(BridgeError):
    """Redmine answered 422 with its own list of errors."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(_("Redmine refused it: {reason}", reason="; ".join(errors)))
        self.errors = errors


class RedmineUnavailable(BridgeError):
    """Redmine could not be reached (nothing was sent), or it answered with a 5xx (its work is over, and a
    lookup shows whether anything was written)."""


class RedmineNoAnswer(RedmineUnavailable):
    """The request was sent and no answer came (a read timeout, a connection cut): Redmine may still be doing
    it, so a write is never sent again on this; only a later lookup can tell."""


class OutcomeUnknown(RedmineUnavailable):
    """A create was sent, Redmine's answer was lost, and looking for the result failed too: the ticket may
    exist. Never to be reported as "not created", since a resend could duplicate it."""


class ChatUnavailable(BridgeError):
    """Mattermost could not take the request now (unreachable, 5xx, 429): worth trying again, after
    `retry_after` seconds where Mattermost said."""

    def __init__(self, user_message: str, retry_after: float | None = None) -> None:
        super().__init__(user_message)
        self.retry_after = retry_after


class LeadLost(BridgeError):
    """Another replica leads now: whatever this one was about to do is left to it."""


class AccountTaken(BridgeError):
    """The Redmine account is linked to another Mattermost account: one account, one person."""


class EmailNotVouched(BridgeError):
    """Mattermost shows an address it does not vouch for: anyone could have typed it into their profile."""


class ChatRefused(BridgeError):
    """Mattermost refused the request itself (a 4xx other than 401, 403 and 404): trying again cannot help."""

    def __init__(self, user_message: str, reason: str = "") -> None:
        super().__init__(user_message)
        self.reason = reason


class ChatTokenRefused(ChatUnavailable):
    """Mattermost answered 401 to the bot's own token: only an operator can fix it, and retrying never will."""


class InputError(BridgeError):
    """Bad input, with a message per form field where one applies."""

    def __init__(self, user_message: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(user_message)
        self.field_errors = dict(field_errors or {})


class Unauthorized(Exception):
    """An inbound request failed verification. Never shown in detail to the caller."""


class FileRefused(BridgeError):
    """A file that does not go into Redmine: too large, or refused by Redmine; the message says which."""
