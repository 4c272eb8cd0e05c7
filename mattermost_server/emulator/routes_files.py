"""Files and threads, as api4/file.go and api4/post.go serve them: a file to its uploader or to whoever may read
the channel of the post it is on, a thread to whoever may read its channel's content."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify

from mattermost_server.emulator.routes import denied, error

if TYPE_CHECKING:
    from mattermost_server.emulator.server_state import ServerState


def file_routes(app: Flask, em: ServerState) -> None:
    def readable(file_id: str) -> tuple[dict[str, Any], bytes] | Response:
        """getFile and getFileInfo: the creator, or read_channel on the channel of the file's post."""
        found = em.files.get(file_id)
        if found is None or found[0]["delete_at"]:
            return error(404, "app.file_info.get.app_error", "Unable to get the file info")
        info = found[0]
        caller = em.caller()["id"]
        post = em.posts.get(info["post_id"])
        if info["user_id"] != caller and (post is None or not em.may(caller, "read_channel", post["channel_id"])):
            return denied("read_channel")
        return found

    @app.get("/api/v4/files/<file_id>")
    def get_file(file_id: str) -> Any:
        found = readable(file_id)
        if isinstance(found, Response):
            return found
        info, data = found
        response = Response(data, mimetype=info["mime_type"])
        response.headers["Content-Disposition"] = f'attachment; filename="{info["name"]}"'
        return response

    @app.get("/api/v4/files/<file_id>/info")
    def get_file_info(file_id: str) -> Any:
        found = readable(file_id)
        return found if isinstance(found, Response) else jsonify(found[0])

    @app.get("/api/v4/posts/<post_id>/thread")
    def get_thread(post_id: str) -> Any:
        """getPostThread without a direction: the requested post first, then the rest of the thread in the
        database's own order, not by time (app/post.go GetPostThread: "the whole postList.Order is not sorted";
        store/sqlstore/post_store.go sorts only when a direction is given). The emulator's "database order" is
        by id, which is random: a reader that takes `order` for time order gets it wrong here, as it would there."""
        post = em.posts.get(post_id)
        if post is None or post.get("delete_at"):
            return error(404, "app.post.get.app_error", "Post not found")
        if not em.may(em.caller()["id"], "read_channel_content", post["channel_id"]):
            return denied("read_channel_content")
        root = post["root_id"] or post["id"]
        with em.lock:
            thread = [p for p in em.posts.values() if (p["id"] == root or p["root_id"] == root) and not p["delete_at"]]
        order = [post_id, *sorted(p["id"] for p in thread if p["id"] != post_id)]
        return jsonify({"order": order, "posts": {p["id"]: p for p in thread}, "next_post_id": "", "prev_post_id": ""})
