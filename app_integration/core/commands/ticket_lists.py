"""`tickets_for_me` and `my_tickets`: open issues, newest update first, or a saved query's, sent as a DM."""

from __future__ import annotations

from urllib.parse import urlencode

from app_integration.core.commands.ticket_search import query_url, saved_query
from app_integration.core.formatting import PersonColumn, issue_table, link, plain
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
    count = page.total
    return _send_list(
        services,
        context,
        page,
        person,
        web_query_url(services.tracker.base_url, filter_name),
        _("Open tickets {what}, @{user}: {count}", what=what, user=context.user.username, count=count),
        _("Open tickets {what} ({count})", what=what, count=count),
        _("Open tickets {what}: {count}. I sent them to you in a direct message.", what=what, count=count),
    )


def query_tickets(services: Services, context: CommandContext, person: PersonColumn) -> Reply:
    """A saved query's tickets, sent as a DM like the lists: the query's own filters and order decide."""
    login = services.login_for(context.user)
    query = saved_query(services, login, context.argument)
    page = services.finder.query_issues(login, query, services.list_limit)
    name, count = plain(query.name), page.total
    if not page.issues:
        return Reply(text=_("No tickets in your query “{name}”.", name=name))
    title = _("Your query “{name}” ({count})", name=name, count=count)
    said = _("Your query “{name}”: {count}. I sent them to you in a direct message.", name=name, count=count)
    return _send_list(services, context, page, person, query_url(services, query), title, title, said)


def _send_list(
    services: Services,
    context: CommandContext,
    page: IssuePage,
    person: PersonColumn,
    url: str,
    text: str,
    title: str,
    said: str,
) -> Reply:
    """The list as a DM, its table as long as a post holds and a link to all of it in Redmine; `said` in place."""
    table, shown = issue_table(services.tracker.base_url, page.issues, person)
    more = page.total - shown
    more_text = (
        _("…and {count} more.", count=more) + " " + link(_("Open all {count} in Redmine", count=page.total), url)
    )
    body = table + (f"\n\n{more_text}" if more else "")
    services.chat.send_direct(context.user.id, ChatMessage(text=text, title=title, title_link=url, body=body))
    return Reply(text=said, sent_as_dm=True)
