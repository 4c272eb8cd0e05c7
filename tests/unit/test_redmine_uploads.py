"""Files into Redmine at the HTTP layer: the size limit read where Redmine shows it (an issue page's file
field), unknown where it does not, and learned from Redmine's own refusal (app/models/attachment.rb)."""

from __future__ import annotations

import io

import pytest
import responses

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.adapters.redmine.uploads import RedmineAttachments
from app_integration.core.errors import FileRefused

URL = "http://redmine.test"
TOO_BIG = "This file cannot be uploaded because it exceeds the maximum allowed file size (2097152)"


@pytest.fixture
def files() -> RedmineAttachments:
    return RedmineAttachments(RedmineGateway(URL, "admin-key", connect_timeout=2.0, read_timeout=7.0))


@responses.activate
def test_the_limit_is_read_from_the_issue_pages_file_field_once(files: RedmineAttachments) -> None:
    responses.get(f"{URL}/issues.json", json={"issues": [{"id": 42}], "total_count": 1})
    page = '<input type="file" name="attachments[dummy][file]" data-max-file-size="3145728" multiple>'
    responses.get(f"{URL}/issues/42", body=page, content_type="text/html")
    assert files.limit() == 3 * 1024 * 1024
    assert files.limit() == 3 * 1024 * 1024
    assert len(responses.calls) == 2  # cached: read once an hour
    assert responses.calls[1].request.headers["X-Redmine-API-Key"] == "admin-key"


@responses.activate
def test_an_unshown_limit_is_unknown_until_a_refusal_names_it(files: RedmineAttachments) -> None:
    responses.get(f"{URL}/issues.json", json={"issues": [], "total_count": 0})
    assert files.limit() is None  # Redmine decides each upload
    responses.post(f"{URL}/uploads.json", status=422, json={"errors": [TOO_BIG]})
    with pytest.raises(FileRefused) as refused:
        files.upload("alice", "big.bin", "application/octet-stream", io.BytesIO(b"x" * 10))
    assert "2 MB" in refused.value.user_message
    assert files.limit() == 2 * 1024 * 1024
    sent = responses.calls[-1].request
    assert (
        sent.headers["X-Redmine-Switch-User"] == "alice" and sent.headers["Content-Type"] == "application/octet-stream"
    )


@responses.activate
def test_an_upload_gives_its_token_and_another_refusal_is_named(files: RedmineAttachments) -> None:
    responses.post(f"{URL}/uploads.json", status=201, json={"upload": {"id": 7, "token": "7.abc"}})
    upload = files.upload("alice", "a.txt", "text/plain", io.BytesIO(b"hello"))
    sent = responses.calls[0].request.body
    if hasattr(sent, "read"):  # older responses keep the stream python-redmine sent, unread
        sent.seek(0)
        sent = sent.read()
    assert (upload.token, upload.filename) == ("7.abc", "a.txt") and sent == b"hello"
    responses.post(f"{URL}/uploads.json", status=422, json={"errors": ["Extension .exe is not allowed"]})
    with pytest.raises(FileRefused, match=r"\.exe is not allowed"):
        files.upload("alice", "a.exe", "application/octet-stream", io.BytesIO(b"MZ"))
