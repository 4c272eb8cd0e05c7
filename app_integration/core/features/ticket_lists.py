"""`tickets_for_me` and `my_tickets`: open issues, newest update first, sent as a DM."""

from __future__ import annotations

from urllib.parse import urlencode

from ..formatting import PersonColumn, issue_table, link
from ..models import ChatMessage, CommandContext, IssuePage, Reply
from ..services import Services


def tickets_for_me(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    page = services.tracker.assigned_issues(login, services.list_limit)
    return _send(services, context, page, "assigned_to_id", "author", "assigned to you")


def my_tickets(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    page = services.tracker.authored_issues(login, services.list_limit)
    return _send(services, context, page, "author_id", "assignee", "created by you")


def web_query_url(base_url: str, filter_name: str) -> str:
    query = {"set_filter": "1", filter_name: "me", "status_id": "o", "sort": "updated_on:desc"}
    return f"{base_url}/issues?{urlencode(query)}"


def _send(
    services: Services, context: CommandContext, page: IssuePage, filter_name: str, person: PersonColumn, what: str
) -> Reply:
    if not page.issues:
        return Reply(text=f"No open tickets {what}. :tada:")
    url = web_query_url(services.tracker.base_url, filter_name)
    table, shown = issue_table(services.tracker.base_url, page.issues, person)
    more = page.total - shown
    body = table + (f"\n\n…and {more} more. {link('Open all ' + str(page.total) + ' in Redmine', url)}" if more else "")
    services.chat.send_direct(
        context.user.id,
        ChatMessage(
            text=f"Open tickets {what}, @{context.user.username}: {page.total}",
            title=f"Open tickets {what} ({page.total})",
            title_link=url,
            body=body,
        ),
    )
    plural = "s" if page.total != 1 else ""
    return Reply(
        text=f"You have {page.total} open ticket{plural} {what}. I sent them to you in a direct message.",
        sent_as_dm=True,
    )
