"""Due dates in words, in English and Russian, property-tested against every "today" of a year (a leap
year, so month ends and 29 February are in it)."""

from __future__ import annotations

import calendar
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app_integration.core.commands.input_parsing import parse_ticket_lines, resolve, trailing_date

DAYS = st.dates(min_value=dt.date(2028, 1, 1), max_value=dt.date(2028, 12, 31))  # 2028 is a leap year
FRIDAY = ["fri", "friday", "Friday", "пт", "пятница", "пятницу", "в пятницу", "to friday", "до пятницы", "on Fri."]


def said(text: str, today: dt.date) -> dt.date | None:
    return resolve(text.split(), today)


@given(DAYS)
def test_relative_days(today: dt.date) -> None:
    for text, days in (("today", 0), ("сегодня", 0), ("tomorrow", 1), ("Завтра", 1), ("послезавтра", 2)):
        assert said(text, today) == today + dt.timedelta(days=days)


@given(DAYS)
def test_a_weekday_is_the_next_one_never_today(today: dt.date) -> None:
    for text in FRIDAY:
        due = said(text, today)
        assert due is not None and due.weekday() == 4 and 1 <= (due - today).days <= 7, text
    assert said("пн", today) == said("monday", today) == said("в понедельник", today)


@given(DAYS, st.integers(min_value=1, max_value=30))
def test_shifts_and_spans(today: dt.date, n: int) -> None:
    assert said(f"+{n}d", today) == said(f"in {n} days", today) == today + dt.timedelta(days=n)
    assert said(f"+{n}w", today) == said(f"in {n} weeks", today) == today + dt.timedelta(weeks=n)
    assert said(f"через {n} дней", today) == today + dt.timedelta(days=n)
    assert said("через неделю", today) == said("in a week", today) == today + dt.timedelta(weeks=1)
    assert said("через день", today) == today + dt.timedelta(days=1)
    assert said("через 2 недели", today) == today + dt.timedelta(weeks=2)


@given(DAYS)
def test_end_of_month(today: dt.date) -> None:
    last = dt.date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    for text in ("end of month", "by end of the month", "конец месяца", "до конца месяца", "к концу месяца"):
        assert said(text, today) == last, text
    assert said("end of month", dt.date(2028, 2, 10)) == dt.date(2028, 2, 29)


def test_words_that_only_look_like_dates_stay_in_the_subject() -> None:
    today = dt.date(2028, 3, 1)
    lines = "\n".join(
        (
            "1. Fix Friday's report @bob",
            "2. Friday planning @bob",
            "3. Plan the sprint @bob to friday",
            "4. Отчёт @bob в пятницу",
        )
    )
    tickets, errors = parse_ticket_lines(lines, today)
    assert errors == []
    assert [(t.subject, t.due_date) for t in tickets] == [
        ("Fix Friday's report", None),
        ("Friday planning", None),
        ("Plan the sprint", dt.date(2028, 3, 3)),
        ("Отчёт", dt.date(2028, 3, 3)),
    ]


def test_a_lone_phrase_leaves_a_subject_and_numbers_still_win() -> None:
    today = dt.date(2028, 3, 1)
    assert trailing_date(["tomorrow"], today) is None  # it would leave no subject
    tickets, errors = parse_ticket_lines("Report @bob 10.05.28\nReview @bob +3d", today)
    assert errors == [] and [t.due_date for t in tickets] == [dt.date(2028, 5, 10), dt.date(2028, 3, 4)]
    _, bad = parse_ticket_lines("Report @bob 31.02.28", today)
    assert [str(e) for e in bad] == ["line 1: 31.02.28 is not a real date"]
