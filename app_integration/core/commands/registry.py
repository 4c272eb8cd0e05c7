"""The bridge's commands. Help, Apps bindings and dialogs are all generated from here."""

from __future__ import annotations

from app_integration.core.commands.account_links import (
    connect,
    connect_cancel,
    connect_email,
    connect_email_confirm,
    connect_key,
    disconnect,
    submit_key,
    whoami,
)
from app_integration.core.commands.attach_to_ticket import attach, attach_form, submit_attach
from app_integration.core.commands.channel_settings import channel_settings, submit_channel_settings
from app_integration.core.commands.help import make_app_info
from app_integration.core.commands.personal_notifications import mute, notifications, toggle_notification, unmute
from app_integration.core.commands.subscriptions import submit_subscription, subscribe, subscriptions, unsubscribe
from app_integration.core.commands.ticket_actions import (
    assign_form,
    comment_form,
    status_form,
    submit_assign,
    submit_comment,
    submit_status,
    submit_time,
    time_form,
)
from app_integration.core.commands.ticket_batch import open_batch, submit_batch
from app_integration.core.commands.ticket_cards import (
    assign_to_me,
    close_ticket,
    reopen_ticket,
    share_ticket,
    show_ticket,
    unwatch_ticket,
    watch_ticket,
)
from app_integration.core.commands.ticket_form import open_form, submit_form
from app_integration.core.commands.ticket_lists import my_tickets, tickets_for_me
from app_integration.core.commands.ticket_search import find, find_more, queries
from app_integration.core.commands.time_tracking import log_time, spent
from app_integration.core.dispatch import Command, CommandRegistry
from app_integration.core.i18n import N_


def build_registry() -> CommandRegistry:
    registry: CommandRegistry | None = None

    def current() -> CommandRegistry:
        assert registry is not None
        return registry

    registry = CommandRegistry(
        [
            Command(
                "app_info",
                N_("Show this help and whether you are linked to Redmine"),
                label=N_("Help"),
                run=make_app_info(current),
                aliases=("help",),
            ),
            Command(
                "create_ticket_by_form",
                N_("Create one ticket through a form; from a post, given its permalink"),
                label=N_("Create a ticket"),
                run=open_form,
                submit=submit_form,
                aliases=("new_task",),
                usage=N_("[permalink or post id]"),
            ),
            Command(
                "create_tickets",
                N_("Create many tickets, one per line: `1. Write report @bob 10.05.27`"),
                label=N_("Create tickets"),
                run=open_batch,
                submit=submit_batch,
                aliases=("new_tasks",),
                usage=N_("[project + lines]"),
            ),
            Command(
                "tickets_for_me",
                N_("List the open tickets assigned to you, or a saved query's tickets"),
                label=N_("Tickets for me"),
                run=tickets_for_me,
                aliases=("tasks_for_me",),
                usage=N_("[saved query]"),
            ),
            Command(
                "my_tickets",
                N_("List the open tickets you created, or a saved query's tickets"),
                label=N_("My tickets"),
                run=my_tickets,
                aliases=("tasks_by_me",),
                usage=N_("[saved query]"),
            ),
            Command(
                "find",
                N_("Find the tickets you may see by words in their subject, description or notes"),
                label=N_("Find tickets"),
                run=find,
                aliases=("search",),
                usage=N_("<words>"),
            ),
            Command("find_more", "", run=find_more, hidden=True, policy="signed"),
            Command(
                "log",
                N_("Log time on a ticket: `log 2h #10 [activity] [yesterday|dd.mm] what you did`"),
                label=N_("Log time"),
                run=log_time,
                usage=N_("<hours> #<ticket> [activity] [day] [comment]"),
            ),
            Command(
                "spent",
                N_("Show the time you logged today, this week or this month, with its total"),
                label=N_("My time"),
                run=spent,
                usage=N_("[today|week|month]"),
            ),
            Command(
                "channel_settings",
                N_("Set this channel's default project and how its #t references are linked (channel admins)"),
                label=N_("Channel settings"),
                run=channel_settings,
                submit=submit_channel_settings,
                policy="manager",
            ),
            Command(
                "queries",
                N_("List the saved queries you may use in Redmine"),
                label=N_("Saved queries"),
                run=queries,
            ),
            Command(
                "ticket",
                N_("Show a ticket's card, with buttons to comment, change, assign, log time or share it"),
                label=N_("Ticket card"),
                run=show_ticket,
                aliases=("view",),
                usage=N_("<number>"),
            ),
            Command("ticket_comment", "", run=comment_form, submit=submit_comment, hidden=True, policy="signed"),
            Command("ticket_status", "", run=status_form, submit=submit_status, hidden=True, policy="signed"),
            Command("ticket_assign", "", run=assign_form, submit=submit_assign, hidden=True, policy="signed"),
            Command("ticket_time", "", run=time_form, submit=submit_time, hidden=True, policy="signed"),
            Command("ticket_take", "", run=assign_to_me, hidden=True, policy="signed"),
            Command("ticket_close", "", run=close_ticket, hidden=True, policy="signed"),
            Command("ticket_reopen", "", run=reopen_ticket, hidden=True, policy="signed"),
            Command("ticket_watch", "", run=watch_ticket, hidden=True, policy="signed"),
            Command("ticket_unwatch", "", run=unwatch_ticket, hidden=True, policy="signed"),
            Command("ticket_share", "", run=share_ticket, hidden=True, policy="signed"),
            Command(
                "attach",
                N_("Add a post, or its whole thread, to a ticket as your note, with its files"),
                label=N_("Add a post to a ticket"),
                run=attach,
                submit=submit_attach,
                usage=N_("<permalink> <ticket> [thread]"),
            ),
            Command("attach_form", "", run=attach_form, hidden=True),  # opens a form for a post the person may read
            Command(
                "connect",
                N_("Link your account to Redmine yourself: by email or API key"),
                label=N_("Link my account"),
                run=connect,
            ),
            Command(
                "whoami",
                N_("Show your Redmine link, how it was made, and whether it works"),
                label=N_("My link"),
                run=whoami,
            ),
            Command(
                "disconnect",
                N_("Remove your Redmine link and any key stored for it"),
                label=N_("Unlink my account"),
                run=disconnect,
            ),
            Command(
                "subscribe",
                N_("Post a Redmine project's events in this channel, one thread per ticket"),
                label=N_("Subscribe the channel"),
                run=subscribe,
                submit=submit_subscription,
                policy="manager",
            ),
            Command(
                "subscriptions",
                N_("List this channel's subscriptions, to edit or remove them"),
                label=N_("Subscriptions"),
                run=subscriptions,
            ),
            Command(
                "unsubscribe",
                N_("Remove one of this channel's subscriptions"),
                label=N_("Unsubscribe"),
                run=unsubscribe,
                usage=N_("<number>"),
                policy="manager",
            ),
            Command(
                "notifications",
                N_("Choose which Redmine events reach you by DM, and when your morning digest comes"),
                label=N_("My notifications"),
                run=notifications,
                usage=N_("[08:30]"),
            ),
            Command("notification_toggle", "", run=toggle_notification, hidden=True, policy="signed"),
            Command(
                "mute",
                N_("Get no more DMs about one ticket"),
                label=N_("Mute a ticket"),
                run=mute,
                usage=N_("<number>"),
            ),
            Command(
                "unmute",
                N_("Get DMs about a muted ticket again"),
                label=N_("Unmute a ticket"),
                run=unmute,
                usage=N_("<number>"),
            ),
            Command("connect_email", "", run=connect_email, hidden=True, policy="signed"),
            Command("connect_email_confirm", "", run=connect_email_confirm, hidden=True, policy="signed"),
            Command("connect_cancel", "", run=connect_cancel, hidden=True, policy="signed"),
            Command("connect_key", "", run=connect_key, submit=submit_key, hidden=True, policy="signed"),
        ]
    )
    return registry
