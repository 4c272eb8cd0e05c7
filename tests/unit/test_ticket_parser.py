"""The create_tickets line parser: forgiving in form, strict about dates."""

from __future__ import annotations

import datetime as dt

import pytest

from app_integration.core.commands.input_parsing import parse_date, parse_ticket_lines

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    ("line", "subject", "assignee", "due"),
    [
        ("1. Write report @bob 10.05.27", "Write report", "bob", dt.date(2027, 5, 10)),
        ("Write report @bob 10.05.2027", "Write report", "bob", dt.date(2027, 5, 10)),
        ("2) Write report @bob 2027-05-10", "Write report", "bob", dt.date(2027, 5, 10)),
        ("@bob Write report 10.05.27", "Write report", "bob", dt.date(2027, 5, 10)),
        ("3. Write @Bob the report", "Write the report", "bob", None),
        ("4. Buy coffee for the meeting @bob 22.11.26", "Buy coffee for the meeting", "bob", TODAY),
        ("5. Email bob@example.org about 1.2 release @carol", "Email bob@example.org about 1.2 release", "carol", None),
        # The hardening issue: a date anywhere after the subject, with or without a full stop after it.
        ("1. Write report @bob 22.12.26 urgent", "Write report urgent", "bob", dt.date(2026, 12, 22)),
        ("1. Write report @bob 22.12.26.", "Write report", "bob", dt.date(2026, 12, 22)),
        ("1. Write report by 2026-12-22, please @bob", "Write report by please", "bob", dt.date(2026, 12, 22)),
        ("1. Upgrade to 2.4.1 @bob 10.05.27", "Upgrade to 2.4.1", "bob", dt.date(2027, 5, 10)),
    ],
)
def test_accepted_forms(line: str, subject: str, assignee: str, due: dt.date | None) -> None:
    tickets, errors = parse_ticket_lines(line, TODAY)
    assert errors == []
    assert (tickets[0].subject, tickets[0].assignee, tickets[0].due_date) == (subject, assignee, due)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1. Write report 10.05.27", "no assignee"),
        ("1. Report @bob 10.05.27 or 12.05.27", "two due dates (10.05.27, 12.05.27)"),
        ("1. Report\x00 @bob", "control character"),
        ("1. Write report @bob @carol", "more than one assignee"),
        ("1. @bob 10.05.27", "no subject"),
        ("1. Report @bob 31.02.27", "not a real date"),
        ("1. Report @bob 10.13.27", "not a real date"),
        ("1. Report @bob 21.11.26", "in the past"),
        ("1. Report @bob 10/05/27", "not a date"),
        ("1. " + "x" * 256 + " @bob", "longer than 255"),
    ],
)
def test_rejected_lines_say_why(line: str, reason: str) -> None:
    tickets, errors = parse_ticket_lines(line, TODAY)
    assert tickets == []
    assert len(errors) == 1 and reason in errors[0].reason and errors[0].line == 1


def test_every_bad_line_is_reported_with_its_number() -> None:
    text = "1. Good @bob 10.05.27\n\n2. No assignee\n3. Bad date @bob 99.99.99\n4. Fine @carol"
    tickets, errors = parse_ticket_lines(text, TODAY)
    assert [t.line for t in tickets] == [1, 5]
    assert [e.line for e in errors] == [3, 4]


def test_empty_input_is_an_error() -> None:
    assert parse_ticket_lines("  \n \n", TODAY)[1][0].reason.startswith("no ticket lines")


def test_too_many_lines() -> None:
    _, errors = parse_ticket_lines("\n".join(f"{n}. T @bob" for n in range(101)), TODAY)
    assert "at most 100" in errors[0].reason


def test_parse_date_forms() -> None:
    assert parse_date("1.2.27") == dt.date(2027, 2, 1)
    assert parse_date("2027-02-01") == dt.date(2027, 2, 1)
    with pytest.raises(ValueError, match="not a date"):
        parse_date("tomorrow")
