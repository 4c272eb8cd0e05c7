"""A ticket form's values as a draft: each input checked, with a message against every bad one, and the project's
custom fields, version and category added where its tracker asks them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from app_integration.core.commands import custom_values
from app_integration.core.commands.input_parsing import parse_date, parse_hours
from app_integration.core.errors import InputError
from app_integration.core.i18n import _
from app_integration.core.models import Choice, IssueDraft
from app_integration.core.tickets import TicketFields

# Standard inputs a tracker may not use, by the name Redmine gives the field.
OPTIONAL_INPUTS = {
    "description": "description",
    "assigned_to_id": "mattermost_user",
    "start_date": "start_date",
    "due_date": "end_date",
    "estimated_hours": "estimated_time",
    "done_ratio": "done",
}


def with_fields(draft: IssueDraft, fields: TicketFields, values: Mapping[str, str | None]) -> IssueDraft:
    """The draft with the project's custom fields, version and category, and without the standard fields its
    tracker does not use; InputError against every bad input."""
    tracker_id = draft.tracker_id or fields.default_tracker()
    errors: dict[str, str] = {}
    custom = custom_values.values(fields, tracker_id, values, errors)
    version = _chosen(values.get("version"), fields.versions, "version", errors)
    category = _chosen(values.get("category"), fields.categories, "category", errors)
    if errors:
        raise InputError(_("Please fix the marked fields:") + " " + "; ".join(errors.values()), errors)
    unused = {standard for standard in OPTIONAL_INPUTS if not fields.uses(tracker_id, standard)}
    return dataclasses.replace(
        draft,
        custom_values=custom,
        fixed_version_id=version,
        category_id=category,
        description="" if "description" in unused else draft.description,
        start_date=None if "start_date" in unused else draft.start_date,
        due_date=None if "due_date" in unused else draft.due_date,
        estimated_hours=None if "estimated_hours" in unused else draft.estimated_hours,
        done_ratio=None if "done_ratio" in unused else draft.done_ratio,
    )


def _chosen(raw: str | None, options: tuple[Choice, ...], name: str, errors: dict[str, str]) -> int | None:
    if not raw:
        return None
    if raw not in {o.value for o in options}:
        errors[name] = _("Choose one from the list")
        return None
    return int(raw)


def draft_from(values: Mapping[str, str | None], today: dt.date) -> IssueDraft:
    """The draft, or InputError with a message against every bad field."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return (values.get(name) or "").strip()

    def number(name: str, label: str) -> int | None:
        raw = text(name)
        if not raw:
            return None
        if not raw.isdigit():
            errors[name] = _("{label} must be chosen from the list", label=label)
            return None
        return int(raw)

    def date(name: str) -> dt.date | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return parse_date(raw)
        except ValueError as error:
            errors[name] = str(error)
            return None

    project, subject = text("projects"), text("subject")
    if not project:
        errors["projects"] = _("Choose a project")
    if not subject:
        errors["subject"] = _("A subject is required")
    elif len(subject) > 255:
        errors["subject"] = _("At most 255 characters")
    start, due = date("start_date"), date("end_date")
    if start and due and start > due:
        errors["end_date"] = _("The due date must not be before the start date")
    hours = parse_hours(text("estimated_time"), errors)
    done = number("done", _("Done"))
    if done is not None and not 0 <= done <= 100:
        errors["done"] = _("Done must be between 0 and 100")
    draft = IssueDraft(
        project=project,
        subject=subject,
        description=text("description"),
        tracker_id=number("trackers", _("Tracker")),
        status_id=number("status", _("Status")),
        priority_id=number("priority", _("Priority")),
        start_date=start,
        due_date=due,
        estimated_hours=hours,
        done_ratio=done,
    )
    if errors:
        raise InputError(_("Please fix the marked fields:") + " " + "; ".join(errors.values()), errors)
    return draft
