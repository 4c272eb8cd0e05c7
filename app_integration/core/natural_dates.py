"""Due dates as people write them, in English and Russian: `tomorrow`, `пт`, `to friday`, `в пятницу`,
`+3d`, `in 2 weeks`, `через неделю`, `end of month`, `конец месяца`.

A phrase counts only as the whole end of a ticket line, so a word inside the subject that merely looks
like a date ("Fix Friday's report", "Friday planning @bob") stays in the subject. A weekday is always the
next such day, never today.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

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
