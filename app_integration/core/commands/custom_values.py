"""A real company's Redmine in the forms and the lines: its custom fields as inputs, their values checked before
Redmine is asked, and Redmine's refusal shown against the field it names.

Each custom field is asked with its Redmine name as the label and an input that fits its format: a select of
the list's values (key/value lists, versions and the project's people alike), Yes/No for a boolean, a date
as dates are typed elsewhere, a number checked as one. A field with several values is typed comma-separated.
Fields only some roles see (`visible: false`) are not asked; file fields are not either (a dialog holds no
file): Redmine's refusal names them if they are required.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping

from app_integration.core.commands.input_parsing import parse_date
from app_integration.core.errors import RedmineRejected
from app_integration.core.i18n import _
from app_integration.core.models import FormField
from app_integration.core.tickets import CustomField, TicketFields

PREFIX = "cf_"
_NUMBER = {"int": re.compile(r"^[+-]?\d+$"), "float": re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")}
# How Redmine names the standard fields in its messages (English and Russian, its languages here), and the
# form's input for each.
STANDARD_NAMES: dict[str, str] = {
    "subject": "subject",
    "тема": "subject",
    "description": "description",
    "описание": "description",
    "assignee": "mattermost_user",
    "назначена": "mattermost_user",
    "start date": "start_date",
    "дата начала": "start_date",
    "due date": "end_date",
    "срок завершения": "end_date",
    "estimated time": "estimated_time",
    "оценка временных затрат": "estimated_time",
    "tracker": "trackers",
    "трекер": "trackers",
    "status": "status",
    "статус": "status",
    "priority": "priority",
    "приоритет": "priority",
    "category": "category",
    "категория": "category",
    "target version": "version",
    "версия": "version",
    "project": "projects",
    "проект": "projects",
}


def asked(fields: TicketFields, tracker_id: int | None) -> tuple[CustomField, ...]:
    """The custom fields a form asks for a ticket of this tracker."""
    return tuple(f for f in fields.custom_for(tracker_id) if f.visible and f.asked)


def inputs(fields: TicketFields, tracker_id: int | None, shown: Mapping[str, str | None]) -> tuple[FormField, ...]:
    """One input per asked field, filled with what was typed before (`shown`) or else the field's default."""
    return tuple(_input(field, shown.get(PREFIX + str(field.id))) for field in asked(fields, tracker_id))


def _input(field: CustomField, typed: str | None) -> FormField:
    name = PREFIX + str(field.id)
    default = typed if typed is not None else (field.default or None)
    if field.choices() and not field.multiple:
        return FormField(name, field.name, "select", field.required, field.choices(), default)
    if field.multiple and field.options:
        listed = ", ".join(o.label for o in field.options)
        return FormField(
            name,
            field.name,
            "text",
            field.required,
            default=default,
            help=_("Comma-separated: {values}", values=listed),
        )
    if field.format == "text":
        return FormField(name, field.name, "textarea", field.required, default=default, max_length=3000)
    hints = {
        "int": _("A whole number"),
        "float": _("A number, e.g. 1.5"),
        "date": _("dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd"),
        "link": _("A web address"),
    }
    return FormField(
        name,
        field.name,
        "text",
        field.required,
        default=default,
        max_length=min(field.max_length or 255, 255),
        help=hints.get(field.format, ""),
    )


def values(
    fields: TicketFields, tracker_id: int | None, typed: Mapping[str, str | None], errors: dict[str, str]
) -> tuple[tuple[int, str | tuple[str, ...]], ...]:
    """The asked fields' values as Redmine takes them; a bad one puts its message in `errors` by input name."""
    return _typed_values(asked(fields, tracker_id), typed, errors, lambda field: field.required)


def _typed_values(
    wanted: Iterable[CustomField],
    typed: Mapping[str, str | None],
    errors: dict[str, str],
    required: Callable[[CustomField], bool],
) -> tuple[tuple[int, str | tuple[str, ...]], ...]:
    found: list[tuple[int, str | tuple[str, ...]]] = []
    for field in wanted:
        name = PREFIX + str(field.id)
        raw = (typed.get(name) or "").strip()
        if not raw:
            if required(field):
                errors[name] = _("{field} is required", field=field.name)
            continue
        value = value_of(field, raw)
        if isinstance(value, ValueError):
            errors[name] = str(value)
        else:
            found.append((field.id, value))
    return tuple(found)


def value_of(field: CustomField, raw: str) -> str | tuple[str, ...] | ValueError:
    """One typed value as Redmine takes it (a list's value by its label too), or why it is not one."""
    if field.multiple:
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        chosen = [_choice(field, part) for part in parts]
        bad = next((c for c in chosen if isinstance(c, ValueError)), None)
        return bad if bad is not None else tuple(str(c) for c in chosen)
    if field.choices():
        return _choice(field, raw)
    if field.format in _NUMBER and not _NUMBER[field.format].match(raw):
        return ValueError(_("{field} must be a number", field=field.name))
    if field.format == "float":
        return raw.replace(",", ".")
    if field.format == "date":
        try:
            return parse_date(raw).isoformat()
        except ValueError as error:
            return error
    if field.max_length and len(raw) > field.max_length:
        return ValueError(_("{field}: at most {count} characters", field=field.name, count=field.max_length))
    return raw


def _choice(field: CustomField, raw: str) -> str | ValueError:
    options = field.choices()
    lowered = raw.lower()
    for option in options:
        if lowered in (option.value.lower(), option.label.lower()):
            return option.value
    if field.format == "bool" and lowered in ("yes", "да", "true", "no", "нет", "false"):
        return "1" if lowered in ("yes", "да", "true") else "0"
    listed = ", ".join(o.label for o in options)
    return ValueError(_("{field} is one of: {values}", field=field.name, values=listed))


def refusal_errors(refused: RedmineRejected, fields: tuple[CustomField, ...]) -> dict[str, str]:
    """Redmine's reasons against the inputs they name: a custom field by its name, a standard one by Redmine's
    word for it. A reason naming none goes under "" (the form's own error)."""
    found: dict[str, str] = {}
    by_length = sorted(fields, key=lambda f: len(f.name), reverse=True)
    for reason in refused.errors:
        lowered = reason.lower()
        named = next((f for f in by_length if lowered.startswith(f.name.lower())), None)
        if named is not None:
            key = PREFIX + str(named.id)
        else:
            key = next((v for k, v in STANDARD_NAMES.items() if lowered.startswith(k)), "")
        found[key] = "; ".join(filter(None, [found.get(key, ""), reason]))
    return found


def inputs_by_id(fields: TicketFields, ids: tuple[int, ...], shown: Mapping[str, str | None]) -> tuple[FormField, ...]:
    """Inputs for the fields Redmine asked for by name (a workflow rule), each required."""
    wanted = [f for f in fields.custom if f.id in ids and f.asked]
    return tuple(dataclasses.replace(_input(f, shown.get(PREFIX + str(f.id))), required=True) for f in wanted)


def values_by_id(
    fields: TicketFields, ids: tuple[int, ...], typed: Mapping[str, str | None], errors: dict[str, str]
) -> tuple[tuple[int, str | tuple[str, ...]], ...]:
    """The values of the fields Redmine asked for by name, each required."""
    return _typed_values((f for f in fields.custom if f.id in ids), typed, errors, lambda field: True)
