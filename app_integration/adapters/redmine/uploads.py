"""Files into Redmine: one upload per file (`POST /uploads.json`, as the person), whose token the create or the
note then names; and Redmine's size limit, `attachment_max_size`, read where Redmine shows it.

Redmine's REST API does not show its settings. Its issue page does, on the file field of the edit form
(`data-max-file-size`, in bytes, from app/views/attachments/_form.html.erb), and that page answers the admin's
API key (IssuesController accepts API auth for `show` in any format). Where it cannot be read, the limit is
unknown and Redmine decides each upload; its refusal for size (422, whose message ends with the limit in bytes,
app/models/attachment.rb) then makes it known. The setting's default (5120 KB, config/settings.yml) is only
what the bridge says when Redmine's message names no number."""

from __future__ import annotations

import re
import threading
import time
from typing import BinaryIO

from app_integration.adapters.redmine.gateway import RedmineGateway
from app_integration.core.errors import BridgeError, FileRefused, RedmineRejected
from app_integration.core.formatting import megabytes
from app_integration.core.i18n import _
from app_integration.core.models import Upload

DEFAULT_LIMIT = 5120 * 1024
LIMIT_TTL = 3600.0
_SHOWN_LIMIT = re.compile(r'data-max-file-size="(\d+)"')
_REFUSED_LIMIT = re.compile(r"\((\d{3,})\)\s*$")


class RedmineAttachments:
    def __init__(self, gateway: RedmineGateway) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        self._limit: tuple[int | None, float] | None = None

    def limit(self) -> int | None:
        """Redmine's attachment_max_size in bytes, read at most once an hour; None where Redmine did not show it."""
        with self._lock:
            if self._limit is not None and time.monotonic() - self._limit[1] < LIMIT_TTL:
                return self._limit[0]
        limit = self._read_limit()
        with self._lock:
            self._limit = (limit, time.monotonic())
        return limit

    def _read_limit(self) -> int | None:
        try:
            newest = self._gateway.as_user(
                None, lambda r: [i.id for i in r.issue.filter(status_id="*", sort="id:desc", limit=1)]
            )
            if not newest:
                return None
            page = self._gateway.as_user(None, lambda r: r.engine.page(f"{r.url}/issues/{newest[0]}"))
        except BridgeError:
            return None
        found = _SHOWN_LIMIT.search(page)
        return int(found.group(1)) if found else None

    def upload(self, login: str, name: str, content_type: str, data: BinaryIO) -> Upload:
        """One file, streamed from `data` into `POST /uploads.json` as the person (python-redmine sends a file
        object as the request's body, and requests reads it chunk by chunk)."""
        try:
            answer = self._gateway.as_user(login, lambda r: r.upload(data, filename=name))
        except RedmineRejected as refused:
            raise self._refusal(refused) from None
        return Upload(str(answer["token"]), name, content_type)

    def _refusal(self, refused: RedmineRejected) -> FileRefused:
        for error in refused.errors:
            found = _REFUSED_LIMIT.search(error.strip())
            if found:
                limit = int(found.group(1))
                with self._lock:
                    self._limit = (limit, time.monotonic())
                return FileRefused(_("larger than Redmine's limit of {size}", size=megabytes(limit)))
            if "exceeds the maximum allowed file size" in error:  # a message without its number: the default
                return FileRefused(_("larger than Redmine's limit of {size}", size=megabytes(DEFAULT_LIMIT)))
        return FileRefused(_("Redmine refused it: {reason}", reason="; ".join(refused.errors)))
