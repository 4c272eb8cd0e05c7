"""What people type, made into values: due dates in digits or words, hours, and `create_tickets` lines.

Forgiving where a person would be, strict where a mistake would cost. The commands' flows share these
parsers, so a date or a number of hours means the same in a batch line, the form and a card.

Dates in words, in English and Russian: `tomorrow`, `пт`, `to friday`, `в пятницу`, `+3d`, `in 2 weeks`,
`через неделю`, `end of month`, `конец месяца`. A phrase counts only as the whole end of a ticket line, so a
word inside the subject that merely looks like a date ("Fix Friday's report", "Friday planning @bob") stays
in the subject. A weekday is always the next such day, never today.

Ticket lines such as `1. Write report @bob 10.05.27`: the number is optional, `@user` may stand anywhere,
the due date may be dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd, or said in words at the end of the line, or left
out. Every bad line is reported with its number and reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app_integration.core.i18n import _, ngettext

_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "mon monday пн пон понедельник понедельника",
        "tue tues tuesday вт вторник вторника",
        "wed wednesday ср среда среду среды",
        "thu thur thurs thursday чт четверг четверга",
        "fri friday пт пятница пятницу пятницы",
        "sat saturday сб суббота субботу субботы",
        "sun sunday вс воскресенье воскресенья",
    )
):
    _WEEKDAYS.update(dict.fromkeys(_names.split(), _number))

# Words that may lead a phrase and change nothing: "to friday", "by friday", "в пятницу", "до пятницы".
_LEADS = {
    "on",
    "to",
    "by",
    "for",
    "until",
    "till",
    "due",
    "next",
    "в",
    "во",
    "до",
    "к",
    "ко",
    "на",
    "след",
    "следующий",
}
_RELATIVE = {"today": 0, "сегодня": 0, "tomorrow": 1, "завтра": 1, "послезавтра": 2}
_UNITS = {
    "d": 1,
    "day": 1,
    "days": 1,
    "w": 7,
    "week": 7,
    "weeks": 7,
    "д": 1,
    "день": 1,
    "дня": 1,
    "дней": 1,
    "н": 7,
    "неделю": 7,
    "недели": 7,
    "недель": 7,
}
_SHIFT = re.compile(r"^\+(\d{1,3})([a-zа-я]+)$")
_COUNTS = {"a": 1, "an": 1, "one": 1, "один": 1, "одну": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5}
_MONTH_END = (
    ("end", "of", "month"),
    ("end", "of", "the", "month"),
    ("конец", "месяца"),
    ("конца", "месяца"),
    ("концу", "месяца"),
)
MAX_PHRASE = 4  # words


def _clean(word: str) -> str:
    return word.lower().strip(".,;:!?()").replace("ё", "е")


def resolve(words: list[str], today: dt.date) -> dt.date | None:
    """The date the whole phrase means, or None when it is no date phrase."""
    phrase = [_clean(w) for w in words]
    while len(phrase) > 1 and phrase[0] in _LEADS:
        phrase = phrase[1:]
    if not phrase or not all(phrase):
        return None
    if len(phrase) == 1:
        return _one_word(phrase[0], today)
    if tuple(phrase) in _MONTH_END:
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return _in(phrase, today)


def _one_word(word: str, today: dt.date) -> dt.date | None:
    if word in _RELATIVE:
        return today + dt.timedelta(days=_RELATIVE[word])
    if word in _WEEKDAYS:
        ahead = (_WEEKDAYS[word] - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead)
    shift = _SHIFT.match(word)
    if shift and shift.group(2) in _UNITS:
        return today + dt.timedelta(days=int(shift.group(1)) * _UNITS[shift.group(2)])
    return None


def _in(phrase: list[str], today: dt.date) -> dt.date | None:
    """`in 3 days`, `in a week`, `через 3 дня`, `через неделю`, `через день`."""
    if phrase[0] not in ("in", "через"):
        return None
    rest = phrase[1:]
    if len(rest) == 1 and rest[0] in _UNITS and len(rest[0]) > 1:  # "через неделю", "через день"
        count, unit = 1, rest[0]
    elif len(rest) == 2 and rest[1] in _UNITS and len(rest[1]) > 1:
        count = int(rest[0]) if rest[0].isdigit() and len(rest[0]) <= 3 else _COUNTS.get(rest[0], 0)
        unit = rest[1]
    else:
        return None
    return today + dt.timedelta(days=count * _UNITS[unit]) if count else None


def trailing_date(words: list[str], today: dt.date) -> tuple[dt.date, int] | None:
    """The date that the last words of a line mean, and how many words it took (the longest phrase wins),
    leaving at least one word for the subject."""
    for size in range(min(MAX_PHRASE, len(words) - 1), 0, -1):
        found = resolve(words[-size:], today)
        if found is not None:
            return found, size
    return None


# Hours ----------------------------------------------------------------------------------------
MIN_HOURS = Decimal("0.01")


def parse_hours(raw: str, errors: dict[str, str], field: str = "estimated_time") -> Decimal | None:
    """Positive hours (1.5 or 1,5), or None with a message in `errors[field]`."""
    if not raw:
        return None
    try:
        hours = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        hours = Decimal(-1)
    if not hours.is_finite() or hours <= 0 or hours > 10_000:
        errors[field] = _("{value} is not a positive number of hours", value=raw)
        return None
    if hours < MIN_HOURS:
        # Redmine keeps hours to two places: anything smaller is stored as 0.0 and shown as nothing.
        errors[field] = _("{value} is less than a hundredth of an hour", value=raw)
        return None
    return hours


# Ticket lines ---------------------------------------------------------------------------------
MAX_SUBJECT = 255
MAX_LINES = 100

_NUMBER = re.compile(r"^\s*\d{1,4}\s*[.)]\s+")
_MENTION = re.compile(r"^@([a-z0-9][a-z0-9._-]*)[,;:]?$", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\d{1,4}[.\-/]\d{1,2}[.\-/]\d{1,4}$")
_TRAILING = ".,;:!?)"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORMATS = (
    ("%d.%m.%y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2}$")),
    ("%d.%m.%Y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")),
    ("%Y-%m-%d", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
)


@dataclass(frozen=True)
class TicketLine:
    line: int
    subject: str
    assignee: str
    due_date: dt.date | None


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return _("line {line}: {reason}", line=self.line, reason=self.reason)


def _due_date(words: list[str]) -> dt.date | str | None:
    """The due date wherever it stands after the subject's first word, taken out of `words`; or why not.
    `1. Write report @bob 22.12.26 urgent` and `... 22.12.26.` both have one. Only the accepted forms count
    mid-line, so `Upgrade to 2.4.1` keeps its version; a date-like last word that is no date is refused."""
    first = 1 if len(words) > 1 else 0  # a lone word may be the date of a line with no subject
    at = [i for i in range(first, len(words)) if any(shape.match(words[i].rstrip(_TRAILING)) for _, shape in _FORMATS)]
    if len(at) > 1:
        return _("two due dates ({dates}); keep one", dates=", ".join(words[i].rstrip(_TRAILING) for i in at))
    if not at:
        if words and _DATE_LIKE.match(words[-1].rstrip(_TRAILING)):
            at = [len(words) - 1]
        else:
            return None
    try:
        due = parse_date(words[at[0]].rstrip(_TRAILING))
    except ValueError as error:
        return str(error)
    del words[at[0]]
    return due


def parse_date(text: str) -> dt.date:
    """One of the accepted date forms, or ValueError with a message for a person."""
    for fmt, shape in _FORMATS:
        if shape.match(text):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                raise ValueError(_("{text} is not a real date", text=text)) from None
    raise ValueError(_("{text} is not a date; use dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd", text=text))


def parse_ticket_lines(text: str, today: dt.date) -> tuple[list[TicketLine], list[LineError]]:
    tickets: list[TicketLine] = []
    errors: list[LineError] = []
    numbered = [(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    if not numbered:
        return [], [LineError(1, _("no ticket lines; write one per line: 1. Write report @bob 10.05.27"))]
    if len(numbered) > MAX_LINES:
        return [], [
            LineError(
                numbered[MAX_LINES][0],
                ngettext("at most {count} ticket at once", "at most {count} tickets at once", MAX_LINES),
            )
        ]
    for number, raw in numbered:
        result = _parse_line(number, raw, today)
        (tickets if isinstance(result, TicketLine) else errors).append(result)  # type: ignore[arg-type]
    return tickets, errors


def _parse_line(number: int, raw: str, today: dt.date) -> TicketLine | LineError:
    if _CONTROL.search(raw):
        return LineError(number, _("holds a control character (such as NUL); retype the line"))
    words = _NUMBER.sub("", raw.strip(), count=1).split()
    mentions = [m.group(1).lower() for w in words if (m := _MENTION.match(w))]
    rest = [w for w in words if not _MENTION.match(w)]
    if not mentions:
        return LineError(number, _("no assignee; add @username"))
    if len(set(mentions)) > 1:
        return LineError(number, _("more than one assignee ({people})", people=", ".join("@" + m for m in mentions)))
    found = _due_date(rest)
    if isinstance(found, str):
        return LineError(number, found)
    due = found
    spoken = trailing_date(rest, today) if due is None else None
    if spoken is not None:
        due, size = spoken
        del rest[-size:]
    if due is not None and due < today:
        return LineError(number, _("due date {date} is in the past", date=f"{due:%d.%m.%Y}"))
    subject = " ".join(rest).strip(" -\u2013\u2014:")
    if not subject:
        return LineError(number, _("no subject"))
    if len(subject) > MAX_SUBJECT:
        return LineError(
            number,
            ngettext(
                "subject is longer than {count} character", "subject is longer than {count} characters", MAX_SUBJECT
            ),
        )
    return TicketLine(number, subject, mentions[0], due)
