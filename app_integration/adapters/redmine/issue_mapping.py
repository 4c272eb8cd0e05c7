"""Redmine's JSON as the core's models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from app_integration.core.models import Issue, Project, Ref, Upload


def full_name(raw: dict[str, Any]) -> str:
    return f"{raw.get('firstname', '')} {raw.get('lastname', '')}".strip() or str(raw.get("login", ""))


def project_from(raw: dict[str, Any]) -> Project:
    return Project(raw["id"], raw["identifier"], raw["name"])


def _ref(raw: dict[str, Any] | None) -> Ref | None:
    return Ref(raw["id"], raw.get("name", "")) if raw else None


def _date(raw: str | None) -> dt.date | None:
    return dt.date.fromisoformat(raw) if raw else None


def timestamp(raw: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def issue_from(raw: dict[str, Any]) -> Issue:
    return Issue(
        id=raw["id"],
        subject=raw.get("subject", ""),
        project=_ref(raw["project"]) or Ref(0, ""),
        tracker=_ref(raw.get("tracker")) or Ref(0, ""),
        status=_ref(raw.get("status")) or Ref(0, ""),
        priority=_ref(raw.get("priority")) or Ref(0, ""),
        author=_ref(raw.get("author")) or Ref(0, ""),
        assigned_to=_ref(raw.get("assigned_to")),
        start_date=_date(raw.get("start_date")),
        due_date=_date(raw.get("due_date")),
        updated_on=timestamp(raw.get("updated_on")),
        is_private=bool(raw.get("is_private", False)),
        created_on=timestamp(raw.get("created_on")),
    )


def uploads_field(uploads: Iterable[Upload]) -> list[dict[str, str]]:
    """Redmine's `uploads` for a create or an update: the tokens its upload API gave."""
    return [{"token": u.token, "filename": u.filename, "content_type": u.content_type} for u in uploads]
