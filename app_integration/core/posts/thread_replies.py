"""A reply in a ticket's thread becomes a Redmine note, where the channel's subscription asks for it.

The note is written as the person who replied (through the user map), with a link back to the post. A
reply in a channel that is not public becomes a private note, and only where Redmine would keep it
private for that person: otherwise nothing is written, and they are told why. The note never comes back
into the thread: before Redmine is asked, the reply is recorded as an echo to expect, and the feed skips a
note citing it in this channel, however slow Redmine is to answer (nothing is read back).
"""

from __future__ import annotations

import logging

from app_integration.core.errors import InputError, RedmineRejected
from app_integration.core.formatting import source_footer
from app_integration.core.i18n import _
from app_integration.core.models import ChatPost
from app_integration.core.services import Services
from app_integration.core.tickets import TicketChange

log = logging.getLogger(__name__)


def note_from_reply(services: Services, post: ChatPost) -> int | None:
    """The ticket the reply was added to, or None when this thread syncs no replies.
    NotMapped for an unmapped writer (the listener tells them, at most once an hour)."""
    if not post.root_id or post.is_direct or not post.message.strip():
        return None
    subs = services.subscriptions
    issue_id = subs.issue_of_thread(post.channel_id, post.root_id)
    if issue_id is None or not any(s.sync_replies for s in subs.list_subscriptions(post.channel_id)):
        return None
    login = services.login_for(post.user)
    desk = services.desk
    view = desk.ticket(login, issue_id)
    private = post.channel_type != "O"
    if private and not desk.may_write_private_notes(login, view.issue.project.id):
        raise InputError(
            _(
                "Your reply was not added to #{issue_id}: this channel is not public, and Redmine does not let you "
                "write private notes in that project.",
                issue_id=issue_id,
            )
        )
    link = services.chat.permalink(post.id)
    if any(note.text.rstrip().endswith(link) for note in view.notes):
        return issue_id  # written by an earlier try whose end was lost (a retry, a new leader): not twice
    text = post.message.strip() + source_footer(post.user.username, link)
    subs.expect_echo(post.channel_id, issue_id, post.id)
    try:
        desk.change_ticket(login, issue_id, TicketChange(notes=text, private_notes=private))
    except RedmineRejected as refused:
        raise InputError(
            _(
                "Redmine did not take your reply for #{issue_id}: {user_message}",
                issue_id=issue_id,
                user_message=refused.user_message,
            )
        ) from None
    return issue_id
