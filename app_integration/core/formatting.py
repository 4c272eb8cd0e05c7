"""Markdown for Mattermost: tables of issues, links, and posts that fit the size limit."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from app_integration.core.i18n import _, number
from app_integration.core.models import Issue, Ref

POST_LIMIT = 16_383
PersonColumn = Literal["author", "assignee"]


_MARKUP = re.compile(r"([\\`*_~\[\]<>|])")
# A zero-width space after @ keeps Mattermost from reading a mention (@channel, @all, @here, @someone).
_NO_MENTION = "@\u200b"
# Mattermost autolinks a bare `scheme://…` and `www.…`; a zero-width space inside each keeps the text as text.
_BARE_URL = re.compile(r"(?i)(?<![\w\u200b])([a-z][a-z0-9+.-]{0,30}):(?=//)|\b(www)(?=\.)")


def plain(text: object) -> str:
    """Text from Redmine (subjects, names, notes) made inert for chat: no mention pings anyone, and no link,
    autolink, bare URL or markup it holds comes alive. Whoever wrote it in Redmine chose it, not the bot."""
    escaped = _MARKUP.sub(r"\\\1", str(text)).replace("@", _NO_MENTION)
    return _BARE_URL.sub(lambda m: f"{m.group(1)}:\u200b" if m.group(1) else f"{m.group(2)}\u200b", escaped)


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return plain(text).replace("\n", " ").strip() or " "


def link(text: object, url: str) -> str:
    return f"[{cell(text)}]({url})"


def issue_url(base_url: str, issue_id: int) -> str:
    return f"{base_url}/issues/{issue_id}"


def issue_link(base_url: str, issue_id: int) -> str:
    return link(f"#{issue_id}", issue_url(base_url, issue_id))


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _person(base_url: str, ref: Ref | None) -> str:
    return link(ref.name, f"{base_url}/users/{ref.id}") if ref else "—"


def issue_row(base_url: str, issue: Issue, person: PersonColumn) -> str:
    who = issue.author if person == "author" else issue.assigned_to
    cells = [
        issue_link(base_url, issue.id),
        link(issue.project.name, f"{base_url}/projects/{issue.project.id}"),
        cell(issue.tracker.name),
        cell(issue.status.name),
        link(_short(issue.subject), issue_url(base_url, issue.id)),
        f"{issue.updated_on:%d.%m.%y}" if issue.updated_on else "—",
        f"{issue.due_date:%d.%m.%y}" if issue.due_date else "—",
        cell(issue.priority.name),
        _person(base_url, who),
    ]
    return "| " + " | ".join(cells) + " |"


def issue_table(
    base_url: str, issues: Sequence[Issue], person: PersonColumn, budget: int = POST_LIMIT - 500
) -> tuple[str, int]:
    """The table and how many issues it shows: rows stop before the budget is spent."""
    column = _("Author") if person == "author" else _("Assignee")
    head = [
        _("ID"),
        _("Project"),
        _("Tracker"),
        _("Status"),
        _("Subject"),
        _("Updated"),
        _("Due"),
        _("Priority"),
        column,
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    size = sum(len(line) + 1 for line in lines)
    shown = 0
    for issue in issues:
        row = issue_row(base_url, issue, person)
        if size + len(row) + 1 > budget:
            break
        lines.append(row)
        size += len(row) + 1
        shown += 1
    return "\n".join(lines), shown


def mentions(usernames: Iterable[str]) -> str:
    return ", ".join(f"@{name}" for name in dict.fromkeys(usernames))


def fit(text: str, more_url: str = "", limit: int = POST_LIMIT) -> str:
    """Text cut to the post limit, ending with a link to the rest where one exists."""
    if len(text) <= limit:
        return text
    cut = _("… cut to fit Mattermost's limit.")
    tail = f"\n\n{cut} [" + _("See everything") + f"]({more_url})" if more_url else "\n\n… (" + _("cut") + ")"
    return text[: limit - len(tail)] + tail


def source_footer(author: str, link: str) -> str:
    """Where a text taken from a post came from, below the text: a ticket's description and a reply's note
    both end with it, so a reader in Redmine can find the conversation."""
    return "\n\n— " + _("@{user} in Mattermost: {link}", user=author, link=link)


def megabytes(size: int) -> str:
    """A size as people read it: 1 MB, 5,5 MB."""
    return _("{size} MB", size=number(round(size / 1_048_576, 1)))
