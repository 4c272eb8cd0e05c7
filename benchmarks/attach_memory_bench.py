"""The bridge's memory while it carries files from Mattermost into Redmine: five 50 MB attaches at once.

A loopback server plays both ends: Mattermost's `GET /api/v4/files/{id}` (bytes made up chunk by chunk, never
held whole) and Redmine's `POST /uploads.json` (read and dropped, answered with a token). The bridge's side runs
in a child process of its own, so its peak RSS is its own: the streamed path the bridge uses, against the old
one that read each file whole into memory.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import resource
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK = 256 * 1024
MB = 1024 * 1024


def pattern(size: int) -> Iterator[bytes]:
    """`size` bytes of a repeating pattern, a chunk at a time."""
    block = bytes(range(256)) * (CHUNK // 256)
    left = size
    while left > 0:
        yield block[: min(left, CHUNK)]
        left -= CHUNK


def pattern_digest(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in pattern(size):
        digest.update(chunk)
    return digest.hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FileServer

    def do_GET(self) -> None:
        size = self.server.sizes.get(self.path.rsplit("/", 1)[-1])
        if size is None:
            self._json(
                404,
                {
                    "id": "app.file.get.app_error",
                    "message": "not found",
                    "detailed_error": "",
                    "request_id": "r",
                    "status_code": 404,
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for chunk in pattern(size):
            self.wfile.write(chunk)

    def do_POST(self) -> None:
        left = int(self.headers.get("Content-Length") or 0)
        digest = hashlib.sha256()
        while left > 0:
            chunk = self.rfile.read(min(left, CHUNK))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        with self.server.lock:
            self.server.received.append(digest.hexdigest())
        self._json(201, {"upload": {"id": len(self.server.received), "token": f"t{len(self.server.received)}"}})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


class FileServer(ThreadingHTTPServer):
    """Mattermost's file download and Redmine's upload, on loopback; `received` holds each upload's sha256."""

    daemon_threads = True

    def __init__(self, sizes: dict[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sizes = sizes
        self.received: list[str] = []
        self.lock = threading.Lock()

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FileServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
        self.server_close()


def _attach_all(url: str, ids: list[str], streamed: bool, out: Any) -> None:
    """In the child: every file from "Mattermost" into "Redmine" at once; reports its peak RSS (MB) before and
    after."""
    import io

    from app_integration.adapters.mattermost.rest import MattermostChat
    from app_integration.adapters.redmine.gateway import RedmineGateway
    from app_integration.adapters.redmine.uploads import RedmineAttachments

    chat = MattermostChat(url, "bench-token")
    files = RedmineAttachments(RedmineGateway(url, "bench-key"))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def one(file_id: str) -> None:
        if streamed:
            with chat.file_stream(file_id, None) as stream:
                files.upload("alice", f"{file_id}.bin", "application/octet-stream", stream)
        else:  # the old way: the whole file in memory, then uploaded from there
            data = chat._call(lambda d: d.client.make_request("get", f"/api/v4/files/{file_id}")).content
            files.upload("alice", f"{file_id}.bin", "application/octet-stream", io.BytesIO(bytes(data)))

    with ThreadPoolExecutor(len(ids)) as pool:
        list(pool.map(one, ids))
    out.put((before / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def attach_memory(count: int = 5, size_mb: int = 50) -> dict[str, tuple[float, float]]:
    """The bridge's process's peak RSS in MB, once its modules are loaded and after `count` attaches of `size_mb`
    at once, each way; and whether every upload arrived intact (1.0 or 0.0, twice)."""
    ids = [f"{n:026d}" for n in range(count)]
    found: dict[str, tuple[float, float]] = {}
    with FileServer({file_id: size_mb * MB for file_id in ids}) as server:
        for name, streamed in (("streamed", True), ("read whole", False)):
            context = multiprocessing.get_context("spawn")
            out = context.Queue()
            child = context.Process(target=_attach_all, args=(server.url, ids, streamed, out))
            child.start()
            found[name] = out.get(timeout=300)
            child.join(timeout=60)
        expected = pattern_digest(size_mb * MB)
        intact = float(len(server.received) == 2 * count and all(d == expected for d in server.received))
        found["uploads intact"] = (intact, intact)
    return found


if __name__ == "__main__":
    print(attach_memory())
