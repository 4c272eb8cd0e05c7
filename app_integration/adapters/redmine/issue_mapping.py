"""Redmine's JSON as the core's models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from app_integration.core.models import Issue, IssueDraft, Project, Ref, Upload


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


def draft_fields(draft: IssueDraft) -> dict[str, Any]:
    """A create's body: what the draft sets, and nothing it leaves to Redmine's defaults."""
    fields: dict[str, Any] = {"project_id": draft.project, "subject": draft.subject}
    optional = {
        "description": draft.description or None,
        "tracker_id": draft.tracker_id,
        "status_id": draft.status_id,
        "priority_id": draft.priority_id,
        "assigned_to_id": draft.assigned_to_id,
        "start_date": draft.start_date.isoformat() if draft.start_date else None,
        "due_date": draft.due_date.isoformat() if draft.due_date else None,
        "estimated_hours": float(draft.estimated_hours) if draft.estimated_hours is not None else None,
        "done_ratio": draft.done_ratio,
        "is_private": True if draft.is_private else None,
        "uploads": uploads_field(draft.uploads) or None,
        "category_id": draft.category_id,
        "fixed_version_id": draft.fixed_version_id,
        "custom_fields": [
            {"id": field_id, "value": list(value) if isinstance(value, tuple) else value}
            for field_id, value in draft.custom_values
        ]
        or None,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    return fields
