"""A post's files go from Mattermost into Redmine as a stream: the bridge never holds a whole file in memory
(Mattermost's default file limit is 100 MB, and several attaches run at once). Both ends are a loopback server
(benchmarks/attach_memory_bench.py) that makes up and checks the bytes chunk by chunk."""

from __future__ import annotations

import tracemalloc

import pytest

from app_integration.adapters.mattermost.rest import MattermostChat
from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.uploads import RedmineAttachments
from app_integration.core.errors import FileRefused, NotFound
from benchmarks.attach_memory_bench import MB, FileServer, pattern_digest

FILE_ID = "f" * 26


def test_a_20_mb_file_goes_through_in_a_small_fraction_of_its_size() -> None:
    with FileServer({FILE_ID: 20 * MB}) as server:
        chat = MattermostChat(server.url, "token")
        files = RedmineAttachments(RedmineGateway(server.url, "key"))
        tracemalloc.start()
        try:
            with chat.file_stream(FILE_ID, None) as stream:
                upload = files.upload("alice", "big.bin", "application/octet-stream", stream)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert upload.token == "t1"
        assert server.received == [pattern_digest(20 * MB)]  # every byte arrived, in order
    assert peak < 4 * MB, f"the bridge held {peak / MB:.1f} MB for a 20 MB file"


def test_a_file_over_redmines_limit_stops_the_download() -> None:
    with FileServer({FILE_ID: 5 * MB}) as server:
        chat = MattermostChat(server.url, "token")
        with pytest.raises(FileRefused, match="limit"), chat.file_stream(FILE_ID, 1 * MB):
            pass
        with pytest.raises(NotFound), chat.file_stream("g" * 26, None):
            pass
