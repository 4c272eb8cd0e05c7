"""Counts speak the reader's grammar: Russian has three plural forms (1 задача, 2 задачи, 5 задач), chosen
by the catalog's own Plural-Forms rule, and English two."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app_integration.core.i18n import LOCALE_DIR, ngettext, speaking

CREATED = ("Created {count} ticket in `{project}`", "Created {count} tickets in `{project}`")


@pytest.mark.parametrize(
    ("count", "russian", "english"),
    [
        (1, "Создана 1 задача в `demo`", "Created 1 ticket in `demo`"),
        (2, "Созданы 2 задачи в `demo`", "Created 2 tickets in `demo`"),
        (5, "Создано 5 задач в `demo`", "Created 5 tickets in `demo`"),
        (11, "Создано 11 задач в `demo`", "Created 11 tickets in `demo`"),
        (21, "Создана 21 задача в `demo`", "Created 21 tickets in `demo`"),
        (22, "Созданы 22 задачи в `demo`", "Created 22 tickets in `demo`"),
    ],
)
def test_a_count_takes_its_form(count: int, russian: str, english: str) -> None:
    with speaking("ru"):
        assert ngettext(*CREATED, count, project="demo") == russian
    with speaking("en"):
        assert ngettext(*CREATED, count, project="demo") == english


def test_every_counted_message_has_all_three_russian_forms() -> None:
    with Path(LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as stream:
        catalog = read_po(stream, locale="ru")
    assert catalog.num_plurals == 3
    counted = [m for m in catalog if m.id and isinstance(m.id, tuple | list)]
    assert len(counted) >= 7
    for message in counted:
        assert len(message.string) == 3 and all(message.string), message.id
        assert all("{count}" in form for form in message.string), message.id


def test_no_message_writes_around_a_plural() -> None:
    """ "ticket(s)" and "Создано задач: 5" were how counts were written before there were plural forms."""
    template = (LOCALE_DIR / "messages.pot").read_text(encoding="utf-8")
    assert "(s)" not in template
