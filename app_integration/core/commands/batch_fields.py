"""A batch's custom fields: asked once, in its form, for every line; a line may still set its own with
`Name=value` (`Severity=S1`; a name with spaces is written with `_`, as in `Target_release=2.0`). A word of that
shape that names no field of the project stays in the subject."""

from __future__ import annotations

import dataclasses
import re

from app_integration.core.commands.custom_values import asked, value_of
from app_integration.core.commands.input_parsing import LineError, TicketLine
from app_integration.core.errors import InputError
from app_integration.core.i18n import _
from app_integration.core.tickets import CustomField, TicketFields

_ASSIGNMENT = re.compile(r"^([^\s=]+)=(\S+)$")
Values = tuple[tuple[int, str | tuple[str, ...]], ...]


def asks_every_line(fields: TicketFields, tracker_id: int | None) -> bool:
    """Whether a ticket of this tracker needs a field Redmine fills in no default for."""
    return any(f.required and not f.default for f in asked(fields, tracker_id))


def split_lines(
    fields: TicketFields, tickets: list[TicketLine], common: dict[int, str | tuple[str, ...]]
) -> tuple[list[TicketLine], list[Values]]:
    """Each line without its `Name=value` words, and its custom values: `common`, then the line's own. Every
    bad value and every line without a required field is reported; nothing is created then."""
    tracker_id = fields.default_tracker()
    kept: list[TicketLine] = []
    values: list[Values] = []
    problems: list[LineError] = []
    missing: dict[str, None] = {}
    for ticket in tickets:
        words, own = [], dict(common)
        for word in ticket.subject.split():
            found = _ASSIGNMENT.match(word)
            field = fields.field_named(found.group(1).replace("_", " ")) if found else None
            if found is None or field is None or field not in asked(fields, tracker_id):
                words.append(word)
                continue
            value = value_of(field, found.group(2))
            if isinstance(value, ValueError):
                problems.append(LineError(ticket.line, str(value)))
            else:
                own[field.id] = value
        lacking = [f for f in asked(fields, tracker_id) if f.required and not f.default and f.id not in own]
        if lacking:
            missing.update(dict.fromkeys(f.name for f in lacking))
            problems.append(LineError(ticket.line, _needs(lacking)))
        kept.append(dataclasses.replace(ticket, subject=" ".join(words)))
        values.append(tuple(own.items()))
    if problems:
        listing = "\n".join(f"- {problem}" for problem in problems)
        head = _("Nothing was created. Fix these lines and send again:")
        how = _(
            "Add them to each line as `Name=value` (a name with spaces written with `_`), or send `create_tickets` "
            "alone to fill them in once in the form."
        )
        raise InputError(
            f"{head}\n{listing}" + (f"\n{how}" if missing else ""),
            {"message": "; ".join(str(p) for p in problems)},
        )
    return kept, values


def _needs(lacking: list[CustomField]) -> str:
    return _("the project asks for {fields}", fields=", ".join(f.name for f in lacking))
