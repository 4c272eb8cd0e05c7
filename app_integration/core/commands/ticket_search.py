"""`find <words>`, `queries`, and a saved query found by name or number (for `tickets_for_me`/`my_tickets`):
tickets as the person finds them in Redmine (its search and its saved queries, asked as them)."""

from __future__ import annotations

from app_integration.core.errors import InputError
from app_integration.core.formatting import link, plain
from app_integration.core.i18n import _, ngettext
from app_integration.core.models import Action, CommandContext, Reply, SavedQuery
from app_integration.core.services import Services

PAGE = 10  # results a find shows at once; *More* shows the next ones
MAX_WORDS = 200  # characters of a search: Redmine's own form stops short of this too


def find(services: Services, context: CommandContext) -> Reply:
    words = " ".join(context.argument.split())[:MAX_WORDS]
    if len(words.replace('"', "")) < 2:
        raise InputError(_("Give words to look for: `find printer jam`."))
    return _found(services, context, words, 0)


def find_more(services: Services, context: CommandContext) -> Reply:
    """The *More* button: the next page of the same search (argument: offset, a space, the words)."""
    offset, _sep, words = context.argument.partition(" ")
    return _found(services, context, words, int(offset) if offset.isdigit() else 0)


def _found(services: Services, context: CommandContext, words: str, offset: int) -> Reply:
    login = services.login_for(context.user)
    page = services.finder.search_issues(login, words, PAGE, offset)
    if not page.found:
        return Reply(text=_("No ticket you may see matches “{words}”.", words=plain(words)))
    base = services.tracker.base_url
    lines = [f"- {link(found.title, f'{base}/issues/{found.id}')}" for found in page.found]
    shown_to = offset + len(page.found)
    head = ngettext(
        "{count} ticket matches “{words}”; {first} to {last}:",
        "{count} tickets match “{words}”; {first} to {last}:",
        page.total,
        words=plain(words),
        first=offset + 1,
        last=shown_to,
    )
    more = (Action(_("More"), "find_more", f"{shown_to} {words}"),) if shown_to < page.total else ()
    return Reply(text=head + "\n" + "\n".join(lines), actions=more)


def queries(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    saved = services.finder.saved_queries(login)
    if not saved:
        return Reply(text=_("You have no saved queries in Redmine, and none is public."))
    lines = [f"- `{query.id}` {link(query.name, query_url(services, query))}" for query in saved]
    return Reply(
        text=_("Saved queries you may use: {count}", count=len(saved))
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + _("Use one by name or number: `tickets_for_me <query>`.")
    )


def query_url(services: Services, query: SavedQuery) -> str:
    return f"{services.tracker.base_url}/issues?query_id={query.id}"


def saved_query(services: Services, login: str, wanted: str) -> SavedQuery:
    """The person's saved query by number, or by name (whole, then a unique part; case does not matter)."""
    saved = services.finder.saved_queries(login)
    wanted = wanted.strip()
    if wanted.isdigit():
        match = [query for query in saved if query.id == int(wanted)]
    else:
        folded = wanted.casefold()
        match = [query for query in saved if query.name.casefold() == folded] or [
            query for query in saved if folded in query.name.casefold()
        ]
    if len(match) == 1:
        return match[0]
    names = ", ".join(f"“{plain(query.name)}”" for query in (match or saved)[:10])
    if match:
        raise InputError(
            _("Several saved queries fit “{wanted}”: {names}. Give its number.", wanted=plain(wanted), names=names)
        )
    raise InputError(
        _("No saved query of yours is “{wanted}”. Yours: {names}.", wanted=plain(wanted), names=names or "—")
        + " "
        + _("`queries` lists them.")
    )
