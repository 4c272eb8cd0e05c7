"""`tickets_for_me` and `my_tickets`: open issues, newest update first, sent as a DM."""

from __future__ import annotations

from urllib.parse import urlencode

from app_integration.core.chat_commands.ticket_search import query_tickets
from app_integration.core.formatting import PersonColumn, issue_table, link
from app_integration.core.i18n import _
from app_integration.core.models import ChatMessage, CommandContext, IssuePage, Reply
from app_integration.core.services import Services


def tickets_for_me(services: Services, context: CommandContext) -> Reply:
    if context.argument.strip():  # a saved query, by name or number
        return query_tickets(services, context, "assignee")
    login = services.login_for(context.user)
    page = services.tracker.assigned_issues(login, services.list_limit)
    return _send(services, context, page, "assigned_to_id", "author", _("assigned to you"))


def my_tickets(services: Services, context: CommandContext) -> Reply:
    if context.argument.strip():
        return query_tickets(services, context, "assignee")
    login = services.login_for(context.user)
    page = services.tracker.authored_issues(login, services.list_limit)
    return _send(services, context, page, "author_id", "assignee", _("created by you"))


def web_query_url(base_url: str, filter_name: str) -> str:
    query = {"set_filter": "1", filter_name: "me", "status_id": "o", "sort": "updated_on:desc"}
    return f"{base_url}/issues?{urlencode(query)}"


def _send(
    services: Services, context: CommandContext, page: IssuePage, filter_name: str, person: PersonColumn, what: str
) -> Reply:
    if not page.issues:
        return Reply(text=_("No open tickets {what}.", what=what) + " :tada:")
    url = web_query_url(services.tracker.base_url, filter_name)
    table, shown = issue_table(services.tracker.base_url, page.issues, person)
    more = page.total - shown
    more_text = (
        _("…and {count} more.", count=more) + " " + link(_("Open all {count} in Redmine", count=page.total), url)
    )
    body = table + (f"\n\n{more_text}" if more else "")
    services.chat.send_direct(
        context.user.id,
        ChatMessage(
            text=_("Open tickets {what}, @{user}: {count}", what=what, user=context.user.username, count=page.total),
            title=_("Open tickets {what} ({count})", what=what, count=page.total),
            title_link=url,
            body=body,
        ),
    )
    return Reply(
        text=_("Open tickets {what}: {count}. I sent them to you in a direct message.", what=what, count=page.total),
        sent_as_dm=True,
    )
