"""The emulator refuses what the real server refuses: dialog validation from model/integration_action.go,
permissions per role from model/role.go and api4/post.go, and files from api4/file.go."""

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


def test_files_and_threads_are_served_as_api4_file_go_and_post_go_serve_them() -> None:
    """getFile and getFileInfo: the uploader, or read_channel on the channel of the file's post, else 403; a
    missing file 404. getPostThread needs read_channel_content. Uploads need upload_file and stay within
    FileSettings.MaxFileSize."""
    import httpx
    import pytest

    with MattermostEmulator(validate=False) as emulator:
        alice, outsider = emulator.add_user("alice", token="t-alice"), emulator.add_user("eve", token="t-eve")
        room = emulator.add_channel("room", [emulator.bot, alice], kind="P")
        info = emulator.upload_as("alice", room["id"], "plan.txt", b"the plan")
        root = emulator.post_as("alice", room["id"], "see the plan", files=(info,))
        emulator.post_as("alice", room["id"], "and a reply", root_id=root["id"])

        def get(path: str, token: str) -> httpx.Response:
            return httpx.get(f"{emulator.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5)

        assert get(f"/api/v4/files/{info['id']}", "t-alice").content == b"the plan"
        assert get(f"/api/v4/files/{info['id']}", emulator.bot_token).status_code == 200
        assert get(f"/api/v4/files/{info['id']}", "t-eve").status_code == 403
        assert get(f"/api/v4/files/{info['id']}/info", "t-eve").status_code == 403
        assert get(f"/api/v4/files/{info['id']}/info", "t-alice").json()["post_id"] == root["id"]
        assert get("/api/v4/files/" + "x" * 26, "t-alice").status_code == 404
        thread = get(f"/api/v4/posts/{root['id']}/thread", emulator.bot_token).json()
        # The requested post first, the rest in the database's order (app/post.go GetPostThread).
        assert len(thread["order"]) == 2 and thread["order"][0] == root["id"]
        assert get(f"/api/v4/posts/{root['id']}/thread", "t-eve").status_code == 403
        with pytest.raises(PermissionError):
            emulator.upload_as(outsider["username"], room["id"], "x.txt", b"x")
        emulator.max_file_size = 4
        with pytest.raises(ValueError, match="too_large"):
            emulator.upload_as("alice", room["id"], "big.txt", b"12345")
