"""The emulator refuses what the real server refuses: dialog validation from model/integration_action.go,
and permissions per role from model/role.go and api4/post.go."""

from __future__ import annotations

from mattermost_server.emulator import MattermostEmulator, dialog_problems


def test_dialog_limits_are_counted_in_bytes() -> None:
    good = {"title": "Create a ticket", "elements": [{"display_name": "Subject", "name": "s", "type": "text"}]}
    assert dialog_problems(good) == []
    cyrillic = {"title": "Создать задачу в Redmine", "elements": []}  # 24 characters, 43 bytes
    assert dialog_problems(cyrillic) == [f"invalid dialog title {cyrillic['title']!r}"]
    long_help = {"title": "t", "elements": [{"display_name": "x", "name": "x", "type": "text", "help_text": "h" * 151}]}
    assert dialog_problems(long_help) == ["x: help_text longer than 150 bytes"]
    twice = {"title": "t", "elements": [{"display_name": "a", "name": "a", "type": "text"}] * 2}
    assert dialog_problems(twice) == ["duplicate dialog element 'a'"]
    bad_default = {
        "title": "t",
        "elements": [{"display_name": "a", "name": "a", "type": "select", "default": "9", "options": [{"value": "1"}]}],
    }
    assert dialog_problems(bad_default) == ["a: default '9' is not an option"]


def test_permissions_follow_the_roles() -> None:
    with MattermostEmulator(validate=False, bot_roles="system_user") as emulator:
        check_roles(emulator)


def check_roles(emulator: MattermostEmulator) -> None:
    bot = emulator.bot["id"]
    member = emulator.add_user("member")
    channel = emulator.add_channel("c", [emulator.bot, member])
    assert emulator.may(bot, "create_post", channel["id"])
    assert not emulator.may(bot, "create_post_ephemeral")  # system admins only, by default
    assert not emulator.may(bot, "edit_others_posts", channel["id"])
    emulator.granted["channel_user"] = {"edit_others_posts"}  # a scheme may grant it per channel
    assert emulator.may(bot, "edit_others_posts", channel["id"])
    emulator.bot["roles"] = "system_user system_admin"
    assert emulator.may(bot, "create_post_ephemeral") and emulator.may(bot, "create_post", "elsewhere")
