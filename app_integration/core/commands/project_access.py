"""Checks shared by the ticket-creating features: who may create, and for whom."""

from __future__ import annotations

from app_integration.core.errors import BridgeError, InputError, NotFound, PermissionDenied
from app_integration.core.i18n import _
from app_integration.core.models import Account, ChatUser, Choice
from app_integration.core.services import Services

CONNECT_HINT = "`/integration_with_redmine connect`"


def project_choices(services: Services, login: str) -> list[Choice]:
    """The projects the caller can see, as form options; an error when there are none."""
    projects = services.tracker.visible_projects(login)
    if not projects:
        raise BridgeError(_("You cannot see any Redmine project, so there is nowhere to create a ticket."))
    return [Choice(p.identifier, p.name) for p in projects]


def project_members(services: Services, login: str, project: str, field: str) -> frozenset[int]:
    """The project's member ids, once the caller is known to be an active member."""
    try:
        members = services.tracker.member_ids(login, project)
    except (NotFound, PermissionDenied):
        raise InputError(
            _("Project `{project}` was not found or you cannot see it.", project=project),
            {field: _("Not found or not visible to you")},
        ) from None
    caller = services.tracker.account(login)
    if caller is None or caller.id not in members:
        raise InputError(
            _("You are not a member of project `{project}`, so you cannot create tickets there.", project=project),
            {field: _("You are not a member of this project")},
        )
    return members


def assignee_problem(services: Services, user: ChatUser, members: frozenset[int]) -> Account | str:
    """The assignee's Redmine account, or why it cannot take the ticket."""
    login = services.users.redmine_login(user)
    if login is None:
        return _(
            "@{user} is not linked to a Redmine account (they can link it: {hint})",
            user=user.username,
            hint=CONNECT_HINT,
        )
    account = services.tracker.account(login)
    if account is None:
        return _("@{user} has no Redmine account ({login})", user=user.username, login=login)
    if not account.active:
        return _("@{user}'s Redmine account ({login}) is locked", user=user.username, login=login)
    if account.id not in members:
        return _("@{user} is not a member of this project", user=user.username)
    return account
